//! Plot geometry checks on the server side: a valid simple polygon, its geodesic area, and
//! its overlaps with the reference layers.

use geo::orient::{Direction, Orient};
use geo::{
    BooleanOps, BoundingRect, GeodesicArea, Intersects, LineString, MultiPolygon, Polygon,
    Validation,
};
use protocol::layers::{Layer, LayerFeature};
use protocol::plots::{Corner, Overlap};

/// Overlaps smaller than this are rounding noise from the polygon clipper, not findings.
const MIN_OVERLAP_M2: f64 = 0.01;

/// One ring of the plot as a closed line, or why its corners are not a ring.
fn ring(corners: &[Corner]) -> Result<LineString<f64>, String> {
    for pair in corners.windows(2) {
        if (pair[0].lon, pair[0].lat) == (pair[1].lon, pair[1].lat) {
            return Err(format!(
                "corners {} and {} are the same point",
                pair[0].name, pair[1].name
            ));
        }
    }
    let points: Vec<(f64, f64)> = corners.iter().map(|c| (c.lon, c.lat)).collect();
    if local_plane_area(&points) < 1.0 {
        return Err(
            "the corners are collinear: the ring encloses less than 1 m² (corners on one \
             line enclose nothing, however the geodesics between them bow)"
                .into(),
        );
    }
    Ok(points.into())
}

/// The plot's boundary (with its holes) as a polygon, or why it is not a valid one. Rings
/// are oriented as RFC 7946 has them (boundary counter-clockwise, holes clockwise) whichever
/// way they came: a clockwise ring's geodesic area is the rest of the Earth.
pub fn plot_polygon(corners: &[Corner], holes: &[Vec<Corner>]) -> Result<Polygon<f64>, String> {
    let holes = holes.iter().map(|h| ring(h)).collect::<Result<_, _>>()?;
    let polygon = Polygon::new(ring(corners)?, holes).orient(Direction::Default);
    if let Some(problem) = polygon.validation_errors().into_iter().next() {
        return Err(format!("the boundary is not a simple polygon: {problem}"));
    }
    if polygon.geodesic_area_unsigned() < 1.0 {
        return Err("the plot encloses less than 1 m²".into());
    }
    Ok(polygon)
}

/// The ring's area in m² on a plane tangent at its first corner (equirectangular, good to a
/// fraction of a percent over a plot's few hundred metres).
///
/// Corners on one straight line in longitude and latitude enclose nothing, but the geodesics
/// between them bow apart, so their geodesic area is not zero: three such corners 2 km
/// apart "enclose" tens of thousands of m². The plane sees them as the line they are.
fn local_plane_area(ring: &[(f64, f64)]) -> f64 {
    const METRES_PER_DEGREE_LAT: f64 = 110_574.0;
    let Some(&(lon0, lat0)) = ring.first() else {
        return 0.0;
    };
    let metres_per_degree_lon = 111_320.0 * lat0.to_radians().cos();
    let plane: Vec<(f64, f64)> = ring
        .iter()
        .map(|&(lon, lat)| {
            (
                (lon - lon0) * metres_per_degree_lon,
                (lat - lat0) * METRES_PER_DEGREE_LAT,
            )
        })
        .collect();
    let twice: f64 = plane
        .iter()
        .zip(plane.iter().cycle().skip(1))
        .map(|(a, b)| a.0 * b.1 - b.0 * a.1)
        .sum();
    twice.abs() / 2.0
}

/// A reference feature ready for overlap tests.
pub struct IndexedFeature {
    pub layer: Layer,
    pub feature: LayerFeature,
    pub shape: MultiPolygon<f64>,
}

impl IndexedFeature {
    pub fn new(layer: Layer, feature: LayerFeature) -> Option<Self> {
        let shape = match geo::Geometry::<f64>::try_from(&feature.geometry).ok()? {
            geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
            geo::Geometry::MultiPolygon(m) => m,
            _ => return None,
        };
        Some(Self {
            layer,
            feature,
            shape,
        })
    }
}

/// Every feature the plot overlaps, with the geodesic area in common.
pub fn overlaps(plot: &Polygon<f64>, features: &[IndexedFeature]) -> Vec<Overlap> {
    let Some(bounds) = plot.bounding_rect() else {
        return Vec::new();
    };
    features
        .iter()
        .filter(|f| f.shape.intersects(&bounds))
        .filter_map(|f| {
            let area = plot.intersection(&f.shape).geodesic_area_unsigned();
            (area >= MIN_OVERLAP_M2).then(|| Overlap {
                layer: f.layer,
                feature_id: f.feature.id.clone(),
                name: f.feature.name.clone(),
                area_m2: area,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corner(name: &str, lon: f64, lat: f64) -> Corner {
        Corner {
            name: name.into(),
            lon,
            lat,
            sigma_m: None,
            fixes: 1,
        }
    }

    fn square(lon: f64, lat: f64, side_deg: f64) -> Vec<Corner> {
        vec![
            corner("J1", lon, lat),
            corner("J2", lon + side_deg, lat),
            corner("J3", lon + side_deg, lat + side_deg),
            corner("J4", lon, lat + side_deg),
        ]
    }

    #[test]
    fn bow_tie_is_refused() {
        let mut corners = square(112.7, 25.7, 0.001);
        corners.swap(1, 2);
        assert!(plot_polygon(&corners, &[]).is_err());
    }

    #[test]
    fn collinear_corners_are_refused_though_their_geodesics_bow_apart() {
        // On one straight line in degrees, about 1.5 km end to end.
        let line = [
            corner("J1", 112.70, 25.70),
            corner("J2", 112.705, 25.705),
            corner("J3", 112.71, 25.71),
        ];
        let ring: Vec<(f64, f64)> = line.iter().map(|c| (c.lon, c.lat)).collect();
        let geodesic = Polygon::new(LineString::from(ring), vec![]).geodesic_area_unsigned();
        assert!(geodesic > 1.0, "the geodesic sliver: {geodesic} m²");
        let err = plot_polygon(&line, &[]).unwrap_err();
        assert!(err.contains("collinear"), "{err}");
        // A real plot of the same size is not.
        assert!(plot_polygon(&square(112.7, 25.7, 0.001), &[]).is_ok());
    }

    #[test]
    fn repeated_corner_is_refused() {
        let mut corners = square(112.7, 25.7, 0.001);
        corners.insert(1, corners[0].clone());
        let err = plot_polygon(&corners, &[]).unwrap_err();
        assert!(err.contains("same point"), "{err}");
    }

    #[test]
    fn a_hole_is_taken_out_of_the_area() {
        let whole = plot_polygon(&square(112.7, 25.7, 0.001), &[]).unwrap();
        let mut yard = square(112.7003, 25.7003, 0.0004);
        yard.reverse();
        let with_hole = plot_polygon(&square(112.7, 25.7, 0.001), &[yard.clone()]).unwrap();
        let hole = plot_polygon(&square(112.7003, 25.7003, 0.0004), &[]).unwrap();
        let expected = whole.geodesic_area_unsigned() - hole.geodesic_area_unsigned();
        assert!((with_hole.geodesic_area_unsigned() - expected).abs() < 1e-6);
        // Either way round, the same areas.
        let mut clockwise = square(112.7, 25.7, 0.001);
        clockwise.reverse();
        let turned = plot_polygon(&clockwise, &[square(112.7003, 25.7003, 0.0004)]).unwrap();
        assert!((turned.geodesic_area_unsigned() - expected).abs() < 1e-6);
        // A hole outside the boundary is refused.
        let outside = square(112.71, 25.7, 0.0004);
        assert!(plot_polygon(&square(112.7, 25.7, 0.001), &[outside]).is_err());
    }

    #[test]
    fn overlap_area_is_the_shared_part() {
        let plot = plot_polygon(&square(112.7, 25.7, 0.001), &[]).unwrap();
        let half_shifted = plot_polygon(&square(112.7005, 25.7, 0.001), &[]).unwrap();
        let far = plot_polygon(&square(113.7, 25.7, 0.001), &[]).unwrap();
        let feature = |id: &str, p: &Polygon<f64>| {
            IndexedFeature::new(
                Layer::Parcels,
                LayerFeature {
                    id: id.into(),
                    name: id.into(),
                    holder: "x".into(),
                    geometry: geojson::Geometry::from(p),
                },
            )
            .unwrap()
        };
        let found = overlaps(
            &plot,
            &[feature("near", &half_shifted), feature("far", &far)],
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].feature_id, "near");
        let whole = plot.geodesic_area_unsigned();
        assert!((found[0].area_m2 / whole - 0.5).abs() < 0.01);
    }
}
