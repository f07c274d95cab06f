//! Case sync against a real egov-sim: the mirror ends equal to the upstream, through paging,
//! workflow changes and injected faults, and lookups work on what was synced.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{HALL, Sim, assert_mirror_equals_upstream};
use kiosk::backoff::Backoff;
use kiosk::lookup::Lookup;
use kiosk::mirror::{FaultSource, Mirror};
use kiosk::sync::cases::CaseSync;

const FAST_RETRY: Backoff = Backoff {
    base: Duration::from_millis(10),
    cap: Duration::from_millis(100),
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_mirrors_the_hall_and_lookups_find_cases() {
    let sim = Sim::start(1_500, &[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror.db");
    let sync = CaseSync::new(sim.device_client(), &path, HALL, 97);
    let report = sync.run_once().await.unwrap();
    assert!(report.caught_up && report.pages > 2, "{report:?}");

    let mirror = Mirror::open(&path).unwrap();
    assert_mirror_equals_upstream(&mirror, &sim);
    let freshness = mirror.freshness(Utc::now()).unwrap();
    assert!(freshness.caught_up_at.is_some() && freshness.lag_s.unwrap() < 60);

    let lookups = sim.lookups("GY");
    let (case_no, code) = lookups
        .iter()
        .find(|(c, _)| sim.hall_cases().contains_key(c))
        .unwrap();
    let found = mirror.lookup(case_no, code, Utc::now()).unwrap();
    let Lookup::Found { case, .. } = found else {
        panic!("{case_no} not found: {found:?}");
    };
    assert_eq!(&case.case_no, case_no);
    assert!(case.applicant.contains('*'), "names are masked");
    let wrong = format!("{:04}", (code.parse::<u32>().unwrap() + 1) % 10_000);
    assert!(matches!(
        mirror.lookup(case_no, &wrong, Utc::now()).unwrap(),
        Lookup::NoMatch { .. }
    ));
    // A case of another hall is not in this kiosk's mirror.
    let other = sim.lookups("HY");
    assert!(matches!(
        mirror.lookup(&other[0].0, &other[0].1, Utc::now()).unwrap(),
        Lookup::NoMatch { .. }
    ));

    // Nothing new upstream: the next run reads one empty page and keeps the cursor.
    let again = sync.run_once().await.unwrap();
    assert_eq!((again.upserts, again.cursor), (0, report.cursor));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_changes_arrive_on_the_next_sync() {
    // An hour of workflow per second: cases move on while the kiosk syncs.
    let mut sim = Sim::start_with(800, &["--speedup", "3600"], Some(Duration::from_millis(50)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror.db");
    let sync = CaseSync::new(sim.device_client(), &path, HALL, 500);
    let first = sync.run_once().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let second = sync.run_once().await.unwrap();
    assert!(second.cursor > first.cursor, "{first:?} {second:?}");
    assert!(second.upserts + second.deletes > 0);
    // With the workflow stopped, one more sync must leave the mirror equal to the upstream.
    sim.stop_ticker();
    let last = sync.run_once().await.unwrap();
    assert!(last.caught_up, "{last:?}");
    assert_mirror_equals_upstream(&Mirror::open(&path).unwrap(), &sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_dropped_connections_are_retried_until_the_mirror_is_complete() {
    let sim = Sim::start(1_000, &["--fail-rate", "0.3", "--drop-rate", "0.2"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror.db");
    let sync = CaseSync::new(sim.device_client(), &path, HALL, 50);
    let report = sync.run_with_retries(200, FAST_RETRY).await.unwrap();
    assert!(report.caught_up);
    assert_mirror_equals_upstream(&Mirror::open(&path).unwrap(), &sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_a_recorded_fault_and_keeps_the_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror.db");
    let client = protocol::client::Client::with_token("http://127.0.0.1:9/", Some("t")).unwrap();
    let sync = CaseSync::new(client, &path, HALL, 50);
    let err = sync.run_once().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let mirror = Mirror::open(&path).unwrap();
    let faults = mirror.faults().unwrap();
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0].source, FaultSource::Cases);
    assert_eq!(mirror.cursor().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_hall_is_a_final_error() {
    let sim = Sim::start(10, &[]);
    let dir = tempfile::tempdir().unwrap();
    let sync = CaseSync::new(
        sim.device_client(),
        &dir.path().join("m.db"),
        "no-such-hall",
        50,
    );
    let err = sync.run_with_retries(5, FAST_RETRY).await.unwrap_err();
    assert!(
        !err.is_retryable() && err.to_string().contains("no-such-hall"),
        "{err}"
    );
}
