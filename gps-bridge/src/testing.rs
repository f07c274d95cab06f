//! For the unit tests: egov-sim in process on a loopback port.

use clap::Parser;

/// A running egov-sim; its runtime is dropped (and the server stopped) with it, which must
/// happen outside any other runtime.
pub struct Upstream {
    pub url: String,
    pub state: egov_sim::state::AppState,
    /// The token of [`DEVICE`], provisioned at start.
    pub token: String,
    _data: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

/// The bridge the tests talk as, provisioned in [`OFFICE`].
pub const DEVICE: &str = "bridge-test";
pub const OFFICE: &str = "hn-gyx-zsz";

/// egov-sim with a few cases (lookup digests at the demo cost) and its seeded layers, and
/// `args` (fault injection), with [`DEVICE`] provisioned.
pub fn upstream(args: &[&str]) -> Upstream {
    let data = tempfile::tempdir().unwrap();
    let mut argv = vec![
        "egov-sim",
        "--data",
        data.path().to_str().unwrap(),
        "--cases",
        "5",
        "--lookup-cost",
        "demo",
    ];
    argv.extend_from_slice(args);
    let state = egov_sim::server::prepare(&egov_sim::server::Options::parse_from(argv)).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url = egov_sim::server::serve_loopback(runtime.handle(), state.clone()).unwrap();
    let token = state.provision_device(DEVICE, OFFICE).unwrap();
    Upstream {
        url,
        state,
        token,
        _data: data,
        _runtime: runtime,
    }
}

impl Upstream {
    pub fn client(&self) -> protocol::client::Client {
        protocol::client::Client::with_token(&self.url, Some(&self.token)).unwrap()
    }

    /// `(idempotency key, plot id)` of every plot the upstream recorded.
    pub fn plots(&self) -> Vec<(String, String)> {
        self.state
            .db
            .read(|conn| {
                let mut stmt =
                    conn.prepare("SELECT idempotency_key, plot_id FROM plots ORDER BY plot_id")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .unwrap()
    }
}

/// A current-thread runtime for the client side of a test.
pub fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A connection's journal mode and `synchronous` level (2 is FULL: the WAL synced at every
/// commit).
pub fn durability(conn: &rusqlite::Connection) -> (String, i64) {
    let mode = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let synchronous = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    (mode, synchronous)
}
