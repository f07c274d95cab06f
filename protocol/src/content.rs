//! The signed content manifest.
//!
//! Administrators publish content (policies, guides, notices, media, settings) as
//! content-addressed blobs listed in a manifest. The manifest's exact bytes are signed with
//! ed25519 and the signature travels beside it (`manifest.json.sig`), so any static web server
//! can host a release and a kiosk trusts only what a configured key signed. Verification works
//! on the bytes as received, never on a re-serialisation, so no canonical-JSON subtleties can
//! make a valid signature fail or an altered manifest pass.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Manifest format understood by this build.
pub const MANIFEST_SCHEMA: u32 = 1;

/// How far a release's `version` may run ahead of its `created_at` (as Unix seconds), and
/// how far ahead of the upstream's clock a `created_at` may be when published: one day.
///
/// Versions are publish timestamps (`kiosk-admin build` uses the Unix time by default) or
/// any smaller number. Kiosks refuse every release not newer than the applied one, so a
/// version typed too large would stop content updates until time caught up with it; the
/// ceiling bounds that to this skew. A mistyped `--version 9223372036854775807` is refused
/// by `kiosk-admin build`, by the upstream and by every kiosk (from the signed manifest
/// alone, without trusting its own clock), so it can neither be published nor applied.
pub const MAX_VERSION_SKEW_S: u64 = 86_400;

/// The highest `version` a release created at `created_at` may carry.
pub fn version_ceiling(created_at: DateTime<Utc>) -> u64 {
    created_at
        .timestamp()
        .max(0)
        .unsigned_abs()
        .saturating_add(MAX_VERSION_SKEW_S)
}

/// What an entry holds; kiosks file each kind in its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// 政策公开: a policy document (JSON item).
    Policy,
    /// 办事指南: a service guide (JSON item).
    Guide,
    /// 结果公示: an approval-result publicity list (JSON item).
    Publicity,
    /// 通知公告: a notice with a validity window (JSON item).
    Notice,
    /// Kiosk settings (JSON item).
    Settings,
    /// An image or other file referred to by items.
    Media,
}

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// Stable identifier within the release, e.g. `guides/homestead`.
    pub id: String,
    pub kind: EntryKind,
    /// Lowercase hex SHA-256 of the blob; also its address (`/content/blobs/{sha256}`).
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
}

/// A content release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: u32,
    /// Strictly increasing across releases; kiosks refuse anything not newer than what they
    /// have applied, so an old (even validly signed) release cannot be replayed.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    /// Who built it, for the audit trail.
    pub publisher: String,
    /// Sorted by `id`, ids unique.
    pub entries: Vec<ManifestEntry>,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("signature is not valid base64 of 64 bytes")]
    MalformedSignature,
    #[error("signature does not verify against any trusted key")]
    BadSignature,
    #[error("manifest is not valid JSON of schema {MANIFEST_SCHEMA}: {0}")]
    Malformed(String),
    #[error("manifest schema {0} is not supported (this build reads {MANIFEST_SCHEMA})")]
    UnsupportedSchema(u32),
    #[error("manifest version {offered} is not newer than the applied version {applied}")]
    Rollback { offered: u64, applied: u64 },
    #[error(
        "version {version} is above its ceiling {ceiling} (created_at + {MAX_VERSION_SKEW_S} s; \
         versions are publish timestamps)"
    )]
    VersionTooHigh { version: u64, ceiling: u64 },
    #[error("entry {0}: {1}")]
    BadEntry(String, &'static str),
    #[error("blob {id} has SHA-256 {actual}, the manifest says {expected}")]
    BlobMismatch {
        id: String,
        expected: String,
        actual: String,
    },
}

impl Manifest {
    /// The bytes that are signed and served: compact JSON with entries in manifest order.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serialises")
    }

    /// Checks the manifest's own consistency: schema, ids unique and sorted, hashes well formed.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if self.schema != MANIFEST_SCHEMA {
            return Err(ManifestError::UnsupportedSchema(self.schema));
        }
        let ceiling = version_ceiling(self.created_at);
        if self.version > ceiling {
            return Err(ManifestError::VersionTooHigh {
                version: self.version,
                ceiling,
            });
        }
        for pair in self.entries.windows(2) {
            if pair[0].id >= pair[1].id {
                return Err(ManifestError::BadEntry(
                    pair[1].id.clone(),
                    "ids must be unique and sorted",
                ));
            }
        }
        for entry in &self.entries {
            if !is_sha256_hex(&entry.sha256) {
                return Err(ManifestError::BadEntry(
                    entry.id.clone(),
                    "sha256 must be 64 lowercase hex digits",
                ));
            }
            if entry.id.is_empty() || entry.id.len() > 200 {
                return Err(ManifestError::BadEntry(
                    entry.id.clone(),
                    "id must be 1 to 200 bytes",
                ));
            }
        }
        Ok(())
    }

    /// Parses and checks manifest bytes, without any signature check (server side).
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest: Self =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Malformed(e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks that `applied` (the version a kiosk already has) is older than this release.
    pub fn check_newer_than(&self, applied: Option<u64>) -> Result<(), ManifestError> {
        match applied {
            Some(applied) if self.version <= applied => Err(ManifestError::Rollback {
                offered: self.version,
                applied,
            }),
            _ => Ok(()),
        }
    }
}

/// Checks a downloaded blob against its entry.
pub fn verify_blob(entry: &ManifestEntry, bytes: &[u8]) -> Result<(), ManifestError> {
    let actual = sha256_hex(bytes);
    if actual != entry.sha256 || bytes.len() as u64 != entry.size {
        return Err(ManifestError::BlobMismatch {
            id: entry.id.clone(),
            expected: entry.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Signs manifest bytes; the result is the content of `manifest.json.sig` (base64).
pub fn sign(key: &SigningKey, manifest_bytes: &[u8]) -> String {
    BASE64.encode(key.sign(manifest_bytes).to_bytes())
}

/// Parses the text of `manifest.json.sig`.
pub fn decode_signature(signature_b64: &str) -> Result<Signature, ManifestError> {
    let raw = BASE64
        .decode(signature_b64.trim())
        .map_err(|_| ManifestError::MalformedSignature)?;
    let raw: [u8; 64] = raw
        .try_into()
        .map_err(|_| ManifestError::MalformedSignature)?;
    Ok(Signature::from_bytes(&raw))
}

/// Verifies manifest bytes against a detached signature and any of the trusted keys, then
/// parses and checks the manifest.
pub fn verify(
    manifest_bytes: &[u8],
    signature_b64: &str,
    trusted: &[VerifyingKey],
) -> Result<Manifest, ManifestError> {
    let signature = decode_signature(signature_b64)?;
    // Strict verification also refuses non-canonical signatures and weak (small-order)
    // keys, which plain `verify` accepts: one manifest has exactly one valid signature per key.
    if !trusted
        .iter()
        .any(|key| key.verify_strict(manifest_bytes, &signature).is_ok())
    {
        return Err(ManifestError::BadSignature);
    }
    Manifest::parse(manifest_bytes)
}

/// Key files hold base64 of the raw 32-byte key, one per file.
#[derive(Debug, thiserror::Error)]
#[error("not a base64 ed25519 key of 32 bytes")]
pub struct KeyFormatError;

pub fn generate_signing_key() -> SigningKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the OS random source is available");
    SigningKey::from_bytes(&seed)
}

pub fn encode_signing_key(key: &SigningKey) -> String {
    BASE64.encode(key.to_bytes())
}

pub fn encode_verifying_key(key: &VerifyingKey) -> String {
    BASE64.encode(key.to_bytes())
}

fn decode_key_bytes(text: &str) -> Result<[u8; 32], KeyFormatError> {
    BASE64
        .decode(text.trim())
        .map_err(|_| KeyFormatError)?
        .try_into()
        .map_err(|_| KeyFormatError)
}

pub fn decode_signing_key(text: &str) -> Result<SigningKey, KeyFormatError> {
    decode_key_bytes(text).map(|bytes| SigningKey::from_bytes(&bytes))
}

pub fn decode_verifying_key(text: &str) -> Result<VerifyingKey, KeyFormatError> {
    VerifyingKey::from_bytes(&decode_key_bytes(text)?).map_err(|_| KeyFormatError)
}

/// `PUT /api/v1/admin/content/manifest`: switches the published release in one step, after
/// its blobs were uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishManifest {
    /// The manifest bytes exactly as signed (a JSON string holding JSON).
    pub manifest: String,
    /// Base64 ed25519 signature over `manifest`.
    pub signature: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn manifest(version: u64) -> Manifest {
        let blob = b"hello";
        Manifest {
            schema: MANIFEST_SCHEMA,
            version,
            created_at: Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap(),
            publisher: "省厅信息中心".into(),
            entries: vec![ManifestEntry {
                id: "notices/a".into(),
                kind: EntryKind::Notice,
                sha256: sha256_hex(blob),
                size: blob.len() as u64,
                media_type: "application/json".into(),
            }],
        }
    }

    #[test]
    fn signed_manifest_round_trips() {
        let key = generate_signing_key();
        let bytes = manifest(3).to_bytes();
        let sig = sign(&key, &bytes);
        let verified = verify(&bytes, &sig, &[key.verifying_key()]).unwrap();
        assert_eq!(verified, manifest(3));
    }

    #[test]
    fn any_flipped_byte_is_refused() {
        let key = generate_signing_key();
        let bytes = manifest(3).to_bytes();
        let sig = sign(&key, &bytes);
        for i in 0..bytes.len() {
            let mut tampered = bytes.clone();
            tampered[i] ^= 0x01;
            assert!(
                verify(&tampered, &sig, &[key.verifying_key()]).is_err(),
                "byte {i}"
            );
        }
    }

    #[test]
    fn wrong_key_and_malformed_signature_are_refused() {
        let key = generate_signing_key();
        let other = generate_signing_key();
        let bytes = manifest(1).to_bytes();
        let sig = sign(&key, &bytes);
        assert_eq!(
            verify(&bytes, &sig, &[other.verifying_key()]),
            Err(ManifestError::BadSignature)
        );
        assert_eq!(
            verify(&bytes, "not base64!", &[key.verifying_key()]),
            Err(ManifestError::MalformedSignature)
        );
        // A second trusted key (key rotation) is accepted.
        assert!(verify(&bytes, &sig, &[other.verifying_key(), key.verifying_key()]).is_ok());
    }

    #[test]
    fn a_weak_key_that_any_signature_fits_is_refused() {
        // The identity point as a key, and R = identity, s = 0: the plain ed25519 equation
        // holds for every message, so a configured weak key would accept anything.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = VerifyingKey::from_bytes(&identity).unwrap();
        let mut forged = [0u8; 64];
        forged[0] = 1;
        let bytes = manifest(9).to_bytes();
        use ed25519_dalek::Verifier;
        assert!(
            weak.verify(&bytes, &Signature::from_bytes(&forged)).is_ok(),
            "the forgery fits the lax check"
        );
        assert_eq!(
            verify(&bytes, &BASE64.encode(forged), &[weak]),
            Err(ManifestError::BadSignature)
        );
    }

    #[test]
    fn rollback_is_refused() {
        let m = manifest(5);
        assert!(m.check_newer_than(None).is_ok());
        assert!(m.check_newer_than(Some(4)).is_ok());
        assert_eq!(
            m.check_newer_than(Some(5)),
            Err(ManifestError::Rollback {
                offered: 5,
                applied: 5
            })
        );
    }

    #[test]
    fn a_version_past_its_ceiling_is_refused() {
        let mut m = manifest(1);
        let created = m.created_at.timestamp() as u64;
        m.version = created + MAX_VERSION_SKEW_S;
        assert!(m.validate().is_ok(), "a day ahead is the ceiling");
        for version in [created + MAX_VERSION_SKEW_S + 1, i64::MAX as u64, u64::MAX] {
            m.version = version;
            assert_eq!(
                m.validate(),
                Err(ManifestError::VersionTooHigh {
                    version,
                    ceiling: created + MAX_VERSION_SKEW_S
                })
            );
        }
        // Refused after a valid signature too: a kiosk never applies it.
        let key = generate_signing_key();
        let bytes = m.to_bytes();
        assert!(matches!(
            verify(&bytes, &sign(&key, &bytes), &[key.verifying_key()]),
            Err(ManifestError::VersionTooHigh { .. })
        ));
    }

    #[test]
    fn blob_hash_and_size_are_checked() {
        let m = manifest(1);
        assert!(verify_blob(&m.entries[0], b"hello").is_ok());
        assert!(verify_blob(&m.entries[0], b"hellO").is_err());
        assert!(verify_blob(&m.entries[0], b"hell").is_err());
    }

    #[test]
    fn unsorted_or_duplicate_entries_are_refused() {
        let mut m = manifest(1);
        m.entries.push(m.entries[0].clone());
        assert!(matches!(m.validate(), Err(ManifestError::BadEntry(..))));
    }

    #[test]
    fn keys_round_trip_through_text() {
        let key = generate_signing_key();
        let back = decode_signing_key(&encode_signing_key(&key)).unwrap();
        assert_eq!(back.to_bytes(), key.to_bytes());
        let public = decode_verifying_key(&encode_verifying_key(&key.verifying_key())).unwrap();
        assert_eq!(public, key.verifying_key());
        assert!(decode_verifying_key("AAAA").is_err());
    }
}
