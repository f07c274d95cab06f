//! Halls and the case change feed.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use protocol::MAX_PAGE;
use protocol::halls::{Hall, HallList};
use serde::Deserialize;

use super::auth::DeviceAuth;
use super::error::{ApiError, ApiResult};
use super::extract::{Query, stored_int};
use crate::state::AppState;

pub async fn halls(_: DeviceAuth, State(state): State<AppState>) -> ApiResult<Json<HallList>> {
    let halls = state
        .read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT body FROM halls ORDER BY id")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut halls = Vec::new();
            for body in rows {
                halls.push(serde_json::from_str::<Hall>(&body?)?);
            }
            Ok(halls)
        })
        .await?;
    Ok(Json(HallList { halls }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    hall: Option<String>,
    #[serde(default)]
    after: u64,
    limit: Option<u32>,
}

const DEFAULT_PAGE: u32 = 500;

/// A device reads its own hall's feed: `hall` may be left out, and another hall is 403.
pub async fn changes(
    device: DeviceAuth,
    State(state): State<AppState>,
    Query(query): Query<ChangesQuery>,
) -> ApiResult<impl IntoResponse> {
    if let Some(hall) = &query.hall {
        device.in_hall("hall", hall)?;
    }
    stored_int("after", query.after)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to {MAX_PAGE}"
        )));
    }
    let hall = device.0.hall_id;
    let page = state
        .read(move |conn| crate::cases::changes_page_json(conn, &hall, query.after, limit))
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page))
}
