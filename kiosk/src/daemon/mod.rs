//! The data plane running: case sync, content polling, heartbeats and rating delivery.
//!
//! Each loop is a task of its own with a mirror connection of its own, and all their SQLite
//! and file work runs on tokio's blocking pool ([`AsyncMirror`]), so a content apply never
//! holds up a heartbeat or a case page; SQLite's WAL lets them and the UI read while one
//! writes.
//!
//! Faults: a part that fails — upstream down, a release refused, the mirror or the blob
//! store not writable (a full or failing disk) — records its fault and tries again with
//! backoff; the data plane does not stop. A kiosk that shows the data it has with a notice
//! that it may be stale serves the hall better than a blank screen, and every write is one
//! transaction (a feed page with its cursor, a whole release), so a failing mirror is never
//! half-applied. The fault shows in [`DataPlane::health`] (the screen) and in the heartbeat
//! (the fleet view), even when the mirror cannot store it. Only what prevents serving at
//! all ends the data plane: a mirror that cannot be opened ([`DataPlane::prepare`] fails).

mod health;
mod lock;
mod systemd;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use protocol::client::Client;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::backoff::Backoff;
use crate::config::Config;
use crate::content::{ContentSync, open_local};
use crate::error::{Error, Result};
use crate::heartbeat::{self, CommandTargets, Heartbeats, ScreenSource};
use crate::mirror::{AsyncMirror, Durability, FaultSource};
use crate::ratings;
use crate::sync::cases::CaseSync;

pub use health::Health;
pub use lock::DataDirLock;

/// The data plane of one kiosk: prepared once, then run until shutdown.
pub struct DataPlane {
    shared: Arc<Shared>,
    _lock: DataDirLock,
}

/// What the loops share.
struct Shared {
    config: Config,
    client: Client,
    content: ContentSync,
    heartbeats: Heartbeats,
    health: watch::Sender<Health>,
    started: Instant,
}

impl Shared {
    fn record<T>(&self, source: FaultSource, outcome: &Result<T>) {
        let now = Utc::now();
        self.health
            .send_if_modified(|health| health.record(source, outcome, now));
    }

    async fn open_mirror(&self) -> Result<AsyncMirror> {
        AsyncMirror::open(&self.config.mirror_path(), Durability::Synced).await
    }
}

/// How long to wait after a round: the interval after success, a growing backoff after
/// consecutive failures.
fn next_wait(outcome: &Result<impl Sized>, failures: &mut u32, interval: Duration) -> Duration {
    match outcome {
        Ok(_) => {
            *failures = 0;
            interval
        }
        Err(_) => {
            *failures += 1;
            Backoff::DEFAULT
                .delay(*failures - 1, rand::random())
                .min(interval.max(Duration::from_secs(1)) * 10)
        }
    }
}

/// Opens a loop's mirror connection, retrying with backoff: a mirror that could be opened at
/// start but not now (a disk gone read-only) is a fault of that part, not the end.
async fn open_retrying(shared: &Shared, source: FaultSource) -> AsyncMirror {
    let mut failures = 0;
    loop {
        let opened = shared.open_mirror().await;
        let wait = next_wait(&opened, &mut failures, Duration::from_secs(1));
        match opened {
            // The part's fault (one from before a restart, say) stays until its first
            // round says otherwise.
            Ok(mirror) => return mirror,
            Err(e) => {
                tracing::warn!(part = source.as_str(), error = %e, "cannot open the mirror");
                shared.record::<()>(source, &Err(e));
            }
        }
        tokio::time::sleep(wait).await;
    }
}

async fn cases_loop(shared: Arc<Shared>) {
    let sync = CaseSync::new(
        shared.client.clone(),
        &shared.config.mirror_path(),
        &shared.config.hall_id,
        shared.config.page_size,
    );
    let reader = open_retrying(&shared, FaultSource::Cases).await;
    let mut failures = 0;
    loop {
        let outcome = sync.run_once().await;
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "case sync failed");
        }
        shared.record(FaultSource::Cases, &outcome);
        match reader.run(|m| m.freshness(Utc::now())).await {
            Ok(freshness) => {
                shared
                    .health
                    .send_modify(|health| health.freshness = Some(freshness));
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the case data's freshness"),
        }
        let wait = next_wait(&outcome, &mut failures, shared.config.sync_interval);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shared.heartbeats.targets.sync_now.notified() => {}
        }
    }
}

async fn content_loop(shared: Arc<Shared>) {
    let mirror = open_retrying(&shared, FaultSource::Content).await;
    let mut failures = 0;
    let mut force = false;
    loop {
        let outcome = shared.content.poll(&mirror, force, Utc::now()).await;
        shared.record(FaultSource::Content, &outcome);
        let wait = next_wait(&outcome, &mut failures, shared.config.content_interval);
        force = tokio::select! {
            () = tokio::time::sleep(wait) => false,
            () = shared.heartbeats.targets.reload_content.notified() => true,
        };
    }
}

/// Heartbeats keep a steady pace through an outage: the fleet view's "last seen" is what
/// tells an administrator a kiosk is off the network.
async fn heartbeat_loop(shared: Arc<Shared>) {
    let mirror = open_retrying(&shared, FaultSource::Heartbeat).await;
    loop {
        let faults = shared.health.borrow().faults.clone();
        let uptime_s = shared.started.elapsed().as_secs();
        let outcome = shared
            .heartbeats
            .beat(&mirror, uptime_s, faults, Utc::now())
            .await;
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "heartbeat failed");
        }
        shared.record(FaultSource::Heartbeat, &outcome);
        tokio::time::sleep(shared.config.heartbeat_interval).await;
    }
}

async fn ratings_loop(shared: Arc<Shared>) {
    let mirror = open_retrying(&shared, FaultSource::Ratings).await;
    loop {
        let outcome = ratings::deliver(&shared.client, &mirror, Utc::now()).await;
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "rating delivery failed");
        }
        shared.record(FaultSource::Ratings, &outcome);
        tokio::time::sleep(shared.config.ratings_interval).await;
    }
}

impl DataPlane {
    /// Prepares the data folder and mirror: takes the folder's lock ([`DataDirLock`]: one
    /// kiosk per folder, [`Error::KioskRunning`] if another holds it), creates them, reports
    /// commands a restart cut off, and installs the built-in sample content on a kiosk that
    /// never synced. Fails when the mirror cannot be opened: without it the kiosk has nothing
    /// to serve.
    pub fn prepare(config: Config, screen: Arc<dyn ScreenSource>) -> Result<Self> {
        let lock = DataDirLock::acquire(&config.data_dir)?;
        let now = Utc::now();
        let (mirror, store) = open_local(&config, now)?;
        heartbeat::fail_interrupted(&mirror)?;
        let mut health = Health::starting(mirror.faults()?, Some(mirror.freshness(now)?));
        // The site fault lives in the health (screen, heartbeat) whatever the disk does, and
        // in the mirror for `kiosk status` when it can be written.
        health.set_site_fault(config.site_fault.as_deref(), now);
        let stored = match &config.site_fault {
            Some(fault) => mirror.record_fault(FaultSource::Site, fault, now),
            None => mirror.clear_fault(FaultSource::Site),
        };
        if let Err(e) = stored {
            tracing::warn!(error = %e, "the site settings' fault could not be stored in the mirror");
        }
        let client = config.client()?;
        let content = ContentSync::new(client.clone(), config.trusted_keys.clone(), store);
        let heartbeats = Heartbeats {
            client: client.clone(),
            device_id: config.device_id.clone(),
            hall_id: config.hall_id.clone(),
            targets: CommandTargets {
                sync_now: Arc::new(Notify::new()),
                reload_content: Arc::new(Notify::new()),
                screen,
            },
        };
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                client,
                content,
                heartbeats,
                health: watch::Sender::new(health),
                started: Instant::now(),
            }),
            _lock: lock,
        })
    }

    /// Ticks after each applied content release: the UI reloads its pages.
    pub fn content_changes(&self) -> watch::Receiver<u64> {
        self.shared.content.subscribe()
    }

    /// The data plane's health (freshness, each part's latest fault, whether the mirror can
    /// be written), updated after every round of every loop.
    pub fn health(&self) -> watch::Receiver<Health> {
        self.shared.health.subscribe()
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    pub fn content(&self) -> &ContentSync {
        &self.shared.content
    }

    pub fn case_sync(&self) -> CaseSync {
        CaseSync::new(
            self.shared.client.clone(),
            &self.shared.config.mirror_path(),
            &self.shared.config.hall_id,
            self.shared.config.page_size,
        )
    }

    /// Runs every loop, each its own task, until `shutdown` completes. The loops do not end
    /// on faults (see the module documentation); a loop that ends anyway (a bug: it
    /// panicked) ends the data plane with an error, so that systemd restarts it.
    ///
    /// Under systemd (`Type=notify`) it sends `READY=1` once the loops run (the mirror was
    /// opened by [`DataPlane::prepare`]), `WATCHDOG=1` every half `WatchdogSec=` while every
    /// loop runs, and `STOPPING=1` when `shutdown` completes.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let mut loops = JoinSet::new();
        let s = &self.shared;
        let (cases, content) = (s.clone(), s.clone());
        let (heartbeat, ratings) = (s.clone(), s.clone());
        let handles = vec![
            loops.spawn(async move {
                cases_loop(cases).await;
                "case sync"
            }),
            loops.spawn(async move {
                content_loop(content).await;
                "content"
            }),
            loops.spawn(async move {
                heartbeat_loop(heartbeat).await;
                "heartbeat"
            }),
            loops.spawn(async move {
                ratings_loop(ratings).await;
                "ratings"
            }),
        ];
        let watchdog = systemd::watchdog_interval()
            .map(|every| tokio::spawn(systemd::watchdog(every, handles, systemd::ping_watchdog)));
        systemd::ready();
        let outcome = tokio::select! {
            () = shutdown => {
                systemd::stopping();
                Ok(())
            }
            ended = loops.join_next() => Err(match ended {
                Some(Ok(name)) => Error::Invalid(format!("the {name} loop ended")),
                Some(Err(e)) => Error::Invalid(format!("a data plane loop stopped: {e}")),
                None => Error::Invalid("no data plane loop ran".into()),
            }),
        };
        // Work already on the blocking pool finishes there (a transaction commits or rolls
        // back whole); the loops stop at their next await.
        if let Some(watchdog) = watchdog {
            watchdog.abort();
        }
        loops.shutdown().await;
        outcome
    }
}
