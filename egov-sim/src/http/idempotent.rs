//! Exactly-once recording by a client-chosen key (rating id, plot idempotency key).
//!
//! The first request with a key is recorded with a hash of its canonical body and the answer
//! given. A repeat with the same body gets the same answer (200); a repeat with another body
//! is a client bug and is refused (422), never silently merged.

use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::error::ApiError;

/// SHA-256 over the body re-serialised with sorted keys, so that field order and white
/// space do not make two equal submissions differ.
pub fn canonical_hash(body: &[u8]) -> Result<String, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let canonical = serde_json::to_vec(&value).expect("a JSON value serialises");
    Ok(hex::encode(Sha256::digest(canonical)))
}

/// Tables that record by key; each has `body_hash` and `receipt` columns.
#[derive(Clone, Copy)]
pub enum Ledger {
    Ratings,
    Plots,
}

impl Ledger {
    fn lookup_sql(self) -> &'static str {
        match self {
            Self::Ratings => "SELECT body_hash, receipt FROM ratings WHERE rating_id = ?1",
            Self::Plots => "SELECT body_hash, receipt FROM plots WHERE idempotency_key = ?1",
        }
    }
}

/// What to answer for a key already seen, or `None` for a new key.
pub fn replay(
    conn: &Connection,
    ledger: Ledger,
    key: &str,
    body_hash: &str,
) -> anyhow::Result<Option<Result<String, ApiError>>> {
    let found: Option<(String, String)> = conn
        .query_row(ledger.lookup_sql(), [key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(found.map(|(hash, receipt)| {
        if hash == body_hash {
            Ok(receipt)
        } else {
            Err(ApiError::unprocessable(
                "idempotency_conflict",
                format!("key {key:?} was already used with a different body"),
            ))
        }
    }))
}

/// A stored receipt as answered: 201 when just recorded, 200 on a replay.
pub fn answer(created: bool, receipt: String) -> Response {
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        receipt,
    )
        .into_response()
}
