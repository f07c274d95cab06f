//! The outbox's SQLite file: every checked plot, its state, the exact body the uploader sends,
//! the upstream's verdict and the history of every delivery attempt.

use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use protocol::plots::{PlotReceipt, PlotSubmission};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use sha2::{Digest, Sha256};

use super::{
    Attempt, DuePlot, NewPlot, OutboxCounts, PlotChecks, PlotRecord, PlotState, PlotSummary,
};
use crate::plot::EarlierPlot;

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(
        "CREATE TABLE plots (
            id INTEGER PRIMARY KEY,
            -- One plot per survey-store candidate: a candidate processed twice (a restart
            -- between the check and its record) is refused by the constraint, not doubled.
            candidate_id INTEGER NOT NULL UNIQUE,
            name TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'delivered', 'rejected', 'refused', 'duplicate')),
            -- The checks' report (JSON): findings, areas, the plot in lon/lat.
            report TEXT NOT NULL,
            area_m2 REAL,
            area_sigma_m2 REAL,
            duplicate_of INTEGER REFERENCES plots(id),
            -- What is POSTed, byte for byte, and the key derived from it; NULL for plots that
            -- are never sent (refused, duplicate).
            submission TEXT,
            idempotency_key TEXT UNIQUE,
            recorded_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            -- The upstream's verdict.
            upstream_plot_id TEXT,
            receipt TEXT,
            delivered_at TEXT,
            rejection TEXT
        );
        CREATE INDEX plots_due ON plots(next_attempt_at) WHERE state = 'pending';
        CREATE TABLE attempts (
            plot_id INTEGER NOT NULL REFERENCES plots(id),
            at TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'replayed', 'rejected', 'failed')),
            detail TEXT NOT NULL
        );
        CREATE INDEX attempts_by_plot ON attempts(plot_id);",
    )])
}

/// Times as text that sorts as it reads: `2026-12-01T08:00:00.000Z`.
fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_time(text: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    text.map(|t| {
        t.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

/// The idempotency key of a submission: derived from the bytes sent, so a retry of the same
/// plot, however often and across restarts, carries the same key with the same body.
pub fn idempotency_key(body: &str) -> String {
    format!(
        "gps-bridge-{}",
        hex::encode(Sha256::digest(body.as_bytes()))
    )
}

pub struct Outbox {
    conn: Connection,
}

impl Outbox {
    /// Opens (creating and migrating) the outbox for reading and writing.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut conn = crate::durable::open(path)?;
        migrations()
            .to_latest(&mut conn)
            .context("migrating the outbox")?;
        Ok(Outbox { conn })
    }

    /// Opens an existing outbox read-only, for `plots` and `show` (the daemon may be running).
    pub fn open_read_only(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            bail!(
                "{} 处没有地块记录：还没有检查过地块，或配置文件不对 \
                 (no outbox at {0}: no plot recorded yet, or another configuration)",
                path.display()
            );
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(Outbox { conn })
    }

    /// Records a checked plot, committed before this returns; a pending plot is due at once.
    /// `None` if the candidate has a plot already.
    pub fn insert(&mut self, plot: &NewPlot, now: DateTime<Utc>) -> anyhow::Result<Option<i64>> {
        let body = plot
            .submission
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        let key = body.as_deref().map(idempotency_key);
        let state = match (&plot.submission, plot.duplicate_of) {
            (_, Some(_)) => PlotState::Duplicate,
            (Some(_), None) => PlotState::Pending,
            (None, None) => PlotState::Refused,
        };
        let inserted = self.conn.execute(
            "INSERT INTO plots (candidate_id, name, state, report, area_m2, area_sigma_m2,
                duplicate_of, submission, idempotency_key, recorded_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (candidate_id) DO NOTHING",
            params![
                plot.candidate_id,
                plot.name,
                state.as_str(),
                serde_json::to_string(&plot.checks)?,
                plot.area_m2,
                plot.area_sigma_m2,
                plot.duplicate_of,
                body,
                key,
                time(now),
                (state == PlotState::Pending).then(|| time(now)),
            ],
        )?;
        Ok((inserted == 1).then(|| self.conn.last_insert_rowid()))
    }

    /// The plot of a survey-store candidate, if it was checked.
    pub fn plot_of_candidate(&self, candidate_id: i64) -> anyhow::Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM plots WHERE candidate_id = ?1",
                [candidate_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The highest candidate id that has a plot: candidates after it are still to check.
    pub fn last_candidate(&self) -> anyhow::Result<i64> {
        Ok(self.conn.query_row(
            "SELECT coalesce(max(candidate_id), 0) FROM plots",
            [],
            |r| r.get(0),
        )?)
    }

    /// The oldest pending plot whose next attempt is due at `now`.
    pub fn next_due(&self, now: DateTime<Utc>) -> anyhow::Result<Option<DuePlot>> {
        let row = self
            .conn
            .query_row(
                "SELECT id, idempotency_key, submission, attempts FROM plots
                 WHERE state = 'pending' AND next_attempt_at <= ?1
                 ORDER BY next_attempt_at, id LIMIT 1",
                [time(now)],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, u32>(3)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(id, key, body, attempts)| {
            let submission: PlotSubmission = serde_json::from_str(&body)
                .with_context(|| format!("plot {id}: the stored submission does not parse"))?;
            Ok(DuePlot {
                id,
                idempotency_key: key,
                submission,
                attempts,
            })
        })
        .transpose()
    }

    /// When the next pending plot is due, if any is pending.
    pub fn next_attempt_at(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let next: Option<String> = self.conn.query_row(
            "SELECT min(next_attempt_at) FROM plots WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?;
        Ok(parse_time(next)?)
    }

    fn log_attempt(
        conn: &Connection,
        id: i64,
        at: DateTime<Utc>,
        outcome: &str,
        detail: &str,
    ) -> anyhow::Result<()> {
        conn.execute(
            "INSERT INTO attempts (plot_id, at, outcome, detail) VALUES (?1, ?2, ?3, ?4)",
            params![id, time(at), outcome, detail],
        )?;
        Ok(())
    }

    /// The upstream accepted the plot (`replayed`: it had it already under this key).
    pub fn delivered(
        &mut self,
        id: i64,
        receipt: &PlotReceipt,
        replayed: bool,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE plots SET state = 'delivered', attempts = attempts + 1, next_attempt_at = NULL,
                upstream_plot_id = ?2, receipt = ?3, delivered_at = ?4
             WHERE id = ?1 AND state = 'pending'",
            params![
                id,
                receipt.plot_id,
                serde_json::to_string(receipt)?,
                time(at)
            ],
        )?;
        let outcome = if replayed { "replayed" } else { "delivered" };
        Self::log_attempt(&tx, id, at, outcome, &receipt.plot_id)?;
        tx.commit()?;
        Ok(())
    }

    /// The upstream refused the plot for good (a 4xx): parked with its reason.
    pub fn rejected(&mut self, id: i64, reason: &str, at: DateTime<Utc>) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE plots SET state = 'rejected', attempts = attempts + 1, next_attempt_at = NULL,
                rejection = ?2
             WHERE id = ?1 AND state = 'pending'",
            params![id, reason],
        )?;
        Self::log_attempt(&tx, id, at, "rejected", reason)?;
        tx.commit()?;
        Ok(())
    }

    /// The attempt failed in a way a later one may not (5xx, timeout, dropped connection).
    pub fn failed(
        &mut self,
        id: i64,
        error: &str,
        at: DateTime<Utc>,
        next_attempt_at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE plots SET attempts = attempts + 1, next_attempt_at = ?2
             WHERE id = ?1 AND state = 'pending'",
            params![id, time(next_attempt_at)],
        )?;
        Self::log_attempt(&tx, id, at, "failed", error)?;
        tx.commit()?;
        Ok(())
    }

    /// Every pending plot is due now: the upstream is back, or an officer asked.
    pub fn retry_now(&mut self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        Ok(self.conn.execute(
            "UPDATE plots SET next_attempt_at = ?1 WHERE state = 'pending' AND next_attempt_at > ?1",
            [time(now)],
        )?)
    }

    pub fn counts(&self) -> anyhow::Result<OutboxCounts> {
        Ok(self.conn.query_row(
            "SELECT
                count(*) FILTER (WHERE state = 'pending'),
                count(*) FILTER (WHERE state = 'delivered'),
                count(*) FILTER (WHERE state = 'rejected'),
                count(*) FILTER (WHERE state = 'refused'),
                count(*) FILTER (WHERE state = 'duplicate'),
                min(recorded_at) FILTER (WHERE state = 'pending'),
                max(delivered_at)
             FROM plots",
            [],
            |r| {
                Ok(OutboxCounts {
                    pending: r.get(0)?,
                    delivered: r.get(1)?,
                    rejected: r.get(2)?,
                    refused: r.get(3)?,
                    duplicate: r.get(4)?,
                    oldest_pending_at: parse_time(r.get(5)?)?,
                    last_delivery_at: parse_time(r.get(6)?)?,
                })
            },
        )?)
    }

    /// A summary's columns; the first refusal and the count of warnings are read from the
    /// stored report (SQLite's JSON functions), not kept twice.
    const SUMMARY: &str = "SELECT id, candidate_id, name, state, area_m2, area_sigma_m2,
        duplicate_of, recorded_at, attempts, upstream_plot_id, delivered_at, rejection,
        (SELECT f.value FROM json_each(report, '$.report.findings') AS f
         WHERE json_extract(f.value, '$.severity') = 'refusal' ORDER BY f.key LIMIT 1),
        (SELECT count(*) FROM json_each(report, '$.report.findings') AS f
         WHERE json_extract(f.value, '$.severity') = 'warning')
        FROM plots";

    fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<PlotSummary> {
        let state: String = r.get(3)?;
        Ok(PlotSummary {
            id: r.get(0)?,
            candidate_id: r.get(1)?,
            name: r.get(2)?,
            state: PlotState::from_name(&state).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    3,
                    rusqlite::types::Type::Text,
                    format!("unknown plot state {state:?}").into(),
                )
            })?,
            area_m2: r.get(4)?,
            area_sigma_m2: r.get(5)?,
            duplicate_of: r.get(6)?,
            recorded_at: parse_time(Some(r.get(7)?))?.unwrap_or_default(),
            attempts: r.get(8)?,
            upstream_plot_id: r.get(9)?,
            delivered_at: parse_time(r.get(10)?)?,
            rejection: r.get(11)?,
            refusal: r
                .get::<_, Option<String>>(12)?
                .map(|f| serde_json::from_str(&f))
                .transpose()
                .map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        12,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?,
            warnings: r.get(13)?,
        })
    }

    /// The newest plots first, at most `limit`.
    pub fn recent(&self, limit: u32) -> anyhow::Result<Vec<PlotSummary>> {
        let mut stmt = self
            .conn
            .prepare(&format!("{} ORDER BY id DESC LIMIT ?1", Self::SUMMARY))?;
        let rows = stmt.query_map([limit], Self::summary)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn summary_of(&self, id: i64) -> anyhow::Result<Option<PlotSummary>> {
        Ok(self
            .conn
            .query_row(
                &format!("{} WHERE id = ?1", Self::SUMMARY),
                [id],
                Self::summary,
            )
            .optional()?)
    }

    /// One plot with its report, its receipt and every delivery attempt.
    pub fn record(&self, id: i64) -> anyhow::Result<Option<PlotRecord>> {
        let Some(summary) = self.summary_of(id)? else {
            return Ok(None);
        };
        let (report, submission, receipt): (String, Option<String>, Option<String>) =
            self.conn.query_row(
                "SELECT report, submission, receipt FROM plots WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
        let mut stmt = self.conn.prepare(
            "SELECT at, outcome, detail FROM attempts WHERE plot_id = ?1 ORDER BY rowid",
        )?;
        let attempts = stmt
            .query_map([id], |r| {
                Ok(Attempt {
                    at: parse_time(Some(r.get(0)?))?.unwrap_or_default(),
                    outcome: r.get(1)?,
                    detail: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(PlotRecord {
            summary,
            checks: serde_json::from_str(&report).context("the stored report does not parse")?,
            submission: submission.map(|s| serde_json::from_str(&s)).transpose()?,
            receipt: receipt.map(|r| serde_json::from_str(&r)).transpose()?,
            attempts,
        }))
    }

    /// The plots that count as this office's earlier surveys (pending or delivered), for the
    /// duplicate check, oldest first.
    pub fn earlier_plots(&self) -> anyhow::Result<Vec<EarlierPlot>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, report FROM plots WHERE state IN ('pending', 'delivered') ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut plots = Vec::new();
        for row in rows {
            let (id, report) = row?;
            let checks: PlotChecks = serde_json::from_str(&report)
                .with_context(|| format!("plot {id}: the stored report does not parse"))?;
            if let Some(checked) = checks.report.checked() {
                plots.push(EarlierPlot::new(id.to_string(), checked));
            }
        }
        Ok(plots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_commits_to_the_disk_wal_and_full() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("outbox.db")).unwrap();
        let (mode, synchronous) = crate::testing::durability(&outbox.conn);
        assert_eq!(
            (mode.as_str(), synchronous),
            ("wal", 2),
            "WAL, synchronous=FULL"
        );
    }
}
