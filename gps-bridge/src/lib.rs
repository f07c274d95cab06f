//! Land Hall gps-bridge: reads handheld GPS receivers (NMEA 0183) and turns what they send into
//! durable survey records.

pub mod nmea;
pub mod replay;
pub mod survey;
