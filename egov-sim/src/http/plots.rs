//! Plot submissions, recorded once per idempotency key, checked and answered with overlaps.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use geo::GeodesicArea;
use protocol::IDEMPOTENCY_KEY;
use protocol::plots::{PlotReceipt, PlotSubmission};
use rusqlite::params;

use super::auth::DeviceAuth;
use super::error::{ApiError, ApiResult};
use super::extract::Json;
use super::idempotent::{Ledger, answer, canonical_hash, replay};
use crate::geometry;
use crate::state::AppState;

fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .ok_or_else(|| ApiError::bad_request("the Idempotency-Key header is required"))?
        .to_str()
        .map_err(|_| ApiError::bad_request("Idempotency-Key must be printable ASCII"))?;
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "Idempotency-Key must be 1 to 200 printable ASCII characters",
        ));
    }
    Ok(key.to_owned())
}

pub async fn post(
    device: DeviceAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(plot, raw): Json<PlotSubmission>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    device.owns("device_id", &plot.device_id)?;
    device.in_hall("office_id", &plot.office_id)?;
    let now = state.clock.now();
    let hash = canonical_hash(&raw)?;
    let (created, receipt) = state
        .write(move |conn| {
            let tx = conn.transaction()?;
            if let Some(previous) = replay(&tx, Ledger::Plots, &key, &hash)? {
                return Ok(previous.map(|receipt| (false, receipt)));
            }
            // Checked only for new keys: a replay answers what was answered before.
            if let Err(reason) = plot.validate_fields(now) {
                return Ok(Err(ApiError::unprocessable("invalid_plot", reason)));
            }
            let polygon = match plot
                .validate_shape()
                .and_then(|()| geometry::plot_polygon(&plot.corners, &plot.holes))
            {
                Ok(polygon) => polygon,
                Err(reason) => return Ok(Err(ApiError::unprocessable("invalid_geometry", reason))),
            };
            let features = super::layers::all_features(&tx)?;
            let number: u64 = tx.query_row("SELECT count(*) + 1 FROM plots", [], |r| r.get(0))?;
            let plot_id = format!("PL{}-{number:06}", now.format("%Y%m%d"));
            let receipt = serde_json::to_string(&PlotReceipt {
                plot_id: plot_id.clone(),
                received_at: now,
                area_m2: polygon.geodesic_area_unsigned(),
                overlaps: geometry::overlaps(&polygon, &features),
            })?;
            tx.execute(
                "INSERT INTO plots (idempotency_key, body_hash, plot_id, body, receipt)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key, hash, plot_id, serde_json::to_string(&plot)?, receipt],
            )?;
            tx.commit()?;
            Ok(Ok((true, receipt)))
        })
        .await??;
    Ok(answer(created, receipt))
}
