//! Device heartbeats, and the commands an administrator queues for a device.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether `id` is a device id of the contract: 1 to 64 characters of `A-Z a-z 0-9 - _ .`.
pub fn is_device_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The rule of [`is_device_id`], for error messages.
pub const DEVICE_ID_RULE: &str = "1 to 64 characters of A-Z a-z 0-9 - _ .";

/// Whether `token` can be a device's bearer token: it is sent as an HTTP header, so visible
/// ASCII only, and a pasted newline or space is caught in the configuration, not as a failed
/// request later.
pub fn is_sendable_token(token: &str) -> bool {
    (1..=512).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic())
}

/// The rule of [`is_sendable_token`], for error messages.
pub const TOKEN_RULE: &str = "1 to 512 visible ASCII characters, no spaces";

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

/// Most faults a heartbeat lists (a device has a handful of parts), most command results,
/// and the longest text field, in bytes.
pub const MAX_FAULTS: usize = 32;
pub const MAX_COMPLETED: usize = 256;
pub const MAX_HEARTBEAT_TEXT: usize = 2_000;
/// Most units a bridge reports docked (an office has a few USB ports), and the longest port
/// or model name, in bytes.
pub const MAX_DOCKED_UNITS: usize = 32;
pub const MAX_PORT_NAME: usize = 256;

impl Heartbeat {
    /// Bounds every list and text of a heartbeat; each refusal names its field.
    pub fn validate(&self) -> Result<(), String> {
        let text = |field: &str, value: &str, max: usize| {
            if value.len() > max {
                Err(format!("{field}: at most {max} bytes, got {}", value.len()))
            } else {
                Ok(())
            }
        };
        text("hall_id", &self.hall_id, 64)?;
        text("app_version", &self.app_version, 64)?;
        if let Some(error) = &self.last_error {
            text("last_error", error, MAX_HEARTBEAT_TEXT)?;
        }
        if self.faults.len() > MAX_FAULTS {
            return Err(format!(
                "faults: at most {MAX_FAULTS}, got {}",
                self.faults.len()
            ));
        }
        for (i, fault) in self.faults.iter().enumerate() {
            text(&format!("faults[{i}].part"), &fault.part, 64)?;
            text(
                &format!("faults[{i}].message"),
                &fault.message,
                MAX_HEARTBEAT_TEXT,
            )?;
        }
        if self.completed.len() > MAX_COMPLETED {
            return Err(format!(
                "completed: at most {MAX_COMPLETED}, got {}",
                self.completed.len()
            ));
        }
        for (i, result) in self.completed.iter().enumerate() {
            // Command ids are issued by the upstream as SQL integers.
            if i64::try_from(result.id).is_err() {
                return Err(format!(
                    "completed[{i}].id must be at most {}, got {}",
                    i64::MAX,
                    result.id
                ));
            }
            if let Some(message) = &result.message {
                text(
                    &format!("completed[{i}].message"),
                    message,
                    MAX_HEARTBEAT_TEXT,
                )?;
            }
        }
        if let Some(bridge) = &self.bridge {
            bridge.validate()?;
        }
        Ok(())
    }
}

impl BridgeHealth {
    /// Bounds the docked units; the counts are bounded by their type (`u32`).
    fn validate(&self) -> Result<(), String> {
        let units = &self.docked_units;
        if units.len() > MAX_DOCKED_UNITS {
            return Err(format!(
                "bridge.docked_units: at most {MAX_DOCKED_UNITS}, got {}",
                units.len()
            ));
        }
        for (i, unit) in units.iter().enumerate() {
            if unit.port.is_empty() || unit.port.len() > MAX_PORT_NAME {
                return Err(format!(
                    "bridge.docked_units[{i}].port: 1 to {MAX_PORT_NAME} bytes, got {}",
                    unit.port.len()
                ));
            }
            if let Some(model) = &unit.model
                && model.len() > MAX_PORT_NAME
            {
                return Err(format!(
                    "bridge.docked_units[{i}].model: at most {MAX_PORT_NAME} bytes, got {}",
                    model.len()
                ));
            }
        }
        Ok(())
    }
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

/// `POST /api/v1/admin/devices/{id}/token`: issue a token for a device, bound to its hall.
/// Issuing again replaces the device's token; the old one stops working at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueDeviceToken {
    pub hall_id: String,
}

/// The answer to [`IssueDeviceToken`]: the bearer token, shown this once. The upstream keeps
/// only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceToken {
    pub device_id: String,
    pub hall_id: String,
    pub token: String,
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
    fn heartbeat_bounds_name_the_field() {
        let fault = Fault {
            part: "cases".into(),
            message: "timed out".into(),
            at: "2026-11-01T00:00:00Z".parse().unwrap(),
        };
        let mut heartbeat = Heartbeat {
            kind: DeviceKind::Kiosk,
            hall_id: "hn-czs-gyx".into(),
            app_version: "0.1.0".into(),
            content_version: None,
            feed_cursor: None,
            last_sync_at: None,
            uptime_s: 1,
            free_disk_bytes: 1,
            last_error: None,
            faults: vec![fault.clone(); MAX_FAULTS],
            completed: vec![],
            bridge: None,
        };
        assert_eq!(heartbeat.validate(), Ok(()));
        heartbeat.faults = vec![fault; 4_000];
        assert!(heartbeat.validate().unwrap_err().starts_with("faults:"));
        heartbeat.faults.clear();
        heartbeat.completed = vec![CommandResult {
            id: 1 << 63,
            ok: true,
            message: None,
        }];
        assert!(
            heartbeat
                .validate()
                .unwrap_err()
                .starts_with("completed[0].id")
        );
        heartbeat.completed.clear();
        heartbeat.last_error = Some("x".repeat(MAX_HEARTBEAT_TEXT + 1));
        assert!(heartbeat.validate().unwrap_err().starts_with("last_error"));
        heartbeat.last_error = None;
        heartbeat.kind = DeviceKind::GpsBridge;
        let unit = DockedUnit {
            port: "/dev/ttyUSB0".into(),
            model: None,
        };
        let health = BridgeHealth {
            docked_units: vec![unit.clone(); MAX_DOCKED_UNITS],
            outbox_depth: 0,
            oldest_pending_at: None,
            last_delivery_at: None,
            rejected: 0,
            layers_synced_at: None,
        };
        heartbeat.bridge = Some(health.clone());
        assert_eq!(heartbeat.validate(), Ok(()));
        for (bad, field) in [
            (
                BridgeHealth {
                    docked_units: vec![unit.clone(); MAX_DOCKED_UNITS + 1],
                    ..health.clone()
                },
                "bridge.docked_units:",
            ),
            (
                BridgeHealth {
                    docked_units: vec![DockedUnit {
                        port: "p".repeat(MAX_PORT_NAME + 1),
                        model: None,
                    }],
                    ..health.clone()
                },
                "bridge.docked_units[0].port:",
            ),
            (
                BridgeHealth {
                    docked_units: vec![DockedUnit {
                        port: String::new(),
                        model: None,
                    }],
                    ..health.clone()
                },
                "bridge.docked_units[0].port:",
            ),
            (
                BridgeHealth {
                    docked_units: vec![DockedUnit {
                        port: "/dev/ttyUSB0".into(),
                        model: Some("m".repeat(MAX_PORT_NAME + 1)),
                    }],
                    ..health.clone()
                },
                "bridge.docked_units[0].model:",
            ),
        ] {
            heartbeat.bridge = Some(bad);
            let err = heartbeat.validate().unwrap_err();
            assert!(err.starts_with(field), "{err}");
        }
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
