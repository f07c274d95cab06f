//! Lookup latency at 1,000,000 cases through the real lookup path ([`Mirror::lookup`]:
//! throttle check, hall, row read, argon2id digest verified, steps parsed), the first time
//! each case is read and warm, against a bare primary-key read of the same rows in the same
//! run. The cases' digests are at the demo cost, so that this measures the mirror's part of a
//! lookup; the standard cost's lookup is measured by the `lookup_argon2id` bench.
//!
//! `cargo bench -p kiosk --bench lookup`; `LAND_HALL_BENCH_LOOKUP_CASES` changes the size.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kiosk::lookup::Lookup;
use kiosk::mirror::Mirror;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Cases in the sample, each looked up once cold and then `ROUNDS` times warm by every path.
const LOOKUPS: usize = 100_000;
const ROUNDS: usize = 3;

fn main() {
    let count: u64 = std::env::var("LAND_HALL_BENCH_LOOKUP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")).unwrap();
    let now = Utc::now();
    let started = Instant::now();
    let mirror = common::mirror(
        &dir.path().join("mirror.db"),
        common::cases(count, now),
        now,
    );
    let bytes: i64 = mirror
        .conn()
        .query_row(
            "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
            [],
            |r| r.get(0),
        )
        .unwrap();
    println!(
        "mirror of {count} cases built in {:.1} s: {:.0} MB",
        started.elapsed().as_secs_f64(),
        bytes as f64 / 1e6
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let inputs: Vec<(String, String)> = (0..LOOKUPS)
        .map(|_| rng.random_range(0..count))
        .map(|n| (common::case_no(n), common::code(n)))
        .collect();

    // First touch: each case read for the first time since the mirror was opened (the file is
    // in the OS page cache, as on a kiosk that has been up for a while, but not yet in this
    // process's page cache or memory map).
    let mut first = Vec::with_capacity(LOOKUPS);
    for (case_no, code) in &inputs {
        first.push(timed_lookup(&mirror, case_no, code, now));
    }

    // Warm: every case of the sample has been read once. Three rounds, each path in turn over
    // the sample in a new order, so a slow spell of this shared machine lands on all paths
    // rather than on one; the samples of the rounds are pooled.
    let (mut lookup, mut get, mut bare) = (Vec::new(), Vec::new(), Vec::new());
    let mut order: Vec<usize> = (0..LOOKUPS).collect();
    let mut stmt = mirror
        .conn()
        .prepare_cached("SELECT * FROM cases WHERE case_no = ?1")
        .unwrap();
    for _ in 0..ROUNDS {
        order.shuffle(&mut rng);
        for &i in &order {
            let (case_no, code) = &inputs[i];
            lookup.push(timed_lookup(&mirror, case_no, code, now));
        }
        order.shuffle(&mut rng);
        for &i in &order {
            let t = Instant::now();
            let row = kiosk::mirror::cases::get(mirror.conn(), &inputs[i].0, now).unwrap();
            get.push(t.elapsed());
            assert!(row.is_some());
        }
        order.shuffle(&mut rng);
        for &i in &order {
            let t = Instant::now();
            let row: (String, String) = stmt
                .query_row([&inputs[i].0], |r| Ok((r.get(1)?, r.get(8)?)))
                .unwrap();
            bare.push(t.elapsed());
            std::hint::black_box(row);
        }
    }
    drop(stmt);
    report("Mirror::lookup, first touch of each case", &mut first);
    report(
        "Mirror::lookup (real path, digest included), warm",
        &mut lookup,
    );
    report("cases::get, warm", &mut get);
    report(
        "bare primary-key read (SELECT * … WHERE case_no = ?), warm",
        &mut bare,
    );
}

fn timed_lookup(mirror: &Mirror, case_no: &str, code: &str, now: DateTime<Utc>) -> Duration {
    let t = Instant::now();
    let found = mirror.lookup(case_no, code, now).unwrap();
    let elapsed = t.elapsed();
    assert!(matches!(found, Lookup::Found { .. }));
    elapsed
}

fn report(name: &str, samples: &mut [Duration]) {
    samples.sort();
    println!(
        "{name}: n={} p50={:.1} µs p99={:.1} µs p99.9={:.1} µs max={:.0} µs",
        samples.len(),
        common::percentile_us(samples, 50.0),
        common::percentile_us(samples, 99.0),
        common::percentile_us(samples, 99.9),
        common::percentile_us(samples, 100.0),
    );
}
