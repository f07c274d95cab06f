//! `gps-bridge run`: the daemon. One task or thread per concern:
//! - the device watcher (a thread, with one reader thread per docked unit);
//! - the recorder (a thread: the dock, the survey store, the plot checks into the outbox);
//! - the control socket, the uploader, the layer sync, the heartbeat and the systemd watchdog
//!   (tasks).
//!
//! READY is sent once the stores are open (the outbox's pending plots are the uploader's first
//! work) and the control socket listens. On SIGTERM or SIGINT the daemon drains: the control
//! socket stops accepting, the device readers stop and their last sentences are recorded, a
//! corner being marked is recorded from the fixes it has, the uploader drops any attempt in
//! flight (its plot stays pending, to be sent again with the same key); then it exits.

mod heartbeat;
mod plots;
mod recorder;
mod systemd;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use protocol::backoff::Backoff;
use protocol::client::{Client, ClientConfig};
use protocol::devices::DockedUnit;
use tokio::sync::{Notify, mpsc, watch};

use crate::config::Config;
use crate::control;
use crate::device::{ReaderSettings, watch as watch_devices};
use crate::dock::{Dock, DockSettings};
use crate::health::Health;
use crate::layers::sync::LayerSync;
use crate::layers::{LayerCache, LayerIndex, SitePlane};
use crate::nmea::FramerConfig;
use crate::outbox::Outbox;
use crate::outbox::upload::{UploadSettings, Uploader};
use crate::survey::SurveyStore;
pub use plots::{Checking, Identity, PlotStage, plot_of};
use recorder::{Input, Recorder};

/// What the recorder publishes for the heartbeat, the watchdog and systemd's status line.
#[derive(Debug, Default)]
pub struct Shared {
    docked: Mutex<Vec<DockedUnit>>,
    marking: Mutex<Option<String>>,
    /// Milliseconds since start at the recorder's last tick.
    pub alive_ms: AtomicU64,
    /// Marked corners waiting for `close-plot`.
    pub open_marks: AtomicU64,
    pub pending: AtomicU64,
}

impl Shared {
    pub fn set_docked(&self, units: Vec<DockedUnit>) {
        *self.docked.lock().unwrap_or_else(PoisonError::into_inner) = units;
    }

    pub fn docked(&self) -> Vec<DockedUnit> {
        self.docked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_marking(&self, corner: Option<String>) {
        *self.marking.lock().unwrap_or_else(PoisonError::into_inner) = corner;
    }

    /// `STATUS=`: the docked ports, the corner being marked, the corners marked, the plots
    /// waiting.
    pub fn status_line(&self) -> String {
        let docked = self.docked();
        let ports: Vec<&str> = docked.iter().map(|u| u.port.as_str()).collect();
        let marking = self
            .marking
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        format!(
            "docked: {}; marking: {}; corners marked: {}; plots waiting: {}",
            if ports.is_empty() {
                "none".to_owned()
            } else {
                ports.join(", ")
            },
            marking.as_deref().unwrap_or("none"),
            self.open_marks.load(Ordering::Relaxed),
            self.pending.load(Ordering::Relaxed)
        )
    }
}

/// Ticks of the recorder's clock (capture deadlines, route timeouts, new candidates).
const TICK: Duration = Duration::from_millis(250);

fn upstream_client(config: &Config) -> anyhow::Result<Option<Client>> {
    if config.upstream.url.is_empty() {
        return Ok(None);
    }
    let mut client = ClientConfig::new(url::Url::parse(&config.upstream.url)?);
    client.token = (!config.upstream.token.is_empty()).then(|| config.upstream.token.clone());
    client.timeout = Duration::from_secs_f64(config.upstream.timeout_s);
    client.user_agent = concat!("land-hall-gps-bridge/", env!("CARGO_PKG_VERSION")).to_owned();
    Ok(Some(Client::new(client)?))
}

/// Runs until `shutdown` resolves, then drains and returns.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let started = Instant::now();
    let health = Health::default();
    let shared = Arc::new(Shared::default());
    let store = SurveyStore::open(&config.database)?;
    let outbox = Arc::new(Mutex::new(Outbox::open(&config.outbox_path())?));
    let pending = outbox
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .counts()?
        .pending;
    let plane = Arc::new(SitePlane::new(config.projection.zone));
    let cache = LayerCache::open(&config.layers_path(), plane.as_ref())?;
    let layers = Arc::new(RwLock::new(LayerIndex::build(
        cache.load()?,
        cache.freshness()?,
    )));
    let cache = Arc::new(Mutex::new(cache));
    let client = upstream_client(&config)?;
    let listener = control::bind(&config.socket_path())?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let wake_uploader = Arc::new(Notify::new());
    let sync_layers = Arc::new(Notify::new());

    // Bounded: a flooding unit blocks its own reader thread, never grows memory.
    let (inputs, input_rx) = mpsc::channel::<Input>(1024);
    let recorder = Recorder {
        dock: Dock::new(DockSettings::from_config(&config)),
        store,
        plots: PlotStage::new(
            outbox.clone(),
            wake_uploader.clone(),
            Identity {
                device_id: config.upstream.device_id.clone(),
                office_id: config.upstream.office_id.clone(),
            },
            Checking {
                settings: config.plot_settings(),
                layers: layers.clone(),
                plane: plane.clone(),
                layers_from_upstream: client.is_some(),
            },
            health.clone(),
        ),
        shared: shared.clone(),
        health: health.clone(),
        started,
    };
    let recorder = std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || recorder.run(input_rx))
        .context("starting the recorder")?;

    let stop_devices = Arc::new(AtomicBool::new(false));
    let watcher = {
        let settings = ReaderSettings {
            lines: config.serial.baud.lines(),
            hunt_timeout: config.serial.hunt_timeout(),
            framer: FramerConfig {
                accept_missing_checksum: config.nmea.accept_missing_checksum,
            },
        };
        let allowed = config.serial.allowed_ids()?;
        let (ports, interval, stop, inputs) = (
            config.serial.ports.clone(),
            config.serial.scan_interval(),
            stop_devices.clone(),
            inputs.clone(),
        );
        std::thread::Builder::new()
            .name("devices".into())
            .spawn(move || watch_devices(allowed, ports, settings, interval, inputs, stop))
            .context("starting the device watcher")?
    };

    let (calls, mut call_rx) = mpsc::channel::<control::Call<crate::dock::Reply>>(16);
    let control_stop = stop_rx.clone();
    let server = tokio::spawn(control::serve(listener, calls, async move {
        let mut stop = control_stop;
        let _ = stop.wait_for(|s| *s).await;
    }));
    let forward_calls = {
        let inputs = inputs.clone();
        tokio::spawn(async move {
            while let Some((request, reply)) = call_rx.recv().await {
                if inputs.send(Input::Call(request, reply)).await.is_err() {
                    break;
                }
            }
        })
    };
    let ticker = {
        let (inputs, mut stop) = (inputs.clone(), stop_rx.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        // A full channel means the recorder is busy; the next tick will do.
                        let _ = inputs.try_send(Input::Tick);
                    }
                    _ = stop.changed() => break,
                }
            }
        })
    };

    let mut tasks = Vec::new();
    match &client {
        Some(client) => {
            let settings = UploadSettings {
                backoff: Backoff {
                    base: Duration::from_secs_f64(config.upload.retry_initial_s),
                    cap: Duration::from_secs_f64(config.upload.retry_max_s),
                },
            };
            let uploader = Uploader::new(
                client.clone(),
                outbox.clone(),
                settings,
                wake_uploader.clone(),
                health.clone(),
            );
            tasks.push(tokio::spawn(uploader.run(stop_rx.clone())));
            let heartbeats = heartbeat::Heartbeats {
                client: client.clone(),
                device_id: config.upstream.device_id.clone(),
                office_id: config.upstream.office_id.clone(),
                interval: Duration::from_secs_f64(config.heartbeat.interval_s),
                shared: shared.clone(),
                outbox: outbox.clone(),
                health: health.clone(),
                sync_layers: sync_layers.clone(),
                data_dir: config
                    .database
                    .parent()
                    .map_or_else(|| PathBuf::from("."), PathBuf::from),
                started,
            };
            tasks.push(tokio::spawn(heartbeats.run(stop_rx.clone())));
            let sync = LayerSync {
                client: client.clone(),
                cache: cache.clone(),
                index: layers.clone(),
                plane: plane.clone(),
                page_size: config.layers.page_size,
                health: health.clone(),
            };
            tasks.push(tokio::spawn(sync.run(
                Duration::from_secs_f64(config.layers.sync_interval_s),
                sync_layers.clone(),
                stop_rx.clone(),
            )));
        }
        None => tracing::warn!(
            "no upstream.url configured: plots wait in the outbox and the layers are not synced"
        ),
    }
    tasks.push(tokio::spawn(systemd::watchdog(
        shared.clone(),
        started,
        stop_rx.clone(),
    )));
    let cached = layers.read().unwrap_or_else(PoisonError::into_inner).len();
    tracing::info!(socket = %config.socket_path().display(), pending, cached_features = cached, "gps-bridge running");
    shared.pending.store(u64::from(pending), Ordering::Relaxed);
    systemd::ready(&shared.status_line());

    shutdown.await;
    tracing::info!("stopping: draining");
    systemd::stopping();
    let _ = stop_tx.send(true);
    stop_devices.store(true, Ordering::Relaxed);
    // The readers stop within a read timeout; their last events are queued before Stop.
    let _ = tokio::task::spawn_blocking(move || watcher.join()).await;
    let _ = inputs.send(Input::Stop).await;
    drop(inputs);
    let _ = tokio::task::spawn_blocking(move || recorder.join()).await;
    forward_calls.abort();
    let _ = server.await;
    let _ = ticker.await;
    for task in tasks {
        let _ = task.await;
    }
    let _ = std::fs::remove_file(config.socket_path());
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM (systemd's stop) or SIGINT (Ctrl-C).
pub async fn stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM"),
        _ = int.recv() => tracing::info!("SIGINT"),
    }
    Ok(())
}
