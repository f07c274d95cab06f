//! The daemon as systemd runs it, with the real binary: `Type=notify` readiness on a
//! notification socket the test holds, watchdog pings, and a clean drain on SIGTERM and on
//! SIGINT — a corner being marked when the stop comes is recorded from the fixes it has and
//! its `mark` is answered, and the daemon exits 0 after STOPPING=1.

#[path = "support/programs.rs"]
mod programs;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gps_bridge::survey::SurveyStore;
use programs::{BRIDGE, Killed};

fn config(dir: &Path, ports: &[&Path]) -> std::path::PathBuf {
    let path = dir.join("gps-bridge.toml");
    let ports: Vec<String> = ports.iter().map(|p| format!("{p:?}")).collect();
    std::fs::write(
        &path,
        format!(
            "database = {:?}\nruntime_dir = {:?}\n[serial]\nports = [{}]\nscan_interval_s = 0.1\n",
            dir.join("survey.db"),
            dir.join("run"),
            ports.join(", ")
        ),
    )
    .unwrap();
    path
}

/// Reads notifications until one contains `wanted` (at most 60 s: a loaded machine is slow).
fn await_notification(socket: &UnixDatagram, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 4096];
    loop {
        assert!(Instant::now() < deadline, "no {wanted} from the daemon");
        if let Ok(n) = socket.recv(&mut buf) {
            let message = String::from_utf8_lossy(&buf[..n]).into_owned();
            if message.lines().any(|l| l == wanted) {
                return message;
            }
        }
    }
}

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn notified_daemon(dir: &Path, config: &Path) -> (Killed, UnixDatagram) {
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let daemon = Killed(
        Command::new(BRIDGE)
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("RUST_LOG", "warn")
            .env("NOTIFY_SOCKET", &socket_path)
            .env("WATCHDOG_USEC", "1000000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    (daemon, socket)
}

#[test]
fn ready_then_watchdog_pings_then_a_clean_stop_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &[]);
    let (mut daemon, socket) = notified_daemon(dir.path(), &config);
    let ready = await_notification(&socket, "READY=1");
    assert!(ready.contains("STATUS=docked: none"), "{ready}");
    await_notification(&socket, "WATCHDOG=1");
    signal(daemon.0.id(), "INT");
    await_notification(&socket, "STOPPING=1");
    assert!(daemon.0.wait().unwrap().success());
    assert!(
        !dir.path().join("run/gps-bridge.sock").exists(),
        "the control socket is removed"
    );
}

#[test]
fn sigterm_records_the_corner_being_marked_and_answers_its_mark() {
    let dir = tempfile::tempdir().unwrap();
    let (_simulator, pty) = programs::simulate(&["--interval", "0.2", "--sigma", "1"]);
    let link = dir.path().join("garmin");
    std::os::unix::fs::symlink(&pty, &link).unwrap();
    let config = config(dir.path(), &[&link]);
    let (mut daemon, socket) = notified_daemon(dir.path(), &config);
    await_notification(&socket, "READY=1");
    // Wait for fixes, then start a long mark.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new(BRIDGE)
            .arg("--config")
            .arg(&config)
            .arg("status")
            .output()
            .unwrap();
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if status["units"][0]["fix"]["lat"].is_number() {
            break;
        }
        assert!(Instant::now() < deadline, "no fix: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mark = Command::new(BRIDGE)
        .arg("--config")
        .arg(&config)
        .args(["mark", "J1", "--secs", "600", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Until the capture has fixes (the status says so), then the stop.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new(BRIDGE)
            .arg("--config")
            .arg(&config)
            .arg("status")
            .output()
            .unwrap();
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if status["capture"]["fixes_accepted"].as_u64() >= Some(5) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the capture got no fixes: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(daemon.0.id(), "TERM");
    await_notification(&socket, "STOPPING=1");
    let answer = mark.wait_with_output().unwrap();
    let reply: serde_json::Value = serde_json::from_slice(&answer.stdout).unwrap();
    assert_eq!(reply["ok"], true, "{reply}");
    assert_eq!(reply["cut_short"], true, "{reply}");
    assert!(reply["corner"]["fixes"].as_u64() >= Some(5), "{reply}");
    assert!(daemon.0.wait().unwrap().success());
    let store = SurveyStore::open(&dir.path().join("survey.db")).unwrap();
    let marks = store.open_marks().unwrap();
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].corner.name, "J1");
}

/// `--check-config`, as the unit's ExecStartPre runs it and as `run --check-config`: the
/// shipped annotated configuration passes, a broken one fails with the key at fault, and
/// neither starts the daemon.
#[test]
fn check_config_passes_the_shipped_file_and_names_what_is_wrong() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/gps-bridge.toml");
    for args in [&["--check-config"][..], &["run", "--check-config"]] {
        let out = Command::new(BRIDGE)
            .arg("--config")
            .arg(&shipped)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "配置正确 configuration OK\n"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[projection]\nzone = 46\n").unwrap();
    let out = Command::new(BRIDGE)
        .arg("--config")
        .arg(&broken)
        .args(["run", "--check-config"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("zone 46 is not one of China's"), "{err}");
}
