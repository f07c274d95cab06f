//! The real binaries: `kiosk` support commands and `kiosk-admin`, against a real egov-sim.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{ADMIN_TOKEN, Sim, write_config};

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
    let config = write_config(dir.path(), &sim.url, 100);
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

#[test]
fn the_running_kiosk_heartbeats_and_answers_commands_in_the_fleet_view() {
    let sim = Sim::start(300, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim.url, 100);
    let mut running = Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
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
    let deadline = Instant::now() + Duration::from_secs(30);
    let fleet = loop {
        let fleet = admin(&["fleet", "--upstream", &sim.url, "--token", ADMIN_TOKEN]);
        let text = stdout(&fleet);
        // Synced, on the sample content, and the headless screenshot answered.
        if text.contains("test-kiosk") && text.contains(" 0    ") && !text.contains(" never ") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "fleet never showed the kiosk settled:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(fleet.contains("sample"), "{fleet}");
    // SIGTERM stops it cleanly.
    send_signal(running.id(), "TERM");
    let status = running.wait().unwrap();
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
