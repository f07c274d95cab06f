//! Device heartbeats, and the commands an administrator queues for a device.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Kiosk,
    GpsBridge,
}

/// `POST /api/v1/devices/{id}/heartbeat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub kind: DeviceKind,
    pub hall_id: String,
    pub app_version: String,
    /// Version of the applied content release, if any.
    #[serde(default)]
    pub content_version: Option<u64>,
    /// The case feed cursor the mirror has applied up to.
    #[serde(default)]
    pub feed_cursor: Option<u64>,
    /// When the last case sync succeeded.
    #[serde(default)]
    pub last_sync_at: Option<DateTime<Utc>>,
    pub uptime_s: u64,
    pub free_disk_bytes: u64,
    /// The most recent of `faults`, as `part: message`, for readers that show one line.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Every part failing now, each with its latest error, newest first. One list rather than
    /// only the latest error, so a refused content release stays visible while another part
    /// (case sync, ratings) fails after it.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Results of commands run since the previous heartbeat.
    #[serde(default)]
    pub completed: Vec<CommandResult>,
    /// What a GPS bridge reports besides (absent for kiosks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<BridgeHealth>,
}

/// A GPS bridge's own health: its docked units and its plot outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeHealth {
    /// Serial ports with a unit docked now.
    pub docked_units: Vec<DockedUnit>,
    /// Plots waiting for delivery.
    pub outbox_depth: u32,
    /// When the oldest plot still waiting was recorded.
    #[serde(default)]
    pub oldest_pending_at: Option<DateTime<Utc>>,
    /// When the upstream last accepted a plot.
    #[serde(default)]
    pub last_delivery_at: Option<DateTime<Utc>>,
    /// Plots the upstream refused (4xx), kept with its reason, never retried.
    #[serde(default)]
    pub rejected: u32,
    /// When the parcel and mining-right layers were last read to their end.
    #[serde(default)]
    pub layers_synced_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockedUnit {
    pub port: String,
    /// USB product or known model name, when known.
    #[serde(default)]
    pub model: Option<String>,
}

/// A part of a device that is failing, with its latest error; reported until the part
/// succeeds again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Which part, e.g. `content`, `cases`, `ratings`.
    pub part: String,
    pub message: String,
    /// When the part last failed.
    pub at: DateTime<Utc>,
}

/// A display schedule: the screen is on from `on` to `off` (local `HH:MM`) on the listed
/// ISO weekdays (1 = Monday).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisplaySchedule {
    pub on: String,
    pub off: String,
    pub weekdays: Vec<u8>,
}

impl DisplaySchedule {
    /// Checks the `HH:MM` fields and weekday numbers.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [("on", &self.on), ("off", &self.off)] {
            if chrono::NaiveTime::parse_from_str(value, "%H:%M").is_err() {
                return Err(format!("{name} must be HH:MM, got {value:?}"));
            }
        }
        if self.weekdays.is_empty() || self.weekdays.iter().any(|d| !(1..=7).contains(d)) {
            return Err("weekdays must be 1 (Monday) to 7 (Sunday), at least one".into());
        }
        Ok(())
    }
}

/// What a command asks the device to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum CommandAction {
    /// Pull the case feed now.
    SyncNow,
    /// Poll the content manifest now and re-apply.
    ReloadContent,
    /// Capture the screen and `PUT` it to `/api/v1/devices/{id}/screenshots/{command_id}`.
    Screenshot,
    /// Follow this display schedule instead of the published one, until a content release
    /// changes the published one.
    SetDisplaySchedule { schedule: DisplaySchedule },
    /// Drop the schedule a `set_display_schedule` command set: the published one (if any)
    /// is in force again.
    ClearDisplaySchedule,
}

/// A queued command, as delivered in a heartbeat reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub id: u64,
    pub issued_at: DateTime<Utc>,
    #[serde(flatten)]
    pub action: CommandAction,
}

/// How a device reports having run a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandResult {
    pub id: u64,
    pub ok: bool,
    #[serde(default)]
    pub message: Option<String>,
}

/// The reply to a heartbeat: commands not yet delivered to this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatReply {
    pub server_time: DateTime<Utc>,
    pub commands: Vec<Command>,
}

/// `POST /api/v1/admin/devices/{id}/commands`.
pub type QueueCommand = CommandAction;

/// One row of `GET /api/v1/admin/devices`: what the fleet view shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceStatus {
    pub device_id: String,
    pub last_heartbeat_at: DateTime<Utc>,
    pub heartbeat: Heartbeat,
    /// Commands queued but not yet delivered.
    pub pending_commands: u32,
    /// Ids of commands whose screenshot was uploaded.
    pub screenshots: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    pub devices: Vec<DeviceStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_wire_form_is_flat() {
        let command = Command {
            id: 4,
            issued_at: "2026-11-01T00:00:00Z".parse().unwrap(),
            action: CommandAction::SetDisplaySchedule {
                schedule: DisplaySchedule {
                    on: "08:00".into(),
                    off: "18:00".into(),
                    weekdays: vec![1, 2, 3, 4, 5],
                },
            },
        };
        let json = serde_json::to_value(&command).unwrap();
        assert_eq!(json["action"], "set_display_schedule");
        assert_eq!(json["schedule"]["on"], "08:00");
        let back: Command = serde_json::from_value(json).unwrap();
        assert_eq!(back, command);
        assert!(serde_json::from_str::<CommandAction>(r#"{"action":"reboot"}"#).is_err());
        assert_eq!(
            serde_json::from_str::<CommandAction>(r#"{"action":"clear_display_schedule"}"#)
                .unwrap(),
            CommandAction::ClearDisplaySchedule
        );
    }

    #[test]
    fn a_kiosk_heartbeat_has_no_bridge_part_and_a_bridges_round_trips() {
        let kiosk = serde_json::json!({"kind": "kiosk", "hall_id": "h", "app_version": "0.1.0",
            "uptime_s": 1, "free_disk_bytes": 2});
        let parsed: Heartbeat = serde_json::from_value(kiosk.clone()).unwrap();
        assert_eq!(parsed.bridge, None);
        assert!(
            serde_json::to_value(&parsed)
                .unwrap()
                .get("bridge")
                .is_none()
        );
        let mut bridge = parsed;
        bridge.kind = DeviceKind::GpsBridge;
        bridge.bridge = Some(BridgeHealth {
            docked_units: vec![DockedUnit {
                port: "/dev/ttyUSB0".into(),
                model: Some("Garmin".into()),
            }],
            outbox_depth: 2,
            oldest_pending_at: Some("2026-12-01T08:00:00Z".parse().unwrap()),
            last_delivery_at: None,
            rejected: 1,
            layers_synced_at: None,
        });
        let json = serde_json::to_value(&bridge).unwrap();
        assert_eq!(json["bridge"]["outbox_depth"], 2);
        assert_eq!(serde_json::from_value::<Heartbeat>(json).unwrap(), bridge);
    }

    #[test]
    fn schedule_is_validated() {
        let mut schedule = DisplaySchedule {
            on: "08:00".into(),
            off: "18:30".into(),
            weekdays: vec![1, 7],
        };
        assert!(schedule.validate().is_ok());
        schedule.off = "25:00".into();
        assert!(schedule.validate().is_err());
        schedule.off = "18:00".into();
        schedule.weekdays = vec![0];
        assert!(schedule.validate().is_err());
    }
}
