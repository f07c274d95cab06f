//! Service halls and land offices: the places devices are installed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hall {
    /// Stable identifier, e.g. `hn-czs-gyx` (湖南 郴州市 桂阳县).
    pub id: String,
    /// Display name, e.g. `郴州市桂阳县政务大厅`.
    pub name: String,
    /// Administrative division code (GB/T 2260), e.g. `431021`.
    pub division_code: String,
    /// CGCS2000 longitude and latitude of the hall, degrees.
    pub lon: f64,
    pub lat: f64,
}

/// `GET /api/v1/halls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HallList {
    pub halls: Vec<Hall>,
}
