//! The simulator's SQLite file: schema migrations, one writer, a few readers (WAL lets them
//! read while the workflow ticker writes).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE halls (id TEXT PRIMARY KEY, body TEXT NOT NULL);
-- The compacted case feed: one row per case at the seq of its latest change. The seq is
-- the rowid, so a feed page is one contiguous range of the table; a change moves the row.
-- A deleted case keeps its row as a tombstone (body NULL) so that readers learn of it.
CREATE TABLE cases (
    seq INTEGER PRIMARY KEY,
    case_no TEXT NOT NULL UNIQUE,
    hall_id TEXT NOT NULL,
    next_event_at INTEGER,
    body TEXT
);
CREATE INDEX cases_by_hall_seq ON cases(hall_id, seq);
CREATE INDEX cases_by_next_event ON cases(next_event_at) WHERE next_event_at IS NOT NULL;
CREATE TABLE layer_features (
    layer TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT,
    PRIMARY KEY (layer, id)
);
CREATE UNIQUE INDEX layer_features_by_seq ON layer_features(layer, seq);
CREATE TABLE content_releases (
    version INTEGER PRIMARY KEY,
    manifest TEXT NOT NULL,
    signature TEXT NOT NULL,
    published_at TEXT NOT NULL
);
CREATE TABLE content_blobs (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    last_heartbeat_at TEXT NOT NULL,
    heartbeat TEXT NOT NULL
);
CREATE TABLE commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    action TEXT NOT NULL,
    -- queued until the device reports it done or failed
    state TEXT NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
    message TEXT
);
CREATE INDEX commands_by_device ON commands(device_id, state);
CREATE TABLE screenshots (
    device_id TEXT NOT NULL,
    command_id INTEGER NOT NULL,
    png BLOB NOT NULL,
    PRIMARY KEY (device_id, command_id)
);
CREATE TABLE ratings (
    rating_id TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    receipt TEXT NOT NULL
);
CREATE TABLE plots (
    idempotency_key TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL,
    plot_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    receipt TEXT NOT NULL
);
"#,
    r#"
-- One bearer token per device, bound to the device and its hall. Only a SHA-256 of each
-- token is kept: a copy of this file does not let anyone act as a device. Revoking deletes
-- the row; every request looks its token up, so a revocation holds from the next request.
CREATE TABLE device_tokens (
    device_id TEXT PRIMARY KEY,
    hall_id TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    issued_at TEXT NOT NULL
);
"#,
];

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// Readers kept open for reuse; more may be opened under load and are then dropped.
const IDLE_READERS: usize = 4;

pub struct Db {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

pub type SharedDb = Arc<Db>;

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

impl Db {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer)?;
        migrations().to_latest(&mut writer)?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` on the writer connection (one writer at a time).
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn)
    }

    /// Runs `f` on a read-only connection; readers never block the writer.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&conn)?;
                conn
            }
        };
        let result = f(&conn);
        let mut idle = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

pub fn meta_get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}
