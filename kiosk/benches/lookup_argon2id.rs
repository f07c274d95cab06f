//! A lookup as a person at the kiosk meets it, with digests at the contract's standard
//! argon2id cost: [`Mirror::lookup`] end to end (throttle check, hall, row read, one argon2id
//! computation, steps parsed) in a mirror of 100,000 cases. Criterion gives the mean; the
//! p50/p99 of every timed lookup are printed after it (the goal: p99 ≤ 100 ms), with the load
//! average before and after: argon2id streams 32 MiB through the caches, so its tail is the
//! scheduler's when other work shares the cores, and a p99 taken under load says little.
//! Quote it only from a quiet machine (the bench says when the machine was not quiet).
//!
//! `cargo bench -p kiosk --bench lookup_argon2id`

mod common;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use kiosk::lookup::Lookup;
use kiosk::mirror::Mirror;
use protocol::lookup::STANDARD_COST;

const CASES: u64 = 100_000;
/// Cases whose digests are made at the standard cost; the lookups go round them.
const LOOKED_UP: u64 = 64;

/// A mirror of [`CASES`] cases, every `CASES / LOOKED_UP`-th with its digest at the standard
/// cost.
fn mirror(dir: &std::path::Path) -> Mirror {
    let stride = CASES / LOOKED_UP;
    let now = Utc::now();
    let cases = (0..).zip(common::cases(CASES, now)).map(|(n, mut case)| {
        if n % stride == 0 {
            case.lookup_digest = common::digest(n, STANDARD_COST);
        }
        case
    });
    common::mirror(&dir.join("mirror.db"), cases, now)
}

/// The 1-, 5- and 15-minute load averages, if the system says.
fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

fn lookup(c: &mut Criterion) {
    let load_before = load_average();
    let dir = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")).unwrap();
    let mirror = mirror(dir.path());
    let stride = CASES / LOOKED_UP;
    let inputs: Vec<(String, String)> = (0..LOOKED_UP)
        .map(|i| (common::case_no(i * stride), common::code(i * stride)))
        .collect();
    let timings = RefCell::new(Vec::new());
    let mut next = 0usize;
    let mut group = c.benchmark_group("lookup_argon2id");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("found_standard_cost_100k_cases", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (case_no, code) = &inputs[next % inputs.len()];
                next += 1;
                let started = Instant::now();
                let found = mirror.lookup(case_no, code, Utc::now()).unwrap();
                let took = started.elapsed();
                assert!(matches!(found, Lookup::Found { .. }), "{found:?}");
                timings.borrow_mut().push(took);
                total += took;
            }
            total
        })
    });
    group.finish();
    let mut all = timings.into_inner();
    all.sort();
    eprintln!(
        "lookup at the standard cost, {} lookups: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all.len(),
        common::percentile_us(&all, 50.0) / 1000.0,
        common::percentile_us(&all, 99.0) / 1000.0,
        all.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
    let load_after = load_average();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let shown = |load: Option<[f64; 3]>| {
        load.map_or_else(
            || "unknown".to_owned(),
            |[one, five, fifteen]| format!("{one:.2} {five:.2} {fifteen:.2}"),
        )
    };
    eprintln!(
        "load average (1, 5, 15 min) before: {}, after: {}, on {cpus} CPUs",
        shown(load_before),
        shown(load_after)
    );
    let busiest = [load_before, load_after]
        .into_iter()
        .flatten()
        .map(|[one, ..]| one)
        .fold(0.0, f64::max);
    if busiest > 0.5 * cpus as f64 {
        eprintln!(
            "the machine was not quiet (a 1-minute load of {busiest:.1} on {cpus} CPUs): \
             re-run this bench on a quiet one before quoting its p99"
        );
    }
}

criterion_group!(benches, lookup);
criterion_main!(benches);
