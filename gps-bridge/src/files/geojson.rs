//! GeoJSON (RFC 7946) plots, read and written with the `geojson` crate.
//!
//! Reading: a FeatureCollection, a Feature or a bare geometry; each Polygon is a plot (its
//! first ring the boundary, the others holes), each polygon of a MultiPolygon one too. Any
//! other geometry is an error naming the feature: a plot is an area. Positions are CGCS2000
//! (≈ WGS84) longitude and latitude, as RFC 7946 has them; a `crs` member naming anything else
//! is refused. A ring not closed is closed, with a warning. A feature's `name` property names
//! the plot, `land` its land kind, and `corners` (as this writer writes it) its corners' names,
//! σ and fixes; without it corners are J1, J2, … per ring. A corner's raw says where it is in
//! the file (`features[0]/geometry/coordinates[0][3]`).
//!
//! Writing: a FeatureCollection, one Feature per plot, rings closed, the boundary
//! counter-clockwise and holes clockwise (RFC 7946 §3.1.6), with the plot's areas, zone,
//! warnings and corners in its properties.

use geojson::{Feature, FeatureCollection, GeoJson, Geometry, GeometryValue, JsonObject, Position};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::plot::{CheckedPlot, Finding, FindingKind, LandKind, PlotCorner};
use crate::survey::{Corner, PlotCandidate, Source};

/// Why a GeoJSON file gives no plots. Shown Chinese first, as an officer reads it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{} ({})", self.zh(), self.en())]
pub enum GeojsonError {
    /// Not JSON, or JSON that is not GeoJSON; the parser's message (with its line and column).
    NotGeojson(String),
    NotAPolygon {
        feature: usize,
        kind: String,
    },
    NoGeometry {
        feature: usize,
    },
    ShortPosition {
        feature: usize,
        ring: usize,
        index: usize,
    },
    BadLand {
        feature: usize,
        value: String,
    },
    Crs(String),
    Empty,
}

impl GeojsonError {
    /// What an officer reads.
    pub fn zh(&self) -> String {
        match self {
            GeojsonError::NotGeojson(why) => format!("不是GeoJSON文件（{why}）"),
            GeojsonError::NotAPolygon { feature, kind } => {
                format!("第{feature}个要素是{kind}，不是面（Polygon或MultiPolygon）")
            }
            GeojsonError::NoGeometry { feature } => format!("第{feature}个要素没有几何图形"),
            GeojsonError::ShortPosition {
                feature,
                ring,
                index,
            } => format!(
                "第{feature}个要素第{}环第{}个坐标不完整，缺经度或纬度",
                ring + 1,
                index + 1
            ),
            GeojsonError::BadLand { feature, value } => format!(
                "第{feature}个要素的用地类型“{value}”应为cultivated（耕地）、other（其他土地）或barren（荒山荒坡）"
            ),
            GeojsonError::Crs(_) => "坐标不是经纬度（坐标系不对）".to_owned(),
            GeojsonError::Empty => "文件中没有地块".to_owned(),
        }
    }

    pub fn en(&self) -> String {
        match self {
            GeojsonError::NotGeojson(why) => format!("not GeoJSON: {why}"),
            GeojsonError::NotAPolygon { feature, kind } => {
                format!("feature {feature} is a {kind}, not a Polygon or MultiPolygon")
            }
            GeojsonError::NoGeometry { feature } => format!("feature {feature} has no geometry"),
            GeojsonError::ShortPosition {
                feature,
                ring,
                index,
            } => format!(
                "feature {feature}: position {ring}/{index} needs a longitude and a latitude"
            ),
            GeojsonError::BadLand { feature, value } => {
                format!("feature {feature}: land {value:?} is not cultivated, other or barren")
            }
            GeojsonError::Crs(crs) => {
                format!("the coordinates are in {crs}, not longitude and latitude")
            }
            GeojsonError::Empty => "the file has no features".to_owned(),
        }
    }
}

/// One plot of a file, as a candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct GeojsonPlot {
    /// The feature's id, or its number in the file.
    pub id: String,
    pub candidate: PlotCandidate,
}

/// A corner's name, σ and fixes, kept in a feature's properties so they survive the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CornerProperties {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sigma_m: Option<f64>,
    #[serde(default = "one")]
    fixes: u32,
}

fn one() -> u32 {
    1
}

/// Whether a `crs` member (GeoJSON 2008; RFC 7946 dropped it) still means lon/lat.
fn check_crs(members: Option<&JsonObject>) -> Result<(), GeojsonError> {
    let Some(crs) = members.and_then(|m| m.get("crs")) else {
        return Ok(());
    };
    let text = crs.to_string();
    if ["CRS84", "4326", "4490"].iter().any(|ok| text.contains(ok)) {
        Ok(())
    } else {
        Err(GeojsonError::Crs(text))
    }
}

/// The features of the file: (id, properties, geometry), numbered from 1.
type Parts = Vec<(String, JsonObject, Option<Geometry>)>;

fn parts(geojson: GeoJson) -> Result<Parts, GeojsonError> {
    let feature = |n: usize, f: Feature| {
        let id = match &f.id {
            Some(geojson::feature::Id::String(s)) => s.clone(),
            Some(geojson::feature::Id::Number(n)) => n.to_string(),
            None => n.to_string(),
        };
        (id, f.properties.unwrap_or_default(), f.geometry)
    };
    Ok(match geojson {
        GeoJson::Geometry(g) => {
            check_crs(g.foreign_members.as_ref())?;
            vec![("1".to_owned(), JsonObject::new(), Some(g))]
        }
        GeoJson::Feature(f) => {
            check_crs(f.foreign_members.as_ref())?;
            vec![feature(1, f)]
        }
        GeoJson::FeatureCollection(c) => {
            check_crs(c.foreign_members.as_ref())?;
            (1..).zip(c.features).map(|(n, f)| feature(n, f)).collect()
        }
    })
}

/// The ring's corners (closing position dropped), and whether it was closed.
fn ring(
    feature: usize,
    ring_index: usize,
    positions: &[Position],
    path: &str,
    names: Option<&Vec<CornerProperties>>,
) -> Result<(Vec<Corner>, bool), GeojsonError> {
    let closed = positions.len() > 1 && positions.first() == positions.last();
    let open = if closed {
        &positions[..positions.len() - 1]
    } else {
        positions
    };
    let names = names.filter(|n| n.len() == open.len());
    let corners = open
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let &[lon, lat, ..] = p.as_slice() else {
                return Err(GeojsonError::ShortPosition {
                    feature,
                    ring: ring_index,
                    index: i,
                });
            };
            let meta = names.map(|n| n[i].clone()).unwrap_or(CornerProperties {
                name: format!("J{}", i + 1),
                sigma_m: None,
                fixes: 1,
            });
            Ok(Corner {
                name: meta.name,
                lon,
                lat,
                sigma_m: meta.sigma_m,
                fixes: meta.fixes,
                raw: vec![format!("{path}[{ring_index}][{i}]")],
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((corners, closed))
}

/// Reads the plots of a GeoJSON file; `device` is what the candidates say they came from.
pub fn read(bytes: &[u8], device: &str) -> Result<Vec<GeojsonPlot>, GeojsonError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|e| GeojsonError::NotGeojson(format!("not UTF-8 ({e})")))?;
    let geojson: GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| GeojsonError::NotGeojson(e.to_string()))?;
    let parts = parts(geojson)?;
    if parts.is_empty() {
        return Err(GeojsonError::Empty);
    }
    let mut plots = Vec::new();
    for (index, (id, properties, geometry)) in parts.into_iter().enumerate() {
        let feature = index + 1;
        let geometry = geometry.ok_or(GeojsonError::NoGeometry { feature })?;
        let base = format!("features[{index}]/geometry/coordinates");
        let polygons: Vec<(String, &Vec<Vec<Position>>)> = match &geometry.value {
            GeometryValue::Polygon { coordinates } => vec![(base, coordinates)],
            GeometryValue::MultiPolygon { coordinates } => coordinates
                .iter()
                .enumerate()
                .map(|(p, polygon)| (format!("{base}[{p}]"), polygon))
                .collect(),
            other => {
                return Err(GeojsonError::NotAPolygon {
                    feature,
                    kind: other.type_name().to_owned(),
                });
            }
        };
        let name = ["name", "名称", "DKMC"]
            .iter()
            .find_map(|key| properties.get(*key).and_then(Value::as_str))
            .map_or_else(|| format!("地块{id}"), str::to_owned);
        let land = match properties.get("land").and_then(Value::as_str) {
            None => None,
            Some(value) => Some(
                value
                    .parse::<LandKind>()
                    .map_err(|_| GeojsonError::BadLand {
                        feature,
                        value: value.to_owned(),
                    })?,
            ),
        };
        let corner_names: Option<Vec<Vec<CornerProperties>>> = properties
            .get("corners")
            .and_then(|c| serde_json::from_value(c.clone()).ok());
        let several = polygons.len() > 1;
        for (p, (path, rings)) in (1..).zip(&polygons) {
            let mut corners = Vec::new();
            let mut findings = Vec::new();
            for (r, positions) in rings.iter().enumerate() {
                let names = corner_names
                    .as_ref()
                    .filter(|_| !several)
                    .and_then(|n| n.get(r));
                let (ring, closed) = ring(feature, r, positions, path, names)?;
                if !closed && ring.len() >= 3 {
                    findings.push(Finding::new(FindingKind::RingNotClosed { ring: r }));
                }
                corners.push(ring);
            }
            let mut rings = corners.into_iter();
            let (id, name) = if several {
                (format!("{id}.{p}"), format!("{name} ({p})"))
            } else {
                (id.clone(), name.clone())
            };
            let mut candidate = PlotCandidate::new(
                name,
                Source::GeojsonImport,
                device,
                rings.next().unwrap_or_default(),
                Vec::new(),
            );
            candidate.holes = rings.collect();
            candidate.land = land;
            candidate.findings = findings;
            plots.push(GeojsonPlot { id, candidate });
        }
    }
    Ok(plots)
}

fn closed_ring(ring: &[PlotCorner]) -> Vec<Position> {
    ring.iter()
        .chain(ring.first())
        .map(|c| Position::from([c.lon, c.lat]))
        .collect()
}

fn corner_properties(ring: &[PlotCorner]) -> Vec<CornerProperties> {
    ring.iter()
        .map(|c| CornerProperties {
            name: c.name.clone(),
            sigma_m: c.sigma_m,
            fixes: c.fixes,
        })
        .collect()
}

/// Checked plots as a FeatureCollection.
pub fn write(plots: &[CheckedPlot]) -> String {
    let features = (1..).zip(plots).map(|(n, plot)| {
        let rings: Vec<Vec<Position>> = std::iter::once(&plot.shell)
            .chain(&plot.holes)
            .map(|r| closed_ring(r))
            .collect();
        let corners: Vec<Vec<CornerProperties>> = std::iter::once(&plot.shell)
            .chain(&plot.holes)
            .map(|r| corner_properties(r))
            .collect();
        let a = &plot.areas;
        let properties = json!({
            "name": plot.name,
            "land": plot.land,
            "zone": plot.zone,
            "area_m2": a.area_m2,
            "area_mu": a.area_mu,
            "area_ha": a.area_ha,
            "ellipsoid_area_m2": a.ellipsoid_area_m2,
            "area_sigma_m2": a.area_sigma_m2,
            "area_shown": plot.area_shown,
            "warnings": plot.findings,
            "corners": corners,
        });
        Feature {
            bbox: None,
            geometry: Some(Geometry::new(GeometryValue::Polygon { coordinates: rings })),
            id: Some(geojson::feature::Id::Number(n.into())),
            properties: match properties {
                Value::Object(map) => Some(map),
                _ => None,
            },
            foreign_members: None,
        }
    });
    GeoJson::FeatureCollection(FeatureCollection::new(features)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str =
        r#"[[112.7,25.7],[112.7002,25.7],[112.7002,25.7002],[112.7,25.7002],[112.7,25.7]]"#;

    fn read_str(text: &str) -> Result<Vec<GeojsonPlot>, GeojsonError> {
        read(text.as_bytes(), "plots.geojson")
    }

    #[test]
    fn polygons_and_multipolygons_are_plots() {
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[
              {{"type":"Feature","id":"W-1","properties":{{"name":"王家","land":"barren"}},
                "geometry":{{"type":"Polygon","coordinates":[{SQUARE},
                  [[112.70005,25.70005],[112.70005,25.7001],[112.7001,25.7001],[112.70005,25.70005]]]}}}},
              {{"type":"Feature","properties":{{}},
                "geometry":{{"type":"MultiPolygon","coordinates":[[{SQUARE}],[{SQUARE}]]}}}}]}}"#
        );
        let plots = read_str(&text).unwrap();
        let ids: Vec<(&str, &str)> = plots
            .iter()
            .map(|p| (p.id.as_str(), p.candidate.name.as_str()))
            .collect();
        assert_eq!(
            ids,
            [("W-1", "王家"), ("2.1", "地块2 (1)"), ("2.2", "地块2 (2)")]
        );
        let first = &plots[0].candidate;
        assert_eq!(first.land, Some(LandKind::Barren));
        assert_eq!((first.corners.len(), first.holes.len()), (4, 1));
        assert_eq!(first.corners[1].lon, 112.7002);
        assert_eq!(
            first.holes[0][2].raw,
            ["features[0]/geometry/coordinates[1][2]"]
        );
        assert_eq!(
            plots[2].candidate.corners[0].raw,
            ["features[1]/geometry/coordinates[1][0][0]"]
        );
        assert!(first.findings.is_empty());
    }

    #[test]
    fn what_is_not_a_polygon_is_refused_by_feature() {
        let line = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[112.7,25.7],[112.71,25.7],[112.71,25.71],[112.7,25.7]]]}},
            {"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[112.7,25.7],[112.8,25.8]]}}]}"#;
        assert_eq!(
            read_str(line).unwrap_err(),
            GeojsonError::NotAPolygon {
                feature: 2,
                kind: "LineString".to_owned()
            }
        );
        assert!(matches!(
            read_str(r#"{"type":"Point","coordinates":[112.7,25.7]}"#),
            Err(GeojsonError::NotAPolygon { feature: 1, .. })
        ));
        assert!(matches!(
            read_str("{\"type\":"),
            Err(GeojsonError::NotGeojson(_))
        ));
        assert!(matches!(
            read_str("[1, 2]"),
            Err(GeojsonError::NotGeojson(_))
        ));
        assert_eq!(
            read_str(r#"{"type":"FeatureCollection","features":[]}"#).unwrap_err(),
            GeojsonError::Empty
        );
        assert_eq!(
            read_str(r#"{"type":"Feature","properties":{},"geometry":null}"#).unwrap_err(),
            GeojsonError::NoGeometry { feature: 1 }
        );
        let projected = format!(
            r#"{{"type":"Feature","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::4526"}}}},"properties":{{}},"geometry":{{"type":"Polygon","coordinates":[{SQUARE}]}}}}"#
        );
        assert!(matches!(read_str(&projected), Err(GeojsonError::Crs(_))));
        let bad_land = format!(
            r#"{{"type":"Feature","properties":{{"land":"forest"}},"geometry":{{"type":"Polygon","coordinates":[{SQUARE}]}}}}"#
        );
        assert!(matches!(
            read_str(&bad_land),
            Err(GeojsonError::BadLand { feature: 1, .. })
        ));
        assert!(matches!(
            read(b"\xff\xfe{}", "x"),
            Err(GeojsonError::NotGeojson(_))
        ));
    }

    #[test]
    fn an_unclosed_ring_is_closed_with_a_warning() {
        let text = r#"{"type":"Polygon","coordinates":[[[112.7,25.7],[112.7002,25.7],[112.7002,25.7002],[112.7,25.7002]]]}"#;
        let plots = read_str(text).unwrap();
        assert_eq!(plots[0].candidate.corners.len(), 4);
        assert_eq!(plots[0].candidate.findings[0].code(), "ring_not_closed");
    }
}
