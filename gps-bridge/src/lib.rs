//! Land Hall gps-bridge: reads handheld GPS receivers (NMEA 0183) and turns what they send into
//! durable survey records.

pub mod bridge;
pub mod config;
pub mod control;
pub mod convert;
pub mod daemon;
pub mod device;
pub mod files;
pub mod geo;
pub mod import;
mod log_limit;
pub mod nmea;
pub mod plot;
pub mod replay;
pub mod reply_text;
pub mod sanity;
pub mod simulator;
pub mod survey;
