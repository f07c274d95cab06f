//! Helpers for the end-to-end tests: finding the workspace's real programs and running them
//! as child processes on loopback, and a bad peer to play against them ([`peer`]).

pub mod peer;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A program built by `cargo test --workspace` (or `cargo build --workspace`), next to the
/// test executable's own profile folder.
pub fn program(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` (scripts/test.sh does) before the end-to-end tests",
        path.display()
    );
    path
}

/// A running egov-sim with its own data folder, killed when dropped.
pub struct EgovSim {
    child: Child,
    /// e.g. `http://127.0.0.1:41234/`
    pub url: String,
    pub data: tempfile::TempDir,
    /// The token of [`DEVICE`], provisioned at start.
    pub device_token: String,
}

pub const ADMIN_TOKEN: &str = "demo-admin-token";
/// The device every test talks as, provisioned in [`HALL`] by [`EgovSim::start`].
pub const DEVICE: &str = "e2e-kiosk";
pub const HALL: &str = "hn-czs-gyx";

impl EgovSim {
    /// Starts egov-sim on an ephemeral loopback port with `args` added (lookup digests at
    /// the demo cost unless `args` say otherwise), and waits until it listens.
    pub fn start(args: &[&str]) -> Self {
        let data = tempfile::tempdir().expect("a temporary folder");
        let mut child = Command::new(program("egov-sim"))
            .args(["--listen", "127.0.0.1:0", "--lookup-cost", "demo", "--data"])
            .arg(data.path())
            .args(args)
            .env("RUST_LOG", "egov_sim=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("egov-sim starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("egov-sim says where it listens within 2 minutes");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from egov-sim: {line:?}"));
        let mut sim = Self {
            child,
            url: format!("{addr}/"),
            data,
            device_token: String::new(),
        };
        sim.device_token = sim.provision(DEVICE, HALL);
        sim
    }

    /// Provisions a device with the real `egov-sim device add` (a second process on the
    /// same data folder, as an operator would) and returns its token.
    pub fn provision(&self, device_id: &str, hall: &str) -> String {
        let out = self.device_command(&["add", device_id, "--hall", hall]);
        assert!(
            out.status.success(),
            "egov-sim device add {device_id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("the token is text")
            .trim()
            .to_owned()
    }

    /// Runs `egov-sim --data DATA device ARGS…`.
    pub fn device_command(&self, args: &[&str]) -> std::process::Output {
        Command::new(program("egov-sim"))
            .arg("--data")
            .arg(self.data.path())
            .arg("device")
            .args(args)
            .output()
            .expect("egov-sim runs")
    }

    /// A client with [`DEVICE`]'s token.
    pub fn device_client(&self) -> protocol::client::Client {
        self.client_with(&self.device_token)
    }

    pub fn client_with(&self, token: &str) -> protocol::client::Client {
        protocol::client::Client::with_token(&self.url, Some(token)).expect("a client")
    }

    pub fn admin_client(&self) -> protocol::client::Client {
        self.client_with(ADMIN_TOKEN)
    }

    /// `127.0.0.1:PORT`, for raw connections.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("egov-sim listens on an IP address")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Rows of `table` in egov-sim's store, read beside the running server (WAL lets a
    /// reader in), to check that refused requests stored nothing.
    pub fn rows(&self, table: &str) -> u64 {
        let conn = rusqlite::Connection::open_with_flags(
            self.data.path().join("egov.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("egov-sim's store opens");
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("the table exists")
    }
}

impl Drop for EgovSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
