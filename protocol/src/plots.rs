//! Surveyed plots, `POST /api/v1/plots` with an `Idempotency-Key`.
//!
//! The same key with the same body answers `200` with the first answer's body; the same key
//! with another body is a `422` (`idempotency_conflict`): a client bug, never retried.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::layers::Layer;

/// One surveyed corner (界址点).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Corner {
    /// Corner name as surveyed, e.g. `J1`.
    pub name: String,
    /// CGCS2000 longitude and latitude, degrees.
    pub lon: f64,
    pub lat: f64,
    /// 1-σ horizontal error estimate, metres.
    #[serde(default)]
    pub sigma_m: Option<f64>,
    /// Fixes averaged into this corner (1 for a transferred waypoint).
    #[serde(default = "one")]
    pub fixes: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSubmission {
    /// The bridge's own id for the survey, for tracing.
    pub survey_id: String,
    pub device_id: String,
    /// The land office (hall id) that surveyed it.
    pub office_id: String,
    pub name: String,
    pub surveyed_at: DateTime<Utc>,
    /// Corners of the outer boundary in boundary order, the ring not repeated at the end.
    pub corners: Vec<Corner>,
    /// Inner rings (holes: a courtyard, another's land) taken out of the plot, each like
    /// `corners`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holes: Vec<Vec<Corner>>,
    /// Area computed by the bridge in the CGCS2000 Gauss-Krüger plane.
    #[serde(default)]
    pub area_m2: Option<f64>,
    /// 1-σ uncertainty of `area_m2` from the corners' σ, m².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_uncertainty_m2: Option<f64>,
    /// Warnings the bridge showed the officer (poor accuracy, overlaps…).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Geometry limits shared by the bridge's checks and the server's: corners of all rings.
pub const MAX_CORNERS: usize = 1_000;

/// Whether a CGCS2000 position lies within China's bounds; anything else is a wrong datum or
/// a bad fix.
pub fn in_china(lon: f64, lat: f64) -> bool {
    (73.0..=136.0).contains(&lon) && (3.0..=54.0).contains(&lat)
}

impl PlotSubmission {
    /// Checks what can be checked without geometry libraries: sizes and coordinate ranges.
    /// Closure and self-intersection are checked by the receiver with real geometry.
    pub fn validate_shape(&self) -> Result<(), String> {
        if self.corners.len() < 3 {
            return Err(format!(
                "a plot needs at least 3 corners, got {}",
                self.corners.len()
            ));
        }
        if let Some(hole) = self.holes.iter().position(|h| h.len() < 3) {
            return Err(format!("hole {} needs at least 3 corners", hole + 1));
        }
        let count = self.corners.len() + self.holes.iter().map(Vec::len).sum::<usize>();
        if count > MAX_CORNERS {
            return Err(format!("a plot has at most {MAX_CORNERS} corners"));
        }
        for c in self.corners.iter().chain(self.holes.iter().flatten()) {
            if !in_china(c.lon, c.lat) {
                return Err(format!(
                    "corner {} at ({}, {}) is outside China",
                    c.name, c.lon, c.lat
                ));
            }
            if c.sigma_m.is_some_and(|s| !(s.is_finite() && s >= 0.0)) {
                return Err(format!("corner {} has an invalid sigma", c.name));
            }
        }
        for (field, value) in [
            ("survey_id", &self.survey_id),
            ("device_id", &self.device_id),
            ("office_id", &self.office_id),
            ("name", &self.name),
        ] {
            if value.is_empty() || value.len() > 200 {
                return Err(format!("{field} must be 1 to 200 bytes"));
            }
        }
        Ok(())
    }
}

/// An existing feature the plot overlaps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    pub layer: Layer,
    pub feature_id: String,
    pub name: String,
    /// Overlapping area, m² (geodesic).
    pub area_m2: f64,
}

/// `201` (new) or `200` (replay) answer to a plot submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotReceipt {
    pub plot_id: String,
    pub received_at: DateTime<Utc>,
    /// The server's geodesic area of the plot, m².
    pub area_m2: f64,
    pub overlaps: Vec<Overlap>,
}
