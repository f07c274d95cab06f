//! The hostile suite against egov-sim: the real binary on loopback, played by a bad peer
//! that writes raw HTTP. Every case asserts the status and error code, that the server still
//! answers afterwards and that nothing was stored half-way; the floods also bound the
//! server's memory. The cases and what egov-sim promises are listed in docs/security.md.

use std::time::Duration;

use e2e_tests::EgovSim;
use e2e_tests::peer::{self, Raw};

const MIB: usize = 1024 * 1024;
/// How long a test waits for an answer that should come at once. Generous: a loaded 2-core
/// machine is slow, and the test asserts what arrives, not how fast.
const PATIENCE: Duration = Duration::from_secs(20);

fn still_serves(sim: &EgovSim) {
    let mut raw = Raw::connect(sim.addr());
    let token = format!("Authorization: Bearer {}", sim.device_token);
    assert!(raw.send(&peer::request("GET", "/api/v1/halls", &[&token], b"")));
    let answer = raw.answer(PATIENCE).expect("the server still answers");
    assert_eq!(answer.status, 200, "{}", answer.head);
}

/// An unauthenticated upload of `size` bytes to an admin route: sends the head and the first
/// `sent` bytes, then reads the answer.
fn unauthenticated_upload(sim: &EgovSim, size: usize, sent: usize) -> Raw {
    let mut raw = Raw::connect(sim.addr());
    let sha = "0".repeat(64);
    let path = format!("/api/v1/admin/content/blobs/{sha}");
    assert!(raw.send(&peer::head(
        "PUT",
        &path,
        &["Content-Type: application/octet-stream"],
        size
    )));
    raw.send(&vec![b'x'; sent]);
    raw
}

#[test]
fn an_unauthenticated_upload_is_refused_before_its_body_is_read() {
    let sim = EgovSim::start(&["--cases", "10"]);
    // 30 MiB announced, 64 KiB sent: the 401 comes while the body is still on its way.
    let mut raw = unauthenticated_upload(&sim, 30 * MIB, 64 * 1024);
    let answer = raw.answer(PATIENCE).expect("a 401 before the body is sent");
    assert_eq!(answer.status, 401);
    assert_eq!(answer.error_code().as_deref(), Some("unauthorized"));
    // A device token is not enough for an admin route, and is refused the same way.
    let mut raw = Raw::connect(sim.addr());
    let token = format!("Authorization: Bearer {}", sim.device_token);
    assert!(raw.send(&peer::head(
        "PUT",
        &format!("/api/v1/admin/content/blobs/{}", "0".repeat(64)),
        &[&token],
        30 * MIB
    )));
    let answer = raw.answer(PATIENCE).expect("a 401 before any body byte");
    assert_eq!(answer.status, 401);
    still_serves(&sim);
}

/// Memory egov-sim may grow by while refusing the flood: a few MiB of buffers per
/// connection at most, where reading the bodies would take 20 × 30 MiB = 600 MiB.
const FLOOD_RSS_BOUND_KIB: u64 = 64 * 1024;

#[test]
fn twenty_parallel_unauthenticated_30_mib_uploads_leave_memory_flat() {
    let sim = EgovSim::start(&["--cases", "10"]);
    let (_, peak_before) = peer::rss_kib(sim.pid());
    let statuses: Vec<Option<u16>> = std::thread::scope(|scope| {
        let uploads: Vec<_> = (0..20)
            .map(|_| {
                scope.spawn(|| {
                    let mut raw = unauthenticated_upload(&sim, 30 * MIB, 0);
                    // Push the whole body as fast as the server lets us; it stops reading.
                    let chunk = vec![b'x'; MIB];
                    for _ in 0..30 {
                        if !raw.send(&chunk) {
                            break;
                        }
                    }
                    raw.answer(PATIENCE).map(|a| a.status)
                })
            })
            .collect();
        uploads.into_iter().map(|u| u.join().unwrap()).collect()
    });
    let (_, peak_after) = peer::rss_kib(sim.pid());
    let grown = peak_after.saturating_sub(peak_before);
    eprintln!("20 × 30 MiB unauthenticated: peak RSS {peak_before} → {peak_after} KiB");
    assert!(
        grown < FLOOD_RSS_BOUND_KIB,
        "peak RSS grew by {grown} KiB (bound {FLOOD_RSS_BOUND_KIB})"
    );
    // Every upload that got an answer got the 401 (a connection closed under a client
    // still writing may lose its answer to the reset; most do not).
    assert!(statuses.iter().flatten().all(|s| *s == 401), "{statuses:?}");
    assert!(
        statuses.iter().flatten().count() >= 10,
        "most uploads heard their 401: {statuses:?}"
    );
    still_serves(&sim);
}

/// Short bounds, so that slow peers are cut off within a test's patience.
const TIGHT: &[&str] = &[
    "--cases",
    "10",
    "--header-timeout-ms",
    "500",
    "--body-timeout-ms",
    "500",
    "--idle-timeout-ms",
    "3000",
    "--max-connections",
    "64",
];

#[test]
fn a_head_trickled_byte_by_byte_is_cut_off() {
    let sim = EgovSim::start(TIGHT);
    let mut raw = Raw::connect(sim.addr());
    assert!(raw.send(b"GET /api/v1/halls HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    // One byte of a header every 100 ms, for up to 20 s: the 500 ms head timeout ends it.
    let mut sent = 0;
    while sent < 200 {
        if !raw.send(b"X") || raw.closed_within(Duration::from_millis(100)) {
            break;
        }
        sent += 1;
    }
    assert!(
        sent < 200,
        "the connection was held for {sent} trickled bytes"
    );
    still_serves(&sim);
}

#[test]
fn an_idle_connection_is_closed() {
    let sim = EgovSim::start(TIGHT);
    let mut raw = Raw::connect(sim.addr());
    assert!(raw.closed_within(PATIENCE), "an idle connection stays open");
}

#[test]
fn a_body_that_stops_after_1_of_1000_bytes_is_answered_408_and_nothing_stored() {
    let sim = EgovSim::start(TIGHT);
    let mut raw = Raw::connect(sim.addr());
    let token = format!("Authorization: Bearer {}", sim.device_token);
    assert!(raw.send(&peer::head(
        "POST",
        "/api/v1/ratings",
        &[&token, "Content-Type: application/json"],
        1000
    )));
    assert!(raw.send(b"{"));
    let answer = raw.answer(PATIENCE).expect("an answer to the stalled body");
    assert_eq!(answer.status, 408, "{}", answer.head);
    assert_eq!(answer.error_code().as_deref(), Some("request_timeout"));
    assert_eq!(sim.rows("ratings"), 0);
    still_serves(&sim);
}

/// Runs `f` while sampling the server's open sockets and file descriptors; returns `f`'s
/// result and the most of each seen.
fn with_peaks<T>(pid: u32, f: impl FnOnce() -> T) -> (T, (usize, usize)) {
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak = (0, 0);
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                peak.0 = peak.0.max(peer::open_sockets(pid));
                peak.1 = peak.1.max(peer::open_fds(pid));
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        });
        let out = f();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        (out, sampler.join().unwrap())
    })
}

#[test]
fn three_hundred_concurrent_connections_are_served_within_the_cap() {
    let sim = EgovSim::start(TIGHT);
    let baseline = (peer::open_sockets(sim.pid()), peer::open_fds(sim.pid()));
    let request = peer::request(
        "GET",
        "/api/v1/halls",
        &[&format!("Authorization: Bearer {}", sim.device_token)],
        b"",
    );
    let (statuses, peak) = with_peaks(sim.pid(), || {
        std::thread::scope(|scope| {
            let clients: Vec<_> = (0..300)
                .map(|_| {
                    scope.spawn(|| {
                        let mut raw = Raw::connect(sim.addr());
                        raw.send(&request);
                        raw.answer(PATIENCE).map(|a| a.status)
                    })
                })
                .collect();
            clients
                .into_iter()
                .map(|c| c.join().unwrap())
                .collect::<Vec<_>>()
        })
    });
    eprintln!(
        "300 concurrent requests: sockets {} → peak {} (cap 64), fds {} → peak {}",
        baseline.0, peak.0, baseline.1, peak.1
    );
    assert!(statuses.iter().all(|s| *s == Some(200)), "{statuses:?}");
    // The cap holds: connections beyond it waited in the backlog, not in the process; and
    // the store's readers are bounded too (16 connections of 3 descriptors).
    assert!(
        peak.0 <= baseline.0 + 64,
        "peak sockets {peak:?}, baseline {baseline:?}"
    );
    assert!(
        peak.1 <= baseline.1 + 64 + 3 * 16,
        "peak fds {peak:?}, baseline {baseline:?}"
    );
    still_serves(&sim);
}

#[test]
fn three_hundred_idle_connections_do_not_shut_others_out() {
    let sim = EgovSim::start(TIGHT);
    let baseline = peer::open_fds(sim.pid());
    let (_, before) = peer::rss_kib(sim.pid());
    let idle: Vec<Raw> = (0..300).map(|_| Raw::connect(sim.addr())).collect();
    // A real request behind all of them: served once the idle ones' head timeouts free
    // slots, within the test's patience.
    still_serves(&sim);
    let (_, peak) = peer::rss_kib(sim.pid());
    eprintln!("300 idle connections: peak RSS {before} → {peak} KiB");
    assert!(
        peak.saturating_sub(before) < 32 * 1024,
        "{before} → {peak} KiB"
    );
    // Every idle connection is closed by the server, and its descriptor freed.
    let deadline = std::time::Instant::now() + PATIENCE;
    for mut raw in idle {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(raw.closed_within(left), "an idle connection was held");
    }
    assert!(peer::open_fds(sim.pid()) <= baseline + 2);
}
