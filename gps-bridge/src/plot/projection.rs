//! CGCS2000 / 3-degree Gauss-Krüger, the plane in which plots are measured and filed.
//!
//! Zone n (25..=45 covers China) has its central meridian at 3n°E, scale 1 on it, false
//! northing 0 and false easting 500 000 m; files usually carry the zone in front of the
//! easting (zone × 10⁶ + 500 000, EPSG:4513–4533 = zones 25–45), sometimes not
//! (EPSG:4534–4554). The projection itself is proj4rs's exact transverse Mercator
//! (Poder/Engsager, as PROJ's default `tmerc`), checked against PROJ's `cs2cs` in
//! `tests/proj_oracle.rs`. The CGCS2000 ellipsoid is given by its defining constants; it equals
//! GRS80 to well below a millimetre.
//!
//! Coordinates follow the Chinese surveying convention: X is the northing, Y the easting.

use std::fmt;

use proj4rs::proj::Proj;
use serde::{Deserialize, Serialize};

/// CGCS2000 semi-major axis, metres (EPSG:1024).
pub const CGCS2000_A: f64 = 6_378_137.0;
/// CGCS2000 inverse flattening (EPSG:1024).
pub const CGCS2000_RF: f64 = 298.257_222_101;

/// A 3° Gauss-Krüger zone in China: 25 (75°E) to 45 (135°E).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Zone(u8);

/// A zone number outside China's 3° zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("3° zone {0} is not one of China's (25 to 45)")]
pub struct NoSuchZone(pub i64);

impl Zone {
    pub const FIRST: u8 = 25;
    pub const LAST: u8 = 45;

    pub fn new(number: u8) -> Result<Self, NoSuchZone> {
        if (Self::FIRST..=Self::LAST).contains(&number) {
            Ok(Zone(number))
        } else {
            Err(NoSuchZone(number.into()))
        }
    }

    /// The zone whose central meridian is nearest: n = round(lon / 3).
    pub fn for_longitude(lon: f64) -> Result<Self, NoSuchZone> {
        let n = (lon / 3.0).round();
        if n.is_finite() && (f64::from(Self::FIRST)..=f64::from(Self::LAST)).contains(&n) {
            Ok(Zone(n as u8))
        } else {
            Err(NoSuchZone(if n.is_finite() { n as i64 } else { -1 }))
        }
    }

    /// Every zone, west to east.
    pub fn all() -> impl Iterator<Item = Zone> {
        (Self::FIRST..=Self::LAST).map(Zone)
    }

    pub fn number(self) -> u8 {
        self.0
    }

    /// Longitude of the central meridian, degrees east.
    pub fn central_meridian(self) -> f64 {
        3.0 * f64::from(self.0)
    }

    /// What the zone adds in front of the easting when files carry the prefix.
    pub fn easting_prefix(self) -> f64 {
        f64::from(self.0) * 1e6
    }

    /// The zone an easting with the prefix names (its leading digits), if it names one.
    pub fn of_prefixed_easting(easting: f64) -> Option<Self> {
        if !(easting.is_finite() && easting >= 1e7) {
            return None;
        }
        let number = (easting / 1e6).floor();
        (number <= f64::from(Self::LAST))
            .then(|| Zone::new(number as u8).ok())
            .flatten()
    }
}

impl TryFrom<u8> for Zone {
    type Error = NoSuchZone;
    fn try_from(number: u8) -> Result<Self, Self::Error> {
        Zone::new(number)
    }
}

impl From<Zone> for u8 {
    fn from(zone: Zone) -> u8 {
        zone.0
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How the zone of a plot is chosen (`projection.zone`): a zone number or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "ZoneSetting", into = "ZoneSetting")]
pub enum ZoneChoice {
    /// The county's zone: every plot of the office in one zone, even near a zone edge.
    Fixed(Zone),
    /// The zone of the plot's centroid, n = round(lon / 3).
    #[default]
    Auto,
}

/// `ZoneChoice` as it is written: `38` or `"auto"`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ZoneSetting {
    Number(i64),
    Word(String),
}

impl TryFrom<ZoneSetting> for ZoneChoice {
    type Error = String;
    fn try_from(setting: ZoneSetting) -> Result<Self, String> {
        match setting {
            ZoneSetting::Word(word) if word == "auto" => Ok(ZoneChoice::Auto),
            ZoneSetting::Number(n) => u8::try_from(n)
                .ok()
                .and_then(|n| Zone::new(n).ok())
                .map(ZoneChoice::Fixed)
                .ok_or_else(|| NoSuchZone(n).to_string()),
            ZoneSetting::Word(word) => Err(format!(
                "zone {word:?}: a 3° zone number (25 to 45) or \"auto\""
            )),
        }
    }
}

impl From<ZoneChoice> for ZoneSetting {
    fn from(choice: ZoneChoice) -> Self {
        match choice {
            ZoneChoice::Fixed(zone) => ZoneSetting::Number(zone.number().into()),
            ZoneChoice::Auto => ZoneSetting::Word("auto".to_owned()),
        }
    }
}

impl ZoneChoice {
    /// The zone for a plot whose centroid has this longitude. China's far west (73°–73.5°E)
    /// and east (beyond 136.5°E) round outside China's zones; they take the nearest one.
    pub fn zone_for(self, centroid_lon: f64) -> Zone {
        match self {
            ZoneChoice::Fixed(zone) => zone,
            ZoneChoice::Auto => {
                let n = (centroid_lon / 3.0).round();
                let n = if n.is_nan() {
                    Zone::FIRST
                } else {
                    n.clamp(f64::from(Zone::FIRST), f64::from(Zone::LAST)) as u8
                };
                Zone(n)
            }
        }
    }
}

/// A point in a zone's Gauss-Krüger plane, metres. The easting is without the zone prefix
/// (500 000 m on the central meridian); the zone travels beside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlanePoint {
    /// X, northing.
    pub northing_m: f64,
    /// Y, easting without the zone prefix.
    pub easting_m: f64,
}

impl PlanePoint {
    pub fn new(northing_m: f64, easting_m: f64) -> Self {
        PlanePoint {
            northing_m,
            easting_m,
        }
    }

    /// The easting as files with the zone prefix write it.
    pub fn prefixed_easting(self, zone: Zone) -> f64 {
        self.easting_m + zone.easting_prefix()
    }

    pub fn distance_to(self, other: PlanePoint) -> f64 {
        (self.northing_m - other.northing_m).hypot(self.easting_m - other.easting_m)
    }
}

/// A projection that could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProjectionError {
    /// The input is not a position (NaN, or latitude beyond the poles).
    #[error("({lon}, {lat}) is not a longitude and latitude")]
    NotAPosition { lon: f64, lat: f64 },
    /// proj4rs refused the point, or gave no finite result.
    #[error("the point cannot be projected: {0}")]
    Failed(String),
}

/// The forward and inverse projection of one zone.
pub struct GaussKruger {
    zone: Zone,
    geographic: Proj,
    plane: Proj,
}

impl fmt::Debug for GaussKruger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GaussKruger")
            .field("zone", &self.zone)
            .finish()
    }
}

impl GaussKruger {
    pub fn new(zone: Zone) -> Self {
        let ellipsoid = format!("+a={CGCS2000_A} +rf={CGCS2000_RF}");
        // Both strings are fixed but for the meridian, which Zone keeps in range: proj4rs
        // accepts them for every zone (tested for all 21).
        let geographic = Proj::from_proj_string(&format!("+proj=longlat {ellipsoid} +no_defs"))
            .expect("a longlat definition with a valid ellipsoid parses");
        let plane = Proj::from_proj_string(&format!(
            "+proj=tmerc +lat_0=0 +lon_0={} +k=1 +x_0=500000 +y_0=0 {ellipsoid} +units=m +no_defs",
            zone.central_meridian()
        ))
        .expect("a tmerc definition with a valid meridian and ellipsoid parses");
        GaussKruger {
            zone,
            geographic,
            plane,
        }
    }

    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// Longitude and latitude (degrees, CGCS2000) to the plane.
    pub fn forward(&self, lon: f64, lat: f64) -> Result<PlanePoint, ProjectionError> {
        if !(lon.is_finite() && lat.is_finite() && lat.abs() <= 90.0) {
            return Err(ProjectionError::NotAPosition { lon, lat });
        }
        let mut point = (lon.to_radians(), lat.to_radians(), 0.0);
        proj4rs::transform::transform(&self.geographic, &self.plane, &mut point)
            .map_err(|e| ProjectionError::Failed(e.to_string()))?;
        let (easting, northing) = (point.0, point.1);
        if !(easting.is_finite() && northing.is_finite()) {
            return Err(ProjectionError::Failed(format!(
                "no finite plane coordinates for ({lon}, {lat})"
            )));
        }
        Ok(PlanePoint::new(northing, easting))
    }

    /// The plane back to longitude and latitude, degrees.
    pub fn inverse(&self, point: PlanePoint) -> Result<(f64, f64), ProjectionError> {
        let mut xyz = (point.easting_m, point.northing_m, 0.0);
        let invalid = || ProjectionError::NotAPosition {
            lon: point.easting_m,
            lat: point.northing_m,
        };
        if !(xyz.0.is_finite() && xyz.1.is_finite()) {
            return Err(invalid());
        }
        proj4rs::transform::transform(&self.plane, &self.geographic, &mut xyz)
            .map_err(|e| ProjectionError::Failed(e.to_string()))?;
        let (lon, lat) = (xyz.0.to_degrees(), xyz.1.to_degrees());
        if !(lon.is_finite() && lat.is_finite()) {
            return Err(ProjectionError::Failed(format!(
                "no longitude and latitude for X {} Y {}",
                point.northing_m, point.easting_m
            )));
        }
        Ok((lon, lat))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_are_chinas_three_degree_zones() {
        assert_eq!(Zone::new(38).unwrap().central_meridian(), 114.0);
        assert!(Zone::new(24).is_err() && Zone::new(46).is_err());
        assert_eq!(Zone::for_longitude(117.3).unwrap().number(), 39);
        // 桂阳县 straddles 112.5°E: auto puts its two halves in zones 37 and 38.
        assert_eq!(Zone::for_longitude(112.49).unwrap().number(), 37);
        assert_eq!(Zone::for_longitude(112.51).unwrap().number(), 38);
        assert!(Zone::for_longitude(f64::NAN).is_err());
        assert!(Zone::for_longitude(0.0).is_err());
        assert_eq!(Zone::all().count(), 21);
        assert_eq!(
            Zone::of_prefixed_easting(37_465_566.598),
            Some(Zone::new(37).unwrap())
        );
        assert_eq!(Zone::of_prefixed_easting(465_566.598), None);
        assert_eq!(Zone::of_prefixed_easting(99_465_566.0), None);
    }

    #[test]
    fn zone_choice_reads_a_number_or_auto() {
        #[derive(Deserialize)]
        struct T {
            zone: ZoneChoice,
        }
        let t: T = toml::from_str("zone = 38").unwrap();
        assert_eq!(t.zone, ZoneChoice::Fixed(Zone::new(38).unwrap()));
        let t: T = toml::from_str("zone = \"auto\"").unwrap();
        assert_eq!(t.zone, ZoneChoice::Auto);
        assert!(toml::from_str::<T>("zone = 12").is_err());
        assert!(toml::from_str::<T>("zone = \"west\"").is_err());
        let fixed = ZoneChoice::Fixed(Zone::new(38).unwrap());
        assert_eq!(fixed.zone_for(112.4).number(), 38);
        assert_eq!(ZoneChoice::Auto.zone_for(112.4).number(), 37);
        assert_eq!(ZoneChoice::Auto.zone_for(73.2).number(), 25);
        assert_eq!(ZoneChoice::Auto.zone_for(f64::NAN).number(), 25);
    }

    #[test]
    fn a_known_point_and_back() {
        // The reference's check value: (117.3°E, 36.5°N) in zone 39 is E 39 526 877.366,
        // N 4 041 066.347 (proj4rs 0.1.5 and an independent Krüger series agreed to the mm).
        let gk = GaussKruger::new(Zone::new(39).unwrap());
        let p = gk.forward(117.3, 36.5).unwrap();
        assert!(
            (p.prefixed_easting(gk.zone()) - 39_526_877.366).abs() < 0.001,
            "{p:?}"
        );
        assert!((p.northing_m - 4_041_066.347).abs() < 0.001, "{p:?}");
        let (lon, lat) = gk.inverse(p).unwrap();
        assert!((lon - 117.3).abs() < 1e-10 && (lat - 36.5).abs() < 1e-10);
        // On the central meridian the easting is the false easting.
        let on_meridian = gk.forward(117.0, 30.0).unwrap();
        assert!((on_meridian.easting_m - 500_000.0).abs() < 1e-6);
    }

    #[test]
    fn every_corner_in_china_projects_in_every_zone_of_china() {
        // The plot check relies on it: the farthest corners from the farthest meridians.
        for zone in [Zone::new(25).unwrap(), Zone::new(45).unwrap()] {
            let gk = GaussKruger::new(zone);
            for (lon, lat) in [(73.0, 3.0), (73.0, 54.0), (136.0, 3.0), (136.0, 54.0)] {
                let p = gk.forward(lon, lat).unwrap();
                let (back_lon, back_lat) = gk.inverse(p).unwrap();
                assert!((back_lon - lon).abs() < 1e-7 && (back_lat - lat).abs() < 1e-7);
            }
        }
    }

    #[test]
    fn what_is_not_a_position_is_an_error() {
        let gk = GaussKruger::new(Zone::new(38).unwrap());
        assert!(gk.forward(f64::NAN, 30.0).is_err());
        assert!(gk.forward(114.0, 91.0).is_err());
        assert!(gk.inverse(PlanePoint::new(f64::INFINITY, 0.0)).is_err());
    }
}
