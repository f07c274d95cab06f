//! The parcel and mining-right layers as change feeds.

use axum::Json;
use axum::extract::State;
use protocol::MAX_PAGE;
use protocol::layers::{FeatureChange, Layer, LayerChangesPage, LayerFeature};
use rusqlite::params;
use serde::Deserialize;

use super::auth::DeviceAuth;
use super::error::{ApiError, ApiResult};
use super::extract::{Path, Query, stored_int};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerQuery {
    #[serde(default)]
    after: u64,
    limit: Option<u32>,
}

pub async fn changes(
    _: DeviceAuth,
    State(state): State<AppState>,
    Path(layer): Path<String>,
    Query(query): Query<LayerQuery>,
) -> ApiResult<Json<LayerChangesPage>> {
    stored_int("after", query.after)?;
    let layer = Layer::from_path(&layer)
        .ok_or_else(|| ApiError::not_found(format!("no layer {layer:?}")))?;
    let limit = query.limit.unwrap_or(1000);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to {MAX_PAGE}"
        )));
    }
    let page = state
        .read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, id, body FROM layer_features
                 WHERE layer = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(
                params![layer.as_str(), query.after, i64::from(limit) + 1],
                |r| {
                    Ok((
                        r.get::<_, u64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                },
            )?;
            let mut changes = Vec::new();
            for row in rows {
                let (seq, id, body) = row?;
                changes.push(match body {
                    Some(body) => FeatureChange::Upsert {
                        seq,
                        feature: Box::new(serde_json::from_str::<LayerFeature>(&body)?),
                    },
                    None => FeatureChange::Delete { seq, id },
                });
            }
            let has_more = changes.len() > limit as usize;
            changes.truncate(limit as usize);
            let next_after = changes.last().map_or(query.after, FeatureChange::seq);
            Ok(LayerChangesPage {
                layer,
                changes,
                next_after,
                has_more,
            })
        })
        .await?;
    Ok(Json(page))
}

/// Every live feature of every layer, for the server's own overlap checks.
pub fn all_features(
    conn: &rusqlite::Connection,
) -> anyhow::Result<Vec<crate::geometry::IndexedFeature>> {
    let mut stmt =
        conn.prepare_cached("SELECT layer, body FROM layer_features WHERE body IS NOT NULL")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut features = Vec::new();
    for row in rows {
        let (layer, body) = row?;
        let layer = Layer::from_path(&layer)
            .ok_or_else(|| anyhow::anyhow!("stored feature has unknown layer {layer}"))?;
        let feature: LayerFeature = serde_json::from_str(&body)?;
        if let Some(indexed) = crate::geometry::IndexedFeature::new(layer, feature) {
            features.push(indexed);
        }
    }
    Ok(features)
}
