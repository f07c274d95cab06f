//! An officer's session with the real programs: `gps-bridge simulate` as the docked handheld,
//! `gps-bridge run` as the daemon, and the `mark` / `close-plot` / `status` commands a person
//! types. The daemon is then killed with SIGKILL and started again: the plot it acknowledged is
//! still there.

#[path = "support/programs.rs"]
mod programs;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use programs::{BRIDGE, Killed};
use serde_json::Value;

fn bridge(config: &Path, args: &[&str]) -> Output {
    Command::new(BRIDGE)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("gps-bridge runs")
}

fn daemon(config: &Path) -> Killed {
    Killed(
        Command::new(BRIDGE)
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gps-bridge run starts"),
    )
}

/// `status` once the daemon answers and `ready` holds, or a panic after 20 s.
fn status_when(config: &Path, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = bridge(config, &["status"]);
        if out.status.success() {
            let status: Value = serde_json::from_slice(&out.stdout).expect("status is JSON");
            if ready(&status) {
                return status;
            }
        }
        assert!(Instant::now() < deadline, "bridge not ready: {out:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

#[test]
fn marked_corners_become_a_plot_that_survives_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (_simulator, pty) = programs::simulate(&["--interval", "0.2", "--sigma", "1"]);
    let link = dir.path().join("garmin");
    std::os::unix::fs::symlink(&pty, &link).unwrap();
    let config = dir.path().join("gps-bridge.toml");
    std::fs::write(
        &config,
        format!(
            "database = {:?}\nruntime_dir = {:?}\n[serial]\nports = [{:?}]\nscan_interval_s = 0.1\n",
            dir.path().join("survey.db"),
            dir.path().join("run"),
            link
        ),
    )
    .unwrap();

    // No daemon yet: the command says so and fails.
    let out = bridge(&config, &["mark", "J1", "--secs", "1"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("is it running?"), "{out:?}");

    let mut running = daemon(&config);
    status_when(&config, |s| s["units"][0]["fix"]["lat"].is_number());
    for name in ["J1", "J2", "J3"] {
        let out = bridge(&config, &["mark", name, "--secs", "1"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "mark {name}: {stderr}");
        let (zh, en) = stdout.split_once('\n').unwrap_or_default();
        assert!(
            zh.starts_with(&format!("界址点 {name} 已记录（第 "))
                && zh.contains("北纬 ")
                && zh.contains("次定位平均"),
            "mark {name} printed {stdout:?}"
        );
        assert!(
            en.starts_with(&format!("corner {name} recorded (mark "))
                && en.contains("° N, ")
                && en.contains("(1σ) from "),
            "mark {name} printed {stdout:?}"
        );
        assert!(!stdout.contains("$GPGGA"), "raw sentences only with --json");
    }
    // A name already marked in this unit's plot is refused at once, and nothing is recorded.
    let out = bridge(&config, &["mark", "J2", "--secs", "1"]);
    assert!(!out.status.success());
    assert!(
        text(&out)
            .1
            .contains("name: corner J2 is marked already on "),
        "{out:?}"
    );
    assert_eq!(status_when(&config, |s| s["ok"] == true)["open_marks"], 3);
    let out = bridge(&config, &["close-plot", "wang-homestead"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "close-plot: {stderr}");
    assert!(
        stdout.starts_with("已记录地块“wang-homestead”：3 个界址点（J1 → J2 → J3）")
            && stdout.contains("\"wang-homestead\" recorded: 3 corners (J1 → J2 → J3)"),
        "{stdout:?}"
    );
    // The plot was checked at once: it says its state and where to see more.
    assert!(stdout.contains("gps-bridge show 1"), "{stdout:?}");
    // Nothing left to close: a plain refusal on stderr, exit 1.
    let out = bridge(&config, &["close-plot", "--json"]);
    assert!(!out.status.success());
    let refusal: Value = serde_json::from_slice(&out.stdout).expect("--json prints the reply");
    assert_eq!(refusal["ok"], false);
    assert!(refusal["error"].as_str().unwrap().contains("0 marked"));

    // The plot was committed before close-plot answered: a SIGKILL does not take it away.
    running.0.kill().unwrap();
    running.0.wait().unwrap();
    let _restarted = daemon(&config);
    let status = status_when(&config, |s| s["ok"] == true);
    assert_eq!(status["plot_candidates"], 1, "{status}");
    assert_eq!(status["open_marks"], 0, "{status}");
    // The closed plot's names are free again for the next plot.
    status_when(&config, |s| s["units"][0]["fix"]["lat"].is_number());
    let out = bridge(&config, &["mark", "J1", "--secs", "1"]);
    assert!(out.status.success(), "mark J1 after close-plot: {out:?}");
}
