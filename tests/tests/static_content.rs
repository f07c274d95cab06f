//! A content release built by `kiosk-admin` is a plain folder: any static web server can
//! host it. Here Python's `http.server` (no ETags, nothing Land Hall about it) serves it,
//! and a real `kiosk` applies it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use e2e_tests::{EgovSim, program};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(program_name: &str, args: &[&str]) -> Output {
    let output = Command::new(program(program_name))
        .args(args)
        .output()
        .expect("the program runs");
    assert!(
        output.status.success(),
        "{program_name} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `python3 -m http.server` on an ephemeral loopback port, killed when dropped.
struct StaticServer {
    child: Child,
    url: String,
}

impl StaticServer {
    fn start(root: &Path) -> Self {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is installed (scripts/system-packages.txt)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let url = line
            .split(['(', ')'])
            .nth(1)
            .unwrap_or_else(|| panic!("unexpected http.server banner: {line:?}"))
            .to_owned();
        Self { child, url }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status(config: &Path) -> serde_json::Value {
    let config = config.to_str().unwrap();
    serde_json::from_slice(&run("kiosk", &["--config", config, "status"]).stdout).unwrap()
}

#[test]
fn a_release_served_by_a_plain_static_server_is_applied() {
    let upstream = EgovSim::start(&["--cases", "50"]);
    let work = tempfile::tempdir().unwrap();
    let release = work.path().join("release");
    let sample = repo().join("config/content-sample");
    run(
        "kiosk-admin",
        &[
            "build",
            sample.to_str().unwrap(),
            "--key",
            sample.join(".demo-signing.key").to_str().unwrap(),
            "--out",
            release.to_str().unwrap(),
            "--version",
            "42",
        ],
    );
    let host = StaticServer::start(&release);

    // The shipped example configuration (its trusted key is the demo key), pointed at this
    // upstream, this static host and a fresh data folder.
    let example = std::fs::read_to_string(repo().join("config/kiosk.toml")).unwrap();
    let config_text = example
        .replace("http://127.0.0.1:8080", upstream.url.trim_end_matches('/'))
        .replace(
            "\"../demo-data/kiosk\"",
            &format!("{:?}", work.path().join("kiosk")),
        )
        .replace(
            "# content_url = \"https://static.example.gov.cn/kiosk-content/\"",
            &format!("content_url = {:?}", host.url),
        );
    assert_ne!(
        config_text, example,
        "the example configuration has the expected lines"
    );
    assert!(config_text.contains(&host.url));
    let config = work.path().join("kiosk.toml");
    std::fs::write(&config, config_text).unwrap();
    let config_arg = config.to_str().unwrap();

    let before = status(&config);
    assert!(
        before["content"]["version"].is_null(),
        "no release before: {before}"
    );
    run(
        "kiosk",
        &[
            "--config", config_arg, "sync", "--once", "--what", "content",
        ],
    );
    let after = status(&config);
    assert_eq!(after["content"]["version"], 42);
    assert_eq!(after["content"]["sample"], false);
    assert_eq!(after["faults"], serde_json::json!([]), "{after}");

    // The static host has no ETags: the next poll fetches the same bytes again, which is
    // "unchanged", not a rollback fault.
    run(
        "kiosk",
        &[
            "--config", config_arg, "sync", "--once", "--what", "content",
        ],
    );
    let again = status(&config);
    assert_eq!(again["content"]["version"], 42);
    assert_eq!(again["faults"], serde_json::json!([]), "{again}");
}
