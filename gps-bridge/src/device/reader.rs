//! Reads one port until it goes away: opens it, finds the baud rate if asked to, and turns the
//! byte stream into [`DeviceEvent`]s.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;

use super::tty::{Framing, ReadOnlyTty, ReadOutcome};
use super::{DeviceEvent, PortCandidate, UnitInfo};
use crate::nmea::{Framer, FramerConfig};

#[derive(Debug, Clone)]
pub struct ReaderSettings {
    /// One line setting, or the settings to hunt through in order (see
    /// [`crate::config::Baud::lines`]).
    pub lines: Vec<(u32, Framing)>,
    /// Hunting moves on after this long without a valid sentence.
    pub hunt_timeout: Duration,
    pub framer: FramerConfig,
}

/// How long one read waits: also how fast a stop request is noticed.
const READ_TIMEOUT: Duration = Duration::from_millis(200);

/// Why reading a port ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndockReason {
    NoBaudConfigured,
    OpenFailed(String),
    LineSetting(String),
    EndOfFile,
    ReadError(String),
    /// The bridge is shutting down.
    Stopped,
}

impl UndockReason {
    /// Stable snake_case name, for logs limited per cause.
    pub fn cause(&self) -> &'static str {
        match self {
            UndockReason::NoBaudConfigured => "no_baud_configured",
            UndockReason::OpenFailed(_) => "open_failed",
            UndockReason::LineSetting(_) => "line_setting_failed",
            UndockReason::EndOfFile => "end_of_file",
            UndockReason::ReadError(_) => "read_error",
            UndockReason::Stopped => "stopped",
        }
    }
}

impl fmt::Display for UndockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UndockReason::OpenFailed(e) => write!(f, "open failed: {e}"),
            UndockReason::LineSetting(e) => write!(f, "cannot set the line: {e}"),
            UndockReason::ReadError(e) => write!(f, "read error: {e}"),
            other => f.write_str(&other.cause().replace('_', " ")),
        }
    }
}

/// Reads `candidate` until EOF, a read error, `stop`, or the event channel closing; returns why
/// it ended. The port is opened read-only: nothing is ever sent to a unit.
pub fn read_port<E: From<DeviceEvent>>(
    candidate: &PortCandidate,
    settings: &ReaderSettings,
    events: &Sender<E>,
    stop: &AtomicBool,
) -> UndockReason {
    let Some(&(first_baud, first_framing)) = settings.lines.first() else {
        return UndockReason::NoBaudConfigured;
    };
    let mut port = match ReadOnlyTty::open(candidate.path.as_ref(), first_baud, first_framing) {
        Ok(port) => port,
        Err(e) => return UndockReason::OpenFailed(e.to_string()),
    };
    let hunting = settings.lines.len() > 1;
    let mut line_index = 0;
    let mut locked = !hunting;
    let info = |(baud, framing)| {
        DeviceEvent::Docked(UnitInfo {
            port: candidate.path.clone(),
            vid: candidate.vid,
            pid: candidate.pid,
            model: candidate.model.clone(),
            baud,
            framing,
        })
    };
    if locked
        && events
            .blocking_send(info(settings.lines[0]).into())
            .is_err()
    {
        return UndockReason::Stopped;
    }
    let mut framer = Framer::new(settings.framer);
    let mut buf = [0u8; 1024];
    let mut hunt_deadline = Instant::now() + settings.hunt_timeout;
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match port.read_timeout(&mut buf, READ_TIMEOUT) {
            Ok(ReadOutcome::Closed) => return UndockReason::EndOfFile,
            Ok(ReadOutcome::Idle) => {}
            Ok(ReadOutcome::Bytes(n)) => framer.push(&buf[..n], |r| {
                out.push(match r {
                    Ok(line) => DeviceEvent::Sentence {
                        port: candidate.path.clone(),
                        line: line.into(),
                    },
                    Err(cause) => DeviceEvent::Rejected {
                        port: candidate.path.clone(),
                        cause,
                    },
                })
            }),
            Err(e) => return UndockReason::ReadError(e.to_string()),
        }
        if !locked {
            if out
                .iter()
                .any(|e| matches!(e, DeviceEvent::Sentence { .. }))
            {
                locked = true;
                if events
                    .blocking_send(info(settings.lines[line_index]).into())
                    .is_err()
                {
                    return UndockReason::Stopped;
                }
                // Noise before the first sentence at the right speed is line noise from the
                // wrong speeds, not a fault of the unit.
                out.retain(|e| matches!(e, DeviceEvent::Sentence { .. }));
            } else if Instant::now() >= hunt_deadline {
                line_index = (line_index + 1) % settings.lines.len();
                let (baud, framing) = settings.lines[line_index];
                if let Err(e) = port.set_line(baud, framing) {
                    return UndockReason::LineSetting(format!("{baud} baud {framing}: {e}"));
                }
                framer.reset();
                hunt_deadline = Instant::now() + settings.hunt_timeout;
            }
        }
        if locked {
            for event in out.drain(..) {
                if events.blocking_send(event.into()).is_err() {
                    return UndockReason::Stopped;
                }
            }
        }
        out.clear();
    }
    UndockReason::Stopped
}
