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
use crate::mirror::{FaultSource, Mirror};

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
fn reported_faults(mirror: &Mirror) -> Result<Vec<Fault>> {
    Ok(mirror
        .faults()?
        .into_iter()
        .filter(|f| f.source != FaultSource::Heartbeat)
        .map(|f| Fault {
            part: f.source.as_str().to_owned(),
            message: f.message,
            at: f.at,
        })
        .collect())
}

/// The heartbeat as of now.
pub fn build(
    mirror: &Mirror,
    hall_id: &str,
    uptime_s: u64,
    free_disk_bytes: u64,
    now: DateTime<Utc>,
) -> Result<Heartbeat> {
    let freshness = mirror.freshness(now)?;
    let content = mirror.content_status()?;
    let faults = reported_faults(mirror)?;
    Ok(Heartbeat {
        kind: DeviceKind::Kiosk,
        hall_id: hall_id.to_owned(),
        app_version: crate::APP_VERSION.to_owned(),
        content_version: content.and_then(|c| c.version),
        feed_cursor: Some(freshness.cursor),
        last_sync_at: freshness.caught_up_at,
        uptime_s,
        free_disk_bytes,
        last_error: faults.first().map(|f| format!("{}: {}", f.part, f.message)),
        faults,
        completed: unreported(mirror)?,
        bridge: None,
    })
}

/// Marks a command as started; `false` if this id was seen before (it must not run again).
fn begin(mirror: &Mirror, command: &Command) -> Result<bool> {
    let inserted = mirror.conn().execute(
        "INSERT OR IGNORE INTO commands (id, action, state) VALUES (?1, ?2, 'running')",
        params![command.id, serde_json::to_string(&command.action)?],
    )?;
    Ok(inserted == 1)
}

fn finish(mirror: &Mirror, id: u64, outcome: Result<String, String>) -> Result<()> {
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

/// Runs one command; the message is what the administrator sees.
async fn run(
    command: &Command,
    targets: &CommandTargets,
    mirror: &Mirror,
    client: &Client,
    device_id: &str,
) -> Result<String, String> {
    match &command.action {
        CommandAction::SyncNow => {
            targets.sync_now.notify_one();
            Ok("case sync started".into())
        }
        CommandAction::ReloadContent => {
            targets.reload_content.notify_one();
            Ok("content reload started".into())
        }
        CommandAction::Screenshot => {
            let png = targets.screen.capture_png()?;
            client
                .put_screenshot(device_id, command.id, png)
                .await
                .map_err(|e| format!("screenshot upload failed: {e}"))?;
            Ok("screenshot uploaded".into())
        }
        CommandAction::SetDisplaySchedule { schedule } => {
            schedule.validate()?;
            mirror
                .set_display_schedule(schedule)
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "display on {}–{} on days {:?}",
                schedule.on, schedule.off, schedule.weekdays
            ))
        }
    }
}

/// Sends one heartbeat and runs the commands of the reply.
pub async fn beat(
    client: &Client,
    mirror: &Mirror,
    device_id: &str,
    hall_id: &str,
    uptime_s: u64,
    targets: &CommandTargets,
    now: DateTime<Utc>,
) -> Result<usize> {
    let heartbeat = build(
        mirror,
        hall_id,
        uptime_s,
        free_disk_bytes(mirror_dir(mirror)?.as_path()),
        now,
    )?;
    let reply = match client.heartbeat(device_id, &heartbeat).await {
        Ok(reply) => {
            mirror.clear_fault(FaultSource::Heartbeat)?;
            reply
        }
        Err(e) => {
            mirror.record_fault(FaultSource::Heartbeat, &e.to_string(), now)?;
            return Err(e.into());
        }
    };
    for result in &heartbeat.completed {
        mirror.conn().execute(
            "UPDATE commands SET reported = 1 WHERE id = ?1",
            [result.id],
        )?;
    }
    let mut ran = 0;
    for command in &reply.commands {
        if !begin(mirror, command)? {
            // Delivered again: the upstream did not get the result (a lost heartbeat).
            // Report it again instead of running the command twice.
            mirror.conn().execute(
                "UPDATE commands SET reported = 0 WHERE id = ?1 AND state = 'done'",
                [command.id],
            )?;
            continue;
        }
        let outcome = run(command, targets, mirror, client, device_id).await;
        tracing::info!(id = command.id, action = ?command.action, ok = outcome.is_ok(), "ran command");
        finish(mirror, command.id, outcome)?;
        ran += 1;
    }
    Ok(ran)
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
