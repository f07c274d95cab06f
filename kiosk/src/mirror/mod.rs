//! The local SQLite mirror: everything the kiosk shows comes from here, so it keeps serving
//! when the network is down. One file in WAL mode: the UI reads while sync writes.

pub(crate) mod blocking;
pub mod cases;
pub mod content;
pub mod schedule;
mod schema;
pub mod search;
mod settings;

pub use blocking::AsyncMirror;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::error::Result;

/// A connection to the mirror. Open one per thread or task; they share the file.
pub struct Mirror {
    conn: Connection,
}

/// How a connection commits, which is SQLite's `synchronous` setting for it.
///
/// In WAL mode `NORMAL` syncs the WAL only at checkpoints: a commit survives a crash of the
/// process, but a power cut can take the last commits back. `FULL` syncs the WAL at every
/// commit, so a commit that returned is on the disk. The setting is per connection, and a
/// `FULL` commit syncs every frame before it in the WAL, other connections' too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Every commit is on the disk when it returns: for what the kiosk cannot fetch again —
    /// a rating an applicant gave, a command's start record, a failed lookup for the
    /// throttle, the applied content release whose old blobs are deleted after it.
    Synced,
    /// A power cut may lose the last commits, never consistency: only for the case feed,
    /// whose pages commit with their cursor and are read again from it.
    Refetchable,
}

/// A part of the kiosk that can report a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultSource {
    Cases,
    Content,
    Heartbeat,
    Ratings,
    /// The site settings the installer wrote could not be used (the image's
    /// `land-hall-site` says why in `site_fault`, see `Config::site_fault`).
    Site,
}

impl FaultSource {
    const ALL: [Self; 5] = [
        Self::Cases,
        Self::Content,
        Self::Heartbeat,
        Self::Ratings,
        Self::Site,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cases => "cases",
            Self::Content => "content",
            Self::Heartbeat => "heartbeat",
            Self::Ratings => "ratings",
            Self::Site => "site",
        }
    }

    fn parse(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| crate::Error::Invalid(format!("unknown fault source {text:?}")))
    }
}

/// The latest fault of a part that has not succeeded since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    pub source: FaultSource,
    pub message: String,
    pub at: DateTime<Utc>,
}

pub(crate) fn unix(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_unix(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Puts the file in WAL mode (it stays so). Turning a new file to WAL takes a lock for
/// which SQLite does not wait (no busy handler): a connection opened at the same moment as
/// another on a new file tries again for a moment, until the other has switched it.
fn enable_wal(conn: &Connection) -> Result<()> {
    let mut attempt = 0;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(crate::Error::Invalid(format!(
                    "the mirror stays in journal mode {mode}, not WAL"
                )));
            }
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && attempt < 100 =>
            {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

impl Mirror {
    /// Opens (creating and migrating) the mirror at `path`, every commit synced to the disk
    /// ([`Durability::Synced`]): the connection the UI records ratings through, and every
    /// loop's but the case feed writer's.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, Durability::Synced)
    }

    /// Opens the mirror with the given durability of its commits.
    pub fn open_with(path: &Path, durability: Durability) -> Result<Self> {
        // The folder comes with the file, so the support commands also work on a kiosk
        // whose data plane never ran.
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|e| crate::Error::io(format!("creating {}", folder.display()), e))?;
        }
        let mut conn = Connection::open(path)?;
        // First: the pragmas below and the migration wait for another connection that is
        // setting up the same new file, instead of failing at once with "database is locked".
        conn.busy_timeout(Duration::from_secs(10))?;
        // Rows are ~1.5 kB of case JSON: 16 kB pages take ~10 of them and cut the write
        // calls of a sync by three quarters (only takes effect when the file is created).
        conn.pragma_update(None, "page_size", 16_384)?;
        enable_wal(&conn)?;
        // See `Durability`: FULL for accepted data, NORMAL only where the upstream has it.
        let synchronous = match durability {
            Durability::Synced => "FULL",
            Durability::Refetchable => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Lookups read a few pages at random from a file of up to millions of cases: a
        // larger page cache keeps the upper B-tree levels, and memory-mapped reads save a
        // system call and a 16 kB copy per page, so the map should cover the whole file (a
        // mirror of 1,000,000 cases is 1.6 GB). 2 GB is the most the bundled SQLite maps
        // (SQLITE_MAX_MMAP_SIZE); where a map fails, SQLite falls back to reads.
        conn.pragma_update(None, "cache_size", -32_768)?;
        conn.pragma_update(None, "mmap_size", 2i64 << 30)?;
        // With STAT4 compiled in, SQLite re-prepares a statement whenever a bound value it
        // planned with changes — on every lookup. A stable plan is what we want anyway.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        // Write transactions take the write lock when they begin, waiting for it: a
        // deferred one that reads first and writes then fails at once ("database is
        // locked", SQLITE_BUSY_SNAPSHOT, for which SQLite does not wait) when another
        // connection committed in between — the loops and the UI write side by side. Read
        // snapshots (`read_snapshot`) stay deferred: they never write.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        // Migrations that delete secrets (the old lookup digests) overwrite them, so that they
        // are not left in free pages of the file; the writes of everyday work need not.
        conn.pragma_update(None, "secure_delete", true)?;
        schema::migrate(&mut conn)?;
        conn.pragma_update(None, "secure_delete", false)?;
        Ok(Self { conn })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The durability this connection commits with (its `synchronous` setting).
    pub fn durability(&self) -> Result<Durability> {
        let synchronous: i64 = self
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        // 2 is FULL, 3 EXTRA (FULL and more); 0 OFF and 1 NORMAL can lose commits.
        Ok(if synchronous >= 2 {
            Durability::Synced
        } else {
            Durability::Refetchable
        })
    }

    /// Runs `f` in one read transaction: one snapshot, and one WAL lock instead of one per
    /// statement, which matters for the lookup's latency. The `BEGIN` and `COMMIT`
    /// statements are cached so they are not parsed each time.
    pub fn read_snapshot<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.conn.prepare_cached("BEGIN")?.execute([])?;
        let outcome = f(&self.conn);
        let end = if outcome.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        self.conn.prepare_cached(end)?.execute([])?;
        outcome
    }

    /// Refuses to store `what` (accepted data, see [`Durability::Synced`]) through a
    /// connection whose commits a power cut could take back.
    pub fn require_synced(&self, what: &str) -> Result<()> {
        match self.durability()? {
            Durability::Synced => Ok(()),
            Durability::Refetchable => Err(crate::Error::Invalid(format!(
                "{what} is stored only through a connection that syncs every commit"
            ))),
        }
    }

    /// `PRAGMA integrity_check`: `"ok"` for a sound file.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    pub fn record_fault(
        &self,
        source: FaultSource,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO faults (source, message, at) VALUES (?1, ?2, ?3)
             ON CONFLICT (source) DO UPDATE SET message = excluded.message, at = excluded.at",
            params![source.as_str(), message, unix(now)],
        )?;
        Ok(())
    }

    /// Clears the fault of `source`; writes only if there is one, so a part that keeps
    /// succeeding never waits for the mirror's write lock.
    pub fn clear_fault(&self, source: FaultSource) -> Result<()> {
        let has: bool = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM faults WHERE source = ?1)")?
            .query_row([source.as_str()], |r| r.get(0))?;
        if has {
            self.conn
                .execute("DELETE FROM faults WHERE source = ?1", [source.as_str()])?;
        }
        Ok(())
    }

    /// Records the outcome of a round of `source` as its fault: set with the reason on
    /// failure, cleared on success. A mirror that cannot take the record is logged, not
    /// returned: the round's own outcome is what the caller acts on, and the data plane
    /// also keeps the fault in memory (`daemon::Health`) for the screen and the heartbeat.
    pub fn record_outcome<T, E: std::fmt::Display>(
        &self,
        source: FaultSource,
        outcome: &std::result::Result<T, E>,
        now: DateTime<Utc>,
    ) {
        let recorded = match outcome {
            Ok(_) => self.clear_fault(source),
            Err(e) => self.record_fault(source, &e.to_string(), now),
        };
        if let Err(e) = recorded {
            tracing::warn!(part = source.as_str(), error = %e, "the mirror did not take the part's fault record");
        }
    }

    /// The latest fault of every part that has not succeeded since, newest first. Each part
    /// keeps its own, so a later fault of one part never hides that of another.
    pub fn faults(&self) -> Result<Vec<Fault>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT source, message, at FROM faults ORDER BY at DESC, source")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?;
        rows.map(|row| {
            let (source, message, at) = row?;
            Ok(Fault {
                source: FaultSource::parse(&source)?,
                message,
                at: from_unix(at),
            })
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: the data plane's loops and the UI open their connections at once on a new
    /// file; one lost the race to migrate and failed ("table hall already exists").
    #[test]
    fn connections_opened_at_once_on_a_new_file_all_open() {
        for round in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("mirror.db");
            let start = std::sync::Barrier::new(4);
            std::thread::scope(|s| {
                let opened: Vec<_> = (0..4)
                    .map(|_| {
                        s.spawn(|| {
                            start.wait();
                            Mirror::open(&path).map(|_| ())
                        })
                    })
                    .collect();
                for open in opened {
                    open.join()
                        .unwrap()
                        .unwrap_or_else(|e| panic!("round {round}: {e}"));
                }
            });
        }
    }

    #[test]
    fn opens_twice_and_keeps_the_latest_fault_of_each_part() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirror.db");
        let mirror = Mirror::open(&path).unwrap();
        assert_eq!(mirror.integrity_check().unwrap(), "ok");
        let t0 = from_unix(1_800_000_000);
        mirror
            .record_fault(FaultSource::Cases, "upstream down", t0)
            .unwrap();
        mirror
            .record_fault(
                FaultSource::Content,
                "bad signature",
                t0 + chrono::Duration::seconds(5),
            )
            .unwrap();
        let t1 = t0 + chrono::Duration::seconds(9);
        mirror
            .record_fault(FaultSource::Cases, "still down", t1)
            .unwrap();
        // A second connection sees the same file, migrations are idempotent.
        let again = Mirror::open(&path).unwrap();
        let fault = |source, message: &str, at| Fault {
            source,
            message: message.into(),
            at,
        };
        assert_eq!(
            again.faults().unwrap(),
            [
                fault(FaultSource::Cases, "still down", t1),
                fault(
                    FaultSource::Content,
                    "bad signature",
                    t0 + chrono::Duration::seconds(5)
                ),
            ]
        );
        again.clear_fault(FaultSource::Content).unwrap();
        assert_eq!(
            mirror.faults().unwrap(),
            [fault(FaultSource::Cases, "still down", t1)]
        );
    }
}
