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
use crate::mirror::content::{Release, replace};
use crate::mirror::{FaultSource, Mirror};
use store::BlobStore;
use verify::{AppliedRelease, Verdict};

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
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
struct Checked {
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
    /// reason, cleared on success), which the heartbeat reports.
    pub async fn poll(
        &self,
        mirror: &mut Mirror,
        force: bool,
        now: DateTime<Utc>,
    ) -> Result<Polled> {
        let outcome = self.poll_inner(mirror, force, now).await;
        match &outcome {
            Ok(polled) => {
                mirror.clear_fault(FaultSource::Content)?;
                if let Polled::Applied {
                    version,
                    downloaded,
                } = polled
                {
                    tracing::info!(version, downloaded, "applied content release");
                    self.changed.send_modify(|generation| *generation += 1);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "content release not applied; keeping the current content");
                mirror.record_fault(FaultSource::Content, &e.to_string(), now)?;
            }
        }
        outcome
    }

    /// Fetches the manifest (unless it still has `etag`) and its signature, and checks them;
    /// `None` when unchanged. The two come in separate requests, so a release published
    /// between them pairs one release's manifest with the other's signature: a signature that
    /// does not verify gets the pair fetched once more before it counts as a fault.
    async fn fetch_checked(
        &self,
        mut etag: Option<&str>,
        applied: AppliedRelease<'_>,
    ) -> Result<Option<Checked>> {
        let mut fetched_again = false;
        loop {
            let ManifestFetch::Fetched {
                manifest,
                signature,
                etag: new_etag,
            } = self.client.manifest(etag).await?
            else {
                return Ok(None);
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
                    return Ok(Some(Checked {
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
        mirror: &mut Mirror,
        force: bool,
        now: DateTime<Utc>,
    ) -> Result<Polled> {
        let status = mirror.content_status()?;
        let etag = status
            .as_ref()
            .and_then(|s| s.etag.clone())
            .filter(|_| !force);
        let applied = AppliedRelease {
            version: status.as_ref().and_then(|s| s.version),
            manifest_sha256: status.as_ref().and_then(|s| s.manifest_sha256.as_deref()),
        };
        let Some(Checked {
            manifest_bytes,
            etag,
            verdict,
        }) = self.fetch_checked(etag.as_deref(), applied).await?
        else {
            return Ok(Polled::NotModified);
        };
        let manifest = match verdict {
            Verdict::AlreadyApplied => {
                mirror
                    .conn()
                    .execute("UPDATE content_state SET etag = ?1 WHERE id = 1", [&etag])?;
                return Ok(Polled::AlreadyApplied);
            }
            Verdict::Apply(manifest) => manifest,
        };
        let mut downloaded = 0;
        for entry in &manifest.entries {
            if self.store.holds(entry)? {
                continue;
            }
            let bytes = self.client.blob(&entry.sha256, entry.size).await?;
            verify_blob(entry, &bytes)?;
            self.store.write(&entry.sha256, &bytes)?;
            downloaded += 1;
        }
        // Item blobs are read back from the store and checked again: what is applied is
        // exactly what was verified, even if a stored file was damaged since.
        let verify::ReleaseContent { items, media } =
            verify::items(&manifest, |sha| self.store.read(sha))?;
        let manifest_sha = sha256_hex(&manifest_bytes);
        let tx = mirror.conn_mut().transaction()?;
        replace(
            &tx,
            &Release {
                version: Some(manifest.version),
                manifest_sha256: Some(&manifest_sha),
                etag: etag.as_deref(),
                items: &items,
                media: &media,
            },
            now,
        )?;
        tx.commit()?;
        let keep: HashSet<&str> = manifest.entries.iter().map(|e| e.sha256.as_str()).collect();
        self.store.retain(&keep)?;
        Ok(Polled::Applied {
            version: manifest.version,
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
    let media = verify::media_rows(&compiled);
    let tx = mirror.conn_mut().transaction()?;
    replace(
        &tx,
        &Release {
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
