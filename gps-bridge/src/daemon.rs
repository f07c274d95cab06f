//! `gps-bridge run`: wires the device watcher, the control socket and the bridge together.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::bridge::{Bridge, BridgeSettings};
use crate::config::Config;
use crate::control;
use crate::device::{ReaderSettings, watch};
use crate::nmea::FramerConfig;
use crate::survey::SurveyStore;

/// Runs until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let store = SurveyStore::open(&config.database)?;
    let listener = control::bind(&config.socket_path())?;
    let mut bridge = Bridge::new(BridgeSettings::from_config(&config), store);

    // Bounded: a flooding unit blocks its own reader thread, never grows memory.
    let (device_tx, mut device_rx) = mpsc::channel(1024);
    let (request_tx, mut request_rx) = mpsc::channel(16);
    let stop = Arc::new(AtomicBool::new(false));
    let settings = ReaderSettings {
        lines: config.serial.baud.lines(),
        hunt_timeout: config.serial.hunt_timeout(),
        framer: FramerConfig {
            accept_missing_checksum: config.nmea.accept_missing_checksum,
        },
    };
    let watcher = {
        let allowed = config.serial.allowed_ids()?;
        let (ports, interval, stop) = (
            config.serial.ports.clone(),
            config.serial.scan_interval(),
            stop.clone(),
        );
        std::thread::spawn(move || watch(allowed, ports, settings, interval, device_tx, stop))
    };
    let server = tokio::spawn(control::serve(listener, request_tx));
    tracing::info!(socket = %config.socket_path().display(), "gps-bridge running");

    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            Some(event) = device_rx.recv() => bridge.handle_device(event, Instant::now()),
            Some((request, reply)) = request_rx.recv() => bridge.handle_request(request, reply, Instant::now()),
            _ = tick.tick() => bridge.handle_tick(Instant::now()),
            () = &mut shutdown => break,
        }
    }
    server.abort();
    stop.store(true, Ordering::Relaxed);
    // Readers may be blocked sending to a full channel: keep draining while they stop.
    while !watcher.is_finished() {
        while let Ok(event) = device_rx.try_recv() {
            bridge.handle_device(event, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while let Ok(event) = device_rx.try_recv() {
        bridge.handle_device(event, Instant::now());
    }
    let _ = std::fs::remove_file(config.socket_path());
    Ok(())
}
