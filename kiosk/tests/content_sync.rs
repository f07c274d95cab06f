//! Content sync against a real egov-sim: releases apply whole; tampered, wrongly signed,
//! older and damaged releases are refused with the reason, and the old content stays.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use common::scripted_host::{Answer, ScriptedHost, release_file};
use common::{Sim, demo_key};
use kiosk::content::release::{self, Release};
use kiosk::content::store::BlobStore;
use kiosk::content::{ContentSync, Polled, install_sample_if_empty, sample};
use kiosk::error::Error;
use kiosk::heartbeat::NoScreen;
use kiosk::mirror::content::PageRequest;
use kiosk::mirror::{AsyncMirror, Durability, Mirror};
use kiosk::sync::cases::CaseSync;
use protocol::client::Client;
use protocol::content::{ManifestError, generate_signing_key};
use protocol::items::{Item, Notice};

struct Kiosk {
    _dir: tempfile::TempDir,
    /// The content loop's connection.
    writer: AsyncMirror,
    /// Another connection, as the UI reads through.
    mirror: Mirror,
    sync: ContentSync,
}

fn kiosk(sim: &Sim) -> Kiosk {
    kiosk_served_by(sim.device_client())
}

/// A kiosk on the built-in sample that fetches content through `client`.
fn kiosk_served_by(client: Client) -> Kiosk {
    let dir = tempfile::tempdir().unwrap();
    let mut mirror = Mirror::open(&dir.path().join("mirror.db")).unwrap();
    let store = BlobStore::open(&dir.path().join("blobs")).unwrap();
    install_sample_if_empty(&mut mirror, &store, Utc::now()).unwrap();
    let sync = ContentSync::new(client, vec![demo_key().verifying_key()], store);
    let writer = AsyncMirror::from(Mirror::open(&dir.path().join("mirror.db")).unwrap());
    Kiosk {
        _dir: dir,
        writer,
        mirror,
        sync,
    }
}

/// A kiosk that has already applied a good release 1 from `sim`.
async fn kiosk_with_release_1(sim: &Sim) -> Kiosk {
    let mut k = kiosk(sim);
    release(1, &demo_key())
        .publish(&sim.admin_client())
        .await
        .unwrap();
    poll(&mut k).await.unwrap();
    k
}

/// The sample plus a notice unique to `version`, so each release has a blob of its own.
fn release(version: u64, key: &ed25519_dalek::SigningKey) -> Release {
    let mut compiled = sample::builtin();
    compiled.items.push((
        format!("notices/test-{version}"),
        Item::Notice(Notice {
            title: format!("测试公告 第{version}版"),
            body: format!("版本 {version} 的公告正文。"),
            valid_from: "2026-01-01T00:00:00Z".parse().unwrap(),
            valid_until: None,
            priority: 3,
        }),
    ));
    compiled.items.sort_by(|a, b| a.0.cmp(&b.0));
    release::build(&compiled, version, Utc::now(), "test", key)
}

fn version(k: &Kiosk) -> Option<u64> {
    k.mirror.content_status().unwrap().unwrap().version
}

fn has_notice(k: &Kiosk, version: u64) -> bool {
    k.mirror
        .item(&format!("notices/test-{version}"))
        .unwrap()
        .is_some()
}

async fn poll(k: &mut Kiosk) -> kiosk::Result<Polled> {
    k.sync.poll(&k.writer, false, Utc::now()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_apply_whole_and_only_new_blobs_are_downloaded() {
    let sim = Sim::start(10, &[]);
    let mut k = kiosk(&sim);
    let status = k.mirror.content_status().unwrap().unwrap();
    assert!(
        status.sample && status.version.is_none(),
        "sample content before the first sync"
    );
    let mut changes = k.sync.subscribe();

    let v1 = release(1, &demo_key());
    v1.publish(&sim.admin_client()).await.unwrap();
    assert_eq!(
        poll(&mut k).await.unwrap(),
        Polled::Applied {
            version: 1,
            // The sample's image is already in the store from the built-in content.
            downloaded: v1.blobs.len() - 1,
        }
    );
    assert!(changes.has_changed().unwrap());
    changes.borrow_and_update();
    assert!(!k.mirror.content_status().unwrap().unwrap().sample);
    assert!(has_notice(&k, 1));
    assert_eq!(poll(&mut k).await.unwrap(), Polled::NotModified);
    assert_eq!(
        k.sync.poll(&k.writer, true, Utc::now()).await.unwrap(),
        Polled::AlreadyApplied
    );

    let v2 = release(2, &demo_key());
    v2.publish(&sim.admin_client()).await.unwrap();
    // Only the new notice's blob is new: v2 drops test-1 and adds test-2.
    assert_eq!(
        poll(&mut k).await.unwrap(),
        Polled::Applied {
            version: 2,
            downloaded: 1
        }
    );
    assert!(has_notice(&k, 2) && !has_notice(&k, 1));
    assert!(changes.has_changed().unwrap());
    let hits = k
        .mirror
        .search("第2版", Utc::now(), PageRequest::first(10))
        .unwrap();
    assert_eq!(hits.items[0].id, "notices/test-2");
    let image = k.mirror.media("media/homestead-flow.svg").unwrap().unwrap();
    assert!(k.mirror.content_settings().unwrap().is_some());
    assert!(std::path::Path::new(&k._dir.path().join("blobs").join(&image.sha256)).is_file());
}

/// Publishes `release` with its manifest and signature as given (possibly tampered).
async fn publish_raw(sim: &Sim, release: &Release, manifest: &[u8], signature: &str) {
    for (sha, bytes) in &release.blobs {
        sim.admin_client()
            .upload_blob(sha, bytes.clone())
            .await
            .unwrap();
    }
    sim.admin_client()
        .publish_manifest(&protocol::content::PublishManifest {
            manifest: String::from_utf8(manifest.to_vec()).unwrap(),
            signature: signature.to_owned(),
        })
        .await
        .unwrap();
}

/// The refusal keeps v1 and says why in the fault the heartbeat carries.
fn assert_refused(k: &Kiosk, outcome: kiosk::Result<Polled>, why: &str) {
    let err = outcome.expect_err("the release must be refused");
    assert_eq!(version(k), Some(1), "old content stays after: {err}");
    assert!(has_notice(k, 1), "old items stay after: {err}");
    let faults = k.mirror.faults().unwrap();
    let heartbeat =
        kiosk::heartbeat::build(&k.mirror, common::HALL, 1, 1, &faults, Utc::now()).unwrap();
    assert!(
        heartbeat
            .faults
            .iter()
            .any(|f| f.part == "content" && f.message.contains(why)),
        "{:?} lacks {why:?}",
        heartbeat.faults
    );
}

fn blob_file(sim: &Sim, sha: &str) -> std::path::PathBuf {
    sim.data.path().join("content").join("blobs").join(sha)
}

/// Publishes release `version` and then damages its notice's blob on the server.
async fn publish_with_damaged_notice(sim: &Sim, version: u64, damage: impl FnOnce(&mut Vec<u8>)) {
    let release = release(version, &demo_key());
    release.publish(&sim.admin_client()).await.unwrap();
    let id = format!("notices/test-{version}");
    let notice = release
        .manifest
        .entries
        .iter()
        .find(|e| e.id == id)
        .unwrap();
    let path = blob_file(sim, &notice.sha256);
    let mut bytes = std::fs::read(&path).unwrap();
    damage(&mut bytes);
    std::fs::write(&path, &bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_wrongly_signed_damaged_and_older_releases_are_refused() {
    // An upstream that publishes what it is given: the kiosk is the one that must refuse.
    let sim = Sim::start(10, &["--publish-unverified"]);
    let mut k = kiosk_with_release_1(&sim).await;

    // A flipped byte in the manifest (still valid JSON, so the server takes it).
    let v2 = release(2, &demo_key());
    let tampered = String::from_utf8(v2.manifest_bytes.clone())
        .unwrap()
        .replace("\"test\"", "\"tesT\"");
    publish_raw(&sim, &v2, tampered.as_bytes(), &v2.signature).await;
    let outcome = poll(&mut k).await;
    assert_refused(&k, outcome, "signature does not verify");

    // Signed with a key the kiosk does not trust.
    let v3 = release(3, &generate_signing_key());
    v3.publish(&sim.admin_client()).await.unwrap();
    let outcome = poll(&mut k).await;
    assert_refused(&k, outcome, "signature does not verify");

    // A flipped byte in a blob on the server.
    publish_with_damaged_notice(&sim, 4, |bytes| bytes[10] ^= 0x01).await;
    let outcome = poll(&mut k).await;
    assert!(
        matches!(
            outcome,
            Err(Error::Content(ManifestError::BlobMismatch { .. }))
        ),
        "{outcome:?}"
    );
    assert_refused(&k, outcome, "blob notices/test-4");

    // A truncated blob.
    publish_with_damaged_notice(&sim, 5, |bytes| bytes.truncate(bytes.len() / 2)).await;
    let outcome = poll(&mut k).await;
    assert_refused(&k, outcome, "blob notices/test-5");

    // A good release after all that applies, and clears the fault.
    release(6, &demo_key())
        .publish(&sim.admin_client())
        .await
        .unwrap();
    assert!(matches!(
        poll(&mut k).await.unwrap(),
        Polled::Applied { version: 6, .. }
    ));
    assert_eq!(k.mirror.faults().unwrap(), []);

    // An older, validly signed release from another server: no rollback.
    let old_server = Sim::start(10, &[]);
    release(3, &demo_key())
        .publish(&old_server.admin_client())
        .await
        .unwrap();
    let store = BlobStore::open(&k._dir.path().join("blobs")).unwrap();
    let rollback = ContentSync::new(
        old_server.device_client(),
        vec![demo_key().verifying_key()],
        store,
    );
    let outcome = rollback.poll(&k.writer, false, Utc::now()).await;
    assert!(
        matches!(
            outcome,
            Err(Error::Content(ManifestError::Rollback {
                offered: 3,
                applied: 6
            }))
        ),
        "{outcome:?}"
    );
    assert_eq!(version(&k), Some(6));
    assert!(has_notice(&k, 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_that_fails_validation_refuses_the_whole_release() {
    let sim = Sim::start(10, &[]);
    let mut k = kiosk_with_release_1(&sim).await;
    // A validly signed release whose notice ends before it starts (an older tool, say).
    let mut compiled = sample::builtin();
    compiled.items.push((
        "notices/zz-bad".into(),
        Item::Notice(Notice {
            title: "坏公告".into(),
            body: "正文".into(),
            valid_from: "2026-02-01T00:00:00Z".parse().unwrap(),
            valid_until: Some("2026-01-01T00:00:00Z".parse().unwrap()),
            priority: 0,
        }),
    ));
    release::build(&compiled, 2, Utc::now(), "test", &demo_key())
        .publish(&sim.admin_client())
        .await
        .unwrap();
    let outcome = poll(&mut k).await;
    assert_refused(&k, outcome, "notices/zz-bad");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_stays_in_the_heartbeat_while_other_parts_fail_after_it() {
    let sim = Sim::start(10, &["--publish-unverified"]);
    let mut k = kiosk_with_release_1(&sim).await;
    release(2, &generate_signing_key())
        .publish(&sim.admin_client())
        .await
        .unwrap();
    assert!(poll(&mut k).await.is_err());
    // Later, the case sync fails too (the upstream's case feed is unreachable).
    let unreachable = protocol::client::Client::with_token("http://127.0.0.1:9/", None).unwrap();
    let mirror_path = k._dir.path().join("mirror.db");
    assert!(
        CaseSync::new(unreachable, &mirror_path, common::HALL, 50)
            .run_once()
            .await
            .is_err()
    );

    beat(&sim, &k).await;
    let reported = fleet_faults(&sim).await;
    assert!(
        reported
            .iter()
            .any(|f| f.part == "content" && f.message.contains("signature does not verify")),
        "{reported:?}"
    );
    assert!(reported.iter().any(|f| f.part == "cases"), "{reported:?}");

    // Content that applies clears the content fault, and only that one.
    release(3, &demo_key())
        .publish(&sim.admin_client())
        .await
        .unwrap();
    poll(&mut k).await.unwrap();
    beat(&sim, &k).await;
    let parts: Vec<String> = fleet_faults(&sim)
        .await
        .into_iter()
        .map(|f| f.part)
        .collect();
    assert_eq!(parts, ["cases"]);
}

/// Sends one heartbeat of the kiosk's mirror to `sim`.
async fn beat(sim: &Sim, k: &Kiosk) {
    common::beat(&common::heartbeats(sim, Arc::new(NoScreen)), &k.writer).await;
}

async fn fleet_faults(sim: &Sim) -> Vec<protocol::devices::Fault> {
    let fleet = sim.admin_client().fleet().await.unwrap();
    let me = fleet
        .devices
        .into_iter()
        .find(|d| d.device_id == "test-kiosk")
        .unwrap();
    me.heartbeat.faults
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_damaged_in_the_local_store_is_fetched_again() {
    let sim = Sim::start(10, &[]);
    let mut k = kiosk_with_release_1(&sim).await;
    let v2 = release(2, &demo_key());
    // A guide both releases share, damaged on the kiosk's disk since release 1 applied.
    let guide = v2
        .manifest
        .entries
        .iter()
        .find(|e| e.id == "guides/homestead")
        .unwrap();
    let stored = k._dir.path().join("blobs").join(&guide.sha256);
    let mut bytes = std::fs::read(&stored).unwrap();
    bytes[5] ^= 0x01;
    std::fs::write(&stored, &bytes).unwrap();

    v2.publish(&sim.admin_client()).await.unwrap();
    assert_eq!(
        poll(&mut k).await.unwrap(),
        // The new notice, and the damaged guide again.
        Polled::Applied {
            version: 2,
            downloaded: 2
        }
    );
    assert_eq!(std::fs::read(&stored).unwrap(), v2.blobs[&guide.sha256]);
    assert_eq!(k.mirror.faults().unwrap(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_off_mid_body_is_retryable_and_keeps_the_old_content() {
    let (v1, v2) = (release(1, &demo_key()), release(2, &demo_key()));
    let notice = v2
        .manifest
        .entries
        .iter()
        .find(|e| e.id == "notices/test-2")
        .unwrap()
        .sha256
        .clone();
    // 1: release 1; 2: release 2 whose notice is cut off mid-body; 3: release 2 whole.
    let stage = Arc::new(AtomicU64::new(1));
    let host = ScriptedHost::start({
        let (stage, notice) = (stage.clone(), notice.clone());
        move |path| {
            let stage = stage.load(Ordering::SeqCst);
            let release = if stage == 1 { &v1 } else { &v2 };
            match release_file(release, path) {
                Some(body) if stage == 2 && path.ends_with(&notice) => Answer::cut_in_half(body),
                Some(body) => Answer::ok(body),
                None => Answer::not_found(),
            }
        }
    });
    let mut k = kiosk_served_by(Client::with_token(&host.url, None).unwrap());
    poll(&mut k).await.unwrap();
    assert_eq!(version(&k), Some(1));

    stage.store(2, Ordering::SeqCst);
    let outcome = poll(&mut k).await;
    assert!(
        outcome.as_ref().is_err_and(Error::is_retryable),
        "{outcome:?}"
    );
    assert_refused(&k, outcome, "connection failed");
    assert!(
        !k._dir.path().join("blobs").join(&notice).exists(),
        "no part of the cut blob is kept"
    );

    stage.store(3, Ordering::SeqCst);
    assert!(matches!(
        poll(&mut k).await.unwrap(),
        Polled::Applied { version: 2, .. }
    ));
    assert!(has_notice(&k, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_published_between_manifest_and_signature_is_not_a_fault() {
    let (v2, v3) = (release(2, &demo_key()), release(3, &demo_key()));
    // The first manifest request gets release 2; release 3 is published right after it, so
    // the signature that follows, and everything after, is release 3's.
    let manifests_served = Arc::new(AtomicU64::new(0));
    let host = ScriptedHost::start({
        let manifests_served = manifests_served.clone();
        move |path| {
            let release = if manifests_served.load(Ordering::SeqCst) == 0 {
                &v2
            } else {
                &v3
            };
            let body = release_file(release, path);
            if path.ends_with("/manifest.json") {
                manifests_served.fetch_add(1, Ordering::SeqCst);
            }
            body.map_or_else(Answer::not_found, Answer::ok)
        }
    });
    let mut k = kiosk_served_by(Client::with_token(&host.url, None).unwrap());
    assert!(matches!(
        poll(&mut k).await.unwrap(),
        Polled::Applied { version: 3, .. }
    ));
    assert_eq!(manifests_served.load(Ordering::SeqCst), 2);
    assert_eq!(k.mirror.faults().unwrap(), []);
}

/// The blob files of `release` that are on the kiosk's disk, and those that are not.
fn on_disk(blobs: &std::path::Path, release: &Release) -> (usize, usize) {
    let held = release
        .blobs
        .keys()
        .filter(|sha| blobs.join(sha.as_str()).is_file())
        .count();
    (held, release.blobs.len() - held)
}

/// Power-cut order of a release: its blobs are all on the disk before the commit that
/// references them, and the previous release's blobs are deleted only after that commit
/// (which syncs: the content connection is `Durability::Synced`). A commit hook on the
/// content connection looks at the disk at the moment of the commit; a trigger failing the
/// commit shows that a release that cannot be stored deletes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_blobs_go_only_after_the_new_release_is_committed() {
    let sim = Sim::start(10, &[]);
    let k = kiosk_with_release_1(&sim).await;
    let blobs = k._dir.path().join("blobs");
    let (v1, v2) = (release(1, &demo_key()), release(2, &demo_key()));
    let only_v1 = v1
        .blobs
        .keys()
        .filter(|sha| !v2.blobs.contains_key(*sha))
        .count();
    assert_eq!(only_v1, 1, "release 1's own notice");
    v2.publish(&sim.admin_client()).await.unwrap();

    // A release the mirror cannot store: nothing of the old one is deleted.
    k.mirror
        .conn()
        .execute_batch(
            "CREATE TRIGGER full_disk BEFORE UPDATE ON content_state
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END;",
        )
        .unwrap();
    let mut k = k;
    let outcome = poll(&mut k).await;
    assert!(
        outcome.as_ref().is_err_and(Error::is_storage),
        "{outcome:?}"
    );
    assert_refused(&k, outcome, "disk is full");
    assert_eq!(on_disk(&blobs, &v1), (v1.blobs.len(), 0), "release 1 whole");

    k.mirror
        .conn()
        .execute_batch("DROP TRIGGER full_disk")
        .unwrap();
    let at_commit = Arc::new(std::sync::Mutex::new(Vec::new()));
    k.writer.lock().conn().commit_hook(Some({
        let (at_commit, blobs, v1, v2) = (
            at_commit.clone(),
            blobs.clone(),
            release(1, &demo_key()),
            release(2, &demo_key()),
        );
        move || {
            at_commit
                .lock()
                .unwrap()
                .push((on_disk(&blobs, &v1), on_disk(&blobs, &v2)));
            false
        }
    }));
    assert!(matches!(
        poll(&mut k).await.unwrap(),
        Polled::Applied { version: 2, .. }
    ));
    // Two commits: the release's, with both releases whole on the disk, and then the one
    // clearing the content fault of the failed attempt, after release 1's own blob went.
    let whole = (v1.blobs.len(), 0);
    let v1_pruned = (v1.blobs.len() - 1, 1);
    let new_whole = (v2.blobs.len(), 0);
    assert_eq!(
        *at_commit.lock().unwrap(),
        [(whole, new_whole), (v1_pruned, new_whole)]
    );
    assert_eq!(on_disk(&blobs, &v1), v1_pruned);
    assert_eq!(on_disk(&blobs, &v2), (v2.blobs.len(), 0));
}

/// Accepted data is refused on a connection whose commits a power cut could take back, and
/// every connection the kiosk opens for it syncs each commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_and_ratings_are_stored_only_through_synced_connections() {
    let sim = Sim::start(10, &[]);
    let k = kiosk(&sim);
    let path = k._dir.path().join("mirror.db");
    assert_eq!(k.mirror.durability().unwrap(), Durability::Synced);
    let synchronous: i64 = k
        .mirror
        .conn()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(synchronous, 2, "FULL");
    let feed = Mirror::open_with(&path, Durability::Refetchable).unwrap();
    assert_eq!(feed.durability().unwrap(), Durability::Refetchable);
    let refused = feed
        .record_rating("k", common::HALL, None, 5, &[], Utc::now())
        .unwrap_err();
    assert!(
        refused.to_string().contains("syncs every commit"),
        "{refused}"
    );
    assert_eq!(k.mirror.rating_counts().unwrap(), (0, 0, 0));

    release(1, &demo_key())
        .publish(&sim.admin_client())
        .await
        .unwrap();
    let outcome = k
        .sync
        .poll(&AsyncMirror::from(feed), false, Utc::now())
        .await;
    assert!(
        outcome
            .as_ref()
            .is_err_and(|e| e.to_string().contains("syncs every commit")),
        "{outcome:?}"
    );
    assert!(k.mirror.content_status().unwrap().unwrap().sample);
}
