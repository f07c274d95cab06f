//! Request extractors whose refusals follow the contract (a JSON error body), unlike axum's
//! plain-text rejections.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::state::AppState;

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            rejection.body_text(),
        )
    } else {
        ApiError::bad_request(rejection.body_text())
    }
}

/// The whole body, within the route's size limit and the server's body timeout: a body
/// that trickles in is not waited for without end.
async fn body_bytes(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    let timeout = state.config.limits.body_timeout;
    match tokio::time::timeout(timeout, Bytes::from_request(req, state)).await {
        Ok(read) => read.map_err(body_rejection),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the body did not arrive within {} ms", timeout.as_millis()),
        )),
    }
}

/// A JSON body, read within the route's body limit.
pub struct Json<T>(pub T, pub Bytes);

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Content-Type: the body must be sent as application/json",
            ));
        }
        let bytes = body_bytes(req, state).await?;
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(Json(value, bytes)),
            Err(err) => Err(ApiError::bad_request(format!("invalid JSON body: {err}"))),
        }
    }
}

/// A raw body (blobs, screenshots), read within the route's body limit.
pub struct Body(pub Bytes);

impl FromRequest<AppState> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        Ok(Body(body_bytes(req, state).await?))
    }
}

pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| ApiError::bad_request(e.body_text()))
    }
}

pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e: PathRejection| ApiError::bad_request(e.body_text()))
    }
}

/// A number from a query, path or body that the store keeps as an SQLite integer: at most
/// 2^63 − 1. Larger ones are refused by name (400) instead of failing in the store (500).
pub fn stored_int(field: &str, value: u64) -> Result<i64, ApiError> {
    i64::try_from(value).map_err(|_| {
        ApiError::bad_request(format!("{field} must be at most {}, got {value}", i64::MAX))
    })
}
