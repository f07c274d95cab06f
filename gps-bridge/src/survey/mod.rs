//! Survey data: what the bridge records from a receiver, and the pure state machines that
//! assemble it from sentences. A [`PlotCandidate`] (ordered named corners with lon/lat, σ and
//! the raw sentences behind them) is what a later plot stage takes as input.

mod capture;
mod route;
mod store;

pub use capture::{CaptureError, CornerCapture, FixType, QualityFilter};
pub use route::{IncompleteRoute, RouteAssembler, RouteConfig, RouteEvent};
pub use store::{ImportRecords, ImportedFile, RouteRecord, StoredMark, SurveyStore};

use serde::{Deserialize, Serialize};

use crate::plot::{Finding, LandKind};

/// Fewest corners that make a plot.
pub const MIN_CORNERS: usize = 3;

/// One surveyed corner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Corner {
    pub name: String,
    /// WGS84 degrees (≈ CGCS2000 at handheld accuracy).
    pub lon: f64,
    pub lat: f64,
    /// 1σ horizontal error estimate, metres, when one is known.
    pub sigma_m: Option<f64>,
    /// Fixes averaged into the position (1 for a transferred waypoint).
    pub fixes: u32,
    /// The sentences the corner came from, for audit; for a GPX import, where the point is in
    /// the imported file, which is stored whole (`rte[1]/rtept[3]`, `wpt[2]`).
    pub raw: Vec<String>,
}

/// How a plot candidate was surveyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A route transferred from the handheld (RTE + WPL, or PMGNRTE + PMGNWPL).
    RouteTransfer,
    /// Corners marked live with `gps-bridge mark`, closed with `close-plot`.
    CornerCapture,
    /// A GPX file from a mass-storage handheld.
    GpxImport,
    /// A 国土 boundary-point coordinate file (TXT) drawn or received elsewhere.
    TxtImport,
    /// A GeoJSON file drawn or received elsewhere.
    GeojsonImport,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::RouteTransfer => "route_transfer",
            Source::CornerCapture => "corner_capture",
            Source::GpxImport => "gpx_import",
            Source::TxtImport => "txt_import",
            Source::GeojsonImport => "geojson_import",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            Source::RouteTransfer,
            Source::CornerCapture,
            Source::GpxImport,
            Source::TxtImport,
            Source::GeojsonImport,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// Ordered named corners of one plot, as surveyed, before any geometry checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotCandidate {
    /// Route name, plot name given at `close-plot`, or the route's or plot's name in a file.
    pub name: String,
    pub source: Source,
    /// Serial port or file it came from.
    pub device: String,
    /// The outer boundary, in boundary order, the first corner not repeated at the end.
    pub corners: Vec<Corner>,
    /// Inner rings taken out of the plot (a courtyard, another's land), each like `corners`;
    /// only files bring them.
    #[serde(default)]
    pub holes: Vec<Vec<Corner>>,
    /// The land it is on, as the officer gave it (`--land`); `None`: the configured default.
    #[serde(default)]
    pub land: Option<LandKind>,
    /// What reading the input found (a file's ring that was not closed, say), kept so the
    /// plot check reports it with its own findings.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Sentences that belong to the plot as a whole (route sentences), for audit.
    pub raw: Vec<String>,
}

impl PlotCandidate {
    /// A candidate of one ring, its land kind left to the default, nothing found on reading.
    pub fn new(
        name: impl Into<String>,
        source: Source,
        device: impl Into<String>,
        corners: Vec<Corner>,
        raw: Vec<String>,
    ) -> Self {
        PlotCandidate {
            name: name.into(),
            source,
            device: device.into(),
            corners,
            holes: Vec::new(),
            land: None,
            findings: Vec::new(),
            raw,
        }
    }
}
