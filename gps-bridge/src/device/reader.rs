//! Reads one port until it goes away: opens it, finds the baud rate if asked to, and turns the
//! byte stream into [`DeviceEvent`]s.

use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serialport::SerialPort;
use tokio::sync::mpsc::Sender;

use super::{DeviceEvent, PortCandidate, UnitInfo};
use crate::nmea::{Framer, FramerConfig};

#[derive(Debug, Clone)]
pub struct ReaderSettings {
    /// One speed, or the speeds to hunt through in order.
    pub bauds: Vec<u32>,
    /// Hunting moves on after this long without a valid sentence.
    pub hunt_timeout: Duration,
    pub framer: FramerConfig,
}

/// How long one read waits: also how fast a stop request is noticed.
const READ_TIMEOUT: Duration = Duration::from_millis(200);

/// Reads `candidate` until EOF, a read error, `stop`, or the event channel closing; returns why
/// it ended. The port is never written to.
pub fn read_port(
    candidate: &PortCandidate,
    settings: &ReaderSettings,
    events: &Sender<DeviceEvent>,
    stop: &AtomicBool,
) -> String {
    let Some(&first_baud) = settings.bauds.first() else {
        return "no baud rate configured".to_owned();
    };
    let mut port = match serialport::new(&candidate.path, first_baud)
        .timeout(READ_TIMEOUT)
        .open_native()
    {
        Ok(port) => port,
        Err(e) => return format!("open failed: {e}"),
    };
    let hunting = settings.bauds.len() > 1;
    let mut baud_index = 0;
    let mut locked = !hunting;
    let info = |baud| {
        DeviceEvent::Docked(UnitInfo {
            port: candidate.path.clone(),
            vid: candidate.vid,
            pid: candidate.pid,
            model: candidate.model.clone(),
            baud,
        })
    };
    if locked && events.blocking_send(info(first_baud)).is_err() {
        return "bridge stopped".to_owned();
    }
    let mut framer = Framer::new(settings.framer);
    let mut buf = [0u8; 1024];
    let mut hunt_deadline = Instant::now() + settings.hunt_timeout;
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match port.read(&mut buf) {
            Ok(0) => return "end of file".to_owned(),
            Ok(n) => framer.push(&buf[..n], |r| {
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
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return format!("read error: {e}"),
        }
        if !locked {
            if out
                .iter()
                .any(|e| matches!(e, DeviceEvent::Sentence { .. }))
            {
                locked = true;
                if events
                    .blocking_send(info(settings.bauds[baud_index]))
                    .is_err()
                {
                    return "bridge stopped".to_owned();
                }
                // Noise before the first sentence at the right speed is line noise from the
                // wrong speeds, not a fault of the unit.
                out.retain(|e| matches!(e, DeviceEvent::Sentence { .. }));
            } else if Instant::now() >= hunt_deadline {
                baud_index = (baud_index + 1) % settings.bauds.len();
                if let Err(e) = port.set_baud_rate(settings.bauds[baud_index]) {
                    return format!("cannot set {} baud: {e}", settings.bauds[baud_index]);
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
