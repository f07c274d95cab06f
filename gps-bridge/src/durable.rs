//! Opening the bridge's stores of accepted data (the survey store, the outbox).

use std::path::Path;

use anyhow::Context;
use rusqlite::Connection;

/// Opens (creating its folder) the SQLite file at `path` for data that must survive a power
/// cut: WAL + synchronous=FULL, so a commit is on the disk (the WAL fsynced) before it returns.
/// A SIGKILL alone would not need it (the OS keeps written pages), but a power cut would lose
/// NORMAL's last commits: a corner or plot the officer was told is recorded, or a delivery the
/// upstream confirmed, must not be lost or sent as new again. The daemon's tasks and a command
/// (`import`) write from connections of their own, so a writer waits for another.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}
