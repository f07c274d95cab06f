//! Halls and the case change feed.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use protocol::MAX_PAGE;
use protocol::halls::{Hall, HallList};
use serde::Deserialize;

use super::auth;
use super::error::{ApiError, ApiResult};
use super::extract::Query;
use crate::state::AppState;

pub async fn halls(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<HallList>> {
    auth::device(&state, &headers)?;
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

pub async fn changes(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ChangesQuery>,
) -> ApiResult<impl IntoResponse> {
    auth::device(&state, &headers)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to {MAX_PAGE}"
        )));
    }
    let hall = query.hall;
    let page = state
        .read(move |conn| {
            if let Some(hall) = &hall {
                let known: bool = conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM halls WHERE id = ?1)",
                    [hall],
                    |r| r.get(0),
                )?;
                if !known {
                    return Ok(None);
                }
            }
            crate::cases::changes_page_json(conn, hall.as_deref(), query.after, limit).map(Some)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("no such hall"))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page))
}
