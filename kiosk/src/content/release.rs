//! A signed release: manifest bytes, detached signature, and blobs by hash. Built from a
//! compiled content folder by `kiosk-admin build`, written as a folder any static web server
//! can serve (`manifest.json`, `manifest.json.sig`, `blobs/{sha256}`), and uploaded to the
//! upstream by `kiosk-admin publish`.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use protocol::client::Client;
use protocol::content::{
    self, EntryKind, MANIFEST_SCHEMA, Manifest, ManifestEntry, PublishManifest, sha256_hex,
};

use super::source::Compiled;
use crate::error::{Error, Result};

pub struct Release {
    pub manifest: Manifest,
    /// Exactly the bytes signed and served.
    pub manifest_bytes: Vec<u8>,
    pub signature: String,
    pub blobs: BTreeMap<String, Vec<u8>>,
}

/// Builds and signs a release.
pub fn build(
    compiled: &Compiled,
    version: u64,
    created_at: DateTime<Utc>,
    publisher: &str,
    key: &SigningKey,
) -> Release {
    let mut blobs = BTreeMap::new();
    let mut entries = Vec::new();
    let mut add = |id: &str, kind: EntryKind, media_type: &str, bytes: Vec<u8>| {
        let sha256 = sha256_hex(&bytes);
        entries.push(ManifestEntry {
            id: id.to_owned(),
            kind,
            sha256: sha256.clone(),
            size: bytes.len() as u64,
            media_type: media_type.to_owned(),
        });
        blobs.insert(sha256, bytes);
    };
    for (id, item) in &compiled.items {
        add(id, item.kind(), "application/json", item.to_json());
    }
    for media in &compiled.media {
        add(
            &media.id,
            EntryKind::Media,
            media.media_type,
            media.bytes.clone(),
        );
    }
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    let manifest = Manifest {
        schema: MANIFEST_SCHEMA,
        version,
        created_at,
        publisher: publisher.to_owned(),
        entries,
    };
    let manifest_bytes = manifest.to_bytes();
    let signature = content::sign(key, &manifest_bytes);
    Release {
        manifest,
        manifest_bytes,
        signature,
        blobs,
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
}

impl Release {
    /// Writes the servable folder. The manifest goes last, so a half-written folder never
    /// advertises blobs it lacks.
    pub fn write_dir(&self, dir: &Path) -> Result<()> {
        let blobs = dir.join("blobs");
        std::fs::create_dir_all(&blobs)
            .map_err(|e| Error::io(format!("creating {}", blobs.display()), e))?;
        for (sha256, bytes) in &self.blobs {
            write(&blobs.join(sha256), bytes)?;
        }
        write(&dir.join("manifest.json.sig"), self.signature.as_bytes())?;
        write(&dir.join("manifest.json"), &self.manifest_bytes)
    }

    /// Reads a folder written by [`Release::write_dir`], checking every blob.
    pub fn read_dir(dir: &Path) -> Result<Self> {
        let manifest_bytes = read(&dir.join("manifest.json"))?;
        let signature = String::from_utf8(read(&dir.join("manifest.json.sig"))?)
            .map_err(|_| Error::Invalid("manifest.json.sig is not text".into()))?;
        let manifest = Manifest::parse(&manifest_bytes)?;
        let mut blobs = BTreeMap::new();
        for entry in &manifest.entries {
            let bytes = read(&dir.join("blobs").join(&entry.sha256))?;
            content::verify_blob(entry, &bytes)?;
            blobs.insert(entry.sha256.clone(), bytes);
        }
        Ok(Self {
            manifest,
            manifest_bytes,
            signature: signature.trim().to_owned(),
            blobs,
        })
    }

    /// The body of `PUT /api/v1/admin/content/manifest` for this release.
    pub fn publish_body(&self) -> Result<PublishManifest> {
        let manifest = String::from_utf8(self.manifest_bytes.clone())
            .map_err(|_| Error::Invalid("manifest is not UTF-8".into()))?;
        Ok(PublishManifest {
            manifest,
            signature: self.signature.clone(),
        })
    }

    /// Uploads the blobs, then switches the upstream to this release in one step.
    pub async fn publish(&self, admin: &Client) -> Result<()> {
        for (sha256, bytes) in &self.blobs {
            admin.upload_blob(sha256, bytes.clone()).await?;
        }
        admin.publish_manifest(&self.publish_body()?).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::sample;

    #[test]
    fn a_written_release_reads_back_and_verifies() {
        let key = content::generate_signing_key();
        let release = build(&sample::builtin(), 7, Utc::now(), "test", &key);
        let dir = tempfile::tempdir().unwrap();
        release.write_dir(dir.path()).unwrap();
        let back = Release::read_dir(dir.path()).unwrap();
        assert_eq!(back.manifest, release.manifest);
        let verified = content::verify(
            &back.manifest_bytes,
            &back.signature,
            &[key.verifying_key()],
        )
        .unwrap();
        assert_eq!(verified.version, 7);
        // A blob altered on disk is caught when the folder is read.
        let victim = release.manifest.entries[0].sha256.clone();
        std::fs::write(dir.path().join("blobs").join(&victim), b"tampered").unwrap();
        assert!(Release::read_dir(dir.path()).is_err());
    }
}
