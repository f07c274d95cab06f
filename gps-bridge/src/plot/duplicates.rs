//! 查重: the new plot against the office's earlier plots (pending or delivered), in the
//! Gauss-Krüger plane. An overlap of at least [`DUPLICATE_SHARE`] of either plot's area is the
//! same homestead surveyed twice (`duplicate_of`); any smaller overlap is `overlaps_plot`.
//! Which plots are earlier, and where they come from, is the caller's business.

use geo::{Area, BooleanOps, BoundingRect, Coord, LineString, Polygon, Rect};

use super::finding::FindingKind;
use super::projection::{GaussKruger, PlanePoint, Zone};
use super::{CheckedPlot, PlotCorner};

/// Share of either plot's area at which an overlap makes the new plot a duplicate.
pub const DUPLICATE_SHARE: f64 = 0.8;
/// Overlaps smaller than this are rounding noise of the clipper, m².
pub const MIN_OVERLAP_M2: f64 = 0.01;

/// A plot the office already has, as the duplicate check needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlierPlot {
    /// The caller's id for it, shown to the officer and kept in the finding.
    pub id: String,
    pub name: String,
    pub zone: Zone,
    /// Shell and holes in its zone's plane, closing corner not repeated.
    pub shell: Vec<PlanePoint>,
    pub holes: Vec<Vec<PlanePoint>>,
}

fn plane_of(corners: &[PlotCorner]) -> Vec<PlanePoint> {
    corners
        .iter()
        .map(|c| {
            c.plane
                .expect("every corner of a checked plot is projected")
        })
        .collect()
}

impl EarlierPlot {
    pub fn new(id: impl Into<String>, plot: &CheckedPlot) -> Self {
        EarlierPlot {
            id: id.into(),
            name: plot.name.clone(),
            zone: plot.zone,
            shell: plane_of(&plot.shell),
            holes: plot.holes.iter().map(|h| plane_of(h)).collect(),
        }
    }
}

/// A plot's polygon in local coordinates (x = easting, y = northing, relative to `origin`,
/// which keeps the clipper's arithmetic on small numbers).
fn polygon(origin: PlanePoint, shell: &[PlanePoint], holes: &[Vec<PlanePoint>]) -> Polygon<f64> {
    let ring = |points: &[PlanePoint]| -> LineString<f64> {
        points
            .iter()
            .map(|p| Coord {
                x: p.easting_m - origin.easting_m,
                y: p.northing_m - origin.northing_m,
            })
            .collect()
    };
    Polygon::new(ring(shell), holes.iter().map(|h| ring(h)).collect())
}

/// The new plot (its zone and oriented rings) against the earlier plots.
pub fn findings(
    zone: Zone,
    shell: &[PlanePoint],
    holes: &[Vec<PlanePoint>],
    earlier: &[EarlierPlot],
) -> Vec<FindingKind> {
    let Some(&origin) = shell.first() else {
        return Vec::new();
    };
    let ours = polygon(origin, shell, holes);
    let (Some(our_bounds), our_area) = (ours.bounding_rect(), ours.unsigned_area()) else {
        return Vec::new();
    };
    let gk = GaussKruger::new(zone);
    let mut others_zones: Vec<GaussKruger> = Vec::new();
    earlier
        .iter()
        .filter_map(|other| {
            let (shell, holes) = if other.zone == zone {
                (other.shell.clone(), other.holes.clone())
            } else {
                // A plot surveyed in a neighbouring zone: through lon/lat into ours.
                if !others_zones.iter().any(|g| g.zone() == other.zone) {
                    others_zones.push(GaussKruger::new(other.zone));
                }
                let theirs = others_zones.iter().find(|g| g.zone() == other.zone)?;
                let convert = |ring: &[PlanePoint]| -> Option<Vec<PlanePoint>> {
                    ring.iter()
                        .map(|p| {
                            let (lon, lat) = theirs.inverse(*p).ok()?;
                            gk.forward(lon, lat).ok()
                        })
                        .collect()
                };
                (
                    convert(&other.shell)?,
                    other
                        .holes
                        .iter()
                        .map(|h| convert(h))
                        .collect::<Option<_>>()?,
                )
            };
            let theirs = polygon(origin, &shell, &holes);
            if !intersects(&our_bounds, &theirs.bounding_rect()?) {
                return None;
            }
            let overlap_m2 = ours.intersection(&theirs).unsigned_area();
            if overlap_m2 < MIN_OVERLAP_M2 {
                return None;
            }
            let (share_of_this, share_of_other) =
                (overlap_m2 / our_area, overlap_m2 / theirs.unsigned_area());
            Some(
                if share_of_this >= DUPLICATE_SHARE || share_of_other >= DUPLICATE_SHARE {
                    FindingKind::DuplicateOf {
                        plot_id: other.id.clone(),
                        name: other.name.clone(),
                        overlap_m2,
                        share_of_this,
                        share_of_other,
                    }
                } else {
                    FindingKind::OverlapsPlot {
                        plot_id: other.id.clone(),
                        name: other.name.clone(),
                        overlap_m2,
                    }
                },
            )
        })
        .collect()
}

fn intersects(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(e: f64, n: f64, side: f64) -> Vec<PlanePoint> {
        [(0.0, 0.0), (side, 0.0), (side, side), (0.0, side)]
            .iter()
            .map(|(de, dn)| PlanePoint::new(3_000_000.0 + n + dn, 500_000.0 + e + de))
            .collect()
    }

    fn earlier(id: &str, shell: Vec<PlanePoint>) -> EarlierPlot {
        EarlierPlot {
            id: id.to_owned(),
            name: format!("plot {id}"),
            zone: Zone::new(38).unwrap(),
            shell,
            holes: Vec::new(),
        }
    }

    fn zone() -> Zone {
        Zone::new(38).unwrap()
    }

    #[test]
    fn the_same_homestead_again_is_a_duplicate_a_neighbour_an_overlap() {
        let ours = square(0.0, 0.0, 20.0);
        let found = findings(
            zone(),
            &ours,
            &[],
            &[
                // Shifted 2 m: 90 % shared.
                earlier("P1", square(2.0, 0.0, 20.0)),
                // The neighbour's wall 1 m inside ours: 5 %.
                earlier("P2", square(19.0, 0.0, 20.0)),
                earlier("P3", square(40.0, 0.0, 20.0)),
            ],
        );
        assert_eq!(found.len(), 2, "{found:?}");
        let FindingKind::DuplicateOf {
            plot_id,
            share_of_this,
            share_of_other,
            overlap_m2,
            ..
        } = &found[0]
        else {
            panic!("{found:?}")
        };
        assert_eq!(plot_id, "P1");
        assert!((overlap_m2 - 360.0).abs() < 1e-6);
        assert!((share_of_this - 0.9).abs() < 1e-9 && (share_of_other - 0.9).abs() < 1e-9);
        let FindingKind::OverlapsPlot {
            plot_id,
            overlap_m2,
            ..
        } = &found[1]
        else {
            panic!("{found:?}")
        };
        assert_eq!(plot_id, "P2");
        assert!((overlap_m2 - 20.0).abs() < 1e-6);
    }

    #[test]
    fn a_small_plot_inside_a_large_one_is_a_duplicate_by_its_own_share() {
        // A 10 m square inside an earlier 40 m square: all of ours, 6 % of theirs.
        let found = findings(
            zone(),
            &square(5.0, 5.0, 10.0),
            &[],
            &[earlier("BIG", square(0.0, 0.0, 40.0))],
        );
        assert!(
            matches!(found[..], [FindingKind::DuplicateOf { .. }]),
            "{found:?}"
        );
    }

    #[test]
    fn a_hole_is_not_overlap() {
        // An earlier plot lies exactly in our hole (a courtyard): no overlap at all.
        let mut hole = square(5.0, 5.0, 10.0);
        hole.reverse();
        let found = findings(
            zone(),
            &square(0.0, 0.0, 20.0),
            &[hole],
            &[earlier("YARD", square(5.0, 5.0, 10.0))],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_plot_in_the_neighbouring_zone_is_compared_in_ours() {
        // The same square surveyed once in zone 37 and once in zone 38 (112.5°E is the edge).
        let (z37, z38) = (Zone::new(37).unwrap(), Zone::new(38).unwrap());
        let (gk37, gk38) = (GaussKruger::new(z37), GaussKruger::new(z38));
        let corners = [
            (112.5, 25.7),
            (112.5002, 25.7),
            (112.5002, 25.7002),
            (112.5, 25.7002),
        ];
        let in_zone = |gk: &GaussKruger| -> Vec<PlanePoint> {
            corners
                .iter()
                .map(|(lon, lat)| gk.forward(*lon, *lat).unwrap())
                .collect()
        };
        let mut other = earlier("W", in_zone(&gk37));
        other.zone = z37;
        let found = findings(z38, &in_zone(&gk38), &[], &[other]);
        let [FindingKind::DuplicateOf { share_of_this, .. }] = &found[..] else {
            panic!("{found:?}")
        };
        assert!((share_of_this - 1.0).abs() < 1e-6, "{share_of_this}");
    }
}
