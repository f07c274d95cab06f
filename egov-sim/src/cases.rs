//! The case store: the compacted change feed and the workflow ticker's writes.

use chrono::{DateTime, Utc};
use protocol::cases::Case;
use rand::Rng;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::workflow::{self, Next};

/// The next free feed sequence number within a write transaction.
pub fn next_seq(tx: &Transaction) -> rusqlite::Result<u64> {
    tx.query_row("SELECT coalesce(max(seq), 0) + 1 FROM cases", [], |r| {
        r.get(0)
    })
}

/// Writes a case at `seq`, scheduling its next workflow event.
pub fn upsert(tx: &Transaction, seq: u64, case: &Case, next: Next) -> anyhow::Result<()> {
    let next_event_at = match next {
        Next::At(t) => Some(t.timestamp()),
        Next::Closed | Next::Withdrawn => None,
    };
    let body = match next {
        Next::Withdrawn => None,
        _ => Some(serde_json::to_string(case)?),
    };
    tx.prepare_cached(
        "INSERT INTO cases (case_no, hall_id, seq, next_event_at, body) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (case_no) DO UPDATE SET seq = excluded.seq,
             next_event_at = excluded.next_event_at, body = excluded.body",
    )?
    .execute(params![
        case.case_no,
        case.hall_id,
        seq,
        next_event_at,
        body
    ])?;
    Ok(())
}

/// One page of a hall's feed, already rendered as the JSON the route answers with: stored case
/// bodies are spliced in as they are, without a parse and re-serialisation per case.
pub fn changes_page_json(
    conn: &Connection,
    hall: &str,
    after: u64,
    limit: u32,
) -> anyhow::Result<String> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, case_no, body FROM cases WHERE hall_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let mut rows = stmt.query(params![hall, after, i64::from(limit) + 1])?;
    let mut out = String::with_capacity(limit as usize * 1500 + 64);
    out.push_str(r#"{"changes":["#);
    let (mut count, mut last, mut has_more) = (0u32, after, false);
    while let Some(row) = rows.next()? {
        if count == limit {
            has_more = true;
            break;
        }
        let seq: u64 = row.get(0)?;
        if count > 0 {
            out.push(',');
        }
        match row.get_ref(2)?.as_str_or_null()? {
            Some(body) => {
                out.push_str(r#"{"op":"upsert","seq":"#);
                out.push_str(&seq.to_string());
                out.push_str(r#","case":"#);
                out.push_str(body);
                out.push('}');
            }
            None => {
                let case_no: String = row.get(1)?;
                out.push_str(&serde_json::to_string(&serde_json::json!({
                    "op": "delete", "seq": seq, "case_no": case_no
                }))?);
            }
        }
        count += 1;
        last = seq;
    }
    out.push_str(&format!(r#"],"next_after":{last},"has_more":{has_more}}}"#));
    Ok(out)
}

/// Runs every workflow event due by `now`, at most `batch` of them, in one transaction.
/// Returns how many cases changed.
pub fn advance_due(
    conn: &mut Connection,
    now: DateTime<Utc>,
    batch: u32,
    rng: &mut impl Rng,
) -> anyhow::Result<usize> {
    let tx = conn.transaction()?;
    let due: Vec<(String, String)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT case_no, body FROM cases
             WHERE next_event_at IS NOT NULL AND next_event_at <= ?1
             ORDER BY next_event_at LIMIT ?2",
        )?;
        stmt.query_map(params![now.timestamp(), batch], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?
    };
    for (seq, (case_no, body)) in (next_seq(&tx)?..).zip(&due) {
        let mut case: Case = serde_json::from_str(body)?;
        let Some(procedure) = workflow::procedure(&case.kind) else {
            anyhow::bail!("case {case_no} has unknown kind {}", case.kind);
        };
        let next = workflow::advance(&mut case, procedure, now, rng);
        upsert(&tx, seq, &case, next)?;
    }
    tx.commit()?;
    Ok(due.len())
}

/// The stored state of one case, for tests and tools.
pub fn get(conn: &Connection, case_no: &str) -> anyhow::Result<Option<Case>> {
    let body: Option<Option<String>> = conn
        .query_row(
            "SELECT body FROM cases WHERE case_no = ?1",
            [case_no],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match body.flatten() {
        Some(body) => Some(serde_json::from_str(&body)?),
        None => None,
    })
}
