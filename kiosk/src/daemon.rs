//! The data plane running: case sync, content polling, heartbeats and rating delivery, each a
//! loop on its own timer. They run as one task (joined futures), each loop with its own
//! mirror connection; SQLite's WAL lets them and the UI read while one writes.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use protocol::client::Client;
use tokio::sync::{Notify, watch};

use crate::backoff::Backoff;
use crate::config::Config;
use crate::content::{ContentSync, open_local};
use crate::error::Result;
use crate::heartbeat::{self, CommandTargets, ScreenSource};
use crate::mirror::{FaultSource, Mirror};
use crate::ratings;
use crate::sync::cases::CaseSync;

pub struct DataPlane {
    config: Config,
    client: Client,
    content: ContentSync,
    targets: CommandTargets,
    started: Instant,
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

/// Runs `round` every `interval` for good, logging its failures: for the loops that keep a
/// steady pace through an outage (each round records its own fault).
async fn every<T, F: Future<Output = Result<T>>>(
    what: &str,
    interval: Duration,
    mut round: impl FnMut() -> F,
) -> Result<()> {
    loop {
        if let Err(e) = round().await {
            tracing::warn!(error = %e, "{what} failed");
        }
        tokio::time::sleep(interval).await;
    }
}

impl DataPlane {
    /// Prepares the data folder and mirror: creates them, reports commands a restart cut off,
    /// and installs the built-in sample content on a kiosk that never synced.
    pub fn prepare(config: Config, screen: Arc<dyn ScreenSource>) -> Result<Self> {
        let (mirror, store) = open_local(&config, Utc::now())?;
        heartbeat::fail_interrupted(&mirror)?;
        let site = match &config.site_fault {
            Some(fault) => mirror.record_fault(FaultSource::Site, fault, Utc::now()),
            None => mirror.clear_fault(FaultSource::Site),
        };
        if let Err(e) = site {
            // The kiosk comes up all the same; the screen shows the fault from the config.
            tracing::warn!(error = %e, "recording the site settings' fault failed");
        }
        let client = config.client()?;
        let content = ContentSync::new(client.clone(), config.trusted_keys.clone(), store);
        Ok(Self {
            config,
            client,
            content,
            targets: CommandTargets {
                sync_now: Arc::new(Notify::new()),
                reload_content: Arc::new(Notify::new()),
                screen,
            },
            started: Instant::now(),
        })
    }

    /// Ticks after each applied content release: the UI reloads its pages.
    pub fn content_changes(&self) -> watch::Receiver<u64> {
        self.content.subscribe()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn content(&self) -> &ContentSync {
        &self.content
    }

    pub fn case_sync(&self) -> CaseSync {
        CaseSync::new(
            self.client.clone(),
            &self.config.mirror_path(),
            &self.config.hall_id,
            self.config.page_size,
        )
    }

    async fn cases_loop(&self) -> Result<()> {
        let sync = self.case_sync();
        let mut failures = 0;
        loop {
            let outcome = sync.run_once().await;
            if let Err(e) = &outcome {
                tracing::warn!(error = %e, "case sync failed");
            }
            let wait = next_wait(&outcome, &mut failures, self.config.sync_interval);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.targets.sync_now.notified() => {}
            }
        }
    }

    async fn content_loop(&self) -> Result<()> {
        let mut mirror = Mirror::open(&self.config.mirror_path())?;
        let mut failures = 0;
        let mut force = false;
        loop {
            let outcome = self.content.poll(&mut mirror, force, Utc::now()).await;
            let wait = next_wait(&outcome, &mut failures, self.config.content_interval);
            force = tokio::select! {
                () = tokio::time::sleep(wait) => false,
                () = self.targets.reload_content.notified() => true,
            };
        }
    }

    async fn heartbeat_loop(&self) -> Result<()> {
        let mirror = Mirror::open(&self.config.mirror_path())?;
        every("heartbeat", self.config.heartbeat_interval, || {
            heartbeat::beat(
                &self.client,
                &mirror,
                &self.config.device_id,
                &self.config.hall_id,
                self.started.elapsed().as_secs(),
                &self.targets,
                Utc::now(),
            )
        })
        .await
    }

    async fn ratings_loop(&self) -> Result<()> {
        let mirror = Mirror::open(&self.config.mirror_path())?;
        every("rating delivery", self.config.ratings_interval, || {
            ratings::deliver(&self.client, &mirror, Utc::now())
        })
        .await
    }

    /// Runs every loop until `shutdown` completes or a loop hits a fault it cannot survive
    /// (the mirror cannot be opened or written).
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let loops = async {
            tokio::try_join!(
                self.cases_loop(),
                self.content_loop(),
                self.heartbeat_loop(),
                self.ratings_loop()
            )
            .map(|_| ())
        };
        tokio::select! {
            outcome = loops => outcome,
            () = shutdown => Ok(()),
        }
    }
}
