//! Case sync throughput, each figure with its ratio to a plain bulk insert of the same rows
//! into the same schema, measured in the same run:
//!
//! * initial sync of a hall's cases from egov-sim over loopback (HTTP, JSON, apply, commits
//!   per page), through the real [`CaseSync`];
//! * steady apply: pages of updates to cases already in a full mirror, through the real
//!   [`kiosk::mirror::cases::apply_page`].
//!
//! `cargo bench -p kiosk --bench sync`. egov-sim's database is seeded once into
//! `target/bench-data/` and reused; `LAND_HALL_BENCH_HALL_CASES` (default 500,000) sets how
//! many cases the kiosk's hall gets (the hall has 30 % of the province's cases).

#[path = "../tests/common/loopback.rs"]
mod loopback;

use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Parser;
use kiosk::feed::{FeedOp, FeedPage, parse_page};
use kiosk::mirror::cases::{INSERT, write_case};
use kiosk::mirror::{Durability, Mirror};
use kiosk::sync::cases::CaseSync;
use protocol::client::Client;

const HALL: &str = "hn-czs-gyx";
const PAGE: u32 = 5_000;

fn main() {
    let hall_cases: u64 = std::env::var("LAND_HALL_BENCH_HALL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let seeded = hall_cases * 10 / 3 + 1_000;
    let data =
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench-data"))
            .join(format!("kiosk-egov-{seeded}"));
    eprintln!(
        "egov-sim with {seeded} cases in {} (seeded on first run; minutes)",
        data.display()
    );
    let options = egov_sim::server::Options::parse_from([
        "egov-sim",
        "--cases",
        &seeded.to_string(),
        "--lookup-cost",
        "demo",
        "--data",
        data.to_str().unwrap(),
    ]);
    let state = egov_sim::server::prepare(&options).expect("the bench database opens");
    let token = state
        .provision_device("bench-kiosk", HALL)
        .expect("a device token");
    let runtime = loopback::runtime(2);
    let url = loopback::serve(&runtime, state);
    let client = Client::with_token(&url, Some(&token)).unwrap();
    let scratch = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")).unwrap();

    // Initial sync through the real path.
    let synced = scratch.path().join("synced.db");
    let sync = CaseSync::new(client.clone(), &synced, HALL, PAGE);
    let started = Instant::now();
    let report = runtime.block_on(sync.run_once()).unwrap();
    let sync_time = started.elapsed();
    let rows = report.upserts as f64;

    // The same rows, fetched and parsed again (not timed) and bulk-inserted in one
    // transaction: the SQLite work alone.
    let mut bulk_mirror = Mirror::open(&scratch.path().join("bulk.db")).unwrap();
    let tx = bulk_mirror.conn_mut().transaction().unwrap();
    let mut bulk_time = Duration::ZERO;
    let mut bulk_rows = 0usize;
    let mut cursor = 0;
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    loop {
        let body = runtime
            .block_on(client.case_changes_bytes(Some(HALL), cursor, PAGE))
            .unwrap();
        let page = parse_page(&body).unwrap();
        let started = Instant::now();
        for change in &page.changes {
            if let FeedOp::Upsert(case) = &change.op {
                write_case(&tx, INSERT, change.seq, case).unwrap();
                bulk_rows += 1;
            }
        }
        bulk_time += started.elapsed();
        cursor = page.next_after;
        let more = page.has_more;
        drop(page);
        // Keep the first 100,000 rows for the steady-apply run.
        if bodies.len() * (PAGE as usize) < 100_000 {
            bodies.push(body);
        }
        if !more {
            break;
        }
    }
    let started = Instant::now();
    tx.commit().unwrap();
    bulk_time += started.elapsed();
    assert_eq!(
        bulk_rows, report.upserts,
        "the baseline inserts the same rows"
    );
    let bulk_rate = bulk_rows as f64 / bulk_time.as_secs_f64();

    // Steady apply: the same cases changed again (later seq, moved on), into the full mirror,
    // through a connection as the case sync's writer opens it.
    let mut mirror = Mirror::open_with(&synced, Durability::Refetchable).unwrap();
    let mut seq = report.cursor;
    let steady_pages: Vec<FeedPage> = bodies
        .iter()
        .map(|body| {
            let mut page = parse_page(body).unwrap();
            for change in &mut page.changes {
                seq += 1;
                change.seq = seq;
                if let FeedOp::Upsert(case) = &mut change.op {
                    case.updated_at += chrono::Duration::hours(1);
                }
            }
            page.next_after = seq;
            page
        })
        .collect();
    let steady_rows: usize = steady_pages.iter().map(|p| p.changes.len()).sum();
    let now = Utc::now();
    let started = Instant::now();
    for page in &steady_pages {
        mirror.apply_page(page, now).unwrap();
    }
    let steady_time = started.elapsed();
    let steady_rate = steady_rows as f64 / steady_time.as_secs_f64();

    // What the upstream and the transport alone allow: every page fetched and parsed, none
    // applied.
    let started = Instant::now();
    let mut cursor = 0;
    loop {
        let body = runtime
            .block_on(client.case_changes_bytes(Some(HALL), cursor, PAGE))
            .unwrap();
        let page = parse_page(&body).unwrap();
        cursor = page.next_after;
        if !page.has_more {
            break;
        }
    }
    let fetch_rate = rows / started.elapsed().as_secs_f64();

    let sync_rate = rows / sync_time.as_secs_f64();
    println!(
        "rows: {} cases of hall {HALL}, pages of {PAGE}",
        report.upserts
    );
    println!(
        "plain bulk insert (one transaction, same rows, same schema): {:.0} rows/s ({:.2} s)",
        bulk_rate,
        bulk_time.as_secs_f64()
    );
    println!(
        "initial sync over loopback: {:.0} rows/s ({:.2} s) = {:.2}x bulk insert",
        sync_rate,
        sync_time.as_secs_f64(),
        sync_rate / bulk_rate
    );
    println!(
        "steady apply (updates into the full mirror, {steady_rows} rows): {:.0} rows/s = {:.2}x bulk insert",
        steady_rate,
        steady_rate / bulk_rate
    );
    println!(
        "fetch and parse only, nothing applied: {:.0} rows/s = {:.2}x bulk insert",
        fetch_rate,
        fetch_rate / bulk_rate
    );
    runtime.shutdown_background();
}
