//! Deciding about a fetched release, pure: signature, rollback, and the items its blobs hold.

use std::collections::HashSet;

use ed25519_dalek::VerifyingKey;
use protocol::content::{self, EntryKind, Manifest, ManifestError, sha256_hex, verify_blob};
use protocol::items::Item;

use super::source::Compiled;
use crate::error::{Error, Result};
use crate::mirror::content::MediaRow;

/// What the kiosk has applied, as far as a new release is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedRelease<'a> {
    pub version: Option<u64>,
    pub manifest_sha256: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The very release already applied (e.g. fetched again without an ETag).
    AlreadyApplied,
    /// A newer, validly signed release.
    Apply(Manifest),
}

/// Checks the signature against the trusted keys, the manifest's form, and that it is newer
/// than what is applied (no rollback, not even to a validly signed old release).
pub fn check_manifest(
    manifest_bytes: &[u8],
    signature: &str,
    trusted: &[VerifyingKey],
    applied: AppliedRelease,
) -> Result<Verdict, ManifestError> {
    let manifest = content::verify(manifest_bytes, signature, trusted)?;
    if Some(manifest.version) == applied.version
        && applied.manifest_sha256 == Some(sha256_hex(manifest_bytes).as_str())
    {
        return Ok(Verdict::AlreadyApplied);
    }
    manifest.check_newer_than(applied.version)?;
    Ok(Verdict::Apply(manifest))
}

/// The items and media of a release, checked.
pub struct ReleaseContent {
    pub items: Vec<(String, Item)>,
    pub media: Vec<MediaRow>,
}

/// Reads every blob of `manifest` through `blob` (bytes by sha256), checking each hash and
/// each item's content, and that every image an item shows is in the release.
pub fn items(
    manifest: &Manifest,
    mut blob: impl FnMut(&str) -> Result<Vec<u8>>,
) -> Result<ReleaseContent> {
    let mut items = Vec::new();
    let mut media = Vec::new();
    for entry in &manifest.entries {
        let bytes = blob(&entry.sha256)?;
        verify_blob(entry, &bytes)?;
        if entry.kind == EntryKind::Media {
            media.push(MediaRow {
                id: entry.id.clone(),
                sha256: entry.sha256.clone(),
                media_type: entry.media_type.clone(),
                size: entry.size,
            });
            continue;
        }
        let item = Item::from_json(entry.kind, &bytes).map_err(|cause| Error::Item {
            id: entry.id.clone(),
            cause,
        })?;
        items.push((entry.id.clone(), item));
    }
    let media_ids: HashSet<&str> = media.iter().map(|m| m.id.as_str()).collect();
    for (id, item) in &items {
        if let Some(missing) = item.media().find(|m| !media_ids.contains(m)) {
            return Err(Error::Item {
                id: id.clone(),
                cause: protocol::items::ItemError::new(
                    "images",
                    format!("{missing} is not in the release"),
                ),
            });
        }
    }
    Ok(ReleaseContent { items, media })
}

/// The media rows of a compiled folder (for the built-in sample).
pub fn media_rows(compiled: &Compiled) -> Vec<MediaRow> {
    compiled
        .media
        .iter()
        .map(|m| MediaRow {
            id: m.id.clone(),
            sha256: sha256_hex(&m.bytes),
            media_type: m.media_type.to_owned(),
            size: m.bytes.len() as u64,
        })
        .collect()
}
