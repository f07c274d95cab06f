//! Reference layers for the bridge's overlap pre-check:
//! `GET /api/v1/layers/{parcels|mining_rights}/changes?after=SEQ&limit=N`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// 地籍宗地: registered land parcels.
    Parcels,
    /// 采矿权: mining-right areas.
    MiningRights,
}

impl Layer {
    pub const ALL: [Layer; 2] = [Layer::Parcels, Layer::MiningRights];

    /// The path segment of the layer's routes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Parcels => "parcels",
            Self::MiningRights => "mining_rights",
        }
    }

    pub fn from_path(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == segment)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FeatureChange {
    Upsert {
        seq: u64,
        feature: Box<LayerFeature>,
    },
    Delete {
        seq: u64,
        id: String,
    },
}

impl FeatureChange {
    pub fn seq(&self) -> u64 {
        match self {
            Self::Upsert { seq, .. } | Self::Delete { seq, .. } => *seq,
        }
    }
}

/// One parcel or mining-right area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerFeature {
    /// e.g. 宗地代码 `431021001001JC00012` or 采矿许可证号.
    pub id: String,
    pub name: String,
    /// Right holder (a company or a masked person).
    pub holder: String,
    /// GeoJSON Polygon or MultiPolygon in CGCS2000 longitude/latitude.
    pub geometry: geojson::Geometry,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerChangesPage {
    pub layer: Layer,
    pub changes: Vec<FeatureChange>,
    pub next_after: u64,
    pub has_more: bool,
}
