//! What every request handler shares.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, SubsecRound, Utc};

use crate::db::SharedDb;

#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of requests answered 503 without being served, 0..=1.
    pub fail_rate: f64,
    /// Share of answers whose connection is closed halfway, 0..=1 (after the request ran).
    pub drop_rate: f64,
    /// Added to every request.
    pub latency_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub admin_token: String,
    /// Keys a published release must be signed with.
    pub content_keys: Vec<ed25519_dalek::VerifyingKey>,
    /// Skip the signature check of published releases (fault injection).
    pub publish_unverified: bool,
    /// Connection and timeout bounds of the listener and the body extractors.
    pub limits: crate::listener::Limits,
    pub faults: Faults,
}

/// The simulation's clock: wall time, sped up by `speedup` from the moment the server
/// started, continuing from where the previous run stopped.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    started: Instant,
    sim_start: DateTime<Utc>,
    speedup: f64,
}

impl SimClock {
    pub fn new(sim_start: DateTime<Utc>, speedup: f64) -> Self {
        Self {
            started: Instant::now(),
            sim_start,
            speedup,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        // Whole seconds: the wire carries no false precision and the bodies stay short.
        let elapsed = self.started.elapsed().as_secs_f64() * self.speedup;
        (self.sim_start + Duration::milliseconds((elapsed * 1000.0) as i64)).trunc_subsecs(0)
    }
}

/// Reads run at once, at most: each holds a SQLite connection (three file descriptors) and
/// a blocking thread, so without a bound a flood of requests would open one per request up
/// to the process's file limit. Two cores do not read faster with more.
pub const MAX_READERS: usize = 16;

#[derive(Clone)]
pub struct AppState {
    pub db: SharedDb,
    pub config: Arc<Config>,
    pub clock: SimClock,
    /// Permits for [`AppState::read`], [`MAX_READERS`] of them.
    pub readers: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// Runs blocking database work off the async workers.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self
            .readers
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.read(f)).await?
    }

    /// Issues a token for a device of `hall_id` (tests and tools; `egov-sim device add` and
    /// the admin route do the same).
    pub fn provision_device(&self, device_id: &str, hall_id: &str) -> anyhow::Result<String> {
        let now = self.clock.now();
        self.db
            .write(|conn| Ok(crate::tokens::issue(conn, device_id, hall_id, now)?))
    }

    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.write(f)).await?
    }
}
