//! What every request handler shares.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::SharedDb;

#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of requests answered 503 without being served, 0..=1.
    pub fail_rate: f64,
    /// Share of answers whose connection is closed halfway, 0..=1 (after the request ran).
    pub drop_rate: f64,
    /// Added to every request.
    pub latency_ms: u64,
    pub dice: FaultDice,
}

/// Decides which requests fail or drop: seeded (`--seed`), so that the same requests in the
/// same order meet the same faults and a failing trial can be replayed.
#[derive(Debug, Clone)]
pub struct FaultDice(Arc<Mutex<StdRng>>);

impl FaultDice {
    pub fn seeded(seed: u64) -> Self {
        // Apart from the demo data's stream of the same seed.
        Self(Arc::new(Mutex::new(StdRng::seed_from_u64(
            seed ^ 0x6661_756c_7473,
        ))))
    }

    /// `(fail, drop)` for the next request.
    pub fn roll(&self, fail_rate: f64, drop_rate: f64) -> (bool, bool) {
        let mut rng = self.0.lock().unwrap_or_else(|e| e.into_inner());
        (rng.random_bool(fail_rate), rng.random_bool(drop_rate))
    }
}

impl Default for FaultDice {
    fn default() -> Self {
        Self::seeded(0)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_meets_the_same_faults() {
        let rolls = |seed| {
            let dice = FaultDice::seeded(seed);
            (0..200).map(|_| dice.roll(0.3, 0.1)).collect::<Vec<_>>()
        };
        assert_eq!(rolls(7), rolls(7));
        assert_ne!(rolls(7), rolls(8));
        let fails = rolls(7).iter().filter(|(f, _)| *f).count();
        assert!((30..90).contains(&fails), "{fails} of 200 at 0.3");
    }
}
