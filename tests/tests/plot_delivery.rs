//! From a docked handheld to the approval system, with the real programs: `gps-bridge
//! simulate` (a Garmin on a pseudo-terminal, its active route the demo plot), `gps-bridge run`
//! and egov-sim. The route ends as exactly one plot upstream with the right area — across an
//! upstream that is not there at first and a SIGKILL of the bridge in the middle — and the
//! fleet view shows the bridge; a 国土 TXT with a hole arrives with its hole.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use e2e_tests::{Bridge, EgovSim, Killed, OFFICE, free_port, program, wait_for};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(120);

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// `gps-bridge simulate ARGS` and the pseudo-terminal it printed first.
fn simulate(args: &[&str]) -> (Killed, String) {
    let mut child = Killed(
        Command::new(program("gps-bridge"))
            .arg("simulate")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gps-bridge simulate starts"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().expect("stdout is piped"))
        .read_line(&mut line)
        .expect("the simulator prints its pty");
    (child, line.trim_end().to_owned())
}

/// The plots egov-sim recorded: (survey id, body, receipt).
fn upstream_plots(sim: &EgovSim) -> Vec<(String, Value, Value)> {
    let db = rusqlite::Connection::open_with_flags(
        sim.data.path().join("egov.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("egov-sim's database opens");
    let mut stmt = db
        .prepare("SELECT body, receipt FROM plots ORDER BY plot_id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
        .map(|row| {
            let (body, receipt) = row.unwrap();
            let body: Value = serde_json::from_str(&body).unwrap();
            let receipt: Value = serde_json::from_str(&receipt).unwrap();
            (
                body["survey_id"].as_str().unwrap().to_owned(),
                body,
                receipt,
            )
        })
        .collect()
}

/// A 国土 TXT's bytes with the plot's third point line cut short (its Y gone), as a hand-edited
/// file breaks; and that line's number. The other bytes are as they were.
fn with_a_broken_point_line(txt: &[u8]) -> (Vec<u8>, usize) {
    let lines: Vec<&[u8]> = txt.split_inclusive(|&b| b == b'\n').collect();
    let plot_line = lines
        .iter()
        .position(|l| l.trim_ascii_end().ends_with(b"@"))
        .expect("the file has a plot line");
    let broken = plot_line + 3;
    let cut = lines[broken].iter().rposition(|&b| b == b',').unwrap();
    let mut out: Vec<u8> = lines[..broken].concat();
    out.extend_from_slice(&lines[broken][..cut]);
    out.extend_from_slice(b"\r\n");
    out.extend(lines[broken + 1..].concat());
    (out, broken + 1)
}

/// What `gps-bridge inspect` says of a plot file: (area in the plane, area on the ellipsoid).
fn inspected_areas(file: &Path) -> (f64, f64) {
    let out = Command::new(program("gps-bridge"))
        .arg("inspect")
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let plots: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        plots[0]["area_m2"].as_f64().unwrap(),
        plots[0]["ellipsoid_area_m2"].as_f64().unwrap(),
    )
}

#[test]
fn the_active_route_arrives_once_through_an_outage_and_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let route = repo_file("config/demo-plot.geojson");
    let (_handheld, pty) = simulate(&["--route", route.to_str().unwrap(), "--interval", "0.2"]);
    let link = dir.path().join("garmin");
    std::os::unix::fs::symlink(&pty, &link).unwrap();
    // The bridge is provisioned upstream (its token, bound to it and its office), then the
    // upstream goes away: the port the bridge is given is reserved, nobody listens.
    let mut sim = EgovSim::start(&["--cases", "10"]);
    let token = sim.provision("bridge-zs-01", OFFICE);
    sim.stop();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/");
    let bridge = Bridge::new(&url, &token, "bridge-zs-01", &[link], "");

    let mut running = bridge.run();
    let pending = wait_for("the route checked into the outbox", LIMIT, || {
        let plots = bridge.plots();
        (plots.len() == 1 && plots[0]["attempts"].as_u64() >= Some(1)).then(|| plots[0].clone())
    });
    assert_eq!(pending["state"], "pending", "{pending}");

    // SIGKILL, then a restart that hears the same active route again.
    running.0.kill().unwrap();
    running.0.wait().unwrap();
    let _restarted = bridge.run();
    let heard = |s: &Value| s["units"][0]["sentences"].as_u64().unwrap_or(0);
    let first = wait_for("the restarted bridge", LIMIT, || {
        bridge.status().filter(|s| heard(s) > 0)
    });
    // Each cycle of the route is 4 WPLs, one per simulated second of about 12 sentences.
    wait_for("a whole route cycle after the restart", LIMIT, || {
        bridge.status().filter(|s| heard(s) > heard(&first) + 100)
    });
    let status = bridge.status().unwrap();
    assert_eq!(status["plot_candidates"], 1, "the route is known: {status}");
    assert_eq!(bridge.plots().len(), 1);

    // The upstream comes up: the plot is delivered, once.
    sim.restart_on(&format!("127.0.0.1:{port}"), &["--cases", "10"]);
    let delivered = wait_for("the plot delivered", LIMIT, || {
        let plots = bridge.plots();
        (plots[0]["state"] == "delivered").then(|| plots[0].clone())
    });
    let upstream = upstream_plots(&sim);
    assert_eq!(upstream.len(), 1, "exactly one plot upstream: {upstream:?}");
    let (survey_id, body, receipt) = &upstream[0];
    assert_eq!(survey_id, "bridge-zs-01-c1");
    assert_eq!(delivered["upstream_plot_id"], receipt["plot_id"]);

    // The right area. The route's waypoints are the demo plot's corners as the handheld
    // prints them (ddmm.mmmm, within 0.1 m), so the area is the plot's within the rounding
    // along its ~105 m boundary, or three of the bridge's σ when it states one.
    let (plane, ellipsoid) = inspected_areas(&route);
    let sent = body["area_m2"].as_f64().unwrap();
    let tolerance = body["area_uncertainty_m2"]
        .as_f64()
        .map_or(15.0, |s| (3.0 * s).max(15.0));
    assert!((sent - plane).abs() < tolerance, "{sent} vs {plane}");
    let geodesic = receipt["area_m2"].as_f64().unwrap();
    assert!(
        (geodesic - ellipsoid).abs() < tolerance,
        "{geodesic} vs {ellipsoid}"
    );
    // The demo plot lies partly on a seeded parcel: the upstream says so. The bridge checked
    // it while the upstream was away, before any layer sync, and says that its pre-check
    // saw no layer yet rather than that there is nothing.
    assert_eq!(receipt["overlaps"][0]["layer"], "parcels", "{receipt}");
    let shown = String::from_utf8(bridge.cli(&["show", "1"]).stdout).unwrap();
    assert!(
        shown.contains(
            "宗地 parcels：0 个要素 features，游标 cursor 0，从未完整同步 never fully synced"
        ),
        "{shown}"
    );
    let listed = String::from_utf8(bridge.cli(&["plots"]).stdout).unwrap();
    assert!(
        listed.contains("已送达 delivered")
            && listed.contains(receipt["plot_id"].as_str().unwrap()),
        "{listed}"
    );
    // Attempts while the upstream was away are in the history, the delivery last.
    let record: Value =
        serde_json::from_slice(&bridge.cli(&["show", "1", "--json"]).stdout).unwrap();
    let attempts = record["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 2, "{attempts:?}");
    assert_eq!(attempts.last().unwrap()["outcome"], "delivered");

    // The fleet view shows the bridge with its docked unit and an empty outbox.
    let fleet = sim.admin_client();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let me = wait_for("the bridge's heartbeat", LIMIT, || {
        let fleet = runtime.block_on(fleet.fleet()).ok()?;
        fleet
            .devices
            .into_iter()
            .find(|d| d.device_id == "bridge-zs-01")
            .filter(|d| {
                d.heartbeat
                    .bridge
                    .as_ref()
                    .is_some_and(|b| b.outbox_depth == 0)
            })
    });
    let health = me.heartbeat.bridge.unwrap();
    assert_eq!(me.heartbeat.hall_id, "hn-gyx-zsz");
    assert_eq!(health.docked_units.len(), 1);
    assert!(health.last_delivery_at.is_some());
    // As the administrator reads it: the bridges' table below the kiosks'.
    let out = Command::new(program("kiosk-admin"))
        .args([
            "fleet",
            "--upstream",
            &sim.url,
            "--token",
            e2e_tests::ADMIN_TOKEN,
        ])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    let row = table
        .lines()
        .find(|l| l.starts_with("bridge-zs-01"))
        .unwrap_or_else(|| panic!("no bridge row: {table}"));
    assert!(
        table.contains("BRIDGE") && table.contains("OUTBOX"),
        "{table}"
    );
    assert!(
        row.contains("hn-gyx-zsz") && row.contains("garmin"),
        "{row}"
    );
}

#[test]
fn a_txt_import_arrives_with_its_hole() {
    let sim = EgovSim::start(&["--cases", "10"]);
    let token = sim.provision("bridge-zs-02", OFFICE);
    let bridge = Bridge::new(&sim.url, &token, "bridge-zs-02", &[], "");
    let dir = tempfile::tempdir().unwrap();
    // A homestead with a courtyard that is someone else's, drawn as GeoJSON and turned into a
    // 国土 TXT (GB18030, CRLF) with the bridge's own converter.
    let geojson = dir.path().join("li.geojson");
    std::fs::write(
        &geojson,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature",
        "properties":{"name":"李家宅基地"},"geometry":{"type":"Polygon","coordinates":[
        [[112.6300,25.8700],[112.6303,25.8700],[112.6303,25.8703],[112.6300,25.8703],[112.6300,25.8700]],
        [[112.6301,25.8701],[112.6301,25.8702],[112.6302,25.8702],[112.6302,25.8701],[112.6301,25.8701]]]}}]}"#,
    )
    .unwrap();
    let txt = dir.path().join("li.txt");
    let out = bridge.cli(&["convert", geojson.to_str().unwrap(), txt.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let (plane, ellipsoid) = inspected_areas(&txt);

    // The same file with a broken point line, imported first: kept, refused, never sent.
    let good = std::fs::read(&txt).unwrap();
    let (text, line) = with_a_broken_point_line(&good);
    let broken = dir.path().join("li-broken.txt");
    std::fs::write(&broken, text).unwrap();

    let _running = bridge.run();
    let out = bridge.cli(&["import", broken.to_str().unwrap()]);
    assert!(!out.status.success(), "{out:?}");
    let out = bridge.cli(&["import", txt.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let delivered = wait_for("the imported plot delivered", LIMIT, || {
        let plots = bridge.plots();
        (plots.first()?["state"] == "delivered").then(|| plots[0].clone())
    });
    assert_eq!(delivered["name"], "李家宅基地");
    // The broken file is listed as refused, with its line and reason, and was never sent.
    let plots = bridge.plots();
    assert_eq!(plots.len(), 2, "{plots:?}");
    assert_eq!(
        (
            &plots[1]["name"],
            &plots[1]["state"],
            plots[1]["attempts"].as_u64()
        ),
        (
            &Value::from("li-broken.txt"),
            &Value::from("refused"),
            Some(0)
        )
    );
    let listed = String::from_utf8(bridge.cli(&["plots"]).stdout).unwrap();
    let row = listed
        .lines()
        .find(|l| l.contains("li-broken.txt"))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(
        row.contains("未通过检查 refused")
            && row.contains(&format!("国土坐标TXT文件第{line}行无法读取")),
        "{row}"
    );
    let id = plots[1]["id"].to_string();
    let shown = String::from_utf8(bridge.cli(&["show", &id]).stdout).unwrap();
    assert!(
        shown.contains("file_unreadable")
            && shown.contains(&format!("cannot be read at line {line}")),
        "{shown}"
    );
    let upstream = upstream_plots(&sim);
    assert_eq!(upstream.len(), 1);
    let (_, body, receipt) = &upstream[0];
    assert_eq!(body["holes"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["holes"][0].as_array().unwrap().len(), 4);
    // The file's coordinates are to the millimetre: the areas agree closely, hole taken out.
    assert!((body["area_m2"].as_f64().unwrap() - plane).abs() < 0.1);
    assert!((receipt["area_m2"].as_f64().unwrap() - ellipsoid).abs() < 0.5);
    assert!(
        plane > 880.0 && plane < 900.0,
        "30 × 33 m less 10 × 11 m: {plane}"
    );
}
