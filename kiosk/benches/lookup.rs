//! Lookup latency at 1,000,000 cases through the real lookup path ([`Mirror::lookup`]:
//! throttle check, salt, row read, digest computed and compared in constant time, steps
//! parsed), warm, against a bare primary-key read of the same rows in the same run.
//!
//! `cargo bench -p kiosk --bench lookup`; `LAND_HALL_BENCH_LOOKUP_CASES` changes the size.

mod common;

use std::time::{Duration, Instant};

use chrono::Utc;
use kiosk::lookup::Lookup;
use kiosk::mirror::Mirror;
use protocol::cases::{Change, ChangesPage};
use protocol::halls::Hall;
use rand::{Rng, SeedableRng};

const LOOKUPS: usize = 200_000;

fn main() {
    let count: u64 = std::env::var("LAND_HALL_BENCH_LOOKUP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")).unwrap();
    let mut mirror = Mirror::open(&dir.path().join("mirror.db")).unwrap();
    mirror
        .set_hall(&Hall {
            id: "hn-czs-gyx".into(),
            name: "郴州市桂阳县政务大厅".into(),
            division_code: "431021".into(),
            lookup_salt: common::SALT.into(),
            lon: 0.0,
            lat: 0.0,
        })
        .unwrap();
    let now = Utc::now();
    let started = Instant::now();
    let mut seq = 0;
    let mut changes = Vec::with_capacity(5_000);
    for case in common::cases(count, now) {
        seq += 1;
        changes.push(Change::Upsert {
            seq,
            case: Box::new(case),
        });
        if changes.len() == 5_000 || seq == count {
            let page = ChangesPage {
                changes: std::mem::take(&mut changes),
                next_after: seq,
                has_more: seq < count,
            };
            let body = serde_json::to_vec(&page).unwrap();
            let page = kiosk::mirror::cases::parse_page(&body).unwrap();
            mirror.apply_page(&page, now).unwrap();
        }
    }
    eprintln!(
        "mirror of {count} cases built in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let picks: Vec<u64> = (0..LOOKUPS).map(|_| rng.random_range(0..count)).collect();
    let inputs: Vec<(String, String)> = picks
        .iter()
        .map(|&n| (common::case_no(n), common::code(n)))
        .collect();

    // Warm: the whole index and the touched pages are in the page cache.
    for (case_no, code) in inputs.iter().take(LOOKUPS / 2) {
        assert!(matches!(
            mirror.lookup(case_no, code, now).unwrap(),
            Lookup::Found { .. }
        ));
    }
    let mut lookup = Vec::with_capacity(LOOKUPS);
    for (case_no, code) in &inputs {
        let t = Instant::now();
        let found = mirror.lookup(case_no, code, now).unwrap();
        lookup.push(t.elapsed());
        assert!(matches!(found, Lookup::Found { .. }));
    }
    let mut bare = Vec::with_capacity(LOOKUPS);
    let mut stmt = mirror
        .conn()
        .prepare_cached("SELECT * FROM cases WHERE case_no = ?1")
        .unwrap();
    for (case_no, _) in &inputs {
        let t = Instant::now();
        let row: (String, String) = stmt
            .query_row([case_no], |r| Ok((r.get(1)?, r.get(8)?)))
            .unwrap();
        bare.push(t.elapsed());
        std::hint::black_box(row);
    }
    drop(stmt);
    let mut get = Vec::with_capacity(LOOKUPS);
    for (case_no, _) in &inputs {
        let t = Instant::now();
        let row = kiosk::mirror::cases::get(mirror.conn(), case_no, now).unwrap();
        get.push(t.elapsed());
        std::hint::black_box(row);
    }
    report("cases::get", &mut get);
    report("Mirror::lookup (real path, digest included)", &mut lookup);
    report(
        "bare primary-key read (SELECT * … WHERE case_no = ?)",
        &mut bare,
    );
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
