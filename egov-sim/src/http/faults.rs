//! Fault injection for tests: 5xx answers, latency, and connections dropped mid-answer,
//! decided by dice seeded with `--seed` so that a failing run can be replayed.
//!
//! A dropped answer is produced after the handler ran, so whatever it stored stays stored:
//! that is the case clients must survive (their request succeeded, they never heard).

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::state::AppState;

pub async fn inject(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let faults = &state.config.faults;
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let (fail, drop) = faults.dice.roll(faults.fail_rate, faults.drop_rate);
    if fail {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "injected_failure",
            "fault injection: --fail-rate",
        )
        .into_response();
    }
    let response = next.run(request).await;
    if !drop {
        return response;
    }
    // Announce the full length, send half, then fail the body: hyper closes the connection
    // and the client sees a body cut short.
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.insert(
        axum::http::header::CONTENT_LENGTH,
        bytes.len().max(1).into(),
    );
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
        Ok(half),
        Err(std::io::Error::other("fault injection: --drop-rate")),
    ];
    Response::from_parts(parts, Body::from_stream(futures_util::stream::iter(chunks)))
}
