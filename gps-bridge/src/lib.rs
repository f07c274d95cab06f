//! Land Hall gps-bridge: reads handheld GPS receivers (NMEA 0183) and turns what they send into
//! durable survey records, checks them into plots and delivers them upstream exactly once.

pub mod config;
pub mod control;
pub mod convert;
pub mod daemon;
pub mod device;
pub mod dock;
pub mod durable;
pub mod files;
pub mod geo;
pub mod health;
pub mod import;
pub mod layers;
mod log_limit;
pub mod nmea;
pub mod outbox;
pub mod plot;
pub mod replay;
pub mod reply_text;
pub mod sanity;
pub mod simulator;
pub mod survey;
#[cfg(test)]
mod testing;
pub mod views;
