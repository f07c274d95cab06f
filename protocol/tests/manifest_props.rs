//! Properties of manifest verification over arbitrary input.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use protocol::content::{
    self, EntryKind, MANIFEST_SCHEMA, Manifest, ManifestEntry, generate_signing_key, sign, verify,
};

fn manifest(version: u64, ids: Vec<String>) -> Manifest {
    let mut ids = ids;
    ids.sort();
    ids.dedup();
    Manifest {
        schema: MANIFEST_SCHEMA,
        version,
        created_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        publisher: "props".into(),
        entries: ids
            .into_iter()
            .map(|id| ManifestEntry {
                sha256: content::sha256_hex(id.as_bytes()),
                size: id.len() as u64,
                id,
                kind: EntryKind::Guide,
                media_type: "application/json".into(),
            })
            .collect(),
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_and_signatures_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..512), sig in ".{0,120}") {
        let key = generate_signing_key();
        // Never a panic, never an acceptance without the key's signature.
        prop_assert!(verify(&bytes, &sig, &[key.verifying_key()]).is_err());
    }

    #[test]
    fn signed_manifests_verify_and_only_for_their_own_bytes(
        // Any version up to the ceiling of the manifests' created_at (2026-11-01 + a day).
        version in 1u64..=1_793_577_600,
        ids in proptest::collection::vec("[a-z]{1,12}/[a-z0-9]{1,12}", 0..20),
        other_version in 1u64..=1_793_577_600,
    ) {
        let key = generate_signing_key();
        let m = manifest(version, ids.clone());
        let bytes = m.to_bytes();
        let signature = sign(&key, &bytes);
        prop_assert_eq!(verify(&bytes, &signature, &[key.verifying_key()]).unwrap(), m);
        if other_version != version {
            let other = manifest(other_version, ids).to_bytes();
            prop_assert!(verify(&other, &signature, &[key.verifying_key()]).is_err());
        }
    }
}
