//! Feed paging over loopback from a 1,000,000-case database: one client, pages of 1,000,
//! the server's real routes and the protocol crate's real client (JSON decoding included).
//!
//! The database is seeded once into `target/bench-data/` and reused (seeding a million
//! cases takes a minute or two). `LAND_HALL_BENCH_CASES` changes the size.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use egov_sim::server::Options;
use protocol::client::Method;

const PAGE: u32 = 1_000;
/// Pages read per measured iteration.
const PAGES_PER_ITER: u64 = 50;

fn case_count() -> u64 {
    std::env::var("LAND_HALL_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn data_dir(cases: u64) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/bench-data")
        .join(format!("egov-{cases}"))
}

fn feed_paging(c: &mut Criterion) {
    let cases = case_count();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let options = Options::parse_from([
        "egov-sim",
        "--cases",
        &cases.to_string(),
        "--lookup-cost",
        "demo",
        "--data",
        data_dir(cases).to_str().unwrap(),
    ]);
    let state = egov_sim::server::prepare(&options).expect("the bench database opens");
    // The feed is read per hall; this one holds 30 % of the seeded cases.
    let token = state
        .provision_device("bench-kiosk", "hn-czs-gyx")
        .expect("a device token");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    runtime.spawn(async move {
        axum::serve(listener, egov_sim::http::router(state))
            .await
            .unwrap()
    });
    let client = protocol::client::Client::with_token(&url, Some(&token)).unwrap();

    let mut group = c.benchmark_group("feed");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(PAGES_PER_ITER * u64::from(PAGE)));
    let mut cursor = 0u64;
    group.bench_function("page_1000_over_loopback", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..PAGES_PER_ITER {
                    let page = client.case_changes(None, cursor, PAGE).await.unwrap();
                    // Wrap around at the end so every iteration reads full pages.
                    cursor = if page.has_more { page.next_after } else { 0 };
                    assert!(!page.changes.is_empty());
                }
            })
        })
    });
    // The same pages as raw bytes, without decoding: how much of the time is the server
    // and the transport, and how much the client's JSON decoding.
    let mut cursor = 0u64;
    group.bench_function("page_1000_bytes_only", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for _ in 0..PAGES_PER_ITER {
                    let path = format!("api/v1/cases/changes?after={cursor}&limit={PAGE}");
                    let none: Option<&()> = None;
                    let (status, body) = client.raw(Method::GET, &path, none).await.unwrap();
                    assert_eq!(status, 200);
                    cursor = (cursor + u64::from(PAGE)) % (case_count() - u64::from(PAGE));
                    assert!(body.len() > 1000);
                }
            })
        })
    });
    // Decoding alone: one page's bytes into the typed contract, no I/O.
    let none: Option<&()> = None;
    let (_, page_bytes) = runtime
        .block_on(client.raw(Method::GET, "api/v1/cases/changes?after=0&limit=1000", none))
        .unwrap();
    group.throughput(Throughput::Elements(u64::from(PAGE)));
    group.bench_function("decode_page_1000", |b| {
        b.iter(|| {
            let page: protocol::cases::ChangesPage = serde_json::from_slice(&page_bytes).unwrap();
            assert_eq!(page.changes.len(), PAGE as usize);
        })
    });
    group.finish();
}

criterion_group!(benches, feed_paging);
criterion_main!(benches);
