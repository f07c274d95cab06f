//! `kiosk-admin`: for administrators — keys, building and publishing signed content
//! releases, and watching and commanding the fleet.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use kiosk::content::release::{self, Release};
use kiosk::content::source::{SourceFile, compile};
use kiosk::outln;
use protocol::client::Client;
use protocol::content::{
    decode_signing_key, encode_signing_key, encode_verifying_key, generate_signing_key,
};
use protocol::devices::{CommandAction, DeviceKind, DisplaySchedule, Fleet, Heartbeat};

#[derive(Parser)]
#[command(
    name = "kiosk-admin",
    version,
    about = "Land Hall kiosk administration"
)]
struct Cli {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Clone, Copy, ValueEnum)]
enum Action {
    Screenshot,
    SyncNow,
    Reload,
    /// Follow the schedule given by --on, --off and --weekdays instead of the published one
    /// (until a content release changes the published one).
    SetDisplaySchedule,
    /// Drop the schedule set by command: the published one is in force again.
    ClearDisplaySchedule,
}

/// The schedule of a set-display-schedule command.
#[derive(clap::Args)]
struct ScheduleArgs {
    /// For set-display-schedule: when the screen goes on, local HH:MM.
    #[arg(long)]
    on: Option<String>,
    /// For set-display-schedule: when the screen goes off, local HH:MM.
    #[arg(long)]
    off: Option<String>,
    /// For set-display-schedule: ISO weekdays, 1 (Monday) to 7, e.g. 1,2,3,4,5.
    #[arg(long, value_delimiter = ',')]
    weekdays: Vec<u8>,
}

impl ScheduleArgs {
    /// The schedule, checked here so that a mistyped time is refused before it is queued.
    fn schedule(&self) -> anyhow::Result<DisplaySchedule> {
        let (Some(on), Some(off)) = (&self.on, &self.off) else {
            bail!("set-display-schedule needs --on HH:MM, --off HH:MM and --weekdays");
        };
        let schedule = DisplaySchedule {
            on: on.clone(),
            off: off.clone(),
            weekdays: self.weekdays.clone(),
        };
        schedule
            .validate()
            .map_err(|e| anyhow::anyhow!("set-display-schedule: {e}"))?;
        Ok(schedule)
    }

    fn is_empty(&self) -> bool {
        self.on.is_none() && self.off.is_none() && self.weekdays.is_empty()
    }
}

#[derive(clap::Args)]
struct Upstream {
    /// The upstream's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long = "upstream", alias = "to")]
    url: String,
    /// Administrator token.
    #[arg(long, env = "LAND_HALL_ADMIN_TOKEN")]
    token: String,
}

impl Upstream {
    fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::with_token(&self.url, Some(&self.token))?)
    }
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Make a signing key: writes the private key to FILE (mode 0600), prints the public key
    /// for the kiosks' `content.trusted_keys`.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Validate and compile a content folder into a signed release folder.
    Build {
        content_dir: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Release version; must grow with every release (default: the current Unix time).
        /// At most a day ahead of the current Unix time (the contract's ceiling).
        #[arg(long)]
        version: Option<u64>,
        #[arg(long, default_value = "kiosk-admin")]
        publisher: String,
        /// Also draw every kiosk screen with the new release into DIR (PNG), to look at
        /// before publishing; runs the `kiosk` program beside this one.
        #[arg(long, value_name = "DIR")]
        screenshots: Option<PathBuf>,
        /// With --screenshots: only this screen (repeatable), e.g. `guide-detail`.
        #[arg(long = "screen", value_name = "NAME", requires = "screenshots")]
        screens: Vec<String>,
    },
    /// Upload a built release folder to the upstream and make it current.
    Publish {
        dir: PathBuf,
        #[command(flatten)]
        upstream: Upstream,
    },
    /// List kiosks with versions, freshness, last heartbeat and faults.
    Fleet {
        #[command(flatten)]
        upstream: Upstream,
        /// Print the fleet as the upstream's JSON instead of a table, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Queue a command for a kiosk.
    Command {
        kiosk: String,
        #[arg(value_enum)]
        action: Action,
        #[command(flatten)]
        upstream: Upstream,
        #[command(flatten)]
        schedule: ScheduleArgs,
        /// For a screenshot: wait up to this many seconds for it and save it here.
        #[arg(long)]
        save: Option<PathBuf>,
        #[arg(long, default_value_t = 120)]
        wait_s: u64,
    },
}

/// Draws the kiosk's screens with the release in `release` into `dir`, by the `kiosk` program
/// installed beside this one, trusting the key the release was just signed with.
fn draw_screens(
    release: &Path,
    dir: &Path,
    public_key: &str,
    screens: &[String],
) -> anyhow::Result<()> {
    let kiosk = std::env::current_exe()?.with_file_name("kiosk");
    let mut command = std::process::Command::new(&kiosk);
    command
        .arg("--screenshots")
        .arg(dir)
        .arg("--release")
        .arg(release)
        .arg("--trust")
        .arg(public_key);
    for screen in screens {
        command.arg("--screen").arg(screen);
    }
    let status = command
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running {}", kiosk.display()))?;
    if !status.success() {
        bail!("{} could not draw the screens ({status})", kiosk.display());
    }
    outln!("screens with this release in {}", dir.display())?;
    Ok(())
}

/// Reads every file under `dir` with its `/`-separated relative path.
fn read_folder(dir: &Path) -> anyhow::Result<Vec<SourceFile>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<SourceFile>) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let relative = path
                    .strip_prefix(root)?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push(SourceFile {
                    path: relative,
                    bytes: std::fs::read(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                });
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    writeln!(file, "{text}")?;
    Ok(())
}

fn ago(t: chrono::DateTime<Utc>) -> String {
    let s = (Utc::now() - t).num_seconds().max(0);
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        _ => format!("{}h ago", s / 3600),
    }
}

/// What a device reports failing: every part's fault, or the one line of a device that
/// sends only `last_error`.
fn faults(heartbeat: &Heartbeat) -> String {
    if heartbeat.faults.is_empty() {
        return heartbeat.last_error.clone().unwrap_or_else(|| "-".into());
    }
    heartbeat
        .faults
        .iter()
        .map(|f| format!("{}: {}", f.part, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

fn print_fleet(fleet: &Fleet) -> std::io::Result<()> {
    let (bridges, kiosks): (Vec<_>, Vec<_>) = fleet
        .devices
        .iter()
        .partition(|d| d.heartbeat.kind == DeviceKind::GpsBridge);
    outln!(
        "{:<20} {:<12} {:<8} {:<12} {:<10} {:<12} {:<12} {:<4} FAULTS",
        "KIOSK",
        "HALL",
        "APP",
        "CONTENT",
        "CURSOR",
        "SYNCED",
        "HEARTBEAT",
        "CMDS"
    )?;
    for d in kiosks {
        let h = &d.heartbeat;
        outln!(
            "{:<20} {:<12} {:<8} {:<12} {:<10} {:<12} {:<12} {:<4} {}",
            d.device_id,
            h.hall_id,
            h.app_version,
            h.content_version.map_or("sample".into(), |v| v.to_string()),
            h.feed_cursor.map_or("-".into(), |c| c.to_string()),
            h.last_sync_at.map_or("never".into(), ago),
            ago(d.last_heartbeat_at),
            d.pending_commands,
            faults(h),
        )?;
    }
    if bridges.is_empty() {
        return Ok(());
    }
    outln!()?;
    outln!(
        "{:<20} {:<12} {:<8} {:<24} {:<8} {:<12} {:<12} {:<9} {:<12} FAULTS",
        "BRIDGE",
        "OFFICE",
        "APP",
        "DOCKED",
        "OUTBOX",
        "OLDEST",
        "DELIVERED",
        "REJECTED",
        "HEARTBEAT"
    )?;
    for d in bridges {
        let h = &d.heartbeat;
        let b = h.bridge.as_ref();
        let docked = b
            .map(|b| {
                b.docked_units
                    .iter()
                    .map(|u| u.port.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|ports| !ports.is_empty())
            .unwrap_or_else(|| "-".into());
        outln!(
            "{:<20} {:<12} {:<8} {:<24} {:<8} {:<12} {:<12} {:<9} {:<12} {}",
            d.device_id,
            h.hall_id,
            h.app_version,
            docked,
            b.map_or("-".into(), |b| b.outbox_depth.to_string()),
            b.and_then(|b| b.oldest_pending_at).map_or("-".into(), ago),
            b.and_then(|b| b.last_delivery_at)
                .map_or("never".into(), ago),
            b.map_or("-".into(), |b| b.rejected.to_string()),
            ago(d.last_heartbeat_at),
            faults(h),
        )?;
    }
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        AdminCommand::Keygen { out } => {
            let key = generate_signing_key();
            write_private(&out, &encode_signing_key(&key))?;
            outln!("{}", encode_verifying_key(&key.verifying_key()))?;
        }
        AdminCommand::Build {
            content_dir,
            key,
            out,
            version,
            publisher,
            screenshots,
            screens,
        } => {
            let key_text = std::fs::read_to_string(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            let key =
                decode_signing_key(&key_text).with_context(|| format!("{}", key.display()))?;
            let files = read_folder(&content_dir)?;
            let compiled = match compile(&files) {
                Ok(compiled) => compiled,
                Err(errors) => {
                    for error in &errors {
                        eprintln!("{}/{error}", content_dir.display());
                    }
                    bail!("{} problem(s) in {}", errors.len(), content_dir.display());
                }
            };
            let now = Utc::now();
            let version = version.unwrap_or(now.timestamp().unsigned_abs());
            let ceiling = protocol::content::version_ceiling(now);
            if version > ceiling {
                bail!(
                    "--version {version} is above the ceiling {ceiling}: versions are publish \
                     timestamps, at most {} s ahead of now (kiosks refuse every release not \
                     newer than the one they have, so a version too large would stop updates)",
                    protocol::content::MAX_VERSION_SKEW_S
                );
            }
            let built = release::build(&compiled, version, now, &publisher, &key);
            // Published as one JSON body, within the contract's JSON limit.
            let publish_size = serde_json::to_vec(&built.publish_body()?)?.len();
            if publish_size > protocol::MAX_JSON_BODY {
                bail!(
                    "{}: {} entries make a publish body of {publish_size} bytes, over the \
                     contract's {} bytes: split the content into fewer files",
                    content_dir.display(),
                    built.manifest.entries.len(),
                    protocol::MAX_JSON_BODY
                );
            }
            built.write_dir(&out)?;
            outln!(
                "release {version}: {} items, {} media, {} blobs in {}",
                compiled.items.len(),
                compiled.media.len(),
                built.blobs.len(),
                out.display()
            )?;
            if let Some(dir) = screenshots {
                let trust = encode_verifying_key(&key.verifying_key());
                draw_screens(&out, &dir, &trust, &screens)?;
            }
        }
        AdminCommand::Publish { dir, upstream } => {
            let built = Release::read_dir(&dir)?;
            built.publish(&upstream.client()?).await?;
            outln!(
                "published release {} to {}",
                built.manifest.version,
                upstream.url
            )?;
        }
        AdminCommand::Fleet { upstream, json } => {
            let fleet = upstream.client()?.fleet().await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&fleet)?)?;
            } else {
                print_fleet(&fleet)?;
            }
        }
        AdminCommand::Command {
            kiosk,
            action,
            upstream,
            schedule,
            save,
            wait_s,
        } => {
            let action = match action {
                Action::SetDisplaySchedule => CommandAction::SetDisplaySchedule {
                    schedule: schedule.schedule()?,
                },
                _ if !schedule.is_empty() => {
                    bail!("--on, --off and --weekdays go with set-display-schedule only")
                }
                Action::Screenshot => CommandAction::Screenshot,
                Action::SyncNow => CommandAction::SyncNow,
                Action::Reload => CommandAction::ReloadContent,
                Action::ClearDisplaySchedule => CommandAction::ClearDisplaySchedule,
            };
            let client = upstream.client()?;
            let command = client.queue_command(&kiosk, &action).await?;
            outln!("queued command {} for {kiosk}", command.id)?;
            if let (CommandAction::Screenshot, Some(save)) = (&action, save) {
                let deadline = std::time::Instant::now() + Duration::from_secs(wait_s);
                loop {
                    match client.screenshot(&kiosk, command.id).await {
                        Ok(png) => {
                            std::fs::write(&save, png)?;
                            outln!("saved {}", save.display())?;
                            break;
                        }
                        Err(e) if std::time::Instant::now() < deadline => {
                            tracing::debug!(error = %e, "screenshot not there yet");
                            tokio::time::sleep(Duration::from_secs(2)).await;
                        }
                        Err(e) => bail!("no screenshot after {wait_s} s: {e}"),
                    }
                }
            }
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    kiosk::cli::init_logging("warn");
    kiosk::cli::exit_code(
        "kiosk-admin",
        run(Cli::parse()).await.map(|()| ExitCode::SUCCESS),
    )
}
