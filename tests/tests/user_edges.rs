//! The small things a person meets at every program of the workspace (`kiosk`,
//! `kiosk-admin`, `egov-sim`, `gps-bridge`), run as real processes: output into a pipe whose
//! reader went away ends quietly, logs into a file or the journal carry no colour codes, and
//! an error says each of its causes once.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use e2e_tests::{ADMIN_TOKEN, EgovSim, program};

const DEMO_PUBLIC_KEY: &str = "HURoZEIqXjgUj9hmucyeMM6FiiuhcNjFl17zF9nFc1k=";

fn kiosk_config(dir: &Path, upstream: &str) -> PathBuf {
    let path = dir.join("kiosk.toml");
    std::fs::write(
        &path,
        format!(
            "device_id = \"edge-kiosk\"\nhall_id = \"hn-czs-gyx\"\ndata_dir = \"data\"\n\
             [upstream]\nurl = \"{upstream}\"\ntoken = \"demo-device-token\"\n\
             [content]\ntrusted_keys = [\"{DEMO_PUBLIC_KEY}\"]\n"
        ),
    )
    .unwrap();
    path
}

fn gps_bridge_config(dir: &Path) -> PathBuf {
    let path = dir.join("gps-bridge.toml");
    std::fs::write(
        &path,
        format!(
            "database = {:?}\nruntime_dir = {:?}\n[serial]\nallow = []\nports = []\n",
            dir.join("survey.db"),
            dir.join("run")
        ),
    )
    .unwrap();
    path
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `command` with stdout into a pipe whose reader is already gone, as `… | head -1`
/// leaves it once head has its line.
fn into_closed_pipe(command: &mut Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    command
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn output_into_a_pipe_whose_reader_went_away_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let kiosk = kiosk_config(dir.path(), "http://127.0.0.1:9");
    let bridge = gps_bridge_config(dir.path());
    let key = dir.path().join("signing.key");
    let key = key.to_str().unwrap();
    let cases: [(&str, Vec<&str>); 4] = [
        ("kiosk", vec!["--config", kiosk.to_str().unwrap(), "status"]),
        (
            "kiosk",
            vec!["--config", kiosk.to_str().unwrap(), "--check-config"],
        ),
        ("kiosk-admin", vec!["keygen", "--out", key]),
        (
            "gps-bridge",
            vec!["--config", bridge.to_str().unwrap(), "--check-config"],
        ),
    ];
    for (name, args) in cases {
        let output = into_closed_pipe(
            Command::new(program(name))
                .args(&args)
                .env("RUST_LOG", "off"),
        );
        assert!(
            output.status.success() && output.stderr.is_empty(),
            "{name} {args:?}: {:?} {}",
            output.status,
            stderr(&output)
        );
    }
    // egov-sim prints its address and then serves: a reader gone before it serves no one
    // but stops nothing.
    let data = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut sim = Killed(
        Command::new(program("egov-sim"))
            .args(["--listen", "127.0.0.1:0", "--cases", "10", "--data"])
            .arg(data.path())
            .env("RUST_LOG", "egov_sim=warn")
            .stdout(writer)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let warned = stderr_lines(&mut sim.0)
        .find(|line| line.contains("cannot print the address"))
        .expect("egov-sim says it could not print its address");
    assert!(!warned.contains("panicked"), "{warned}");
    assert!(sim.0.try_wait().unwrap().is_none(), "egov-sim still serves");
}

/// A child killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child's stderr lines as they come, each waited for up to 2 minutes (a loaded machine).
fn stderr_lines(child: &mut Child) -> impl Iterator<Item = String> {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::iter::from_fn(move || rx.recv_timeout(Duration::from_secs(120)).ok())
}

fn assert_plain(name: &str, log: &str, expected: &str) {
    assert!(
        log.contains(expected),
        "{name} logged no {expected:?}: {log}"
    );
    assert!(
        !log.contains('\x1b'),
        "{name} coloured a log that is not a terminal: {log:?}"
    );
}

#[test]
fn logs_into_a_file_or_the_journal_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let kiosk = kiosk_config(dir.path(), "http://127.0.0.1:9");
    let output = Command::new(program("kiosk"))
        .args(["--config", kiosk.to_str().unwrap(), "status"])
        .env("RUST_LOG", "kiosk=info")
        .output()
        .unwrap();
    assert_plain(
        "kiosk",
        &stderr(&output),
        "showing the built-in sample content",
    );

    let output = Command::new(program("kiosk-admin"))
        .args([
            "fleet",
            "--upstream",
            "http://127.0.0.1:9",
            "--token",
            ADMIN_TOKEN,
        ])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert_plain("kiosk-admin", &stderr(&output), "DEBUG");

    let data = tempfile::tempdir().unwrap();
    let mut sim = Killed(
        Command::new(program("egov-sim"))
            .args(["--listen", "127.0.0.1:0", "--cases", "10", "--data"])
            .arg(data.path())
            .env("RUST_LOG", "egov_sim=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let first = stderr_lines(&mut sim.0).next().expect("egov-sim logs");
    assert_plain("egov-sim", &first, "INFO");

    let bridge = gps_bridge_config(dir.path());
    let mut running = Killed(
        Command::new(program("gps-bridge"))
            .args(["--config", bridge.to_str().unwrap(), "run"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let started = stderr_lines(&mut running.0)
        .find(|line| line.contains("INFO"))
        .expect("gps-bridge logs that it runs");
    assert_plain("gps-bridge", &started, "INFO");
}

/// Each cause of an error is printed once (it was twice: the message and its source).
#[test]
fn error_messages_say_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let said = |name: &str, args: &[&str]| {
        let output = Command::new(program(name))
            .args(args)
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name} {args:?}");
        stderr(&output)
    };
    let missing = dir.path().join("missing.toml");
    let message = said("kiosk", &["--config", missing.to_str().unwrap(), "status"]);
    assert_eq!(
        message.trim(),
        format!(
            "kiosk: reading {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    let message = said(
        "kiosk-admin",
        &[
            "publish",
            dir.path().to_str().unwrap(),
            "--to",
            "http://127.0.0.1:9",
            "--token",
            ADMIN_TOKEN,
        ],
    );
    assert_eq!(
        message.matches("No such file or directory").count(),
        1,
        "{message}"
    );
    assert!(message.contains("manifest.json"), "{message}");

    // A release signed with a key the kiosk does not trust, through the real programs (an
    // upstream that publishes what it is given: the kiosk is the one that refuses).
    let sim = EgovSim::start(&["--cases", "10", "--publish-unverified"]);
    let key = dir.path().join("other.key");
    let release = dir.path().join("release");
    let content = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/content-sample");
    for args in [
        vec!["keygen", "--out", key.to_str().unwrap()],
        vec![
            "build",
            content.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--out",
            release.to_str().unwrap(),
        ],
        vec![
            "publish",
            release.to_str().unwrap(),
            "--to",
            &sim.url,
            "--token",
            ADMIN_TOKEN,
        ],
    ] {
        let output = Command::new(program("kiosk-admin"))
            .args(&args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "kiosk-admin {args:?}: {}",
            stderr(&output)
        );
    }
    let kiosk = kiosk_config(dir.path(), &sim.url);
    let message = said(
        "kiosk",
        &[
            "--config",
            kiosk.to_str().unwrap(),
            "sync",
            "--once",
            "--what",
            "content",
        ],
    );
    assert_eq!(
        message.trim(),
        "kiosk: content refused: signature does not verify against any trusted key"
    );
}
