//! The mirror's schema, as versioned migrations (`rusqlite_migration`, tracked in
//! `PRAGMA user_version`). Append new migrations; never edit a released one.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

const MIGRATIONS: &[&str] = &[
    r#"
-- The hall this kiosk serves, with the salt of its lookup digests.
CREATE TABLE hall (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    lookup_salt TEXT NOT NULL
);

-- One row per case. Steps are kept as the JSON array the feed carries: they are always
-- read together with their case and never queried alone, so one row per case keeps the
-- feed apply and the lookup to a single B-tree operation each.
-- Times are Unix seconds (the feed carries whole seconds).
CREATE TABLE cases (
    case_no TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    kind_label TEXT NOT NULL,
    applicant TEXT NOT NULL,          -- masked by the upstream: 张*三
    lookup_digest TEXT NOT NULL,      -- hex SHA-256; the code itself is never stored
    received_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    steps TEXT NOT NULL,
    result TEXT,
    publicity TEXT,
    updated_at INTEGER NOT NULL,
    seq INTEGER NOT NULL
);

-- Where the case feed stands; written in the same transaction as each page it covers.
CREATE TABLE case_sync (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursor INTEGER NOT NULL,
    caught_up_at INTEGER,             -- last time the whole feed had been read
    last_page_at INTEGER              -- last time a page was applied
);
INSERT INTO case_sync (id, cursor) VALUES (1, 0);

-- Failed lookups, for throttling. Holds the case number tried, never the code.
CREATE TABLE lookup_failures (case_no TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX lookup_failures_by_case ON lookup_failures (case_no, at);
CREATE INDEX lookup_failures_by_time ON lookup_failures (at);

-- Content items of the applied release (or the built-in sample).
CREATE TABLE content_items (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    category TEXT,
    body TEXT NOT NULL,               -- the item's JSON as published
    search_text TEXT NOT NULL,        -- title and plain text, for search
    valid_from INTEGER,
    valid_until INTEGER,
    priority INTEGER NOT NULL DEFAULT 0,
    sort_date TEXT                    -- published_on / starts_on / updated_on
);
CREATE INDEX content_items_by_kind ON content_items (kind, category);
-- Trigram full-text index over the same rows (external content, rebuilt per release).
CREATE VIRTUAL TABLE content_fts USING fts5 (
    title, search_text,
    content = 'content_items', tokenize = 'trigram'
);

-- Media of the applied release; the bytes are files named by their SHA-256.
CREATE TABLE media (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL
);

-- Key/value settings: `content` (published with the release; dropped by migration 3),
-- `display_schedule` (set by a command).
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- The applied content release.
CREATE TABLE content_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER,                  -- NULL: the built-in sample is shown
    manifest_sha256 TEXT,
    etag TEXT,
    applied_at INTEGER NOT NULL
);

-- The latest fault of each part, for the heartbeat; cleared when the part succeeds.
CREATE TABLE faults (
    source TEXT PRIMARY KEY,
    message TEXT NOT NULL,
    at INTEGER NOT NULL
);

-- Commands received in heartbeat replies. A row is written before the command runs, so a
-- command id runs at most once even across restarts; `reported` once the upstream has it.
CREATE TABLE commands (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done')),
    ok INTEGER,
    message TEXT,
    reported INTEGER NOT NULL DEFAULT 0
);

-- 好差评 ratings waiting for (or past) delivery.
CREATE TABLE ratings_outbox (
    rating_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'refused')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX ratings_outbox_pending ON ratings_outbox (state, created_at);
"#,
    r#"
-- Cases keyed by their number in the table itself (WITHOUT ROWID): a lookup is one B-tree
-- descent instead of one in the case_no index and another in the table. At 1,000,000 cases
-- this took the warm lookup's p99 from about 55 to about 32 µs (docs/performance.md). Rows
-- (~1.5 kB) stay well under the in-page limit of the 16 kB pages.
CREATE TABLE cases_by_number (
    case_no TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    kind_label TEXT NOT NULL,
    applicant TEXT NOT NULL,
    lookup_digest TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    steps TEXT NOT NULL,
    result TEXT,
    publicity TEXT,
    updated_at INTEGER NOT NULL,
    seq INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO cases_by_number (case_no, kind, kind_label, applicant, lookup_digest, received_at,
        due_at, status, steps, result, publicity, updated_at, seq)
    SELECT case_no, kind, kind_label, applicant, lookup_digest, received_at,
        due_at, status, steps, result, publicity, updated_at, seq
    FROM cases;
DROP TABLE cases;
ALTER TABLE cases_by_number RENAME TO cases;
"#,
    r#"
-- The published settings are read from their content item; this copy of them is gone.
DELETE FROM settings WHERE key = 'content';
"#,
    r#"
-- Whether the last page applied said more follow, for freshness: behind, not just stale.
ALTER TABLE case_sync ADD COLUMN catching_up INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- Lookup digests are argon2id now, each with its own salt and cost (a PHC string in
-- lookup_digest), and the hall's salt is gone from the contract. The SHA-256 digests of the
-- old scheme are what this removes: four-digit codes fall out of them in seconds. So every
-- case goes, and the feed is read again from its start; until the hall is fetched again,
-- lookups answer "not ready" rather than "no match". Mirror::open runs migrations with
-- secure_delete on, so the old digests are overwritten, not left in free pages.
ALTER TABLE hall DROP COLUMN lookup_salt;
DELETE FROM hall;
DELETE FROM cases;
UPDATE case_sync SET cursor = 0, caught_up_at = NULL, last_page_at = NULL, catching_up = 0;
"#,
];

pub fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// Brings the schema up to date. Connections open at the same time (the data plane's loops,
/// the UI's, a support command) may race to migrate a new file. The migration's transaction
/// takes the write lock when it begins (waiting for the busy timeout), but the version is
/// read before it (the connection's transactions begin IMMEDIATE, see `Mirror::open`), so the
/// loser then runs a migration the winner has already committed and
/// fails on it: it finds the schema current when it looks again.
pub fn migrate(conn: &mut Connection) -> Result<(), rusqlite_migration::Error> {
    let Err(e) = migrations().to_latest(conn) else {
        return Ok(());
    };
    let version: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(rusqlite_migration::Error::from)?;
    if version == MIGRATIONS.len() {
        Ok(())
    } else {
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }

    #[test]
    fn the_copy_of_the_published_settings_is_dropped_and_local_settings_stay() {
        let mut conn = Connection::open_in_memory().unwrap();
        let migrations = super::migrations();
        migrations.to_version(&mut conn, 2).unwrap();
        conn.execute_batch(
            "INSERT INTO settings (key, value) VALUES ('content', '{}'), ('display_schedule', '{}')",
        )
        .unwrap();
        migrations.to_latest(&mut conn).unwrap();
        let keys: Vec<String> = conn
            .prepare("SELECT key FROM settings")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(keys, ["display_schedule"]);
    }

    #[test]
    fn the_move_to_argon2id_drops_the_old_digests_and_rereads_the_feed() {
        let mut conn = Connection::open_in_memory().unwrap();
        let migrations = super::migrations();
        migrations.to_version(&mut conn, 4).unwrap();
        conn.execute_batch(
            "INSERT INTO hall (id, name, lookup_salt) VALUES ('h', 'H', 'salt');
             INSERT INTO cases (case_no, kind, kind_label, applicant, lookup_digest,
                 received_at, due_at, status, steps, updated_at, seq)
             VALUES ('A-1', 'k', 'K', '张*三', 'ab12', 1, 2, 'received', '[]', 3, 9);
             UPDATE case_sync SET cursor = 9, caught_up_at = 5, last_page_at = 5;",
        )
        .unwrap();
        migrations.to_latest(&mut conn).unwrap();
        let (cases, halls, cursor, caught_up): (i64, i64, i64, Option<i64>) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM hall), cursor,
                        caught_up_at FROM case_sync",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!((cases, halls, cursor, caught_up), (0, 0, 0, None));
    }

    #[test]
    fn cases_survive_the_move_to_a_table_keyed_by_case_number() {
        let mut conn = Connection::open_in_memory().unwrap();
        let migrations = super::migrations();
        migrations.to_version(&mut conn, 1).unwrap();
        conn.execute(
            &format!("{} ON CONFLICT DO NOTHING", crate::mirror::cases::INSERT),
            rusqlite::params![
                "GY2026-ZJD-000001",
                "homestead",
                "宅基地审批",
                "张*三",
                "ab",
                1,
                2,
                "in_review",
                "[]",
                None::<String>,
                None::<String>,
                3,
                7
            ],
        )
        .unwrap();
        // Migration 2 is the move (a later one drops the cases of the old digest scheme).
        migrations.to_version(&mut conn, 2).unwrap();
        let (applicant, seq): (String, i64) = conn
            .query_row(
                "SELECT applicant, seq FROM cases WHERE case_no = 'GY2026-ZJD-000001'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((applicant.as_str(), seq), ("张*三", 7));
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT steps FROM cases WHERE case_no = ?1",
                ["x"],
                |r| r.get("detail"),
            )
            .unwrap();
        assert!(plan.contains("PRIMARY KEY"), "{plan}");
    }
}
