//! The kiosk's data plane: the SQLite mirror of cases and content, the case feed sync, signed
//! content releases, heartbeats with remote commands, and the ratings outbox. No UI lives
//! here; the UI reads the mirror through [`mirror::Mirror`] and listens for content changes.

#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod content;
pub mod daemon;
pub mod error;
pub mod feed;
pub mod heartbeat;
pub mod lookup;
pub mod masking;
pub mod mirror;
pub mod ratings;
pub mod sync;
pub mod throttle;
mod toml_line;

pub use error::{Error, Result};
/// Retry pacing, shared with the bridge's uploader.
pub use protocol::backoff;

/// Reported in heartbeats.
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");
