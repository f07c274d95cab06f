//! 好差评 ratings, recorded once per rating id.

use axum::extract::State;
use axum::response::Response;
use protocol::ratings::{Rating, RatingReceipt};
use rusqlite::params;

use super::auth::DeviceAuth;
use super::error::{ApiError, ApiResult};
use super::extract::Json;
use super::idempotent::{Ledger, answer, canonical_hash, replay};
use crate::state::AppState;

pub async fn post(
    device: DeviceAuth,
    State(state): State<AppState>,
    Json(rating, raw): Json<Rating>,
) -> ApiResult<Response> {
    device.owns("device_id", &rating.device_id)?;
    device.in_hall("hall_id", &rating.hall_id)?;
    rating
        .validate()
        .map_err(|m| ApiError::unprocessable("invalid_rating", m))?;
    let hash = canonical_hash(&raw)?;
    let now = state.clock.now();
    let (created, receipt) = state
        .write(move |conn| {
            let tx = conn.transaction()?;
            let key = rating.rating_id.to_string();
            if let Some(previous) = replay(&tx, Ledger::Ratings, &key, &hash)? {
                return Ok(previous.map(|receipt| (false, receipt)));
            }
            let receipt = serde_json::to_string(&RatingReceipt {
                rating_id: rating.rating_id,
                received_at: now,
            })?;
            tx.execute(
                "INSERT INTO ratings (rating_id, body_hash, body, receipt) VALUES (?1, ?2, ?3, ?4)",
                params![key, hash, serde_json::to_string(&rating)?, receipt],
            )?;
            tx.commit()?;
            Ok(Ok((true, receipt)))
        })
        .await??;
    Ok(answer(created, receipt))
}
