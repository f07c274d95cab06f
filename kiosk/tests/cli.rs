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
        stdout(&synced).contains("content: applied release 3"),
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

/// A `kiosk run --headless` child (the data plane alone), killed if the test fails before it
/// stops it.
struct Running(Child);

impl Running {
    fn start(config: &Path) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .args(["run", "--headless", "--config"])
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

/// Waits until a `kiosk run` holds the data folder's lock (its pid is in the lock file) and
/// runs its loops (its first heartbeat reached egov-sim).
fn wait_until_running(sim: &Sim, data: &Path, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(data.join("kiosk.lock"))
        .ok()
        .is_none_or(|held| held.trim() != pid.to_string())
        || fleet_row(sim).is_none()
    {
        assert!(Instant::now() < deadline, "kiosk run never got going");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Regression: `kiosk sync --once` beside a running kiosk marked the running kiosk's command
/// as cut off by a restart. Now the support commands that write say a kiosk is running and
/// touch nothing; those that only read still work.
#[test]
fn support_commands_that_write_refuse_while_a_kiosk_runs() {
    let sim = Sim::start(50, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, 100);
    let data = dir.path().join("data");
    let mut running = Running::start(&config);
    let pid = running.0.id();
    wait_until_running(&sim, &data, pid);
    // As if the running kiosk were in the middle of a command.
    let mirror = kiosk::mirror::Mirror::open(&data.join("mirror.db")).unwrap();
    mirror
        .conn()
        .execute(
            "INSERT INTO commands (id, action, state) VALUES (999, '{}', 'running')",
            [],
        )
        .unwrap();

    for args in [&["sync", "--once"][..], &["rate", "5"]] {
        let refused = kiosk(&config, args);
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        let said = stderr(&refused);
        assert!(
            said.contains("a kiosk is running on") && said.contains(&format!("(pid {pid})")),
            "{args:?}: {said}"
        );
    }
    assert_eq!(
        mirror.command_state(999).unwrap(),
        Some(("running".into(), None, false)),
        "the running kiosk's command is left alone"
    );
    assert_eq!(mirror.rating_counts().unwrap(), (0, 0, 0));
    let status = kiosk(&config, &["status"]);
    assert!(status.status.success(), "{}", stderr(&status));

    send_signal(pid, "TERM");
    assert!(running.0.wait().unwrap().success());
    // Stopped for real: now the command was cut off, and the support commands run.
    let synced = kiosk(&config, &["sync", "--once"]);
    assert!(synced.status.success(), "{}", stderr(&synced));
    assert_eq!(
        mirror.command_state(999).unwrap(),
        Some(("done".into(), Some(false), false))
    );
    assert!(kiosk(&config, &["rate", "5"]).status.success());
}

/// `kiosk status`'s display schedule in force, as JSON.
fn display_schedule(config: &Path) -> serde_json::Value {
    let status = kiosk(config, &["status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    json["display_schedule"].clone()
}

fn wait_for_schedule(config: &Path, source: &str, on: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let shown = display_schedule(config);
        if shown["source"] == source && shown["schedule"]["on"] == on {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the kiosk never showed the {source} schedule from {on}: {shown}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `kiosk-admin command … set-display-schedule` and `clear-display-schedule` through egov-sim
/// to a running kiosk; a schedule that is not one is refused before it is queued.
#[test]
fn an_administrator_sets_and_clears_the_display_schedule_of_a_kiosk() {
    let sim = Sim::start(20, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, 100);
    let published = display_schedule(&config);
    assert_eq!(published["source"], "published", "{published}");
    let published_on = published["schedule"]["on"].as_str().unwrap().to_owned();
    let _running = Running::start(&config);
    let command = |args: &[&str]| {
        let mut all = vec!["command", "test-kiosk"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--upstream", &sim.url, "--token", ADMIN_TOKEN]);
        admin(&all)
    };

    for (args, why) in [
        (
            &[
                "set-display-schedule",
                "--on",
                "25:00",
                "--off",
                "21:00",
                "--weekdays",
                "1",
            ][..],
            "on must be HH:MM",
        ),
        (
            &["set-display-schedule", "--on", "07:30", "--off", "21:00"],
            "weekdays must be 1",
        ),
        (
            &["set-display-schedule", "--off", "21:00", "--weekdays", "1"],
            "needs --on",
        ),
        (
            &["screenshot", "--on", "07:30"],
            "set-display-schedule only",
        ),
    ] {
        let refused = command(args);
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&refused).contains(why),
            "{args:?}: {}",
            stderr(&refused)
        );
    }

    let set = command(&[
        "set-display-schedule",
        "--on",
        "07:30",
        "--off",
        "21:00",
        "--weekdays",
        "1,2,3,4,5,6",
    ]);
    assert!(set.status.success(), "{}", stderr(&set));
    wait_for_schedule(&config, "command", "07:30");
    let shown = display_schedule(&config);
    assert_eq!(
        shown["schedule"]["weekdays"],
        serde_json::json!([1, 2, 3, 4, 5, 6])
    );

    let cleared = command(&["clear-display-schedule"]);
    assert!(cleared.status.success(), "{}", stderr(&cleared));
    wait_for_schedule(&config, "published", &published_on);
}

/// What `kiosk run` tells systemd, read from a notify socket as systemd would hold it:
/// READY=1 once it runs, WATCHDOG=1 every half WatchdogSec, STOPPING=1 on SIGTERM, then a
/// clean exit.
#[test]
fn kiosk_run_tells_systemd_it_is_ready_alive_and_stopping() {
    let sim = Sim::start(20, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, 100);
    let socket_path = dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    // Generous: a message late on a loaded machine is still read.
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["run", "--headless", "--config"])
        .arg(&config)
        .env("RUST_LOG", "off")
        .env("NOTIFY_SOCKET", &socket_path)
        // WatchdogSec=0.4 s: a ping every 0.2 s.
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let next = || {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).expect("a message from the kiosk");
        String::from_utf8_lossy(&buf[..n]).trim().to_owned()
    };
    let mut messages = Vec::new();
    while messages.iter().filter(|m| *m == "WATCHDOG=1").count() < 3 {
        messages.push(next());
    }
    assert_eq!(messages[0], "READY=1", "{messages:?}");
    assert!(
        messages[1..].iter().all(|m| m == "WATCHDOG=1"),
        "{messages:?}"
    );
    send_signal(running.0.id(), "TERM");
    while next() != "STOPPING=1" {}
    assert!(running.0.wait().unwrap().success());
}

/// Regression: against an upstream that has published no content yet, `sync --once` exited
/// 2 although the case sync succeeded. No release yet is a state: exit 0, and no fault.
#[test]
fn sync_once_before_any_release_is_published_succeeds() {
    let sim = Sim::start(30, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, 100);
    let synced = kiosk(&config, &["sync", "--once"]);
    assert!(synced.status.success(), "{}", stderr(&synced));
    let said = stdout(&synced);
    assert!(
        said.contains("cases: ") && said.contains("content: no release published yet"),
        "{said}"
    );
    let status = kiosk(&config, &["status"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["faults"], serde_json::json!([]), "{json}");
    assert_eq!(json["content"]["sample"], true);
}

/// `kiosk-admin build --screenshots` draws the kiosk's screens with the new release before it
/// is published (through the real `kiosk --screenshots`), trusting the key it signed with.
#[test]
fn a_built_release_is_drawn_on_the_kiosk_screens_before_it_is_published() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.key");
    assert!(
        admin(&["keygen", "--out", key.to_str().unwrap()])
            .status
            .success()
    );
    // The sample, with a guide title of this release's own.
    let content = dir.path().join("content");
    copy_dir(&sample_dir(), &content);
    let guide = content.join("guides/homestead.md");
    let text = std::fs::read_to_string(&guide).unwrap();
    std::fs::write(
        &guide,
        text.replace("农村宅基地审批办事指南", "宅基地审批办事指南（新版）"),
    )
    .unwrap();
    let (release, shots) = (dir.path().join("release"), dir.path().join("shots"));
    let built = admin(&[
        "build",
        content.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--out",
        release.to_str().unwrap(),
        "--screenshots",
        shots.to_str().unwrap(),
        "--screen",
        "guides",
    ]);
    assert!(built.status.success(), "{}", stderr(&built));
    let mut drawn: Vec<String> = std::fs::read_dir(&shots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    drawn.sort();
    assert_eq!(
        drawn,
        ["guides-en-landscape.png", "guides-zh-landscape.png"]
    );
    let png = std::fs::read(shots.join("guides-zh-landscape.png")).unwrap();
    let (w, h, _) = kiosk::ui::snapshot::decode(&png).unwrap();
    assert_eq!((w, h), (1920, 1080));

    // A release signed by a key no kiosk trusts is refused by the same check, not drawn.
    let other = dir.path().join("other.key");
    assert!(
        admin(&["keygen", "--out", other.to_str().unwrap()])
            .status
            .success()
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["--screenshots", dir.path().join("none").to_str().unwrap()])
        .args(["--release", release.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("signature"),
        "{}",
        stderr(&refused)
    );
    // An unknown screen name says which there are.
    let unknown = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args([
            "--screenshots",
            dir.path().join("x").to_str().unwrap(),
            "--screen",
            "nope",
        ])
        .output()
        .unwrap();
    assert!(
        stderr(&unknown).contains("guide-detail"),
        "{}",
        stderr(&unknown)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Where no display can be opened, `kiosk run` says what to do instead of failing obscurely.
#[test]
fn kiosk_run_without_a_display_says_what_to_use_instead() {
    let dir = tempfile::tempdir().unwrap();
    // An upstream nobody answers: the screen is refused before the data plane would use it.
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "device_id = \"k\"\nhall_id = \"hn-czs-gyx\"\ndata_dir = \"data\"\n\
             [upstream]\nurl = \"http://127.0.0.1:9\"\ntoken = \"lhdev-unused\"\n\
             [content]\ntrusted_keys = [\"{}\"]\n",
            common::DEMO_PUBLIC_KEY
        ),
    )
    .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["run", "--config"])
        .arg(&config)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("SLINT_BACKEND", "winit")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let said = stderr(&run);
    assert!(
        said.contains("--headless") && said.contains("--screenshots"),
        "{said}"
    );
}
