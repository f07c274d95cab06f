use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use gps_bridge::config::Config;
use gps_bridge::control::{Request, call};
use gps_bridge::convert::{self, ConvertError};
use gps_bridge::files::{self, Format, TxtOptions, WriteEncoding};
use gps_bridge::layers::{LayerCache, SitePlane};
use gps_bridge::nmea::FramerConfig;
use gps_bridge::outbox::Outbox;
use gps_bridge::plot::LandKind;
use gps_bridge::replay::{ReplayError, replay};
use gps_bridge::{daemon, import, reply_text, simulator, views};
use serde_json::Value;

#[derive(Parser)]
#[command(
    version,
    about = "Land Hall gps-bridge: handheld GPS receivers to survey records"
)]
struct Cli {
    /// Configuration file (every key has a default; see config/gps-bridge.toml).
    #[arg(long, global = true, env = "GPS_BRIDGE_CONFIG")]
    config: Option<PathBuf>,
    /// Validate the configuration and exit (also as `run --check-config`).
    #[arg(long, global = true)]
    check_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bridge: watch for docked receivers, record surveys, serve the control socket.
    Run,
    /// Average the fixes of the docked unit into a named corner.
    Mark {
        name: String,
        /// Seconds to average, more than 0 and at most 3600 (default: capture.default_secs).
        #[arg(long, value_parser = capture_secs)]
        secs: Option<f64>,
        /// The unit's port, when several are docked.
        #[arg(long)]
        port: Option<String>,
        /// Print the bridge's whole reply (with the raw sentences) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Turn one unit's marked corners into a plot, checked into the outbox.
    ClosePlot {
        name: Option<String>,
        /// The unit's port, when marks of several units are open (or a GPX file's path, for
        /// the waypoints its import recorded).
        #[arg(long)]
        port: Option<String>,
        /// The land the homestead is on, for the area limit: cultivated, other or barren
        /// (default: checks.default_land).
        #[arg(long)]
        land: Option<LandKind>,
        /// Print the bridge's whole reply (with every corner's raw sentences) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Docked units, counters, current fix, surveys in progress, the outbox.
    Status,
    /// The recent plots and their state: pending, delivered (with the upstream's plot id),
    /// rejected (with the reason), refused, duplicate. Works without the daemon.
    Plots {
        /// How many, newest first.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One plot: corners, area ± uncertainty, findings, the overlap pre-check, deliveries.
    Show {
        /// The plot's number (as `plots` lists it).
        plot: i64,
        #[arg(long)]
        json: bool,
        /// Also draw it as SVG: corners with their σ, overlapping parcels and mining rights,
        /// duplicated plots, scale bar, north arrow, the area in the caption.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Import plots from a file: routes and named waypoints from a .gpx (mass-storage
    /// handhelds), plots from a 国土 .txt or a .geojson drawn or received elsewhere. The daemon
    /// checks and delivers them like surveyed ones.
    Import {
        file: PathBuf,
        /// The land the plots are on, for the area limit: cultivated, other or barren
        /// (default: the file's own, else checks.default_land).
        #[arg(long)]
        land: Option<LandKind>,
        /// Print what was recorded as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the plots of a .txt or .geojson file and print them as JSON: id, name, rings,
    /// zone, areas with their uncertainty, warnings and refusals.
    Inspect { file: PathBuf },
    /// Convert a plot file between 国土 .txt and .geojson (by extension), after the same
    /// checks; nothing is written if a plot is refused.
    Convert {
        input: PathBuf,
        output: PathBuf,
        /// Write a .txt in UTF-8 rather than GB18030.
        #[arg(long)]
        utf8: bool,
    },
    /// Pretend to be a Garmin handheld on a new pseudo-terminal (its path is printed first).
    Simulate {
        /// GeoJSON with a Polygon (or LineString/Points): its corners become the active route.
        #[arg(long)]
        route: Option<PathBuf>,
        /// Horizontal error, metres 1σ per axis.
        #[arg(long, default_value_t = 2.0)]
        sigma: f64,
        /// Seconds between fixes (1 like a handheld; less for quick tests).
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
        /// Carry the unit round the route: stand this many seconds at each corner (time to
        /// `mark` it), walk to the next at 1.2 m/s. Without it the unit stays at the first corner.
        #[arg(long)]
        dwell: Option<f64>,
    },
    /// Parse a recorded NMEA stream; print one JSON object per accepted sentence on stdout and a
    /// summary of rejects by cause on stderr.
    Replay {
        /// The recorded stream ("-" for stdin).
        file: PathBuf,
        /// Accept sentences that carry no checksum (gpsd rejects them).
        #[arg(long)]
        accept_missing_checksum: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The daemon and the simulator log what they do; a command an officer types prints its
    // answer, and only warnings besides (not, say, the store's migration).
    let default_level = match cli.command {
        Some(Command::Run | Command::Simulate { .. }) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(io::stderr)
        // Colour only on a terminal: a log in a file or the journal carries no escape codes.
        .with_ansi(io::stderr().is_terminal())
        .init();
    match run(cli) {
        Ok(code) => code,
        // A reader that went away (`gps-bridge status | head -1`) ends the command quietly,
        // as for any Unix tool.
        Err(error)
            if error.chain().any(|cause| {
                cause
                    .downcast_ref::<io::Error>()
                    .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("gps-bridge: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(path) => Config::load(path),
        None => Ok(Config::default()),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = load_config(cli.config.as_deref())?;
    if cli.check_config {
        writeln!(io::stdout(), "配置正确 configuration OK")?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(command) = cli.command else {
        anyhow::bail!("没有给出命令，见 --help (no command given, see --help)");
    };
    match command {
        Command::Run => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                // Listening before the daemon starts, so an early SIGTERM is not lost.
                let stop = daemon::stop_signal();
                daemon::run(config, async {
                    if let Err(e) = stop.await {
                        tracing::error!(error = %format!("{e:#}"), "cannot wait for signals; stopping");
                    }
                })
                .await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Mark {
            name,
            secs,
            port,
            json,
        } => control_command(
            &config,
            &Request::Mark { name, secs, port },
            (!json).then_some(reply_text::mark),
        ),
        Command::ClosePlot {
            name,
            port,
            land,
            json,
        } => control_command(
            &config,
            &Request::ClosePlot { name, port, land },
            (!json).then_some(reply_text::close_plot),
        ),
        Command::Status => control_command(&config, &Request::Status, None),
        Command::Plots { limit, json } => {
            let outbox = Outbox::open_read_only(&config.outbox_path())?;
            let plots = outbox.recent(limit.clamp(1, 10_000))?;
            if json {
                writeln!(io::stdout(), "{}", serde_json::to_string_pretty(&plots)?)?;
            } else {
                write!(io::stdout(), "{}", views::plots_table(&plots))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { plot, json, svg } => {
            let outbox = Outbox::open_read_only(&config.outbox_path())?;
            let Some(record) = outbox.record(plot)? else {
                anyhow::bail!("没有地块 {plot}，见 gps-bridge plots (no plot {plot})");
            };
            if let Some(path) = svg {
                let plane = SitePlane::new(config.projection.zone);
                let layers = config
                    .layers_path()
                    .exists()
                    .then(|| LayerCache::open(&config.layers_path(), &plane))
                    .transpose()?;
                let around = views::neighbours(&record, &outbox, layers.as_ref(), &plane)?;
                std::fs::write(&path, views::svg::draw(&record, &around))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if json {
                writeln!(io::stdout(), "{}", serde_json::to_string_pretty(&record)?)?;
            } else {
                write!(io::stdout(), "{}", views::show_text(&record))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { file, land, json } => {
            let summary = import::import(&file, &config.database, land)?;
            if json {
                writeln!(io::stdout(), "{}", serde_json::to_string_pretty(&summary)?)?;
            } else if summary.refused.is_none() {
                writeln!(io::stdout(), "{}", summary.text(&file.to_string_lossy()))?;
            }
            match &summary.refused {
                Some(refusal) => {
                    eprintln!("gps-bridge: {}\n{}", refusal.zh, refusal.en);
                    Ok(ExitCode::FAILURE)
                }
                None => Ok(ExitCode::SUCCESS),
            }
        }
        Command::Inspect { file } => {
            let bytes = files::read_file(&file)?;
            let plots = convert::inspect(
                Format::of(&file)?,
                &bytes,
                &file.to_string_lossy(),
                &config.plot_settings(),
            )
            .with_context(|| file.display().to_string())?;
            writeln!(io::stdout(), "{}", serde_json::to_string_pretty(&plots)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Convert {
            input,
            output,
            utf8,
        } => convert_file(&config, &input, &output, utf8),
        Command::Simulate {
            route,
            sigma,
            interval,
            dwell,
        } => {
            simulator::run(route.as_deref(), sigma, interval, dwell)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            file,
            accept_missing_checksum,
        } => {
            let config = FramerConfig {
                accept_missing_checksum,
            };
            let mut out = BufWriter::new(io::stdout().lock());
            let replayed = if file.as_os_str() == "-" {
                replay(io::stdin().lock(), config, &mut out)
            } else {
                let input =
                    File::open(&file).with_context(|| format!("reading {}", file.display()))?;
                replay(input, config, &mut out)
            };
            match replayed {
                Ok(tally) => eprintln!("{}: {tally}", file.display()),
                // A reader that stopped listening (`| head`) is not a failure of the replay.
                Err(ReplayError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e).with_context(|| format!("replaying {}", file.display())),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `convert`: the output is written to a temporary file beside it and renamed, so a failed
/// conversion leaves no half-written file.
fn convert_file(
    config: &Config,
    input: &Path,
    output: &Path,
    utf8: bool,
) -> anyhow::Result<ExitCode> {
    let (from, to) = (Format::of(input)?, Format::of(output)?);
    let bytes = files::read_file(input)?;
    let options = TxtOptions {
        zone_prefix: config.projection.easting_prefix,
        encoding: if utf8 {
            WriteEncoding::Utf8
        } else {
            WriteEncoding::Gb18030
        },
        date: chrono::Local::now().format("%Y-%m-%d").to_string(),
        producer: String::new(),
    };
    let settings = config.plot_settings();
    match convert::convert(
        from,
        &bytes,
        &input.to_string_lossy(),
        to,
        &settings,
        &options,
    ) {
        Ok(written) => {
            let partial = output.with_extension("partial");
            std::fs::write(&partial, written)
                .and_then(|()| std::fs::rename(&partial, output))
                .with_context(|| format!("writing {}", output.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(ConvertError::Refused(plots)) => {
            eprintln!(
                "gps-bridge: {0} 个地块未通过检查，未写出文件（原因见输出） ({0} of the plots were refused; nothing was written)",
                plots.len()
            );
            writeln!(io::stdout(), "{}", serde_json::to_string_pretty(&plots)?)?;
            Ok(ExitCode::FAILURE)
        }
        Err(ConvertError::File(e)) => Err(e).with_context(|| input.display().to_string()),
    }
}

/// A reply as plain text, for a person at the terminal.
type ReplyText = fn(&Value) -> Option<String>;

/// Sends a request to the running bridge and prints its reply, as text when `text` is given;
/// fails if the bridge says no (as text: its error on stderr).
fn control_command(
    config: &Config,
    request: &Request,
    text: Option<ReplyText>,
) -> anyhow::Result<ExitCode> {
    // Refused here, by field, before anything is sent: an over-long name would otherwise
    // reach the daemon as a request line cut short.
    request.validate().map_err(anyhow::Error::msg)?;
    let reply = call(&config.socket_path(), request)?;
    let ok = reply["ok"] == true;
    match text.and_then(|text| text(&reply)) {
        Some(line) => writeln!(io::stdout(), "{line}")?,
        None if text.is_some() && !ok => {
            eprintln!(
                "gps-bridge: {}",
                reply["error"].as_str().unwrap_or("refused")
            )
        }
        None => writeln!(io::stdout(), "{}", serde_json::to_string_pretty(&reply)?)?,
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--secs`: a finite number of seconds in (0, 3600]. NaN in particular must not pass: JSON
/// has no NaN, so it would travel as `null`, the default.
fn capture_secs(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if secs.is_finite() && secs > 0.0 && secs <= 3600.0 {
        Ok(secs)
    } else {
        Err(format!("{text} is not between 0 and 3600"))
    }
}
