//! The local SQLite mirror: everything the kiosk shows comes from here, so it keeps serving
//! when the network is down. One file in WAL mode: the UI reads while sync writes.

pub mod cases;
pub mod content;
pub mod schedule;
mod schema;
pub mod search;

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

/// A part of the kiosk that can report a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

impl Mirror {
    /// Opens (creating and migrating) the mirror at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        // The folder comes with the file, so the support commands also work on a kiosk
        // whose data plane never ran.
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|e| crate::Error::io(format!("creating {}", folder.display()), e))?;
        }
        let mut conn = Connection::open(path)?;
        // Rows are ~1.5 kB of case JSON: 16 kB pages take ~10 of them and cut the write
        // calls of a sync by three quarters (only takes effect when the file is created).
        conn.pragma_update(None, "page_size", 16_384)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL is durable across process crashes in WAL mode; only a power cut may lose
        // the last commits, never consistency, and the feed then resumes from the cursor.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(Duration::from_secs(10))?;
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
        schema::migrations().to_latest(&mut conn)?;
        Ok(Self { conn })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
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

    pub fn clear_fault(&self, source: FaultSource) -> Result<()> {
        self.conn
            .execute("DELETE FROM faults WHERE source = ?1", [source.as_str()])?;
        Ok(())
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
