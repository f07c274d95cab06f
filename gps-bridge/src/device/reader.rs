//! Reads one port until it goes away: opens it, finds the baud rate if asked to, and turns the
//! byte stream into [`DeviceEvent`]s.

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

/// Reads `candidate` until EOF, a read error, `stop`, or the event channel closing; returns why
/// it ended. The port is opened read-only: nothing is ever sent to a unit.
pub fn read_port(
    candidate: &PortCandidate,
    settings: &ReaderSettings,
    events: &Sender<DeviceEvent>,
    stop: &AtomicBool,
) -> String {
    let Some(&(first_baud, first_framing)) = settings.lines.first() else {
        return "no baud rate configured".to_owned();
    };
    let mut port = match ReadOnlyTty::open(candidate.path.as_ref(), first_baud, first_framing) {
        Ok(port) => port,
        Err(e) => return format!("open failed: {e}"),
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
    if locked && events.blocking_send(info(settings.lines[0])).is_err() {
        return "bridge stopped".to_owned();
    }
    let mut framer = Framer::new(settings.framer);
    let mut buf = [0u8; 1024];
    let mut hunt_deadline = Instant::now() + settings.hunt_timeout;
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match port.read_timeout(&mut buf, READ_TIMEOUT) {
            Ok(ReadOutcome::Closed) => return "end of file".to_owned(),
            Ok(ReadOutcome::Idle) => {}
            Ok(ReadOutcome::Bytes(n)) => framer.push(&buf[..n], |r| {
                out.push(match r {
                    Ok(line) => DeviceEvent::Sentence {
                        port: candidate.path.clone(),
                        raw: line.raw().to_owned(),
                    },
                    Err(cause) => DeviceEvent::Rejected {
                        port: candidate.path.clone(),
                        cause,
                    },
                })
            }),
            Err(e) => return format!("read error: {e}"),
        }
        if !locked {
            if out
                .iter()
                .any(|e| matches!(e, DeviceEvent::Sentence { .. }))
            {
                locked = true;
                if events
                    .blocking_send(info(settings.lines[line_index]))
                    .is_err()
                {
                    return "bridge stopped".to_owned();
                }
                // Noise before the first sentence at the right speed is line noise from the
                // wrong speeds, not a fault of the unit.
                out.retain(|e| matches!(e, DeviceEvent::Sentence { .. }));
            } else if Instant::now() >= hunt_deadline {
                line_index = (line_index + 1) % settings.lines.len();
                let (baud, framing) = settings.lines[line_index];
                if let Err(e) = port.set_line(baud, framing) {
                    return format!("cannot set {baud} baud {framing}: {e}");
                }
                framer.reset();
                hunt_deadline = Instant::now() + settings.hunt_timeout;
            }
        }
        if locked {
            for event in out.drain(..) {
                if events.blocking_send(event).is_err() {
                    return "bridge stopped".to_owned();
                }
            }
        }
        out.clear();
    }
    "stopped".to_owned()
}
