//! Serial devices: which ports are receivers, and one blocking reader thread per docked unit.
//! This is the only code that touches serial ports; what it reads goes out as
//! [`DeviceEvent`]s.

mod ports;
mod reader;
mod tty;
mod watcher;

pub use ports::{PortCandidate, discover};
pub use reader::{ReaderSettings, UndockReason, read_port};
pub use tty::Framing;
pub use watcher::watch;

use crate::nmea::{OwnedLine, Reject};

/// A docked unit as the status report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitInfo {
    pub port: String,
    pub vid: Option<u16>,
    pub pid: Option<u16>,
    /// USB product string, when the port list gives one; else the known name of its VID:PID.
    pub model: Option<String>,
    pub baud: u32,
    pub framing: Framing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// The unit sends valid sentences at this speed.
    Docked(UnitInfo),
    /// A checksum-valid sentence.
    Sentence {
        port: String,
        line: OwnedLine,
    },
    Rejected {
        port: String,
        cause: Reject,
    },
    /// The port went away (EOF or error), or never opened; the watcher will open it again
    /// when it is listed again.
    Undocked {
        port: String,
        reason: UndockReason,
    },
}

impl DeviceEvent {
    pub fn port(&self) -> &str {
        match self {
            DeviceEvent::Docked(info) => &info.port,
            DeviceEvent::Sentence { port, .. }
            | DeviceEvent::Rejected { port, .. }
            | DeviceEvent::Undocked { port, .. } => port,
        }
    }
}
