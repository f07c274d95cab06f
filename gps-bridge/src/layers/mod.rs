//! The overlap pre-check (压覆): the upstream's parcel (宗地) and mining-right (采矿权) layers,
//! synced from their change feeds into a local cache, indexed, and intersected with each plot.
//!
//! - [`cache`]: the SQLite cache, one page of changes and its cursor per transaction, so a
//!   sync cut off anywhere resumes after the last page applied; it works offline.
//! - [`index`]: the features in memory, projected once (at sync time) into the site's
//!   Gauss-Krüger plane and held in an R-tree (rstar) on their lon/lat bounds; a pre-check is
//!   then an R-tree query and plane intersections, with the cache's freshness in its result.
//! - [`sync`]: the feed reader.

pub mod cache;
pub mod index;
mod plane;
pub mod sync;

use chrono::{DateTime, Utc};
use protocol::layers::Layer;
use serde::{Deserialize, Serialize};

pub use cache::LayerCache;
pub use index::{LayerIndex, PlanePlot};
pub use plane::SitePlane;

/// How a lon/lat position maps into the site's plane. The site surveys in one zone (or, with
/// `zone = "auto"`, each position in its own); features are projected into it once, at sync.
pub trait Plane: Send + Sync {
    /// The zone a feature at (`lon`, `lat`) is kept projected in.
    fn zone_of(&self, lon: f64, lat: f64) -> u8;
    /// Easting without the zone prefix, and northing, in metres, in `zone`.
    fn project(&self, zone: u8, lon: f64, lat: f64) -> Option<(f64, f64)>;
    /// Names the projection, so a cache projected otherwise is projected again.
    fn describe(&self) -> String;
}

/// One feature a plot overlaps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerOverlap {
    pub layer: Layer,
    pub feature_id: String,
    pub name: String,
    pub holder: String,
    /// Area in common, m², in the plane.
    pub area_m2: f64,
}

/// How current the cache of one layer is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerFreshness {
    pub layer: Layer,
    /// The feed position applied up to.
    pub cursor: u64,
    /// When the feed was last read to its end; `None`: never (the pre-check saw nothing of
    /// this layer, or only part of it).
    pub synced_at: Option<DateTime<Utc>>,
    pub features: u64,
}

/// A pre-check's answer: what the plot overlaps, as of when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreCheck {
    pub overlaps: Vec<LayerOverlap>,
    pub freshness: Vec<LayerFreshness>,
}

/// Overlaps smaller than this are slivers of surveying noise along a shared boundary.
pub const MIN_OVERLAP_M2: f64 = 0.01;
