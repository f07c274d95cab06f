//! The 好差评 outbox: a rating is stored locally the moment the applicant gives it, then
//! delivered with its id, which makes the upstream's answer idempotent — a rating sent twice
//! (the reply was lost, the kiosk restarted) is recorded once.

use chrono::{DateTime, Utc};
use protocol::client::{Client, ClientError};
use protocol::ratings::Rating;
use rusqlite::params;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::mirror::{FaultSource, Mirror, unix};

/// What a delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub delivered: usize,
    /// Refused by the upstream (a 4xx): kept with the reason, never sent again.
    pub refused: usize,
    /// Still waiting because the upstream could not be reached.
    pub pending: usize,
}

/// Ratings sent per round; the rest wait for the next.
const BATCH: u32 = 100;

impl Mirror {
    /// Stores a rating for delivery; returns its id.
    pub fn record_rating(
        &self,
        device_id: &str,
        hall_id: &str,
        case_no: Option<&str>,
        score: u8,
        reasons: &[&str],
        now: DateTime<Utc>,
    ) -> Result<Uuid> {
        let rating = Rating {
            rating_id: Uuid::new_v4(),
            device_id: device_id.to_owned(),
            hall_id: hall_id.to_owned(),
            case_no: case_no.map(str::to_owned),
            score,
            reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
            rated_at: now,
        };
        rating.validate().map_err(Error::Invalid)?;
        self.conn().execute(
            "INSERT INTO ratings_outbox (rating_id, body, created_at, state) VALUES (?1, ?2, ?3, 'pending')",
            params![rating.rating_id.to_string(), serde_json::to_string(&rating)?, unix(now)],
        )?;
        Ok(rating.rating_id)
    }

    /// Counts of ratings by state: `(pending, delivered, refused)`.
    pub fn rating_counts(&self) -> Result<(u64, u64, u64)> {
        Ok(self.conn().query_row(
            "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'delivered'),
                    count(*) FILTER (WHERE state = 'refused') FROM ratings_outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }
}

fn pending(mirror: &Mirror) -> Result<Vec<(String, Rating)>> {
    let mut stmt = mirror.conn().prepare_cached(
        "SELECT rating_id, body FROM ratings_outbox WHERE state = 'pending' ORDER BY created_at, rating_id LIMIT ?1",
    )?;
    let rows = stmt.query_map([BATCH], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, body) = row?;
        out.push((id, serde_json::from_str(&body)?));
    }
    Ok(out)
}

/// Sends pending ratings, oldest first. Stops at the first error that may pass, so an
/// unreachable upstream costs one request per round.
pub async fn deliver(client: &Client, mirror: &Mirror, now: DateTime<Utc>) -> Result<Delivered> {
    let mut report = Delivered::default();
    let batch = pending(mirror)?;
    let total = batch.len();
    for (id, rating) in batch {
        match client.post_rating(&rating).await {
            Ok(_) => {
                mirror.conn().execute(
                    "UPDATE ratings_outbox SET state = 'delivered', attempts = attempts + 1, last_error = NULL
                     WHERE rating_id = ?1",
                    [&id],
                )?;
                report.delivered += 1;
            }
            Err(e @ ClientError::Rejected { .. }) => {
                tracing::warn!(rating_id = id, error = %e, "rating refused by the upstream; kept, not resent");
                mirror.conn().execute(
                    "UPDATE ratings_outbox SET state = 'refused', attempts = attempts + 1, last_error = ?2
                     WHERE rating_id = ?1",
                    params![id, e.to_string()],
                )?;
                report.refused += 1;
            }
            Err(e) => {
                mirror.conn().execute(
                    "UPDATE ratings_outbox SET attempts = attempts + 1, last_error = ?2 WHERE rating_id = ?1",
                    params![id, e.to_string()],
                )?;
                mirror.record_fault(FaultSource::Ratings, &e.to_string(), now)?;
                report.pending = total - report.delivered - report.refused;
                return Ok(report);
            }
        }
    }
    mirror.clear_fault(FaultSource::Ratings)?;
    Ok(report)
}
