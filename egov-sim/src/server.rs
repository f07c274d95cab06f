//! Starting the simulator: options, data folder, seeding, the ticker and the listener.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

use crate::db::{Db, meta_get};
use crate::listener::Limits;
use crate::state::{AppState, Config, FaultDice, Faults, SimClock};

/// Command-line options; every one has a default suited to a local demo.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "egov-sim",
    version,
    about = "Land Hall reference e-government server"
)]
pub struct Options {
    /// Address to listen on. Loopback by default; anything else must be asked for.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder for the SQLite file, content blobs and `demo-lookups.txt`.
    #[arg(long, global = true, default_value = "egov-data")]
    pub data: PathBuf,
    /// Cases seeded on first start (up to millions).
    #[arg(long, default_value_t = 2_000)]
    pub cases: u64,
    /// Seed of the demo data (same seed, same province) and of the fault injection (same
    /// seed, same requests in the same order: the same faults).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Cost of the seeded cases' lookup digests: `standard` (the contract's, tens of ms a
    /// case, spread over the cores) or `demo` (microseconds; for demos and tests that seed
    /// thousands of cases on every start, never for real data).
    #[arg(long, value_enum, default_value = "standard")]
    pub lookup_cost: Cost,
    /// How much faster than real time the workflow runs (e.g. 3600: an hour a second).
    #[arg(long, default_value_t = 1.0)]
    pub speedup: f64,
    /// How often the workflow ticker runs, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub tick_ms: u64,
    /// Bearer token for administrators. Devices have tokens of their own (`device add`).
    #[arg(long, env = "EGOV_ADMIN_TOKEN", default_value = "demo-admin-token")]
    pub admin_token: String,
    /// Public key (base64) whose signatures a published release must carry; repeat for
    /// several. The default is the demo key of config/content-sample — DEMO ONLY.
    #[arg(long = "content-key", default_value = DEMO_CONTENT_KEY)]
    pub content_keys: Vec<String>,
    /// Publish releases whatever key signed them (fault injection: a careless or compromised
    /// host, for testing that kiosks refuse such releases themselves).
    #[arg(long)]
    pub publish_unverified: bool,
    /// Share of requests answered 503, 0 to 1 (fault injection).
    #[arg(long, default_value_t = 0.0, value_parser = share)]
    pub fail_rate: f64,
    /// Share of answers cut off mid-body, 0 to 1 (fault injection).
    #[arg(long, default_value_t = 0.0, value_parser = share)]
    pub drop_rate: f64,
    /// Latency added to every request, in milliseconds (fault injection).
    #[arg(long, default_value_t = 0)]
    pub latency: u64,
    /// Connections served at once; more wait in the listen backlog until one closes.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// A request head must arrive whole within this, from when the connection waits for
    /// a request (so it is also how long a connection may idle between requests), in ms.
    #[arg(long, default_value_t = millis(Limits::default().header_timeout))]
    pub header_timeout_ms: u64,
    /// A request body must arrive whole within this, in ms (else 408).
    #[arg(long, default_value_t = millis(Limits::default().body_timeout))]
    pub body_timeout_ms: u64,
    /// A connection on which no byte moves either way for this long is closed, in ms.
    #[arg(long, default_value_t = millis(Limits::default().idle_timeout))]
    pub idle_timeout_ms: u64,
    /// Without a command, egov-sim serves.
    #[command(subcommand)]
    pub command: Option<SimCommand>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Cost {
    Standard,
    Demo,
}

impl Cost {
    pub fn params(self) -> protocol::lookup::LookupCost {
        match self {
            Self::Standard => protocol::lookup::STANDARD_COST,
            Self::Demo => protocol::lookup::DEMO_COST,
        }
    }
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum SimCommand {
    /// Provision devices: their tokens, each bound to the device and its hall.
    #[command(subcommand)]
    Device(DeviceCommand),
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum DeviceCommand {
    /// Issue a token for a device (replacing any it had) and print it on stdout.
    Add {
        device_id: String,
        /// The hall or land office the device serves, e.g. hn-czs-gyx.
        #[arg(long)]
        hall: String,
    },
    /// Revoke a device's token; a running server refuses it from its next request.
    Revoke { device_id: String },
}

/// Runs a device command against the data folder (which a running server may share).
pub fn device_command(data: &std::path::Path, command: &DeviceCommand) -> anyhow::Result<()> {
    let db = Db::open(&data.join("egov.db"))?;
    match command {
        DeviceCommand::Add { device_id, hall } => {
            let token =
                db.write(|conn| Ok(crate::tokens::issue(conn, device_id, hall, Utc::now())?))?;
            println!("{token}");
        }
        DeviceCommand::Revoke { device_id } => {
            if !db.write(|conn| Ok(crate::tokens::revoke(conn, device_id)?))? {
                anyhow::bail!("device {device_id} has no token");
            }
        }
    }
    Ok(())
}

/// The public half of `config/content-sample/.demo-signing.key`.
pub const DEMO_CONTENT_KEY: &str = "HURoZEIqXjgUj9hmucyeMM6FiiuhcNjFl17zF9nFc1k=";

const fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn share(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err("must be between 0 and 1".into())
    }
}

impl Options {
    /// The server's bounds, as given.
    pub fn limits(&self) -> anyhow::Result<Limits> {
        let limits = Limits {
            max_connections: self.max_connections,
            header_timeout: Duration::from_millis(self.header_timeout_ms),
            body_timeout: Duration::from_millis(self.body_timeout_ms),
            idle_timeout: Duration::from_millis(self.idle_timeout_ms),
        };
        if limits.max_connections == 0 {
            anyhow::bail!("--max-connections must be at least 1");
        }
        for (flag, timeout) in [
            ("--header-timeout-ms", limits.header_timeout),
            ("--body-timeout-ms", limits.body_timeout),
            ("--idle-timeout-ms", limits.idle_timeout),
        ] {
            if timeout.is_zero() {
                anyhow::bail!("{flag} must be at least 1");
            }
        }
        Ok(limits)
    }
}

/// Opens and seeds the data folder and builds the shared state.
pub fn prepare(options: &Options) -> anyhow::Result<AppState> {
    if !(options.speedup.is_finite() && options.speedup > 0.0) {
        anyhow::bail!("--speedup must be a positive number");
    }
    let limits = options.limits()?;
    let content_keys = options
        .content_keys
        .iter()
        .map(|k| {
            protocol::content::decode_verifying_key(k)
                .map_err(|e| anyhow::anyhow!("--content-key {k:?}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    std::fs::create_dir_all(&options.data)?;
    let db = Db::open(&options.data.join("egov.db"))?;
    let now = Utc::now().trunc_subsecs(0);
    let sim_start = db.write(|conn| {
        let started = std::time::Instant::now();
        let lookups = options.data.join("demo-lookups.txt");
        let cost = options.lookup_cost.params();
        if crate::seed::seed_if_empty(conn, options.seed, options.cases, now, &lookups, cost)? {
            tracing::info!(
                cases = options.cases,
                seconds = started.elapsed().as_secs_f64(),
                "seeded the demo province; try {}",
                lookups.display()
            );
        }
        // The simulated time continues from where the last run left it.
        let previous: Option<DateTime<Utc>> =
            meta_get(conn, "sim_now")?.and_then(|t| t.parse().ok());
        Ok(previous.map_or(now, |p| p.max(now)))
    })?;
    Ok(AppState {
        db: Arc::new(db),
        config: Arc::new(Config {
            data_dir: options.data.clone(),
            admin_token: options.admin_token.clone(),
            content_keys,
            publish_unverified: options.publish_unverified,
            limits,
            faults: Faults {
                fail_rate: options.fail_rate,
                drop_rate: options.drop_rate,
                latency_ms: options.latency,
                dice: FaultDice::seeded(options.seed),
            },
        }),
        clock: SimClock::new(sim_start, options.speedup),
        readers: Arc::new(tokio::sync::Semaphore::new(crate::state::MAX_READERS)),
    })
}

/// Serves `state` on an ephemeral 127.0.0.1 port, on `runtime`, and returns the base URL: the
/// simulator in process, for tests and benchmarks. The port is bound here, not inside the
/// runtime, so that callers on another runtime (async tests) can start a server too.
pub fn serve_loopback(
    runtime: &tokio::runtime::Handle,
    state: AppState,
) -> std::io::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}/", listener.local_addr()?);
    let limits = state.config.limits;
    let router = crate::http::router(state);
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        // Within the same bounds as the binary, until the runtime goes away.
        crate::listener::serve(listener, router, limits, std::future::pending()).await;
        std::io::Result::Ok(())
    });
    Ok(url)
}

/// Runs the command, or serves until the process is stopped.
pub async fn run(options: Options) -> anyhow::Result<()> {
    if let Some(SimCommand::Device(command)) = &options.command {
        return device_command(&options.data, command);
    }
    let state = prepare(&options)?;
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    // The actual address (the port may have been 0) on stdout, for scripts and tests.
    // A reader that went away (`egov-sim … | head -1` took the address) does not stop the
    // server: it keeps serving.
    let address = listener.local_addr()?;
    if let Err(e) = writeln!(std::io::stdout(), "listening on http://{address}") {
        tracing::warn!(error = %e, "cannot print the address on stdout");
    }
    tokio::spawn(crate::ticker::run(
        state.clone(),
        Duration::from_millis(options.tick_ms.max(10)),
    ));
    let limits = state.config.limits;
    crate::listener::serve(listener, crate::http::router(state), limits, stop_signal()).await;
    Ok(())
}

/// Ctrl-C or SIGTERM (a service manager's stop).
async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
