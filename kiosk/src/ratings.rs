//! The 好差评 outbox: a rating is stored locally the moment the applicant gives it, then
//! delivered with its id, which makes the upstream's answer idempotent — a rating sent twice
//! (the reply was lost, the kiosk restarted) is recorded once.

use chrono::{DateTime, Utc};
use protocol::client::{Client, ClientError};
use protocol::ratings::Rating;
use rusqlite::params;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::mirror::{AsyncMirror, FaultSource, Mirror, unix};

/// What a delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub delivered: usize,
    /// Refused by the upstream (a 4xx): kept with the reason, never sent again.
    pub refused: usize,
}

/// Ratings sent per round; the rest wait for the next.
const BATCH: u32 = 100;

impl Mirror {
    /// Stores a rating for delivery; returns its id once the rating is on the disk. A rating
    /// is accepted data the kiosk cannot fetch again: open this connection with
    /// [`Mirror::open`] ([`crate::mirror::Durability::Synced`]), so that the commit has synced
    /// the WAL before the applicant is thanked; it is refused on a connection that would
    /// leave it to the next checkpoint.
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
        self.require_synced("a rating")?;
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

/// Records one delivery attempt: `state` is the new state (`None`: still pending).
fn attempted(
    mirror: &AsyncMirror,
    id: String,
    state: Option<&'static str>,
    error: Option<String>,
) -> impl Future<Output = Result<()>> {
    mirror.run(move |m| {
        m.conn().execute(
            "UPDATE ratings_outbox SET state = coalesce(?2, state), attempts = attempts + 1, last_error = ?3
             WHERE rating_id = ?1",
            params![id, state, error],
        )?;
        Ok(())
    })
}

/// Sends pending ratings, oldest first, and records the outcome as the ratings fault. Stops
/// at the first error that may pass, so an unreachable upstream costs one request per round;
/// that error is returned, the ratings stay pending. The mirror's work runs on the blocking
/// pool.
pub async fn deliver(
    client: &Client,
    mirror: &AsyncMirror,
    now: DateTime<Utc>,
) -> Result<Delivered> {
    let outcome = deliver_pending(client, mirror).await;
    mirror
        .record_outcome(FaultSource::Ratings, &outcome, now)
        .await;
    outcome
}

async fn deliver_pending(client: &Client, mirror: &AsyncMirror) -> Result<Delivered> {
    let mut report = Delivered::default();
    for (id, rating) in mirror.run(|m| pending(m)).await? {
        match client.post_rating(&rating).await {
            Ok(_) => {
                attempted(mirror, id, Some("delivered"), None).await?;
                report.delivered += 1;
            }
            Err(e @ ClientError::Rejected { .. }) => {
                tracing::warn!(rating_id = id, error = %e, "rating refused by the upstream; kept, not resent");
                attempted(mirror, id, Some("refused"), Some(e.to_string())).await?;
                report.refused += 1;
            }
            Err(e) => {
                attempted(mirror, id, None, Some(e.to_string())).await?;
                return Err(e.into());
            }
        }
    }
    Ok(report)
}
