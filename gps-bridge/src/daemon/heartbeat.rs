//! The heartbeat to the upstream, like the kiosk's: this bridge's docked units, its outbox
//! (depth, oldest pending plot, last delivery, rejected), the layers' freshness and every part
//! failing now, so the fleet view shows the bridges beside the kiosks. The reply's commands:
//! `sync_now` syncs the layers now; the others are a kiosk's and are reported as not run.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use protocol::client::Client;
use protocol::devices::{
    BridgeHealth, CommandAction, CommandResult, DeviceKind, Heartbeat, HeartbeatReply,
};
use tokio::sync::{Notify, watch};

use super::Shared;
use crate::health::{Health, Part};
use crate::outbox::{Outbox, OutboxCounts};

pub struct Heartbeats {
    pub client: Client,
    pub device_id: String,
    pub office_id: String,
    pub interval: Duration,
    pub shared: Arc<Shared>,
    pub outbox: Arc<Mutex<Outbox>>,
    pub health: Health,
    /// Rung by a `sync_now` command.
    pub sync_layers: Arc<Notify>,
    /// Whose free space is reported.
    pub data_dir: PathBuf,
    pub started: Instant,
}

/// Command ids remembered as run, so a command delivered again (its result's heartbeat was
/// lost) is reported again rather than run twice; bounded, oldest forgotten first.
const REMEMBERED_COMMANDS: usize = 256;

pub fn build(
    counts: &OutboxCounts,
    shared: &Shared,
    health: &Health,
    office_id: &str,
    uptime_s: u64,
    free_disk_bytes: u64,
    completed: Vec<CommandResult>,
) -> Heartbeat {
    let faults = health.faults(Part::Heartbeat);
    Heartbeat {
        kind: DeviceKind::GpsBridge,
        hall_id: office_id.to_owned(),
        app_version: env!("CARGO_PKG_VERSION").to_owned(),
        content_version: None,
        feed_cursor: None,
        last_sync_at: health.layers_synced_at(),
        uptime_s,
        free_disk_bytes,
        last_error: faults.first().map(|f| format!("{}: {}", f.part, f.message)),
        faults,
        completed,
        bridge: Some(BridgeHealth {
            docked_units: shared.docked(),
            outbox_depth: counts.pending,
            oldest_pending_at: counts.oldest_pending_at,
            last_delivery_at: counts.last_delivery_at,
            rejected: counts.rejected,
            layers_synced_at: health.layers_synced_at(),
        }),
    }
}

/// What a bridge does with a command from a heartbeat reply.
fn run_command(action: &CommandAction, sync_layers: &Notify) -> CommandResult {
    let (ok, message) = match action {
        CommandAction::SyncNow => {
            sync_layers.notify_one();
            (true, "layer sync started".to_owned())
        }
        other => (false, format!("a gps-bridge does not run {other:?}")),
    };
    CommandResult {
        id: 0,
        ok,
        message: Some(message),
    }
}

impl Heartbeats {
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut completed: Vec<CommandResult> = Vec::new();
        let mut seen: std::collections::VecDeque<(u64, CommandResult)> = Default::default();
        let mut tick = tokio::time::interval(self.interval);
        while !*stop.borrow() {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => break,
            }
            match self.beat(completed.clone()).await {
                Ok(reply) => {
                    self.health.clear(Part::Heartbeat);
                    completed.clear();
                    for command in reply.commands {
                        let result = match seen.iter().find(|(id, _)| *id == command.id) {
                            Some((_, result)) => result.clone(),
                            None => {
                                let mut result = run_command(&command.action, &self.sync_layers);
                                result.id = command.id;
                                tracing::info!(id = command.id, action = ?command.action, ok = result.ok, "ran command");
                                if seen.len() >= REMEMBERED_COMMANDS {
                                    seen.pop_front();
                                }
                                seen.push_back((command.id, result.clone()));
                                result
                            }
                        };
                        completed.push(result);
                    }
                }
                Err(e) => {
                    tracing::info!(error = %format!("{e:#}"), "heartbeat failed");
                    self.health.fault(Part::Heartbeat, format!("{e:#}"));
                }
            }
        }
    }

    async fn beat(&self, completed: Vec<CommandResult>) -> anyhow::Result<HeartbeatReply> {
        let outbox = self.outbox.clone();
        let counts = tokio::task::spawn_blocking(move || {
            outbox
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .counts()
        })
        .await??;
        let free = rustix::fs::statvfs(&self.data_dir)
            .map_or(0, |s| s.f_bavail.saturating_mul(s.f_frsize));
        let heartbeat = build(
            &counts,
            &self.shared,
            &self.health,
            &self.office_id,
            self.started.elapsed().as_secs(),
            free,
            completed,
        );
        Ok(self.client.heartbeat(&self.device_id, &heartbeat).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bridges_heartbeat_carries_its_units_outbox_and_faults() {
        let shared = Shared::default();
        shared.set_docked(vec![protocol::devices::DockedUnit {
            port: "/dev/ttyUSB0".into(),
            model: None,
        }]);
        let health = Health::default();
        health.fault(Part::Upload, "503 injected_failure");
        health.fault(Part::Heartbeat, "connection refused");
        let counts = OutboxCounts {
            pending: 3,
            rejected: 1,
            oldest_pending_at: Some("2026-12-01T08:00:00Z".parse().unwrap()),
            ..OutboxCounts::default()
        };
        let beat = build(&counts, &shared, &health, "hn-gyx-zsz", 5, 1 << 30, vec![]);
        assert_eq!(beat.kind, DeviceKind::GpsBridge);
        let bridge = beat.bridge.unwrap();
        assert_eq!((bridge.outbox_depth, bridge.rejected), (3, 1));
        assert_eq!(bridge.docked_units[0].port, "/dev/ttyUSB0");
        assert_eq!(bridge.oldest_pending_at, counts.oldest_pending_at);
        let parts: Vec<&str> = beat.faults.iter().map(|f| f.part.as_str()).collect();
        assert_eq!(
            parts,
            ["upload"],
            "the heartbeat's own fault is not reported"
        );
        assert_eq!(
            beat.last_error.as_deref(),
            Some("upload: 503 injected_failure")
        );
    }

    #[test]
    fn sync_now_syncs_the_layers_and_a_kiosks_command_is_refused() {
        let notify = Notify::new();
        assert!(run_command(&CommandAction::SyncNow, &notify).ok);
        let refused = run_command(&CommandAction::Screenshot, &notify);
        assert!(!refused.ok);
        assert!(refused.message.unwrap().contains("Screenshot"));
    }
}
