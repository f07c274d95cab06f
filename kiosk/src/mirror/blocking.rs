//! A mirror connection for async code. SQLite calls block (on the disk, on another
//! connection's write lock for up to the busy timeout), so each call runs on tokio's
//! blocking pool: a slow content apply never holds up the runtime that sends heartbeats,
//! fetches case pages and drives the systemd watchdog.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use super::{Durability, FaultSource, Mirror};
use crate::error::{Error, Result};

/// One connection, owned by one loop (cloning shares it). The mutex only serialises that
/// loop's own calls; other loops have connections of their own, and SQLite's WAL lets them
/// read while one writes.
#[derive(Clone)]
pub struct AsyncMirror {
    mirror: Arc<Mutex<Mirror>>,
}

/// Runs blocking work off the runtime; a panic in it comes back as an error.
pub(crate) async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Invalid(format!("blocking work stopped: {e}")))?
}

impl AsyncMirror {
    /// Opens the mirror at `path` on the blocking pool (opening migrates the schema).
    pub async fn open(path: &Path, durability: Durability) -> Result<Self> {
        let path = path.to_owned();
        let mirror = off_runtime(move || Mirror::open_with(&path, durability)).await?;
        Ok(Self::from(mirror))
    }

    /// Runs `work` with the connection on the blocking pool.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Mirror) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let mirror = self.mirror.clone();
        off_runtime(move || work(&mut lock(&mirror))).await
    }

    /// [`Mirror::record_outcome`] on the blocking pool.
    pub async fn record_outcome<T, E: std::fmt::Display>(
        &self,
        source: FaultSource,
        outcome: &std::result::Result<T, E>,
        now: DateTime<Utc>,
    ) {
        let recorded: std::result::Result<(), String> =
            outcome.as_ref().map(|_| ()).map_err(ToString::to_string);
        let ran = self
            .run(move |m| {
                m.record_outcome(source, &recorded, now);
                Ok(())
            })
            .await;
        if let Err(e) = ran {
            tracing::warn!(part = source.as_str(), error = %e, "recording the part's fault stopped");
        }
    }

    /// The connection, for synchronous callers (support commands, tests); never from async
    /// code on the runtime.
    pub fn lock(&self) -> MutexGuard<'_, Mirror> {
        lock(&self.mirror)
    }
}

/// A panic while the lock was held cannot have left a transaction open (rusqlite rolls
/// back on drop), so the connection is still good.
fn lock(mirror: &Mutex<Mirror>) -> MutexGuard<'_, Mirror> {
    mirror.lock().unwrap_or_else(PoisonError::into_inner)
}

impl From<Mirror> for AsyncMirror {
    fn from(mirror: Mirror) -> Self {
        Self {
            mirror: Arc::new(Mutex::new(mirror)),
        }
    }
}
