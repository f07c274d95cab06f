//! Bearer tokens, checked from the headers alone, before any body is read.
//!
//! [`DeviceAuth`] and [`AdminAuth`] are extractors from the request's parts; axum runs every
//! such extractor before the one (always last) that reads the body, so a request without a
//! valid token is answered 401 without its body being read or buffered. Device routes take
//! only device tokens and admin routes only the admin token: the admin token is no device,
//! and a device token is no administrator.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::state::AppState;
use crate::tokens::{self, Device};

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// A request made with a device's token: the device it belongs to.
pub struct DeviceAuth(pub Device);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)
            .ok_or_else(ApiError::unauthorized)?
            .to_owned();
        state
            .read(move |conn| Ok(tokens::authenticate(conn, &token)?))
            .await?
            .map(DeviceAuth)
            .ok_or_else(ApiError::unauthorized)
    }
}

impl DeviceAuth {
    /// Refuses (403) a request about another device than the token's.
    pub fn owns(&self, field: &str, device_id: &str) -> Result<(), ApiError> {
        if device_id == self.0.device_id {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "{field}: this token belongs to device {:?}, not {device_id:?}",
                self.0.device_id
            )))
        }
    }

    /// Refuses (403) a request about another hall than the token's device's.
    pub fn in_hall(&self, field: &str, hall_id: &str) -> Result<(), ApiError> {
        if hall_id == self.0.hall_id {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "{field}: device {:?} belongs to hall {:?}, not {hall_id:?}",
                self.0.device_id, self.0.hall_id
            )))
        }
    }
}

/// A request made with the admin token.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let expected = state.config.admin_token.as_bytes();
        match bearer(&parts.headers) {
            Some(given) if bool::from(given.as_bytes().ct_eq(expected)) => Ok(AdminAuth),
            _ => Err(ApiError::unauthorized()),
        }
    }
}
