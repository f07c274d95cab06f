//! The plot's corners from a GeoJSON file.

use anyhow::{Context, bail};

use super::RouteCorner;

/// Corners from a GeoJSON Polygon (exterior ring; named J1, J2, …), LineString, or Point
/// features (named by their `name` property).
pub fn corners_from_geojson(text: &str) -> anyhow::Result<Vec<RouteCorner>> {
    use geojson::{GeoJson, GeometryValue};
    let geojson: GeoJson = text.parse().context("not GeoJSON")?;
    let features: Vec<(Option<String>, GeometryValue)> = match geojson {
        GeoJson::Geometry(g) => vec![(None, g.value)],
        GeoJson::Feature(f) => f.geometry.map(|g| (None, g.value)).into_iter().collect(),
        GeoJson::FeatureCollection(fc) => fc
            .features
            .into_iter()
            .filter_map(|f| {
                let name = f
                    .property("name")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                Some((name, f.geometry?.value))
            })
            .collect(),
    };
    let mut corners = Vec::new();
    for (name, value) in features {
        let positions = match value {
            GeometryValue::Polygon { coordinates } => {
                let mut ring = coordinates.into_iter().next().unwrap_or_default();
                if ring.len() > 1 && ring.first() == ring.last() {
                    ring.pop();
                }
                ring
            }
            GeometryValue::LineString { coordinates } => coordinates,
            GeometryValue::Point { coordinates } => vec![coordinates],
            other => bail!("unsupported geometry {}", other.type_name()),
        };
        for position in positions {
            let &[lon, lat, ..] = position.as_slice() else {
                bail!("a position needs longitude and latitude");
            };
            let name = match (&name, corners.len()) {
                (Some(n), _) => n.clone(),
                (None, i) => format!("J{}", i + 1),
            };
            corners.push(RouteCorner { name, lon, lat });
        }
    }
    Ok(corners)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geojson_polygons_and_points_become_corners() {
        let polygon = r#"{"type":"Polygon","coordinates":[[[116.4,39.9],[116.401,39.9],[116.401,39.901],[116.4,39.9]]]}"#;
        let corners = corners_from_geojson(polygon).unwrap();
        assert_eq!(corners.len(), 3);
        assert_eq!((corners[1].name.as_str(), corners[1].lon), ("J2", 116.401));
        let points = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"name":"NW"},"geometry":{"type":"Point","coordinates":[116.4,39.901]}}]}"#;
        assert_eq!(corners_from_geojson(points).unwrap()[0].name, "NW");
        assert!(corners_from_geojson("{}").is_err());
    }
}
