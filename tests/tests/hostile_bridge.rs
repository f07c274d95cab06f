//! The hostile suite against the gps-bridge daemon's control socket: the real binary, its
//! socket played by a bad local client (idle floods, malformed, over-long and out-of-range
//! requests) and its real `mark` command given bad input. Each refusal names its field, the
//! daemon keeps answering, and its descriptors stay within the socket's cap. The cases are
//! listed in docs/security.md.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use e2e_tests::{peer, program};

const PATIENCE: Duration = Duration::from_secs(30);
/// The control socket's connection cap (gps-bridge's `control::MAX_CONNECTIONS`).
const CAP: usize = 128;

struct Daemon {
    child: Child,
    config: PathBuf,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("gps-bridge.toml");
        std::fs::write(
            &config,
            format!(
                "database = {:?}\nruntime_dir = {:?}\n[serial]\nallow = []\nports = []\n",
                dir.path().join("survey.db"),
                dir.path().join("run")
            ),
        )
        .unwrap();
        let child = Command::new(program("gps-bridge"))
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let socket = dir.path().join("run").join("gps-bridge.sock");
        let deadline = Instant::now() + PATIENCE;
        while UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "the control socket appears");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            config,
            socket,
            _dir: dir,
        }
    }

    fn cli(&self, args: &[&str]) -> Output {
        Command::new(program("gps-bridge"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .unwrap()
    }

    /// One raw request line and the reply line.
    fn ask(&self, line: &[u8]) -> serde_json::Value {
        let mut stream = UnixStream::connect(&self.socket).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.write_all(line).unwrap();
        let mut reply = String::new();
        BufReader::new(stream).read_line(&mut reply).unwrap();
        serde_json::from_str(&reply).unwrap_or_else(|_| panic!("a JSON reply: {reply:?}"))
    }

    fn still_answers(&self) {
        let status = self.ask(b"{\"cmd\":\"status\"}\n");
        assert!(status.get("units").is_some(), "{status}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_socket_is_the_groups_and_bad_requests_are_refused_by_field() {
    let daemon = Daemon::start();
    assert_eq!(
        mode(&daemon.socket),
        0o660,
        "set by the program, not the umask"
    );
    let long_line = format!(
        "{{\"cmd\":\"status\",\"pad\":\"{}\"}}\n",
        "x".repeat(10_000)
    );
    let long_name = format!("{{\"cmd\":\"mark\",\"name\":\"{}\"}}\n", "J".repeat(100));
    let cases: [(&[u8], &str); 8] = [
        (b"{not json\n", "bad request"),
        (b"{\"cmd\":\"format_disk\"}\n", "bad request"),
        (long_line.as_bytes(), "longer than 4096"),
        (b"{\"cmd\":\"mark\",\"name\":\"\"}\n", "name:"),
        (long_name.as_bytes(), "name:"),
        (
            b"{\"cmd\":\"mark\",\"name\":\"J1\",\"secs\":-1}\n",
            "--secs:",
        ),
        (
            b"{\"cmd\":\"mark\",\"name\":\"J1\",\"secs\":1e300}\n",
            "--secs:",
        ),
        (
            b"{\"cmd\":\"mark\",\"name\":\"J1'; DROP TABLE marks;--\"}\n",
            "no unit docked",
        ),
    ];
    for (line, says) in cases {
        let reply = daemon.ask(line);
        assert_eq!(reply["ok"], false, "{reply}");
        let error = reply["error"].as_str().unwrap();
        assert!(
            error.contains(says),
            "{}: {error}",
            String::from_utf8_lossy(line)
        );
        daemon.still_answers();
    }
}

#[test]
fn mark_refuses_bad_input_before_sending_it() {
    let daemon = Daemon::start();
    let long = "J".repeat(5_000);
    for (args, says) in [
        (vec!["mark", ""], "name:"),
        (vec!["mark", "  "], "name:"),
        (vec!["mark", &long], "name:"),
        (vec!["mark", "J1", "--secs", "NaN"], "not between"),
        (vec!["mark", "J1", "--secs", "0"], "not between"),
        (vec!["mark", "J1", "--secs", "ten"], "not a number"),
    ] {
        let out = daemon.cli(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{args:?}: a refusal exit: {stderr}"
        );
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    daemon.still_answers();
}

#[test]
fn five_hundred_idle_connections_do_not_shut_status_out() {
    let daemon = Daemon::start();
    let pid = daemon.child.id();
    let baseline = peer::open_fds(pid);
    let started = Instant::now();
    // Opened from threads: past the backlog, a connect waits until the daemon drops an idle
    // one (each gets a second to send its request).
    let idle: Vec<UnixStream> = std::thread::scope(|scope| {
        let openers: Vec<_> = (0..5)
            .map(|_| {
                scope.spawn(|| {
                    (0..100)
                        .map(|_| UnixStream::connect(&daemon.socket).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut peak = 0;
        while openers.iter().any(|o| !o.is_finished()) {
            peak = peak.max(peer::open_fds(pid));
            std::thread::sleep(Duration::from_millis(5));
        }
        eprintln!("500 idle control connections: fds {baseline} → peak {peak} (cap {CAP})");
        assert!(
            peak <= baseline + CAP + 4,
            "peak {peak}, baseline {baseline}"
        );
        openers
            .into_iter()
            .flat_map(|o| o.join().unwrap())
            .collect()
    });
    // The real command gets through behind them.
    let out = daemon.cli(&["status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "status answered {:?} after the flood began",
        started.elapsed()
    );
    drop(idle);
    daemon.still_answers();
}
