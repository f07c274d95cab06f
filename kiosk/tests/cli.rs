//! The real binaries: `kiosk` support commands and `kiosk-admin`, against a real egov-sim.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Sim, write_config};
use protocol::devices::{DeviceStatus, Fleet};

fn kiosk(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "kiosk=warn")
        .output()
        .expect("kiosk runs")
}

fn admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kiosk-admin"))
        .args(args)
        .output()
        .expect("kiosk-admin runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn sample_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/content-sample")
}

#[test]
fn support_commands_sync_and_look_up_a_case() {
    let sim = Sim::start(600, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, 100);
    assert!(kiosk(&config, &["--check-config"]).status.success());
    // Before any sync, the kiosk shows (and reports) the built-in sample content.
    let status = kiosk(&config, &["status"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        (&json["content"]["sample"], &json["content"]["version"]),
        (&serde_json::json!(true), &serde_json::Value::Null),
        "{json}"
    );

    // Build the sample folder with the demo key and publish it with kiosk-admin.
    let out = dir.path().join("release");
    let key = sample_dir().join(".demo-signing.key");
    let built = admin(&[
        "build",
        sample_dir().to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--version",
        "3",
    ]);
    assert!(built.status.success(), "{}", stderr(&built));
    assert!(out.join("manifest.json").is_file() && out.join("manifest.json.sig").is_file());
    let published = admin(&[
        "publish",
        out.to_str().unwrap(),
        "--to",
        &sim.url,
        "--token",
        ADMIN_TOKEN,
    ]);
    assert!(published.status.success(), "{}", stderr(&published));

    let synced = kiosk(&config, &["sync", "--once"]);
    assert!(synced.status.success(), "{}", stderr(&synced));
    assert!(
        stdout(&synced).contains("content: Applied { version: 3"),
        "{}",
        stdout(&synced)
    );

    let (case_no, code) = sim
        .lookups("GY")
        .into_iter()
        .find(|(c, _)| sim.hall_cases().contains_key(c))
        .unwrap();
    let found = kiosk(&config, &["lookup", &case_no, &code]);
    assert!(found.status.success(), "{}", stderr(&found));
    let json: serde_json::Value = serde_json::from_slice(&found.stdout).unwrap();
    assert_eq!(json["outcome"], "found");
    assert_eq!(json["case"]["case_no"], case_no.as_str());
    assert!(
        json["case"]["steps"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(
        !stdout(&found).contains("lookup_digest"),
        "the digest is not shown"
    );

    // Lookups are logged with the case number, never with the code.
    let logged = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["lookup", &case_no, "x9z7q", "--config"])
        .arg(&config)
        .env("RUST_LOG", "kiosk=info")
        .output()
        .unwrap();
    assert!(
        stderr(&logged).contains(&case_no) && stderr(&logged).contains("no_match"),
        "{}",
        stderr(&logged)
    );
    assert!(!stderr(&logged).contains("x9z7q") && !stdout(&logged).contains("x9z7q"));

    let wrong = kiosk(&config, &["lookup", &case_no, "abcd"]);
    assert_eq!(wrong.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&wrong.stdout).unwrap();
    assert_eq!(json["outcome"], "no_match");

    let status = kiosk(&config, &["status"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["content"]["version"], 3);
    assert_eq!(
        json["cases"].as_u64().unwrap() as usize,
        sim.hall_cases().len()
    );
}

#[test]
fn configuration_and_content_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(&config, "device_id = \"k\"\nhall_id = 3\n").unwrap();
    let checked = kiosk(&config, &["--check-config"]);
    assert_eq!(checked.status.code(), Some(2));
    assert!(
        stderr(&checked).contains("kiosk.toml:2:"),
        "{}",
        stderr(&checked)
    );

    let content = dir.path().join("content");
    std::fs::create_dir_all(content.join("notices")).unwrap();
    std::fs::write(
        content.join("notices/a.md"),
        "+++\ntitle = \"通知\"\nvalid_from = 2026-01-01\n+++\n正文\n",
    )
    .unwrap();
    let key = dir.path().join("k.key");
    assert!(
        admin(&["keygen", "--out", key.to_str().unwrap()])
            .status
            .success()
    );
    let built = admin(&[
        "build",
        content.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(built.status.code(), Some(2));
    assert!(
        stderr(&built).contains("notices/a.md:3: valid_from"),
        "{}",
        stderr(&built)
    );
    // keygen refuses to overwrite a key.
    assert!(
        !admin(&["keygen", "--out", key.to_str().unwrap()])
            .status
            .success()
    );
}

/// A `kiosk run` child, killed if the test fails before it stops it.
struct Running(Child);

impl Running {
    fn start(config: &Path) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "off")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Self(child)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Already gone when the test stopped it itself.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// This kiosk's row of `kiosk-admin fleet --json`, if it has reported.
fn fleet_row(sim: &Sim) -> Option<DeviceStatus> {
    let fleet = admin(&[
        "fleet",
        "--json",
        "--upstream",
        &sim.url,
        "--token",
        ADMIN_TOKEN,
    ]);
    assert!(fleet.status.success(), "{}", stderr(&fleet));
    let fleet: Fleet = serde_json::from_slice(&fleet.stdout).unwrap();
    fleet
        .devices
        .into_iter()
        .find(|d| d.device_id == "test-kiosk")
}

#[test]
fn the_running_kiosk_heartbeats_and_answers_commands_in_the_fleet_view() {
    let sim = Sim::start(300, &[]);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(common::sample_release(5).publish(&sim.admin_client()))
        .unwrap();
    let newest_case = sim.newest_hall_seq();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, 100);
    let mut running = Running::start(&config);
    let queued = admin(&[
        "command",
        "test-kiosk",
        "screenshot",
        "--upstream",
        &sim.url,
        "--token",
        ADMIN_TOKEN,
    ]);
    assert!(queued.status.success(), "{}", stderr(&queued));
    // Settled: synced to the newest case, release 5 applied, the command delivered.
    let deadline = Instant::now() + Duration::from_secs(30);
    let settled = loop {
        let row = fleet_row(&sim);
        if let Some(row) = row.as_ref().filter(|r| {
            let h = &r.heartbeat;
            h.last_sync_at.is_some()
                && h.feed_cursor >= Some(newest_case)
                && h.content_version == Some(5)
                && r.pending_commands == 0
        }) {
            break row.clone();
        }
        assert!(
            Instant::now() < deadline,
            "fleet never showed the kiosk settled: {row:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let h = &settled.heartbeat;
    assert_eq!(h.app_version, env!("CARGO_PKG_VERSION"));
    assert_eq!(h.hall_id, common::HALL);
    assert_eq!((&h.last_error, &h.faults), (&None, &vec![]), "{h:?}");
    // The table shows the same row.
    let table = stdout(&admin(&[
        "fleet",
        "--upstream",
        &sim.url,
        "--token",
        ADMIN_TOKEN,
    ]));
    let line = table
        .lines()
        .find(|l| l.starts_with("test-kiosk "))
        .unwrap_or_else(|| panic!("{table}"));
    let columns: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        (columns[2], columns[3], columns.last().copied()),
        (env!("CARGO_PKG_VERSION"), "5", Some("-")),
        "{line}"
    );
    // SIGTERM stops it cleanly.
    send_signal(running.0.id(), "TERM");
    let status = running.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}
