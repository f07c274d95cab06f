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

/// Who a probe speaks as.
#[derive(Clone, Copy)]
enum As {
    Nobody,
    Device,
    OtherDevice,
    Admin,
}

/// One bad request and the refusal it must get.
struct Probe {
    name: &'static str,
    who: As,
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    /// A word the message must contain: the field it names.
    names: &'static str,
    /// Sent with an `Idempotency-Key` (plots).
    keyed: bool,
}

impl Probe {
    fn content_type(mut self, content_type: Option<&'static str>) -> Self {
        self.content_type = content_type;
        self
    }

    fn raw_body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    fn keyed(mut self) -> Self {
        self.keyed = true;
        self
    }
}

fn probe(
    name: &'static str,
    who: As,
    method: &'static str,
    path: impl Into<String>,
    body: serde_json::Value,
    expect: (u16, &'static str, &'static str),
) -> Probe {
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    Probe {
        name,
        who,
        method,
        path: path.into(),
        content_type: (!body.is_empty()).then_some("application/json"),
        body,
        status: expect.0,
        code: expect.1,
        names: expect.2,
        keyed: false,
    }
}

fn plot_body(device: &str, change: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let mut plot = serde_json::json!({
        "survey_id": "S-1", "device_id": device, "office_id": e2e_tests::HALL,
        "name": "宅基地", "surveyed_at": "2026-11-30T08:00:00Z",
        "corners": [
            {"name": "J1", "lon": 112.7000, "lat": 25.7000, "fixes": 10},
            {"name": "J2", "lon": 112.7003, "lat": 25.7000, "fixes": 10},
            {"name": "J3", "lon": 112.7003, "lat": 25.7003, "fixes": 10},
            {"name": "J4", "lon": 112.7000, "lat": 25.7003, "fixes": 10}
        ],
        "area_m2": 900.0
    });
    change(&mut plot);
    plot
}

fn heartbeat_body(change: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let mut beat = serde_json::json!({
        "kind": "kiosk", "hall_id": e2e_tests::HALL, "app_version": "0.1.0",
        "uptime_s": 1, "free_disk_bytes": 1
    });
    change(&mut beat);
    beat
}

/// A manifest signed with the demo key (the one egov-sim trusts by default).
fn signed_publish(
    version: u64,
    entries: serde_json::Value,
    key_file: Option<&str>,
) -> serde_json::Value {
    let manifest = serde_json::json!({
        "schema": 1, "version": version, "created_at": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "publisher": "hostile", "entries": entries
    })
    .to_string();
    let key = match key_file {
        Some(path) => std::fs::read_to_string(path).unwrap(),
        None => protocol::content::encode_signing_key(&protocol::content::generate_signing_key()),
    };
    let key = protocol::content::decode_signing_key(&key).unwrap();
    serde_json::json!({
        "manifest": manifest,
        "signature": protocol::content::sign(&key, manifest.as_bytes()),
    })
}

const BIG: u64 = 1 << 63;

fn probes(device: &str) -> Vec<Probe> {
    use serde_json::{Value, json};
    let hb = |c: &dyn Fn(&mut Value)| heartbeat_body(|b| c(b));
    let own_heartbeat = format!("/api/v1/devices/{device}/heartbeat");
    let plot = |c: &dyn Fn(&mut Value)| plot_body(device, |p| c(p));
    let rating = |hall: &str| {
        json!({"rating_id": "5a1f0c9e-3b1d-4c55-9f0e-2b8f3e0d7a61", "device_id": device,
               "hall_id": hall, "score": 5, "rated_at": "2026-11-30T08:00:00Z"})
    };
    let demo_key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/content-sample/.demo-signing.key"
    );
    let missing_blob = json!([{"id": "notices/a", "kind": "notice", "sha256": "ab".repeat(32),
                               "size": 5, "media_type": "application/json"}]);
    let halls = "/api/v1/halls";
    let none = Value::Null;
    vec![
        // Who may ask.
        probe("no token, bad JSON", As::Nobody, "POST", "/api/v1/ratings", none.clone(),
              (401, "unauthorized", "token")).raw_body(b"{not json").content_type(Some("application/json")),
        probe("admin token on a device route", As::Admin, "GET", halls, none.clone(),
              (401, "unauthorized", "token")),
        probe("device token on an admin route", As::Device, "GET", "/api/v1/admin/devices",
              none.clone(), (401, "unauthorized", "token")),
        probe("another device's heartbeat", As::OtherDevice, "POST", &*own_heartbeat,
              hb(&|_| ()), (403, "forbidden", "device_id")),
        probe("a heartbeat for another hall", As::Device, "POST", &*own_heartbeat,
              hb(&|b| b["hall_id"] = json!("hn-zrzyt")), (403, "forbidden", "hall_id")),
        probe("another hall's feed, SQL-looking", As::Device, "GET",
              "/api/v1/cases/changes?hall=x%27%20OR%20%271%27%3D%271", none.clone(),
              (403, "forbidden", "hall")),
        probe("SQL-looking device id", As::Device, "POST",
              "/api/v1/devices/x%27%3B%20DROP%20TABLE%20devices%3B--/heartbeat", hb(&|_| ()),
              (403, "forbidden", "device_id")),
        probe("a rating for an unknown hall", As::Device, "POST", "/api/v1/ratings",
              rating("nowhere"), (403, "forbidden", "hall_id")),
        // Bodies that are not what they claim.
        probe("malformed JSON", As::Device, "POST", "/api/v1/ratings", none.clone(),
              (400, "bad_request", "JSON")).raw_body(b"{\"rating_id\": ").content_type(Some("application/json")),
        probe("JSON sent as text/plain", As::Device, "POST", "/api/v1/ratings", rating(e2e_tests::HALL),
              (415, "unsupported_media_type", "Content-Type")).content_type(Some("text/plain")),
        probe("JSON sent without a content type", As::Device, "POST", "/api/v1/ratings",
              rating(e2e_tests::HALL), (415, "unsupported_media_type", "Content-Type")).content_type(None),
        probe("JSON nested 10,000 deep", As::Device, "POST", &*own_heartbeat, none.clone(),
              (400, "bad_request", "JSON")).raw_body(format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).as_bytes()).content_type(Some("application/json")),
        probe("an oversized JSON body", As::Device, "POST", "/api/v1/ratings",
              json!({"padding": "x".repeat(protocol::MAX_JSON_BODY)}), (413, "payload_too_large", "")),
        probe("an unknown field", As::Device, "POST", &*own_heartbeat,
              hb(&|b| b["colour"] = json!("red")), (400, "bad_request", "colour")),
        // Numbers at their edges.
        probe("case feed after 2^63", As::Device, "GET", format!("/api/v1/cases/changes?after={BIG}"),
              none.clone(), (400, "bad_request", "after")),
        probe("layer feed after 2^63", As::Device, "GET",
              format!("/api/v1/layers/parcels/changes?after={BIG}"), none.clone(), (400, "bad_request", "after")),
        probe("case feed after 2^64", As::Device, "GET", "/api/v1/cases/changes?after=18446744073709551616",
              none.clone(), (400, "bad_request", "after")),
        probe("SQL-looking after", As::Device, "GET", "/api/v1/cases/changes?after=1%20OR%201%3D1",
              none.clone(), (400, "bad_request", "after")),
        probe("limit 0", As::Device, "GET", "/api/v1/cases/changes?limit=0", none.clone(),
              (400, "bad_request", "limit")),
        probe("screenshot command 2^63", As::Device, "PUT",
              format!("/api/v1/devices/{device}/screenshots/{BIG}"), none.clone(),
              (400, "bad_request", "command_id")).raw_body(b"\x89PNG\r\n\x1a\nxx").content_type(Some("image/png")),
        probe("admin screenshot 2^63", As::Admin, "GET",
              format!("/api/v1/admin/devices/{device}/screenshots/{BIG}"), none.clone(),
              (400, "bad_request", "command_id")),
        probe("a heartbeat reporting command 2^63", As::Device, "POST", &*own_heartbeat,
              hb(&|b| b["completed"] = json!([{"id": BIG, "ok": true}])),
              (422, "invalid_heartbeat", "completed[0].id")),
        probe("a heartbeat with 4,000 faults", As::Device, "POST", &*own_heartbeat,
              hb(&|b| b["faults"] = json!(vec![json!({"part": "cases", "message": "down",
                  "at": "2026-11-30T08:00:00Z"}); 4_000])),
              (422, "invalid_heartbeat", "faults")),
        probe("a bridge heartbeat with 4,000 docked units", As::Device, "POST", &*own_heartbeat,
              hb(&|b| {
                  b["kind"] = json!("gps_bridge");
                  b["bridge"] = json!({"outbox_depth": 0,
                      "docked_units": vec![json!({"port": "/dev/ttyUSB0"}); 4_000]});
              }),
              (422, "invalid_heartbeat", "bridge.docked_units")),
        probe("a bridge heartbeat with a port name of 100,000 characters", As::Device, "POST",
              &*own_heartbeat,
              hb(&|b| {
                  b["kind"] = json!("gps_bridge");
                  b["bridge"] = json!({"outbox_depth": 0,
                      "docked_units": [{"port": "p".repeat(100_000)}]});
              }),
              (422, "invalid_heartbeat", "bridge.docked_units[0].port")),
        // Paths that try to leave the blob folder.
        probe("blob hash with ../ encoded", As::Nobody, "GET", "/content/blobs/..%2F..%2Fegov.db",
              none.clone(), (400, "bad_request", "hex")),
        probe("blob hash with ../ plain", As::Nobody, "GET", "/content/blobs/../egov.db",
              none.clone(), (404, "not_found", "")),
        probe("admin upload with ../ in its hash", As::Admin, "PUT",
              "/api/v1/admin/content/blobs/%2e%2e%2fegov.db", none.clone(), (400, "bad_request", "hex"))
            .raw_body(b"x").content_type(Some("application/octet-stream")),
        // Plots that must not be recorded.
        probe("collinear corners", As::Device, "POST", "/api/v1/plots", plot(&|p| {
                  p["corners"] = json!([{"name": "J1", "lon": 112.70, "lat": 25.70},
                      {"name": "J2", "lon": 112.705, "lat": 25.705}, {"name": "J3", "lon": 112.71, "lat": 25.71}]);
              }), (422, "invalid_geometry", "collinear")).keyed(),
        probe("a corner of 0 fixes", As::Device, "POST", "/api/v1/plots",
              plot(&|p| p["corners"][1]["fixes"] = json!(0)), (422, "invalid_plot", "corners[1].fixes")).keyed(),
        probe("area -5", As::Device, "POST", "/api/v1/plots", plot(&|p| p["area_m2"] = json!(-5.0)),
              (422, "invalid_plot", "area_m2")).keyed(),
        probe("area 1e308", As::Device, "POST", "/api/v1/plots", plot(&|p| p["area_m2"] = json!(1e308)),
              (422, "invalid_plot", "area_m2")).keyed(),
        probe("a corner name of 100,000 characters", As::Device, "POST", "/api/v1/plots",
              plot(&|p| p["corners"][0]["name"] = json!("J".repeat(100_000))),
              (422, "invalid_plot", "corners[0].name")).keyed(),
        probe("surveyed in 9999", As::Device, "POST", "/api/v1/plots",
              plot(&|p| p["surveyed_at"] = json!("9999-01-01T00:00:00Z")), (422, "invalid_plot", "surveyed_at")).keyed(),
        probe("a plot as another device", As::Device, "POST", "/api/v1/plots",
              plot(&|p| p["device_id"] = json!("someone-else")), (403, "forbidden", "device_id")).keyed(),
        probe("a plot for another office", As::Device, "POST", "/api/v1/plots",
              plot(&|p| p["office_id"] = json!("hn-zrzyt")), (403, "forbidden", "office_id")).keyed(),
        probe("a plot without its Idempotency-Key", As::Device, "POST", "/api/v1/plots", plot(&|_| ()),
              (400, "bad_request", "Idempotency-Key")),
        // Releases that must not be published.
        probe("a signature by an unknown key, blob missing too", As::Admin, "PUT",
              "/api/v1/admin/content/manifest", signed_publish(1, missing_blob.clone(), None),
              (422, "invalid_signature", "signature")),
        probe("version 2^63-1, validly signed", As::Admin, "PUT", "/api/v1/admin/content/manifest",
              signed_publish(i64::MAX as u64, json!([]), Some(demo_key)), (422, "invalid_manifest", "ceiling")),
        probe("a token for an unknown hall", As::Admin, "POST", "/api/v1/admin/devices/k9/token",
              json!({"hall_id": "nowhere"}), (422, "invalid_device", "hall_id")),
        // Routes and methods that do not exist.
        probe("DELETE on the halls", As::Device, "DELETE", halls, none.clone(), (405, "method_not_allowed", "")),
        probe("an unknown route", As::Device, "GET", "/api/v2/nothing", none, (404, "not_found", "")),
    ]
}

#[test]
fn every_bad_request_gets_its_refusal_and_stores_nothing() {
    let sim = EgovSim::start(&["--cases", "10"]);
    let other = sim.provision("other-kiosk", e2e_tests::HALL);
    let tokens_before = sim.rows("device_tokens");
    let (_, peak_before) = peer::rss_kib(sim.pid());
    for p in probes(e2e_tests::DEVICE) {
        let token = match p.who {
            As::Nobody => None,
            As::Device => Some(sim.device_token.clone()),
            As::OtherDevice => Some(other.clone()),
            As::Admin => Some(e2e_tests::ADMIN_TOKEN.to_owned()),
        };
        let mut headers = Vec::new();
        if let Some(token) = &token {
            headers.push(format!("Authorization: Bearer {token}"));
        }
        if let Some(content_type) = p.content_type {
            headers.push(format!("Content-Type: {content_type}"));
        }
        if p.keyed {
            headers.push(format!("Idempotency-Key: hostile {}", p.name).replace(' ', "-"));
        }
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut raw = Raw::connect(sim.addr());
        raw.send(&peer::request(p.method, &p.path, &headers, &p.body));
        let answer = raw
            .answer(PATIENCE)
            .unwrap_or_else(|| panic!("{}: no answer", p.name));
        let body = String::from_utf8_lossy(&answer.body);
        assert_eq!(answer.status, p.status, "{}: {body}", p.name);
        assert_eq!(
            answer.error_code().as_deref(),
            Some(p.code),
            "{}: {body}",
            p.name
        );
        let message = answer.error_message();
        assert!(!message.is_empty(), "{}: a message", p.name);
        assert!(
            message.contains(p.names),
            "{}: {message:?} names {:?}",
            p.name,
            p.names
        );
        still_serves(&sim);
    }
    // Nothing was stored half-way, or at all.
    for table in [
        "plots",
        "ratings",
        "content_releases",
        "content_blobs",
        "commands",
        "devices",
        "screenshots",
    ] {
        assert_eq!(sim.rows(table), 0, "{table}");
    }
    assert_eq!(sim.rows("device_tokens"), tokens_before);
    let blobs = sim.data.path().join("content").join("blobs");
    assert!(!blobs.exists() || std::fs::read_dir(&blobs).unwrap().next().is_none());
    let (_, peak_after) = peer::rss_kib(sim.pid());
    eprintln!("the probe table: peak RSS {peak_before} → {peak_after} KiB");
    assert!(peak_after.saturating_sub(peak_before) < FLOOD_RSS_BOUND_KIB);
}

#[test]
fn the_same_idempotency_key_fifty_times_at_once_records_one_plot() {
    let sim = EgovSim::start(&["--cases", "10"]);
    let plot: protocol::plots::PlotSubmission =
        serde_json::from_value(plot_body(e2e_tests::DEVICE, |_| ())).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let answers = runtime.block_on(async {
        let client = sim.device_client();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let (client, plot) = (client.clone(), plot.clone());
                tokio::spawn(async move { client.post_plot("same-key-50", &plot).await })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap().expect("every repeat is answered"));
        }
        answers
    });
    let created = answers
        .iter()
        .filter(|(d, _)| *d == protocol::client::Delivery::Created)
        .count();
    assert_eq!(created, 1, "one 201, the rest 200");
    assert!(
        answers.iter().all(|(_, r)| *r == answers[0].1),
        "the same receipt"
    );
    assert_eq!(sim.rows("plots"), 1);
    still_serves(&sim);
}
