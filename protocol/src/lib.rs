//! The Land Hall upstream contract (v1).
//!
//! Everything that crosses the wire between the e-government system and the programs at the
//! edge — kiosks and GPS bridges — is defined here, once: serde wire types, the signed content
//! manifest, and an HTTP client. No UI and no SQLite live in this crate, so the contract can be
//! shared by the reference server (`egov-sim`) and every client without dragging either along.
//!
//! `docs/api.yaml` is the OpenAPI description of the same contract.

pub mod backoff;
pub mod cases;
pub mod client;
pub mod content;
pub mod devices;
pub mod error;
pub mod halls;
pub mod items;
pub mod layers;
pub mod lookup;
pub mod plots;
pub mod ratings;
pub mod wire_time;

/// Version prefix of every JSON route.
pub const API_PREFIX: &str = "/api/v1";

/// Largest request body any route accepts, except content blobs and screenshots.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// Largest content blob or screenshot accepted by an upload route.
pub const MAX_BLOB_BODY: usize = 32 * 1024 * 1024;

/// Largest page of the case or layer change feeds.
pub const MAX_PAGE: u32 = 5_000;

/// Header that makes a plot submission idempotent.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
