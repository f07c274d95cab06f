//! Heartbeats and the commands their replies carry.
//!
//! The upstream redelivers a command until a heartbeat reports its result; the kiosk writes
//! each command id to the mirror before running it, so an id runs at most once even across
//! restarts, and keeps its result until a heartbeat has carried it.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use protocol::client::Client;
use protocol::devices::{Command, CommandAction, CommandResult, DeviceKind, Fault, Heartbeat};
use rusqlite::{OptionalExtension, params};
use tokio::sync::Notify;

use crate::error::Result;
use crate::mirror::{AsyncMirror, Fault as MirrorFault, FaultSource, Mirror};

/// Where a screenshot comes from. The UI implements it by rendering its window; a headless
/// kiosk has none.
pub trait ScreenSource: Send + Sync {
    /// A PNG of what the screen shows now.
    fn capture_png(&self) -> Result<Vec<u8>, String>;
}

/// The headless data plane: no screen to capture.
pub struct NoScreen;

impl ScreenSource for NoScreen {
    fn capture_png(&self) -> Result<Vec<u8>, String> {
        Err("no display attached: this kiosk runs headless".into())
    }
}

/// What commands act on.
pub struct CommandTargets {
    pub sync_now: Arc<Notify>,
    pub reload_content: Arc<Notify>,
    pub screen: Arc<dyn ScreenSource>,
}

/// Free space for the kiosk's data, in bytes (0 when it cannot be read).
pub fn free_disk_bytes(path: &Path) -> u64 {
    rustix::fs::statvfs(path).map_or(0, |s| s.f_bavail.saturating_mul(s.f_frsize))
}

/// Results not yet carried by a heartbeat.
fn unreported(mirror: &Mirror) -> Result<Vec<CommandResult>> {
    let mut stmt = mirror.conn().prepare_cached(
        "SELECT id, ok, message FROM commands WHERE state = 'done' AND reported = 0 ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(CommandResult {
            id: r.get(0)?,
            ok: r.get(1)?,
            message: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The faults a heartbeat reports: every part's but the heartbeat's own — a heartbeat that
/// arrives shows that part works again, so reporting its last failure would only mislead.
fn reported_faults(faults: &[MirrorFault]) -> Vec<Fault> {
    faults
        .iter()
        .filter(|f| f.source != FaultSource::Heartbeat)
        .map(|f| Fault {
            part: f.source.as_str().to_owned(),
            message: f.message.clone(),
            at: f.at,
        })
        .collect()
}

/// The heartbeat as of now. `faults`: each part's latest fault, newest first — the data
/// plane's own record ([`crate::daemon::Health`]), which holds even the faults a broken
/// mirror could not store; support tools pass [`Mirror::faults`].
pub fn build(
    mirror: &Mirror,
    hall_id: &str,
    uptime_s: u64,
    free_disk_bytes: u64,
    faults: &[MirrorFault],
    now: DateTime<Utc>,
) -> Result<Heartbeat> {
    let freshness = mirror.freshness(now)?;
    let content = mirror.content_status()?;
    let mut heartbeat = without_mirror(hall_id, uptime_s, free_disk_bytes, reported_faults(faults));
    heartbeat.content_version = content.and_then(|c| c.version);
    heartbeat.feed_cursor = Some(freshness.cursor);
    heartbeat.last_sync_at = freshness.caught_up_at;
    heartbeat.completed = unreported(mirror)?;
    Ok(heartbeat)
}

/// A heartbeat with nothing read from the mirror: what a kiosk whose mirror cannot be read
/// still tells the fleet view.
fn without_mirror(
    hall_id: &str,
    uptime_s: u64,
    free_disk_bytes: u64,
    faults: Vec<Fault>,
) -> Heartbeat {
    Heartbeat {
        kind: DeviceKind::Kiosk,
        hall_id: hall_id.to_owned(),
        app_version: crate::APP_VERSION.to_owned(),
        content_version: None,
        feed_cursor: None,
        last_sync_at: None,
        uptime_s,
        free_disk_bytes,
        last_error: faults.first().map(|f| format!("{}: {}", f.part, f.message)),
        faults,
        completed: Vec::new(),
        bridge: None,
    }
}

/// Marks a command as started; `false` if this id was seen before (it must not run again).
/// The mirror's connection commits synced ([`crate::mirror::Durability::Synced`]), so the
/// start record is on the disk before the command runs: a power cut cannot make it run twice.
fn begin(mirror: &Mirror, command: &Command) -> Result<bool> {
    mirror.require_synced("a command's start record")?;
    let inserted = mirror.conn().execute(
        "INSERT OR IGNORE INTO commands (id, action, state) VALUES (?1, ?2, 'running')",
        params![command.id, serde_json::to_string(&command.action)?],
    )?;
    if inserted == 0 {
        // Delivered again: the upstream did not get the result (a lost heartbeat).
        // Report it again instead of running the command twice.
        mirror.conn().execute(
            "UPDATE commands SET reported = 0 WHERE id = ?1 AND state = 'done'",
            [command.id],
        )?;
    }
    Ok(inserted == 1)
}

fn finish(mirror: &Mirror, id: u64, outcome: &Result<String, String>) -> Result<()> {
    let (ok, message) = match outcome {
        Ok(m) => (true, m),
        Err(m) => (false, m),
    };
    mirror.conn().execute(
        "UPDATE commands SET state = 'done', ok = ?2, message = ?3 WHERE id = ?1",
        params![id, ok, message],
    )?;
    Ok(())
}

/// Commands found still running at start were cut off by a restart: they are reported as
/// failed rather than run twice.
pub fn fail_interrupted(mirror: &Mirror) -> Result<usize> {
    Ok(mirror.conn().execute(
        "UPDATE commands SET state = 'done', ok = 0, message = 'interrupted by a restart'
         WHERE state = 'running'",
        [],
    )?)
}

/// This kiosk as the heartbeat names it, and what its commands act on.
pub struct Heartbeats {
    pub client: Client,
    pub device_id: String,
    pub hall_id: String,
    pub targets: CommandTargets,
}

impl Heartbeats {
    /// Runs one command; the message is what the administrator sees.
    async fn run(&self, command: &Command, mirror: &AsyncMirror) -> Result<String, String> {
        match &command.action {
            CommandAction::SyncNow => {
                self.targets.sync_now.notify_one();
                Ok("case sync started".into())
            }
            CommandAction::ReloadContent => {
                self.targets.reload_content.notify_one();
                Ok("content reload started".into())
            }
            CommandAction::Screenshot => {
                // Rendering a frame is blocking work: off the runtime.
                let screen = self.targets.screen.clone();
                let png = tokio::task::spawn_blocking(move || screen.capture_png())
                    .await
                    .map_err(|e| format!("screenshot stopped: {e}"))??;
                self.client
                    .put_screenshot(&self.device_id, command.id, png)
                    .await
                    .map_err(|e| format!("screenshot upload failed: {e}"))?;
                Ok("screenshot uploaded".into())
            }
            CommandAction::SetDisplaySchedule { schedule } => {
                schedule.validate()?;
                let stored = schedule.clone();
                mirror
                    .run(move |m| m.set_display_schedule(&stored))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!(
                    "display on {}–{} on days {:?}",
                    schedule.on, schedule.off, schedule.weekdays
                ))
            }
            CommandAction::ClearDisplaySchedule => {
                let in_force = mirror
                    .run(|m| {
                        m.clear_display_schedule()?;
                        m.display_schedule()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(match in_force {
                    Some(s) => format!(
                        "commanded schedule cleared; the published one is in force: {}–{} on days {:?}",
                        s.schedule.on, s.schedule.off, s.schedule.weekdays
                    ),
                    None => {
                        "commanded schedule cleared; no schedule is published: the screen stays on"
                            .into()
                    }
                })
            }
        }
    }

    /// Sends one heartbeat and runs the commands of the reply; returns how many ran. The
    /// mirror's work runs on the blocking pool; `faults` as for [`build`].
    pub async fn beat(
        &self,
        mirror: &AsyncMirror,
        uptime_s: u64,
        faults: Vec<MirrorFault>,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let hall_id = self.hall_id.clone();
        let reported = faults.clone();
        let built = mirror
            .run(move |m| {
                let free = free_disk_bytes(&mirror_dir(m)?);
                build(m, &hall_id, uptime_s, free, &reported, now)
            })
            .await;
        let heartbeat = built.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the mirror cannot be read; the heartbeat carries only the faults");
            let mut faults = reported_faults(&faults);
            faults.insert(
                0,
                Fault {
                    part: "mirror".into(),
                    message: e.to_string(),
                    at: now,
                },
            );
            without_mirror(&self.hall_id, uptime_s, 0, faults)
        });
        let reply = self.client.heartbeat(&self.device_id, &heartbeat).await;
        mirror
            .record_outcome(FaultSource::Heartbeat, &reply, now)
            .await;
        let reply = reply?;
        let carried: Vec<u64> = heartbeat.completed.iter().map(|r| r.id).collect();
        if !carried.is_empty() {
            mirror
                .run(move |m| {
                    for id in carried {
                        m.conn()
                            .execute("UPDATE commands SET reported = 1 WHERE id = ?1", [id])?;
                    }
                    Ok(())
                })
                .await?;
        }
        let mut ran = 0;
        for command in reply.commands {
            let started = command.clone();
            if !mirror.run(move |m| begin(m, &started)).await? {
                continue;
            }
            let outcome = self.run(&command, mirror).await;
            tracing::info!(id = command.id, action = ?command.action, ok = outcome.is_ok(), "ran command");
            mirror.run(move |m| finish(m, command.id, &outcome)).await?;
            ran += 1;
        }
        Ok(ran)
    }
}

/// The folder of the mirror file, whose file system's free space the heartbeat reports.
fn mirror_dir(mirror: &Mirror) -> Result<std::path::PathBuf> {
    let path: Option<String> = mirror
        .conn()
        .query_row(
            "SELECT file FROM pragma_database_list WHERE name = 'main'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(path
        .map(std::path::PathBuf::from)
        .and_then(|p| p.parent().map(Path::to_owned))
        .unwrap_or_else(|| ".".into()))
}

impl Mirror {
    /// A command's `(state, ok, reported)`, for support and tests.
    pub fn command_state(&self, id: u64) -> Result<Option<(String, Option<bool>, bool)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT state, ok, reported FROM commands WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }
}
