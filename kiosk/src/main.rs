//! `kiosk`: the service-hall kiosk — the touch screen with its data plane in one process —
//! and the support commands field staff and tests use headless.

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
#[command(name = "kiosk", version, about = "Land Hall service-hall kiosk")]
struct Cli {
    /// The configuration file [default: /etc/land-hall/kiosk.toml].
    #[arg(long, global = true, env = "KIOSK_CONFIG")]
    config: Option<PathBuf>,
    /// Validate the configuration and exit.
    #[arg(long)]
    check_config: bool,
    /// Draw every screen to PNG files in DIR, headless, and exit. Uses a scratch copy of
    /// demonstration cases and the content of --release (or the built-in sample); the
    /// kiosk's own data is not touched. --config gives the screen settings and trusted keys.
    #[arg(long, value_name = "DIR")]
    screenshots: Option<PathBuf>,
    /// With --screenshots: a release folder built by `kiosk-admin build`.
    #[arg(long, value_name = "DIR", requires = "screenshots")]
    release: Option<PathBuf>,
    /// With --release: also trust this public key (base64), as `kiosk-admin build
    /// --screenshots` does with the key it signed with.
    #[arg(long, value_name = "KEY", requires = "release")]
    trust: Vec<String>,
    /// With --screenshots: only this screen (repeatable), e.g. `home`.
    #[arg(long = "screen", value_name = "NAME", requires = "screenshots")]
    screens: Vec<String>,
    /// Draw the first frame of the screen on the kiosk's data into memory and exit (for the
    /// cold-start benchmark).
    #[arg(long, hide = true)]
    first_frame: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

const DEFAULT_CONFIG: &str = "/etc/land-hall/kiosk.toml";

#[derive(Clone, Copy, ValueEnum)]
enum What {
    All,
    Cases,
    Content,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kiosk: the touch screen, and beside it the data plane (case sync, content,
    /// heartbeats, ratings). The default.
    Run {
        /// The data plane alone, without a screen.
        #[arg(long)]
        headless: bool,
    },
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

/// The screenshots of `--screenshots`.
fn screenshots(cli: &Cli, out: &std::path::Path) -> anyhow::Result<()> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => kiosk::ui::screenshots::example_config(),
    };
    for key in &cli.trust {
        config.trusted_keys.push(
            protocol::content::decode_verifying_key(key)
                .map_err(|e| anyhow::anyhow!("--trust {key}: {e}"))?,
        );
    }
    let config = Some(config);
    let options = kiosk::ui::screenshots::Options {
        out: out.to_owned(),
        config,
        release: cli.release.clone(),
        only: cli.screens.clone(),
        at: Utc::now(),
        small: false,
    };
    let written = kiosk::ui::screenshots::render(&options)?;
    for path in &written {
        outln!("{}", path.display())?;
    }
    if written.is_empty() {
        anyhow::bail!(
            "no screen of that name; the screens are: {}",
            kiosk::ui::screenshots::screen_names()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// Turns the picture of linuxkms with the configured rotation, unless the environment says
/// otherwise. Called while the process has one thread, before anything reads the environment.
#[allow(unsafe_code)]
fn set_rotation(config: &Config) {
    const VAR: &str = "SLINT_KMS_ROTATION";
    if std::env::var_os(VAR).is_none() {
        let value = kiosk::ui::rotation::kms_rotation(config.screen.rotation);
        // SAFETY: no other thread exists yet (main builds its runtimes after this), so nothing
        // reads or writes the environment concurrently.
        unsafe { std::env::set_var(VAR, value) };
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(out) = &cli.screenshots {
        screenshots(&cli, out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = cli.config.clone().unwrap_or_else(|| DEFAULT_CONFIG.into());
    let config = Config::load(&path)?;
    if cli.check_config {
        config.check_data_dir()?;
        outln!("{}: ok", path.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    if cli.first_frame {
        kiosk::ui::screenshots::first_frame(&config)?;
        return Ok(ExitCode::SUCCESS);
    }
    match cli.command.unwrap_or(Command::Run { headless: false }) {
        Command::Run { headless: false } => {
            set_rotation(&config);
            kiosk::app::run(config)?;
        }
        Command::Run { headless: true } | Command::Sync { once: false, .. } => {
            runtime()?.block_on(async {
                let shutdown = kiosk::app::shutdown_signal()?;
                let plane = DataPlane::prepare(config, Arc::new(NoScreen))?;
                plane.run(shutdown).await?;
                anyhow::Ok(())
            })?;
        }
        Command::Sync { once: true, what } => runtime()?.block_on(sync_once(config, what))?,
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

// Not `#[tokio::main]`: `set_rotation` needs the process to have one thread, and `kiosk run`
// gives the main thread to the screen; each command builds the runtime it needs.
fn main() -> ExitCode {
    kiosk::cli::init_logging("kiosk=info");
    kiosk::cli::exit_code("kiosk", run(Cli::parse()))
}
