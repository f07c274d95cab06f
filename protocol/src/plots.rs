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

/// Longest plot name, survey, device and office id of a submission, in bytes.
pub const MAX_PLOT_TEXT: usize = 200;

/// Longest corner name, in bytes (names are short labels: `J1`, `界址点12`).
pub const MAX_CORNER_NAME: usize = 64;

/// Largest area a submission may state, m² (1,000 km²: larger than any plot surveyed
/// corner by corner; a bigger number is a unit error or garbage).
pub const MAX_AREA_M2: f64 = 1e9;

/// Most warnings a submission carries, and the longest one in bytes.
pub const MAX_WARNINGS: usize = 100;
pub const MAX_WARNING_LEN: usize = 1_000;

/// How far ahead of the receiver's clock `surveyed_at` may be (clocks drift; a day is
/// generous), and the earliest it may be.
pub const MAX_SURVEY_SKEW_S: i64 = 86_400;
pub const EARLIEST_SURVEY: &str = "2000-01-01T00:00:00Z";

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
            if value.is_empty() || value.len() > MAX_PLOT_TEXT {
                return Err(format!("{field} must be 1 to {MAX_PLOT_TEXT} bytes"));
            }
        }
        Ok(())
    }
}

impl PlotSubmission {
    /// Checks the fields beside the boundary: what each corner says of itself, the stated
    /// area, the survey time against `now` (the receiver's clock), the warnings. Each refusal
    /// names its field.
    pub fn validate_fields(&self, now: DateTime<Utc>) -> Result<(), String> {
        let rings = std::iter::once(("corners".to_owned(), &self.corners)).chain(
            self.holes
                .iter()
                .enumerate()
                .map(|(h, hole)| (format!("holes[{h}]"), hole)),
        );
        for (ring, corners) in rings {
            for (i, c) in corners.iter().enumerate() {
                if c.name.is_empty() || c.name.len() > MAX_CORNER_NAME {
                    return Err(format!(
                        "{ring}[{i}].name must be 1 to {MAX_CORNER_NAME} bytes, got {}",
                        c.name.len()
                    ));
                }
                if c.fixes == 0 {
                    return Err(format!(
                        "{ring}[{i}].fixes must be at least 1 (corner {})",
                        c.name
                    ));
                }
            }
        }
        if let Some(area) = self.area_m2
            && !(area.is_finite() && area > 0.0 && area <= MAX_AREA_M2)
        {
            return Err(format!(
                "area_m2 must be a positive number of at most {MAX_AREA_M2} m², got {area}"
            ));
        }
        if let Some(sigma) = self.area_uncertainty_m2
            && !(sigma.is_finite() && (0.0..=MAX_AREA_M2).contains(&sigma))
        {
            return Err(format!(
                "area_uncertainty_m2 must be a number from 0 to {MAX_AREA_M2} m², got {sigma}"
            ));
        }
        let earliest: DateTime<Utc> = EARLIEST_SURVEY.parse().expect("a valid constant");
        let latest = now + chrono::Duration::seconds(MAX_SURVEY_SKEW_S);
        if !(earliest..=latest).contains(&self.surveyed_at) {
            return Err(format!(
                "surveyed_at must be between {earliest} and a day after the receiver's clock \
                 ({now}), got {}",
                self.surveyed_at
            ));
        }
        if self.warnings.len() > MAX_WARNINGS {
            return Err(format!("warnings: at most {MAX_WARNINGS}"));
        }
        if let Some(i) = self
            .warnings
            .iter()
            .position(|w| w.is_empty() || w.len() > MAX_WARNING_LEN)
        {
            return Err(format!(
                "warnings[{i}] must be 1 to {MAX_WARNING_LEN} bytes"
            ));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plot() -> PlotSubmission {
        PlotSubmission {
            survey_id: "S-1".into(),
            device_id: "bridge-1".into(),
            office_id: "hn-gyx-zsz".into(),
            name: "宅基地".into(),
            surveyed_at: "2026-11-30T08:00:00Z".parse().unwrap(),
            corners: (0..4)
                .map(|i| Corner {
                    name: format!("J{}", i + 1),
                    lon: 112.62 + f64::from(i % 2) * 0.0003,
                    lat: 25.87 + f64::from(i / 2) * 0.0003,
                    sigma_m: Some(1.0),
                    fixes: 10,
                })
                .collect(),
            holes: vec![],
            area_m2: Some(900.0),
            area_uncertainty_m2: Some(12.0),
            warnings: vec![],
        }
    }

    #[test]
    fn field_refusals_name_the_field() {
        let now: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        assert_eq!(plot().validate_fields(now), Ok(()));
        let refused = |change: &dyn Fn(&mut PlotSubmission), field: &str| {
            let mut p = plot();
            change(&mut p);
            let err = p.validate_fields(now).unwrap_err();
            assert!(err.starts_with(field), "{field}: {err}");
        };
        refused(&|p| p.corners[2].fixes = 0, "corners[2].fixes");
        refused(
            &|p| p.corners[1].name = "J".repeat(100_000),
            "corners[1].name",
        );
        refused(&|p| p.corners[0].name = String::new(), "corners[0].name");
        refused(
            &|p| {
                let mut hole = p.corners.clone();
                hole[1].fixes = 0;
                p.holes = vec![hole];
            },
            "holes[0][1].fixes",
        );
        refused(&|p| p.area_m2 = Some(-5.0), "area_m2");
        refused(&|p| p.area_m2 = Some(1e308), "area_m2");
        refused(&|p| p.area_m2 = Some(f64::NAN), "area_m2");
        refused(
            &|p| p.area_uncertainty_m2 = Some(-1.0),
            "area_uncertainty_m2",
        );
        refused(
            &|p| p.area_uncertainty_m2 = Some(f64::INFINITY),
            "area_uncertainty_m2",
        );
        refused(
            &|p| p.surveyed_at = "9999-01-01T00:00:00Z".parse().unwrap(),
            "surveyed_at",
        );
        refused(
            &|p| p.surveyed_at = "1970-01-01T00:00:00Z".parse().unwrap(),
            "surveyed_at",
        );
        refused(&|p| p.warnings = vec!["x".into(); 101], "warnings");
        refused(&|p| p.warnings = vec![String::new()], "warnings[0]");
    }
}
