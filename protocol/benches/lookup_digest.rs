//! The price of one guess at a verification code: one argon2id computation at the
//! contract's standard cost (what an attacker with a copied mirror pays per guess, and what
//! a kiosk pays per lookup), against the demo cost and the SHA-256 digest it replaced, in
//! the same run.
//!
//! `cargo bench -p protocol --bench lookup_digest`

use criterion::{Criterion, criterion_group, criterion_main};
use protocol::lookup::{DEMO_COST, STANDARD_COST, lookup_digest, verify};
use sha2::{Digest, Sha256};

fn one_guess(c: &mut Criterion) {
    let salt = *b"0123456789abcdef";
    let mut group = c.benchmark_group("lookup_digest");
    group.sample_size(20);
    let standard = lookup_digest("GY2026-ZJD-000001", "4321", &salt, STANDARD_COST).unwrap();
    group.bench_function("argon2id_standard_one_guess", |b| {
        b.iter(|| assert!(!verify(&standard, "GY2026-ZJD-000001", "4320")))
    });
    let demo = lookup_digest("GY2026-ZJD-000001", "4321", &salt, DEMO_COST).unwrap();
    group.bench_function("argon2id_demo_one_guess", |b| {
        b.iter(|| assert!(!verify(&demo, "GY2026-ZJD-000001", "4320")))
    });
    // The digest this replaced: SHA-256 over salt, case number and code.
    group.bench_function("sha256_baseline_one_guess", |b| {
        b.iter(|| {
            let mut hasher = Sha256::new();
            for part in ["5f1d3c9b2a7e4d6f", "GY2026-ZJD-000001", "4320"] {
                hasher.update((part.len() as u32).to_be_bytes());
                hasher.update(part.as_bytes());
            }
            std::hint::black_box(hasher.finalize())
        })
    });
    group.finish();
}

criterion_group!(benches, one_guess);
criterion_main!(benches);
