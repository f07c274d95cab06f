//! Shared by the kiosk benchmarks: realistic cases from egov-sim's workflow, and timing.

use chrono::{DateTime, Duration, Utc};
use protocol::cases::{Case, lookup_digest_hex};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const SALT: &str = "5f1d3c9b2a7e4d6f8091a2b3c4d5e6f7";

/// The verification code of bench case `n`.
pub fn code(n: u64) -> String {
    format!("{:04}", (n * 7_919) % 10_000)
}

pub fn case_no(n: u64) -> String {
    format!("GY2026-ZJD-{n:07}")
}

/// `count` cases at every stage of their workflow, as egov-sim seeds them.
pub fn cases(count: u64, now: DateTime<Utc>) -> impl Iterator<Item = Case> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..count).map(move |n| {
        let procedure = egov_sim::workflow::pick_procedure(&mut rng);
        let received_at =
            now - Duration::minutes((rng.random::<f64>().powi(2) * 120.0 * 24.0 * 60.0) as i64);
        let case_no = case_no(n);
        let digest = lookup_digest_hex(SALT, &case_no, &code(n));
        let mut case = egov_sim::workflow::new_case(
            procedure,
            case_no,
            "hn-czs-gyx".into(),
            "张*三".into(),
            digest,
            received_at,
        );
        let mut at = received_at;
        while let egov_sim::workflow::Next::At(t) =
            egov_sim::workflow::advance(&mut case, procedure, at, &mut rng)
        {
            if t > now {
                break;
            }
            at = t;
        }
        case
    })
}

/// p-th percentile (0..=100) of sorted durations, in microseconds.
pub fn percentile_us(sorted: &[std::time::Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p / 100.0).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}

/// Fills `mirror` with `count` cases of [`cases`] through the real feed apply, in pages of
/// 5,000 (the hall must be set for lookups); returns the time it took.
pub fn fill(
    mirror: &mut kiosk::mirror::Mirror,
    count: u64,
    now: DateTime<Utc>,
) -> std::time::Duration {
    use protocol::cases::{Change, ChangesPage};
    let started = std::time::Instant::now();
    let mut seq = 0;
    let mut changes = Vec::with_capacity(5_000);
    for case in cases(count, now) {
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
            let page = kiosk::feed::parse_page(&body).unwrap();
            mirror.apply_page(&page, now).unwrap();
        }
    }
    started.elapsed()
}

/// The hall of the benchmarks' cases, with their salt.
pub fn hall() -> protocol::halls::Hall {
    protocol::halls::Hall {
        id: "hn-czs-gyx".into(),
        name: "郴州市桂阳县政务大厅".into(),
        division_code: "431021".into(),
        lookup_salt: SALT.into(),
        lon: 0.0,
        lat: 0.0,
    }
}
