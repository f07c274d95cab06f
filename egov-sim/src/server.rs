//! Starting the simulator: options, data folder, seeding, the ticker and the listener.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};

use crate::db::{Db, meta_get};
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
    #[arg(long, default_value = "egov-data")]
    pub data: PathBuf,
    /// Cases seeded on first start (up to millions).
    #[arg(long, default_value_t = 2_000)]
    pub cases: u64,
    /// Seed of the demo data (same seed, same province) and of the fault injection (same
    /// seed, same requests in the same order: the same faults).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// How much faster than real time the workflow runs (e.g. 3600: an hour a second).
    #[arg(long, default_value_t = 1.0)]
    pub speedup: f64,
    /// How often the workflow ticker runs, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub tick_ms: u64,
    /// Bearer token for administrators.
    #[arg(long, env = "EGOV_ADMIN_TOKEN", default_value = "demo-admin-token")]
    pub admin_token: String,
    /// Bearer token(s) accepted from devices (repeat the flag for several).
    #[arg(
        long = "device-token",
        env = "EGOV_DEVICE_TOKEN",
        default_value = "demo-device-token"
    )]
    pub device_tokens: Vec<String>,
    /// Share of requests answered 503, 0 to 1 (fault injection).
    #[arg(long, default_value_t = 0.0, value_parser = share)]
    pub fail_rate: f64,
    /// Share of answers cut off mid-body, 0 to 1 (fault injection).
    #[arg(long, default_value_t = 0.0, value_parser = share)]
    pub drop_rate: f64,
    /// Latency added to every request, in milliseconds (fault injection).
    #[arg(long, default_value_t = 0)]
    pub latency: u64,
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

/// Opens and seeds the data folder and builds the shared state.
pub fn prepare(options: &Options) -> anyhow::Result<AppState> {
    if !(options.speedup.is_finite() && options.speedup > 0.0) {
        anyhow::bail!("--speedup must be a positive number");
    }
    std::fs::create_dir_all(&options.data)?;
    let db = Db::open(&options.data.join("egov.db"))?;
    let now = Utc::now().trunc_subsecs(0);
    let sim_start = db.write(|conn| {
        let started = std::time::Instant::now();
        let lookups = options.data.join("demo-lookups.txt");
        if crate::seed::seed_if_empty(conn, options.seed, options.cases, now, &lookups)? {
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
            device_tokens: options.device_tokens.clone(),
            faults: Faults {
                fail_rate: options.fail_rate,
                drop_rate: options.drop_rate,
                latency_ms: options.latency,
                dice: FaultDice::seeded(options.seed),
            },
        }),
        clock: SimClock::new(sim_start, options.speedup),
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
    let router = crate::http::router(state);
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, router).await
    });
    Ok(url)
}

/// Serves until the process is stopped.
pub async fn run(options: Options) -> anyhow::Result<()> {
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
    axum::serve(listener, crate::http::router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
