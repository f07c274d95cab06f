//! `gps-bridge simulate`: a Garmin handheld on a pseudo-terminal. Each second it sends GGA, RMC,
//! GSA, GSV, GST and PGRME for a position with a time-correlated error (a first-order
//! Gauss-Markov process per axis, as real GNSS error wanders rather than jumps), plus the active
//! route of plot corners as RTE with one WPL per second, cycling through them. With `--dwell`
//! the unit is carried round the plot: it stands that long at each corner (time for
//! `gps-bridge mark`) and walks to the next at a walking pace, saying where it is on stderr.
//!
//! `geojson` reads the plot's corners, `walk` moves the unit round them, `handheld` writes what
//! the receiver sends, `pty` runs it on a pseudo-terminal.

mod geojson;
mod handheld;
mod pty;
mod walk;

pub use geojson::corners_from_geojson;
pub use handheld::Handheld;
pub use pty::run;
pub use walk::Movement;

/// A named corner, WGS84 degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteCorner {
    pub name: String,
    pub lon: f64,
    pub lat: f64,
}
