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
