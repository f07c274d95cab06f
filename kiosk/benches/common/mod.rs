//! Shared by the kiosk benchmarks: realistic cases from egov-sim's workflow, a mirror of
//! them, and timing.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use kiosk::mirror::Mirror;
use protocol::cases::{Case, Change, ChangesPage};
use protocol::halls::Hall;
use protocol::lookup::{DEMO_COST, LookupCost, lookup_digest};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The salt of bench case `n`: its own, as the contract wants.
fn salt(n: u64) -> [u8; 16] {
    let mut salt = [0u8; 16];
    salt[..8].copy_from_slice(&n.to_be_bytes());
    salt
}

/// The lookup digest of bench case `n` at `cost`.
pub fn digest(n: u64, cost: LookupCost) -> String {
    lookup_digest(&case_no(n), &code(n), &salt(n), cost).expect("a cost within the contract")
}

/// The verification code of bench case `n`.
pub fn code(n: u64) -> String {
    format!("{:04}", (n * 7_919) % 10_000)
}

pub fn case_no(n: u64) -> String {
    format!("GY2026-ZJD-{n:07}")
}

/// `count` cases at every stage of their workflow, as egov-sim seeds them, with digests at
/// the demo cost (a million at the standard cost would take hours to make); benches that
/// measure the standard cost give the cases they look up digests of their own.
pub fn cases(count: u64, now: DateTime<Utc>) -> impl Iterator<Item = Case> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..count).map(move |n| {
        let procedure = egov_sim::workflow::pick_procedure(&mut rng);
        let received_at =
            now - Duration::minutes((rng.random::<f64>().powi(2) * 120.0 * 24.0 * 60.0) as i64);
        let case_no = case_no(n);
        let mut case = egov_sim::workflow::new_case(
            procedure,
            case_no,
            "hn-czs-gyx".into(),
            "张*三".into(),
            digest(n, DEMO_COST),
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

/// A mirror at `path` of the benches' hall with `cases` applied as a sync applies them: feed
/// pages of 5,000, each parsed from its JSON.
pub fn mirror(path: &Path, cases: impl Iterator<Item = Case>, now: DateTime<Utc>) -> Mirror {
    let mut mirror = Mirror::open(path).unwrap();
    mirror
        .set_hall(&Hall {
            id: "hn-czs-gyx".into(),
            name: "郴州市桂阳县政务大厅".into(),
            division_code: "431021".into(),
            lon: 0.0,
            lat: 0.0,
        })
        .unwrap();
    let mut cases = cases.peekable();
    let mut seq = 0;
    while cases.peek().is_some() {
        let changes: Vec<Change> = cases
            .by_ref()
            .take(5_000)
            .map(|case| {
                seq += 1;
                Change::Upsert {
                    seq,
                    case: Box::new(case),
                }
            })
            .collect();
        let page = ChangesPage {
            changes,
            next_after: seq,
            has_more: cases.peek().is_some(),
        };
        let body = serde_json::to_vec(&page).unwrap();
        let page = kiosk::feed::parse_page(&body).unwrap();
        mirror.apply_page(&page, now).unwrap();
    }
    mirror
}

/// p-th percentile (0..=100) of sorted durations, in microseconds.
pub fn percentile_us(sorted: &[std::time::Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p / 100.0).round() as usize;
    sorted[index].as_secs_f64() * 1e6
}
