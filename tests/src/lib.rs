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
/// The land office the tests' bridges survey for (桂阳县樟市镇国土所).
pub const OFFICE: &str = "hn-gyx-zsz";

impl EgovSim {
    /// Starts egov-sim on an ephemeral loopback port with `args` added (lookup digests at
    /// the demo cost unless `args` say otherwise), and waits until it listens.
    pub fn start(args: &[&str]) -> Self {
        let data = tempfile::tempdir().expect("a temporary folder");
        let (child, url) = spawn("127.0.0.1:0", data.path(), args);
        let mut sim = Self {
            child,
            url,
            data,
            device_token: String::new(),
        };
        sim.device_token = sim.provision(DEVICE, HALL);
        sim
    }

    /// Stops the server (SIGKILL) and starts it again on `listen` (e.g. a port an earlier
    /// test step reserved) with the same data folder and `args`: an upstream that was down.
    pub fn restart_on(&mut self, listen: &str, args: &[&str]) {
        self.stop();
        (self.child, self.url) = spawn(listen, self.data.path(), args);
    }

    /// Stops the server (SIGKILL); [`EgovSim::restart_on`] starts it again.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// Starts `egov-sim --listen LISTEN --lookup-cost demo --data DATA ARGS…` and waits until it
/// says where it listens: the child and its base URL.
fn spawn(listen: &str, data: &std::path::Path, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(program("egov-sim"))
        .args(["--listen", listen, "--lookup-cost", "demo", "--data"])
        .arg(data)
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
    (child, format!("{addr}/"))
}

impl Drop for EgovSim {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port free now (bound and let go), for a server started later.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a loopback port")
        .port()
}

/// A child process killed (SIGKILL) when dropped, however the test ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A gps-bridge with its own data folder and configuration, run as the real binary.
pub struct Bridge {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Bridge {
    /// A bridge delivering to `upstream` as `device_id` of [`OFFICE`] with its `token`,
    /// reading the serial `ports`, with quick retries and heartbeats; `extra` is appended to
    /// its configuration.
    pub fn new(
        upstream: &str,
        token: &str,
        device_id: &str,
        ports: &[PathBuf],
        extra: &str,
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let config = dir.path().join("gps-bridge.toml");
        let ports: Vec<String> = ports.iter().map(|p| format!("{p:?}")).collect();
        std::fs::write(
            &config,
            format!(
                "database = {:?}\nruntime_dir = {:?}\n\
                 [serial]\nports = [{}]\nscan_interval_s = 0.2\n\
                 [upstream]\nurl = {upstream:?}\ntoken = {token:?}\n\
                 device_id = {device_id:?}\noffice_id = {OFFICE:?}\ntimeout_s = 5.0\n\
                 [upload]\nretry_initial_s = 0.05\nretry_max_s = 0.5\n\
                 [heartbeat]\ninterval_s = 0.5\n\
                 [layers]\nsync_interval_s = 1.0\n{extra}",
                dir.path().join("survey.db"),
                dir.path().join("run"),
                ports.join(", ")
            ),
        )
        .expect("the configuration is written");
        Self { dir, config }
    }

    /// `gps-bridge --config … run`, killed when dropped.
    pub fn run(&self) -> Killed {
        Killed(
            Command::new(program("gps-bridge"))
                .arg("--config")
                .arg(&self.config)
                .arg("run")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("gps-bridge run starts"),
        )
    }

    /// A command of the bridge's (`plots`, `import FILE`...), run to its end.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(program("gps-bridge"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("gps-bridge runs")
    }

    /// `plots --json`, or nothing while there is no outbox yet.
    pub fn plots(&self) -> Vec<serde_json::Value> {
        let out = self.cli(&["plots", "--json", "--limit", "1000"]);
        if !out.status.success() {
            return Vec::new();
        }
        serde_json::from_slice(&out.stdout).expect("plots --json is JSON")
    }

    /// `status` of the running daemon, once it answers.
    pub fn status(&self) -> Option<serde_json::Value> {
        let out = self.cli(&["status"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("status is JSON"))
    }
}

/// Polls `probe` every 100 ms until it gives something, or panics after `limit` saying what
/// was awaited. Limits are generous: a loaded two-core machine is slow, not wrong.
pub fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
