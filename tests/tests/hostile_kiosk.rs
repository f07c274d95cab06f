//! The hostile suite against the kiosk as a client: the real `kiosk` binary syncing from a
//! bad upstream and a bad content host on 127.0.0.1 (endless, huge, stalled and malformed
//! bodies, answers of the wrong type, signed manifests whose blob hashes climb out of the
//! blob folder). Each case must end in a clear refusal (exit 2, the reason on stderr), leave
//! the mirror as it was, write nothing outside the data folder, and keep the kiosk's memory
//! within a stated bound. The cases are listed in docs/security.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e_tests::peer::{HostileServer, Reply, run_measured};
use e2e_tests::program;

const DEMO_PUBLIC_KEY: &str = "HURoZEIqXjgUj9hmucyeMM6FiiuhcNjFl17zF9nFc1k=";
const HALL: &str = "hn-czs-gyx";
/// The kiosk's peak RSS under any of these peers: the largest body it ever buffers is a
/// 64 MiB feed page, refused as soon as it grows past that.
const KIOSK_RSS_BOUND_KIB: u64 = 200 * 1024;

fn config(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("kiosk.toml");
    std::fs::write(
        &path,
        format!(
            "device_id = \"hostile-kiosk\"\nhall_id = \"{HALL}\"\ndata_dir = \"data\"\n\
             [upstream]\nurl = \"{url}\"\ntoken = \"lhdev-test\"\ntimeout_s = 2\n\
             [content]\ntrusted_keys = [\"{DEMO_PUBLIC_KEY}\"]\n"
        ),
    )
    .unwrap();
    path
}

fn halls() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"halls": [{
        "id": HALL, "name": "郴州市桂阳县政务大厅", "division_code": "431021",
        "lon": 112.7, "lat": 25.7
    }]}))
    .unwrap()
}

/// Signs manifest bytes with the demo key the kiosk trusts: the content host is hostile,
/// the publisher is not (a kiosk must still refuse what a careless one signs).
fn signed(manifest: &serde_json::Value) -> (Vec<u8>, String) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/content-sample/.demo-signing.key"
    );
    let key =
        protocol::content::decode_signing_key(&std::fs::read_to_string(path).unwrap()).unwrap();
    let bytes = serde_json::to_vec(manifest).unwrap();
    let signature = protocol::content::sign(&key, &bytes);
    (bytes, signature)
}

fn manifest(entries: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "schema": 1, "version": 7, "created_at": "2026-11-30T08:00:00Z",
        "publisher": "hostile", "entries": entries
    })
}

/// A content host that serves `manifest` (signed) and answers every blob with `blob`.
fn content_host(manifest: serde_json::Value, blob: fn() -> Reply) -> HostileServer {
    let (bytes, signature) = signed(&manifest);
    HostileServer::start(move |path| match path {
        "/content/manifest.json" => Reply::Whole(200, "application/json", bytes.clone()),
        "/content/manifest.json.sig" => {
            Reply::Whole(200, "text/plain", signature.clone().into_bytes())
        }
        _ if path.starts_with("/content/blobs/") => blob(),
        _ => Reply::Whole(404, "application/json", b"{}".to_vec()),
    })
}

/// An upstream that answers the halls and then the feed with `feed`.
fn upstream(feed: fn() -> Reply) -> HostileServer {
    HostileServer::start(move |path| {
        if path.starts_with("/api/v1/halls") {
            Reply::Whole(200, "application/json", halls())
        } else if path.starts_with("/api/v1/cases/changes") {
            feed()
        } else {
            Reply::Whole(404, "application/json", b"{}".to_vec())
        }
    })
}

fn kiosk(config: &Path, args: &[&str]) -> (std::process::Output, u64) {
    run_measured(
        Command::new(program("kiosk"))
            .arg("--config")
            .arg(config)
            .args(args)
            .env("RUST_LOG", "warn"),
    )
}

fn status(config: &Path) -> serde_json::Value {
    let (out, _) = kiosk(config, &["status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

struct Case {
    name: &'static str,
    host: HostileServer,
    what: &'static str,
    /// What stderr must say.
    says: &'static str,
}

fn cases() -> Vec<Case> {
    let blob_entry = serde_json::json!([{
        "id": "notices/a", "kind": "notice", "sha256": "ab".repeat(32), "size": 10,
        "media_type": "application/json"
    }]);
    let climbing = serde_json::json!([{
        "id": "notices/a", "kind": "notice", "sha256": "../../../../../tmp/land-hall-climbed",
        "size": 10, "media_type": "application/json"
    }]);
    vec![
        // As an upstream client (the case feed).
        Case {
            name: "an endless feed page",
            host: upstream(|| Reply::Endless),
            what: "cases",
            says: "larger than",
        },
        Case {
            name: "a feed page declaring 10 GiB",
            host: upstream(|| Reply::Stalled {
                declared: 10 << 30,
                sent: 0,
            }),
            what: "cases",
            says: "larger than",
        },
        Case {
            name: "a feed page of bad JSON",
            host: upstream(|| Reply::Whole(200, "application/json", b"{not json".to_vec())),
            what: "cases",
            says: "contract",
        },
        Case {
            name: "a feed page that is HTML",
            host: upstream(|| {
                Reply::Whole(
                    200,
                    "text/html",
                    b"<html><body>502 Bad Gateway</body></html>".to_vec(),
                )
            }),
            what: "cases",
            says: "contract",
        },
        Case {
            name: "a feed entry with a SHA-256 digest of the old scheme",
            host: upstream(|| {
                Reply::Whole(200, "application/json", format!(
                    r#"{{"changes":[{{"op":"upsert","seq":1,"case":{{"case_no":"A-1","hall_id":"{HALL}","kind":"homestead","kind_label":"宅基地","applicant":"张*三","lookup_digest":"{}","received_at":"2026-11-01T00:00:00Z","due_at":"2026-12-01T00:00:00Z","status":"received","steps":[],"updated_at":"2026-11-01T00:00:00Z"}}}}],"next_after":1,"has_more":false}}"#,
                    "ab".repeat(32)
                ).into_bytes())
            }),
            what: "cases",
            says: "lookup_digest",
        },
        // As a content host client.
        Case {
            name: "a manifest that stalls after 1 of 1000 bytes",
            host: HostileServer::start(|_| Reply::Stalled {
                declared: 1000,
                sent: 1,
            }),
            what: "content",
            says: "timed out",
        },
        Case {
            name: "an endless manifest",
            host: HostileServer::start(|_| Reply::Endless),
            what: "content",
            says: "larger than",
        },
        Case {
            name: "a signed manifest whose blob hash climbs out of the blob folder",
            host: content_host(manifest(climbing), || {
                Reply::Whole(200, "application/octet-stream", b"x".to_vec())
            }),
            what: "content",
            says: "sha256",
        },
        Case {
            name: "an endless blob",
            host: content_host(manifest(blob_entry.clone()), || Reply::Endless),
            what: "content",
            says: "larger than",
        },
        Case {
            name: "a blob that is not what its hash says",
            host: content_host(manifest(blob_entry), || {
                Reply::Whole(200, "application/octet-stream", b"0123456789".to_vec())
            }),
            what: "content",
            says: "SHA-256",
        },
        Case {
            name: "a signature that is not base64",
            host: HostileServer::start(|path| match path {
                "/content/manifest.json.sig" => Reply::Whole(200, "text/plain", b"!!!".to_vec()),
                _ => Reply::Whole(200, "application/json", b"{}".to_vec()),
            }),
            what: "content",
            says: "signature",
        },
    ]
}

#[test]
fn a_hostile_upstream_or_content_host_is_refused_and_changes_nothing() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), &case.host.url);
        let before = status(&config);
        let blobs = dir.path().join("data").join("blobs");
        let files = |dir: &Path| -> Vec<PathBuf> {
            let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
                .unwrap_or_default();
            all.sort();
            all
        };
        let blobs_before = files(&blobs);
        let (out, peak) = kiosk(&config, &["sync", "--once", "--what", case.what]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "{}: exit {:?}, peak RSS {peak} KiB: {}",
            case.name,
            out.status.code(),
            stderr.trim()
        );
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", case.name);
        assert!(stderr.contains(case.says), "{}: {stderr}", case.name);
        assert!(!stderr.contains("panicked"), "{}: {stderr}", case.name);
        assert!(
            peak < KIOSK_RSS_BOUND_KIB,
            "{}: peak RSS {peak} KiB",
            case.name
        );
        // The mirror is as it was: no cases, the same content, nothing outside its folder.
        let after = status(&config);
        assert_eq!(after["cases"], before["cases"], "{}", case.name);
        assert_eq!(
            after["content"]["version"], before["content"]["version"],
            "{}",
            case.name
        );
        assert!(
            !Path::new("/tmp/land-hall-climbed").exists(),
            "{}",
            case.name
        );
        assert_eq!(files(&blobs), blobs_before, "{}: no blob kept", case.name);
    }
}

#[test]
fn kiosk_admin_build_refuses_a_runaway_version_and_an_oversized_file_by_name() {
    let work = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/content-sample");
    let key = sample.join(".demo-signing.key");
    let build = |content: &Path, version: Option<&str>| {
        let mut command = Command::new(program("kiosk-admin"));
        command
            .arg("build")
            .arg(content)
            .arg("--key")
            .arg(&key)
            .arg("--out")
            .arg(work.path().join("release"));
        if let Some(version) = version {
            command.args(["--version", version]);
        }
        command.output().unwrap()
    };
    // One mistyped flag must not stop content updates for good.
    let out = build(&sample, Some("9223372036854775807"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--version") && stderr.contains("ceiling"),
        "{stderr}"
    );
    assert!(!work.path().join("release").exists(), "nothing built");
    // A file over the contract's blob limit is named, not discovered at publish time.
    let content = work.path().join("content");
    std::fs::create_dir_all(content.join("media")).unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(protocol::MAX_BLOB_BODY + 1, 0);
    std::fs::write(content.join("media/scan.png"), png).unwrap();
    let out = build(&content, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("media/scan.png") && stderr.contains("blob limit"),
        "{stderr}"
    );
}
