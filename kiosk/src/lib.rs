//! The kiosk's data plane: the SQLite mirror of cases and content, the case feed sync, signed
//! content releases, heartbeats with remote commands, and the ratings outbox; and the touch
//! screen ([`ui`]), which reads the mirror through its own connection and listens for content
//! changes, run beside the data plane in one process by [`app`].

// `deny`, not `forbid`: the code Slint generates for the UI (`ui::generated`) needs `unsafe`.
#![deny(unsafe_code)]

pub mod app;
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
pub mod ui;

pub use error::{Error, Result};
/// Retry pacing, shared with the bridge's uploader.
pub use protocol::backoff;

/// Reported in heartbeats.
pub const APP_VERSION: &str = env!("CARGO_PKG_VERSION");
