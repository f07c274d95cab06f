//! Bearer tokens: devices use a device token, administrators the admin token.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::state::AppState;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn matches(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// A device (kiosk or bridge) or an administrator.
pub fn device(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = bearer(headers).ok_or_else(ApiError::unauthorized)?;
    let known = state
        .config
        .device_tokens
        .iter()
        .chain(std::iter::once(&state.config.admin_token));
    if known.fold(false, |hit, token| hit | matches(given, token)) {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

pub fn admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match bearer(headers) {
        Some(given) if matches(given, &state.config.admin_token) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}
