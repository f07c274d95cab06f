//! Distances on the earth, at the two scales the bridge needs: metres within a plot, and
//! great-circle kilometres between fixes that should be near each other.

use crate::nmea::LatLon;

/// Metres per degree of latitude, and of longitude at the equator (WGS84 semi-major axis).
/// Within 0.7% of a degree of latitude anywhere: enough for error estimates and walking.
pub const METRES_PER_DEGREE: f64 = 111_320.0;

/// Mean earth radius, for great-circle distances.
const EARTH_RADIUS_KM: f64 = 6371.0;

/// Great-circle distance, km.
pub fn distance_km(a: LatLon, b: LatLon) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_to_sydney_is_about_8900_km() {
        let beijing = LatLon {
            lat: 39.9,
            lon: 116.4,
        };
        let sydney = LatLon {
            lat: -33.87,
            lon: 151.2,
        };
        assert!((distance_km(beijing, sydney) - 8900.0).abs() < 100.0);
        assert_eq!(distance_km(beijing, beijing), 0.0);
    }
}
