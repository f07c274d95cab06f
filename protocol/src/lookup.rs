//! Lookup digests: what a kiosk stores instead of an applicant's verification code.
//!
//! A code is short (often the last four digits of a phone number), so any fast hash of it
//! falls to trying all 10⁴ codes. The digest is therefore argon2id, memory-hard, with a
//! salt of its own for every case, so a copied mirror costs an attacker the full price of
//! every guess for every case (no table, no sharing of work between cases). The upstream
//! computes it once per case; the kiosk computes it once per lookup.
//!
//! The digest travels as a PHC string, which carries the algorithm, its version, the
//! parameters and the salt with the hash:
//! `$argon2id$v=19$m=19456,t=2,p=1$<salt, base64>$<32-byte hash, base64>`. So parameters can
//! be raised later case by case, and a kiosk verifies each case with what it was made with
//! (within [`MAX_PARAMS`], so that a hostile upstream cannot make a lookup exhaust memory).
//!
//! The hashed password is the case number and the code, each preceded by its length as a
//! 4-byte big-endian integer, so that no two pairs give the same bytes and a digest copied
//! onto another case does not open it.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// The cost of one guess: memory in KiB, passes, lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupCost {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

/// The cost real upstreams use: 32 MiB and one pass, at least 20 ms per guess on the
/// reference machine with room for a faster CPU (docs/performance.md, "Hardening"), so the
/// 10⁴ codes of one case cost at least 200 CPU-seconds and a hall of 50,000 cases at least
/// 115 CPU-days, while a lookup at the kiosk is one guess. One pass over more memory rather
/// than more passes over less is RFC 9106's advice against GPU and ASIC attackers.
pub const STANDARD_COST: LookupCost = LookupCost {
    m_kib: 32_768,
    t: 1,
    p: 1,
};

/// A cost for demos and tests that seed thousands of cases on every start (egov-sim
/// `--lookup-cost demo`): microseconds a guess. Never for real data.
pub const DEMO_COST: LookupCost = LookupCost {
    m_kib: 64,
    t: 1,
    p: 1,
};

/// The most a digest may ask of a kiosk: 256 MiB, 16 passes, 4 lanes.
pub const MAX_PARAMS: LookupCost = LookupCost {
    m_kib: 262_144,
    t: 16,
    p: 4,
};

/// Bytes of the hash and of the salt.
pub const HASH_LEN: usize = 32;
pub const SALT_LEN: usize = 16;

/// Why a lookup digest is not one the contract allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("not a PHC string: {0}")]
    Malformed(String),
    #[error("the algorithm must be argon2id version 19")]
    Algorithm,
    #[error("parameters {0:?} are outside the contract's bounds (at most {MAX_PARAMS:?})")]
    Params(LookupCost),
    #[error("the salt must be {SALT_LEN} bytes and the hash {HASH_LEN}")]
    Lengths,
}

fn password(case_no: &str, code: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + case_no.len() + code.len());
    for part in [case_no, code] {
        bytes.extend_from_slice(&(part.len() as u32).to_be_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    bytes
}

fn argon2(cost: LookupCost) -> Result<Argon2<'static>, DigestError> {
    let params = Params::new(cost.m_kib, cost.t, cost.p, Some(HASH_LEN))
        .map_err(|_| DigestError::Params(cost))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The digest of a case's code, as the upstream makes it once per case: `salt` must be
/// random (16 bytes from the OS), and new for every case.
pub fn lookup_digest(
    case_no: &str,
    code: &str,
    salt: &[u8; SALT_LEN],
    cost: LookupCost,
) -> Result<String, DigestError> {
    let salt = SaltString::encode_b64(salt).map_err(|e| DigestError::Malformed(e.to_string()))?;
    argon2(cost)?
        .hash_password(&password(case_no, code), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| DigestError::Malformed(e.to_string()))
}

/// Checks that `digest` is one the contract allows, and returns its cost: what a kiosk
/// checks when it stores a case, so that a lookup never meets an unusable digest.
pub fn check_digest(digest: &str) -> Result<LookupCost, DigestError> {
    parse(digest).map(|(_, cost)| cost)
}

fn parse(digest: &str) -> Result<(PasswordHash<'_>, LookupCost), DigestError> {
    let hash = PasswordHash::new(digest).map_err(|e| DigestError::Malformed(e.to_string()))?;
    if hash.algorithm.as_str() != "argon2id" || hash.version != Some(19) {
        return Err(DigestError::Algorithm);
    }
    let params = Params::try_from(&hash).map_err(|e| DigestError::Malformed(e.to_string()))?;
    let cost = LookupCost {
        m_kib: params.m_cost(),
        t: params.t_cost(),
        p: params.p_cost(),
    };
    if cost.m_kib > MAX_PARAMS.m_kib || cost.t > MAX_PARAMS.t || cost.p > MAX_PARAMS.p {
        return Err(DigestError::Params(cost));
    }
    let salt_len = hash
        .salt
        .map(|s| {
            let mut buf = [0u8; 64];
            s.decode_b64(&mut buf).map(<[u8]>::len).unwrap_or(0)
        })
        .unwrap_or(0);
    if salt_len != SALT_LEN || hash.hash.map(|h| h.len()) != Some(HASH_LEN) {
        return Err(DigestError::Lengths);
    }
    Ok((hash, cost))
}

/// Whether `code` opens the case whose stored digest is `digest`. The work is one argon2id
/// computation at the digest's own cost; the final comparison is in constant time (the
/// `password-hash` crate's). A digest outside the contract opens nothing.
pub fn verify(digest: &str, case_no: &str, code: &str) -> bool {
    let Ok((hash, _)) = parse(digest) else {
        return false;
    };
    Argon2::default()
        .verify_password(&password(case_no, code), &hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; SALT_LEN] = *b"0123456789abcdef";

    #[test]
    fn the_right_code_opens_its_case_and_nothing_else_does() {
        let digest = lookup_digest("GY2026-ZJD-000001", "4321", &SALT, DEMO_COST).unwrap();
        assert!(
            digest.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{digest}"
        );
        assert_eq!(check_digest(&digest), Ok(DEMO_COST));
        assert!(verify(&digest, "GY2026-ZJD-000001", "4321"));
        assert!(!verify(&digest, "GY2026-ZJD-000001", "4320"));
        // The case number is part of what is hashed: the digest opens no other case.
        assert!(!verify(&digest, "GY2026-ZJD-000002", "4321"));
        // Length prefixes keep the two fields apart.
        let split = lookup_digest("AB", "1234", &SALT, DEMO_COST).unwrap();
        assert!(!verify(&split, "A", "B1234"));
    }

    #[test]
    fn every_case_has_its_own_salt_so_equal_codes_differ() {
        let a = lookup_digest("X-1", "1111", &SALT, DEMO_COST).unwrap();
        let b = lookup_digest("X-1", "1111", b"fedcba9876543210", DEMO_COST).unwrap();
        assert_ne!(a, b);
        assert!(verify(&a, "X-1", "1111") && verify(&b, "X-1", "1111"));
    }

    #[test]
    fn digests_outside_the_contract_are_refused() {
        let good = lookup_digest("X-1", "1", &SALT, DEMO_COST).unwrap();
        let hash_part = good.rsplit('$').next().unwrap();
        let sha256_hex = "00".repeat(32);
        let cases = [
            ("", "not a PHC"),
            (sha256_hex.as_str(), "not a PHC"),
            (&good.replace("argon2id", "argon2i"), "algorithm"),
            (&good.replace("v=19", "v=16"), "algorithm"),
            (&good.replace("m=64", "m=4194304"), "outside the contract"),
            (&good.replace("t=1", "t=1000"), "outside the contract"),
            (&good.replace(&format!("${hash_part}"), "$AAAA"), "bytes"),
        ];
        for (digest, why) in cases {
            let err = check_digest(digest).unwrap_err().to_string();
            assert!(err.contains(why), "{digest}: {err}");
            assert!(!verify(digest, "X-1", "1"));
        }
    }
}
