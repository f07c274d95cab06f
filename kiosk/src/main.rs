//! `kiosk`: the service-hall kiosk's data plane, and the support commands field staff and
//! tests use headless.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use kiosk::backoff::Backoff;
use kiosk::config::Config;
use kiosk::content::Polled;
use kiosk::daemon::{DataDirLock, DataPlane};
use kiosk::heartbeat::NoScreen;
use kiosk::lookup::Lookup;
use kiosk::mirror::{AsyncMirror, Durability, Mirror};
use kiosk::outln;

#[derive(Parser)]
#[command(
    name = "kiosk",
    version,
    about = "Land Hall service-hall kiosk (data plane)"
)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        default_value = "/etc/land-hall/kiosk.toml",
        env = "KIOSK_CONFIG"
    )]
    config: PathBuf,
    /// Validate the configuration and exit.
    #[arg(long)]
    check_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, ValueEnum)]
enum What {
    All,
    Cases,
    Content,
}

#[derive(Subcommand)]
enum Command {
    /// Run the data plane: case sync, content, heartbeats, ratings (the default).
    Run,
    /// Synchronise with the upstream.
    Sync {
        /// Sync once and exit, instead of running the loops.
        #[arg(long)]
        once: bool,
        #[arg(long, value_enum, default_value = "all")]
        what: What,
    },
    /// Look a case up as the UI would and print it as JSON (exit 1 when not shown).
    Lookup { case_no: String, code: String },
    /// Store a 好差评 rating in the outbox (delivered by `run`).
    Rate {
        score: u8,
        #[arg(long)]
        case_no: Option<String>,
        #[arg(long = "reason")]
        reasons: Vec<String>,
    },
    /// Print freshness, content version, the display schedule in force and the faults of
    /// each part as JSON.
    Status,
}

async fn sync_once(config: Config, what: What) -> anyhow::Result<()> {
    let plane = DataPlane::prepare(config, Arc::new(NoScreen))?;
    if matches!(what, What::All | What::Cases) {
        let report = plane
            .case_sync()
            .run_with_retries(5, Backoff::DEFAULT)
            .await?;
        outln!(
            "cases: {} pages, {} upserts, {} deletes, cursor {}",
            report.pages,
            report.upserts,
            report.deletes,
            report.cursor
        )?;
    }
    if matches!(what, What::All | What::Content) {
        let mirror = AsyncMirror::open(&plane.config().mirror_path(), Durability::Synced).await?;
        let polled = plane.content().poll(&mirror, false, Utc::now()).await?;
        match polled {
            Polled::NothingPublished => {
                outln!("content: no release published yet; the current content stays")?
            }
            Polled::NotModified | Polled::AlreadyApplied => {
                outln!("content: the applied release is current")?
            }
            Polled::Applied {
                version,
                downloaded,
            } => outln!("content: applied release {version} ({downloaded} blobs downloaded)")?,
        }
    }
    Ok(())
}

fn status(config: &Config) -> anyhow::Result<serde_json::Value> {
    let now = Utc::now();
    // As the screen sees it: the sample content on a kiosk that never applied a release.
    let (mirror, _) = kiosk::content::open_local(config, now)?;
    let freshness = mirror.freshness(now)?;
    Ok(serde_json::json!({
        "device_id": config.device_id,
        "hall_id": config.hall_id,
        "freshness": freshness,
        "stale": freshness.is_stale(config.stale_after_s),
        "cases": kiosk::mirror::cases::count(mirror.conn())?,
        "content": mirror.content_status()?,
        "display_schedule": mirror.display_schedule()?,
        "faults": mirror.faults()?,
        "ratings_pending": mirror.rating_counts()?.0,
    }))
}

/// Completes on SIGTERM (systemd's stop) or SIGINT (Ctrl-C). The handlers are installed
/// here, at once: a stop that comes while the mirror is still being opened is kept for
/// `run`, not left to the default action that would end the process on the spot.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = interrupt.recv() => tracing::info!("SIGINT: stopping"),
        }
    })
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(&cli.config)?;
    if cli.check_config {
        config.check_data_dir()?;
        outln!("{}: ok", cli.config.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    match cli.command.unwrap_or(Command::Run) {
        Command::Run | Command::Sync { once: false, .. } => {
            let shutdown = shutdown_signal()?;
            let plane = DataPlane::prepare(config, Arc::new(NoScreen))?;
            plane.run(shutdown).await?;
        }
        Command::Sync { once: true, what } => sync_once(config, what).await?,
        Command::Lookup { case_no, code } => {
            let mirror = Mirror::open(&config.mirror_path())?;
            let lookup = mirror.lookup(&case_no, &code, Utc::now())?;
            outln!("{}", serde_json::to_string_pretty(&lookup)?)?;
            if !matches!(lookup, Lookup::Found { .. }) {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Rate {
            score,
            case_no,
            reasons,
        } => {
            let _lock = DataDirLock::acquire(&config.data_dir)?;
            let mirror = Mirror::open(&config.mirror_path())?;
            let reasons: Vec<&str> = reasons.iter().map(String::as_str).collect();
            let id = mirror.record_rating(
                &config.device_id,
                &config.hall_id,
                case_no.as_deref(),
                score,
                &reasons,
                Utc::now(),
            )?;
            outln!("{id}")?;
        }
        Command::Status => outln!("{}", serde_json::to_string_pretty(&status(&config)?)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

#[tokio::main]
async fn main() -> ExitCode {
    kiosk::cli::init_logging("kiosk=info");
    kiosk::cli::exit_code("kiosk", run(Cli::parse()).await)
}
