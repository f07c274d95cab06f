//! Notices docking and undocking: rescans the port list every few seconds (never in a tight
//! loop) and runs one reader thread per docked unit. An unplugged unit's reader ends on EOF or
//! a read error; the port is opened again when it reappears.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;

use super::{DeviceEvent, ReaderSettings, discover, read_port};
use crate::log_limit::LogLimiter;

/// Watches until `stop` is set; returns after every reader has ended.
pub fn watch<E: From<DeviceEvent> + Send + 'static>(
    allowed: Vec<(u16, u16)>,
    configured: Vec<PathBuf>,
    settings: ReaderSettings,
    scan_interval: Duration,
    events: Sender<E>,
    stop: Arc<AtomicBool>,
) {
    let active: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut readers = Vec::new();
    let mut log = LogLimiter::default();
    while !stop.load(Ordering::Relaxed) {
        for candidate in discover(&allowed, &configured) {
            let newly_active = active
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(candidate.path.clone());
            if !newly_active {
                continue;
            }
            // A port that fails to open is tried again every scan: say so once a minute.
            if log.allow(&candidate.path, "opening", Instant::now()) {
                tracing::info!(port = %candidate.path, "opening receiver port (logged once a minute per port)");
            }
            let (settings, events, stop, active) = (
                settings.clone(),
                events.clone(),
                stop.clone(),
                active.clone(),
            );
            readers.push(thread::spawn(move || {
                let reason = read_port(&candidate, &settings, &events, &stop);
                // The bridge logs why (if it is still there to be told).
                let _ = events.blocking_send(
                    DeviceEvent::Undocked {
                        port: candidate.path.clone(),
                        reason,
                    }
                    .into(),
                );
                active
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&candidate.path);
            }));
        }
        readers.retain(|r: &thread::JoinHandle<()>| !r.is_finished());
        thread::sleep(scan_interval);
    }
    for reader in readers {
        let _ = reader.join();
    }
}
