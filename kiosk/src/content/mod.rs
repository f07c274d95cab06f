//! Signed content: compiling folders, building releases, and keeping the kiosk's content
//! current — poll the manifest (ETag), verify the signature, refuse rollbacks, download only
//! blobs missing from (or damaged in) the store, check each hash, apply everything in one
//! transaction, keep the previous content when anything fails.

pub mod release;
pub mod sample;
pub mod source;
pub mod store;
pub mod verify;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use protocol::client::{Client, ManifestFetch};
use protocol::content::{ManifestError, sha256_hex, verify_blob};
use tokio::sync::watch;

use crate::config::Config;
use crate::error::Result;
use crate::mirror::blocking::off_runtime;
use crate::mirror::content::{ReleaseRows, replace};
use crate::mirror::{AsyncMirror, FaultSource, Mirror};
use store::BlobStore;
use verify::{AppliedRelease, Verdict};

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    /// The upstream has published no release yet; the current content stays.
    NothingPublished,
    /// The upstream answered 304 to our ETag.
    NotModified,
    /// The upstream serves the release already applied.
    AlreadyApplied,
    Applied {
        version: u64,
        downloaded: usize,
    },
}

/// A fetched manifest with the verdict on it.
struct FetchedManifest {
    manifest_bytes: Vec<u8>,
    etag: Option<String>,
    verdict: Verdict,
}

/// Keeps the content current. `changed` ticks after every applied release, so the UI
/// reloads its pages.
pub struct ContentSync {
    client: Client,
    trusted: Vec<VerifyingKey>,
    store: BlobStore,
    changed: watch::Sender<u64>,
}

impl ContentSync {
    pub fn new(client: Client, trusted: Vec<VerifyingKey>, store: BlobStore) -> Self {
        Self {
            client,
            trusted,
            store,
            changed: watch::Sender::new(0),
        }
    }

    /// A receiver that sees a new value after each applied release.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Polls once and records the outcome as the content fault (set on failure with the
    /// reason, cleared on success), which the heartbeat reports. Every file and SQLite call
    /// runs on the blocking pool (see [`AsyncMirror`]).
    pub async fn poll(
        &self,
        mirror: &AsyncMirror,
        force: bool,
        now: DateTime<Utc>,
    ) -> Result<Polled> {
        let outcome = self.poll_inner(mirror, force, now).await;
        match &outcome {
            Ok(Polled::Applied {
                version,
                downloaded,
            }) => {
                tracing::info!(version, downloaded, "applied content release");
                self.changed.send_modify(|generation| *generation += 1);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "content release not applied; keeping the current content");
            }
        }
        mirror
            .record_outcome(FaultSource::Content, &outcome, now)
            .await;
        outcome
    }

    /// Fetches the manifest (unless it still has `etag`) and its signature, and checks them;
    /// `Err` with what was found when there is nothing to fetch. The two come in separate requests, so a release published
    /// between them pairs one release's manifest with the other's signature: a signature that
    /// does not verify gets the pair fetched once more before it counts as a fault.
    async fn fetch_checked(
        &self,
        mut etag: Option<&str>,
        applied: AppliedRelease<'_>,
    ) -> Result<Result<FetchedManifest, Polled>> {
        let mut fetched_again = false;
        loop {
            let (manifest, signature, new_etag) = match self.client.manifest(etag).await? {
                ManifestFetch::Fetched {
                    manifest,
                    signature,
                    etag,
                } => (manifest, signature, etag),
                ManifestFetch::NotModified => return Ok(Err(Polled::NotModified)),
                ManifestFetch::NotPublished => return Ok(Err(Polled::NothingPublished)),
            };
            match verify::check_manifest(&manifest, &signature, &self.trusted, applied) {
                Err(ManifestError::BadSignature) if !fetched_again => {
                    tracing::info!(
                        "manifest signature does not verify; fetching both again in case a release was published between them"
                    );
                    fetched_again = true;
                    etag = None;
                }
                verdict => {
                    return Ok(Ok(FetchedManifest {
                        manifest_bytes: manifest,
                        etag: new_etag,
                        verdict: verdict?,
                    }));
                }
            }
        }
    }

    async fn poll_inner(
        &self,
        mirror: &AsyncMirror,
        force: bool,
        now: DateTime<Utc>,
    ) -> Result<Polled> {
        let status = mirror.run(|m| m.content_status()).await?;
        let etag = status
            .as_ref()
            .and_then(|s| s.etag.clone())
            .filter(|_| !force);
        let applied = AppliedRelease {
            version: status.as_ref().and_then(|s| s.version),
            manifest_sha256: status.as_ref().and_then(|s| s.manifest_sha256.as_deref()),
        };
        let FetchedManifest {
            manifest_bytes,
            etag,
            verdict,
        } = match self.fetch_checked(etag.as_deref(), applied).await? {
            Ok(fetched) => fetched,
            Err(nothing_new) => return Ok(nothing_new),
        };
        let manifest = match verdict {
            Verdict::AlreadyApplied => {
                mirror
                    .run(move |m| {
                        m.conn()
                            .execute("UPDATE content_state SET etag = ?1 WHERE id = 1", [&etag])?;
                        Ok(())
                    })
                    .await?;
                return Ok(Polled::AlreadyApplied);
            }
            Verdict::Apply(manifest) => manifest,
        };
        let mut downloaded = 0;
        for entry in &manifest.entries {
            let (store, held) = (self.store.clone(), entry.clone());
            if off_runtime(move || store.holds(&held)).await? {
                continue;
            }
            let bytes = self.client.blob(&entry.sha256, entry.size).await?;
            let (store, entry) = (self.store.clone(), entry.clone());
            off_runtime(move || {
                verify_blob(&entry, &bytes)?;
                store.write(&entry.sha256, &bytes)
            })
            .await?;
            downloaded += 1;
        }
        let store = self.store.clone();
        let version = manifest.version;
        let keep: HashSet<String> = manifest.entries.iter().map(|e| e.sha256.clone()).collect();
        mirror
            .run(move |m| {
                // Power-cut order: every blob the release names is synced (each file when it
                // was written, their names now) before the commit that makes the mirror point
                // at them, so a synced commit never references a blob the disk lacks.
                store.sync()?;
                // Item blobs are read back from the store and checked again: what is applied
                // is exactly what was verified, even if a stored file was damaged since.
                let verify::ReleaseContent { items, media } =
                    verify::items(&manifest, |sha| store.read(sha))?;
                let manifest_sha = sha256_hex(&manifest_bytes);
                m.require_synced("a content release")?;
                let tx = m.conn_mut().transaction()?;
                replace(
                    &tx,
                    &ReleaseRows {
                        version: Some(manifest.version),
                        manifest_sha256: Some(&manifest_sha),
                        etag: etag.as_deref(),
                        items: &items,
                        media: &media,
                    },
                    now,
                )?;
                // The connection commits synced (checked above): when this returns, the new release is on the disk, and only then may the previous
                // release's blobs go. (With NORMAL, a power cut after the deletion could
                // bring back the old release without its images.)
                tx.commit()?;
                // A crash or a failure here only leaves extra files for the next release.
                let keep: HashSet<&str> = keep.iter().map(String::as_str).collect();
                if let Err(e) = store.retain(&keep) {
                    tracing::warn!(error = %e, "could not remove the previous release's blobs");
                }
                Ok(())
            })
            .await?;
        Ok(Polled::Applied {
            version,
            downloaded,
        })
    }
}

/// The kiosk's mirror and blob store as the screen sees them: with the built-in sample
/// content installed if no release was ever applied, whether or not the data plane has run.
pub fn open_local(config: &Config, now: DateTime<Utc>) -> Result<(Mirror, BlobStore)> {
    let mut mirror = Mirror::open(&config.mirror_path())?;
    let store = BlobStore::open(&config.blob_dir())?;
    if install_sample_if_empty(&mut mirror, &store, now)? {
        tracing::info!("no content release applied yet; showing the built-in sample content");
    }
    Ok((mirror, store))
}

/// Installs the built-in sample content when no content was ever applied.
pub fn install_sample_if_empty(
    mirror: &mut Mirror,
    store: &BlobStore,
    now: DateTime<Utc>,
) -> Result<bool> {
    if mirror.content_status()?.is_some() {
        return Ok(false);
    }
    let compiled = sample::builtin();
    for media in &compiled.media {
        store.write(&sha256_hex(&media.bytes), &media.bytes)?;
    }
    // The blobs' names are on the disk before the commit that references them.
    store.sync()?;
    let media = verify::media_rows(&compiled);
    let tx = mirror.conn_mut().transaction()?;
    replace(
        &tx,
        &ReleaseRows {
            version: None,
            manifest_sha256: None,
            etag: None,
            items: &compiled.items,
            media: &media,
        },
        now,
    )?;
    tx.commit()?;
    Ok(true)
}
