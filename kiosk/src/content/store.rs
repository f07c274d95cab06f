//! Content-addressed blob files: `DIR/{sha256}`. A file is written under a temporary name,
//! synced and renamed, so a blob is whole or absent even if the power goes mid-write; its
//! name is its hash, so the same bytes are never downloaded twice.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use protocol::content::{ManifestEntry, is_sha256_hex, verify_blob};

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// Where the blob lives (the UI loads images from here).
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(sha256)
    }

    /// Whether the store holds `entry`'s blob intact. Checking the bytes, not just the name,
    /// means a file damaged on disk is downloaded again instead of making every release that
    /// lists it fail its check.
    pub fn holds(&self, entry: &ManifestEntry) -> Result<bool> {
        let path = self.path(&entry.sha256);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io(format!("reading blob {}", path.display()), e)),
        };
        let intact = verify_blob(entry, &bytes).is_ok();
        if !intact {
            tracing::warn!(
                id = entry.id,
                sha256 = entry.sha256,
                "stored blob is damaged; fetching it again"
            );
        }
        Ok(intact)
    }

    pub fn read(&self, sha256: &str) -> Result<Vec<u8>> {
        let path = self.path(sha256);
        std::fs::read(&path).map_err(|e| Error::io(format!("reading blob {}", path.display()), e))
    }

    /// Stores bytes the caller has verified against `sha256`.
    pub fn write(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        if !is_sha256_hex(sha256) {
            return Err(Error::Invalid(format!("{sha256:?} is not a blob name")));
        }
        let tmp = self.dir.join(format!(".{sha256}.tmp"));
        let context = |what: &str| format!("{what} blob {sha256}");
        let mut file =
            std::fs::File::create(&tmp).map_err(|e| Error::io(context("creating"), e))?;
        file.write_all(bytes)
            .map_err(|e| Error::io(context("writing"), e))?;
        file.sync_all()
            .map_err(|e| Error::io(context("syncing"), e))?;
        std::fs::rename(&tmp, self.path(sha256)).map_err(|e| Error::io(context("renaming"), e))?;
        Ok(())
    }

    /// Syncs the folder, so that the names of the blobs written (each file synced when it
    /// was written) survive a power cut: a file's own fsync does not cover its directory
    /// entry. Run before the commit that makes the mirror reference them.
    pub fn sync(&self) -> Result<()> {
        std::fs::File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| Error::io(format!("syncing {}", self.dir.display()), e))
    }

    /// Deletes every blob (and leftover temporary file) not in `keep`. Run only after the
    /// release that no longer needs them is committed *and synced*: a crash before it only
    /// leaves extra files for the next run, while deleting first could leave a mirror that a
    /// power cut took back to the old release without its images.
    pub fn retain(&self, keep: &HashSet<&str>) -> Result<usize> {
        let mut removed = 0;
        let entries = std::fs::read_dir(&self.dir).map_err(|e| Error::io("listing blobs", e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("listing blobs", e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !keep.contains(name.as_ref()) {
                std::fs::remove_file(entry.path())
                    .map_err(|e| Error::io(format!("removing blob {name}"), e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::content::sha256_hex;

    #[test]
    fn writes_reads_and_collects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(&dir.path().join("blobs")).unwrap();
        let (a, b) = (sha256_hex(b"a"), sha256_hex(b"b"));
        store.write(&a, b"a").unwrap();
        store.write(&b, b"b").unwrap();
        std::fs::write(dir.path().join("blobs").join(".x.tmp"), b"half").unwrap();
        assert_eq!(store.read(&b).unwrap(), b"b");
        assert_eq!(store.retain(&HashSet::from([a.as_str()])).unwrap(), 2);
        assert!(store.holds(&entry(b"a")).unwrap() && !store.holds(&entry(b"b")).unwrap());
        assert!(store.write("../evil", b"x").is_err());
    }

    fn entry(bytes: &[u8]) -> ManifestEntry {
        ManifestEntry {
            id: "media/x.png".into(),
            kind: protocol::content::EntryKind::Media,
            sha256: sha256_hex(bytes),
            size: bytes.len() as u64,
            media_type: "image/png".into(),
        }
    }

    #[test]
    fn a_damaged_file_is_not_held() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let blob = entry(b"image bytes");
        store.write(&blob.sha256, b"image bytes").unwrap();
        assert!(store.holds(&blob).unwrap());
        std::fs::write(store.path(&blob.sha256), b"image byteZ").unwrap();
        assert!(!store.holds(&blob).unwrap());
    }
}
