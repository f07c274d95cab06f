//! Is it a plot? The checks of a ring's shape in the Gauss-Krüger plane, and the orientation
//! rings are normalised to.
//!
//! A ring is given as its corners in boundary order, not repeated at the end (a last corner at
//! the first one's position is taken as the closing repeat and dropped). It must have at least
//! three distinct corners, no two consecutive corners at one point, not lie on one line, turn
//! back in no spike and cross itself nowhere; holes must lie inside the shell and apart.
//!
//! Orientation, as RFC 7946 and the OGC have it, seen with north up: the shell runs
//! counter-clockwise, holes clockwise. A ring is turned by reversing its corners after the
//! first, so it still starts where the officer started.

use geo::line_intersection::line_intersection;
use geo::{Contains, Coord, Line, LineString, Polygon, Relate};

use super::area::signed_plane_area;
use super::finding::{FindingKind, RingIndex};
use super::projection::PlanePoint;

/// Corners closer than this are one point, metres (the coordinate files carry millimetres).
pub const SAME_POINT_M: f64 = 0.01;
/// A ring none of whose corners is farther than this from one line encloses nothing, metres.
pub const COLLINEAR_M: f64 = 0.01;
/// A turn sharper than this is a spike, degrees (a 20 m spike of 2° is 0.7 m wide).
pub const SPIKE_DEG: f64 = 2.0;
/// Crossings reported per ring: the first few say enough.
const CROSSINGS_REPORTED: usize = 5;

/// The number of corners to use: all, or all but a closing repeat of the first.
pub fn open_len(points: &[PlanePoint]) -> usize {
    match points {
        [first, .., last] if points.len() > 1 && first.distance_to(*last) < SAME_POINT_M => {
            points.len() - 1
        }
        _ => points.len(),
    }
}

/// What is wrong with one ring's shape (corners not repeated at the end); nothing when it is
/// a simple polygon.
pub fn ring_findings(ring: RingIndex, names: &[&str], points: &[PlanePoint]) -> Vec<FindingKind> {
    let n = points.len();
    let next = |i: usize| (i + 1) % n;
    let repeats: Vec<usize> = (0..n)
        .filter(|&i| n > 1 && points[i].distance_to(points[next(i)]) < SAME_POINT_M)
        .collect();
    let distinct = n - repeats.len().min(n.saturating_sub(1));
    if distinct < 3 {
        return vec![FindingKind::TooFewCorners { ring, distinct }];
    }
    if !repeats.is_empty() {
        return repeats
            .into_iter()
            .map(|i| FindingKind::RepeatedCorner {
                ring,
                corners: [names[i].to_owned(), names[next(i)].to_owned()],
            })
            .collect();
    }
    if collinear(points) {
        return vec![FindingKind::Collinear { ring }];
    }
    let mut findings: Vec<FindingKind> = (0..n)
        .filter_map(|i| {
            let angle = turn_angle_deg(points[(i + n - 1) % n], points[i], points[next(i)]);
            (angle < SPIKE_DEG).then(|| FindingKind::Spike {
                ring,
                corner: names[i].to_owned(),
                angle_deg: angle,
            })
        })
        .collect();
    findings.extend(crossings(points).take(CROSSINGS_REPORTED).map(|(i, j)| {
        FindingKind::SelfIntersection {
            ring,
            edges: [
                [names[i].to_owned(), names[next(i)].to_owned()],
                [names[j].to_owned(), names[next(j)].to_owned()],
            ],
        }
    }));
    findings
}

/// Whether every point is within [`COLLINEAR_M`] of the line through the first point and the
/// point farthest from it.
fn collinear(points: &[PlanePoint]) -> bool {
    let origin = points[0];
    let Some(far) = points
        .iter()
        .copied()
        .max_by(|a, b| origin.distance_to(*a).total_cmp(&origin.distance_to(*b)))
    else {
        return true;
    };
    let length = origin.distance_to(far);
    if length < SAME_POINT_M {
        return true;
    }
    let (de, dn) = (
        far.easting_m - origin.easting_m,
        far.northing_m - origin.northing_m,
    );
    points.iter().all(|p| {
        let (pe, pn) = (
            p.easting_m - origin.easting_m,
            p.northing_m - origin.northing_m,
        );
        (de * pn - dn * pe).abs() / length <= COLLINEAR_M
    })
}

/// The angle at `at` between the edges to `prev` and to `next`, degrees (0 = straight back).
fn turn_angle_deg(prev: PlanePoint, at: PlanePoint, next: PlanePoint) -> f64 {
    let (ae, an) = (
        prev.easting_m - at.easting_m,
        prev.northing_m - at.northing_m,
    );
    let (be, bn) = (
        next.easting_m - at.easting_m,
        next.northing_m - at.northing_m,
    );
    (ae * bn - an * be)
        .abs()
        .atan2(ae * be + an * bn)
        .to_degrees()
}

/// Local coordinates relative to `origin`, x = easting, y = northing: small numbers keep the
/// intersection arithmetic exact where it matters.
fn local(origin: PlanePoint, p: PlanePoint) -> Coord<f64> {
    Coord {
        x: p.easting_m - origin.easting_m,
        y: p.northing_m - origin.northing_m,
    }
}

/// Pairs of edges (by their first corner) that touch or cross and are not neighbours.
fn crossings(points: &[PlanePoint]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let n = points.len();
    let origin = points[0];
    let edges: Vec<Line<f64>> = (0..n)
        .map(|i| Line::new(local(origin, points[i]), local(origin, points[(i + 1) % n])))
        .collect();
    let bounds: Vec<(Coord<f64>, Coord<f64>)> = edges
        .iter()
        .map(|l| {
            (
                Coord {
                    x: l.start.x.min(l.end.x),
                    y: l.start.y.min(l.end.y),
                },
                Coord {
                    x: l.start.x.max(l.end.x),
                    y: l.start.y.max(l.end.y),
                },
            )
        })
        .collect();
    (0..n)
        .flat_map(move |i| ((i + 2)..n).map(move |j| (i, j)))
        .filter(move |&(i, j)| !(i == 0 && j == n - 1))
        .filter(move |&(i, j)| {
            let ((a0, a1), (b0, b1)) = (bounds[i], bounds[j]);
            a0.x <= b1.x && b0.x <= a1.x && a0.y <= b1.y && b0.y <= a1.y
        })
        .filter(move |&(i, j)| line_intersection(edges[i], edges[j]).is_some())
}

fn polygon(origin: PlanePoint, ring: &[PlanePoint]) -> Polygon<f64> {
    let coords: Vec<Coord<f64>> = ring.iter().map(|p| local(origin, *p)).collect();
    Polygon::new(LineString::from(coords), vec![])
}

/// Holes outside the shell or overlapping each other. Each ring must already be a simple
/// polygon.
pub fn hole_findings(shell: &[PlanePoint], holes: &[Vec<PlanePoint>]) -> Vec<FindingKind> {
    let origin = shell[0];
    let outer = polygon(origin, shell);
    let inner: Vec<Polygon<f64>> = holes.iter().map(|h| polygon(origin, h)).collect();
    let mut findings: Vec<FindingKind> = inner
        .iter()
        .enumerate()
        .filter(|(_, hole)| !outer.contains(*hole))
        .map(|(k, _)| FindingKind::HoleOutsideShell { ring: k + 1 })
        .collect();
    for (a, first) in inner.iter().enumerate() {
        for (b, second) in inner.iter().enumerate().skip(a + 1) {
            let relation = first.relate(second);
            if relation.is_intersects() && !relation.is_touches() {
                findings.push(FindingKind::HolesOverlap {
                    rings: [a + 1, b + 1],
                });
            }
        }
    }
    findings
}

/// The order of a ring's corners that gives it the wanted orientation: as it is, or reversed
/// after the first corner.
pub fn oriented(points: &[PlanePoint], counter_clockwise: bool) -> Vec<usize> {
    let n = points.len();
    if (signed_plane_area(points) > 0.0) == counter_clockwise {
        (0..n).collect()
    } else {
        std::iter::once(0).chain((1..n).rev()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 8] = ["J1", "J2", "J3", "J4", "J5", "J6", "J7", "J8"];

    /// Points from (easting, northing) pairs near a zone's centre.
    fn ring(coords: &[(f64, f64)]) -> Vec<PlanePoint> {
        coords
            .iter()
            .map(|(e, n)| PlanePoint::new(3_000_000.0 + n, 500_000.0 + e))
            .collect()
    }

    fn codes(findings: &[FindingKind]) -> Vec<&'static str> {
        findings.iter().map(FindingKind::code).collect()
    }

    fn check(coords: &[(f64, f64)]) -> Vec<FindingKind> {
        ring_findings(0, &NAMES[..coords.len()], &ring(coords))
    }

    const SQUARE: [(f64, f64); 4] = [(0.0, 0.0), (20.0, 0.0), (20.0, 15.0), (0.0, 15.0)];

    #[test]
    fn a_simple_ring_has_no_findings() {
        assert!(check(&SQUARE).is_empty());
        // A concave L-shape is fine too.
        let l = [
            (0.0, 0.0),
            (20.0, 0.0),
            (20.0, 8.0),
            (8.0, 8.0),
            (8.0, 15.0),
            (0.0, 15.0),
        ];
        assert!(check(&l).is_empty());
    }

    #[test]
    fn two_corners_are_too_few() {
        let findings = check(&[(0.0, 0.0), (20.0, 0.0)]);
        assert_eq!(
            findings,
            [FindingKind::TooFewCorners {
                ring: 0,
                distinct: 2
            }]
        );
        // Three corners, two of them one point.
        let findings = check(&[(0.0, 0.0), (20.0, 0.0), (20.0, 0.004)]);
        assert_eq!(codes(&findings), ["too_few_corners"]);
    }

    #[test]
    fn a_repeated_corner_is_named() {
        let findings = check(&[(0.0, 0.0), (20.0, 0.0), (20.0, 0.0), (20.0, 15.0)]);
        assert_eq!(
            findings,
            [FindingKind::RepeatedCorner {
                ring: 0,
                corners: ["J2".to_owned(), "J3".to_owned()]
            }]
        );
    }

    #[test]
    fn collinear_corners_enclose_nothing() {
        let findings = check(&[(0.0, 0.0), (10.0, 0.005), (20.0, 0.0), (30.0, -0.004)]);
        assert_eq!(codes(&findings), ["collinear"]);
    }

    #[test]
    fn a_spike_is_found_at_its_corner() {
        // J4 sticks out 30 m east and comes back 0.5 m further north: about 1°.
        let findings = check(&[
            (0.0, 0.0),
            (20.0, 0.0),
            (20.0, 4.0),
            (50.0, 4.25),
            (20.0, 4.5),
            (20.0, 15.0),
            (0.0, 15.0),
        ]);
        assert_eq!(codes(&findings), ["spike"]);
        let FindingKind::Spike {
            corner, angle_deg, ..
        } = &findings[0]
        else {
            unreachable!()
        };
        assert_eq!(corner, "J4");
        assert!((0.5..1.5).contains(angle_deg), "{angle_deg}");
    }

    #[test]
    fn a_bow_tie_crosses_itself_between_named_edges() {
        let findings = check(&[(0.0, 0.0), (20.0, 15.0), (20.0, 0.0), (0.0, 15.0)]);
        assert_eq!(
            findings,
            [FindingKind::SelfIntersection {
                ring: 0,
                edges: [
                    ["J1".to_owned(), "J2".to_owned()],
                    ["J3".to_owned(), "J4".to_owned()]
                ]
            }]
        );
    }

    #[test]
    fn a_ring_that_touches_itself_is_refused() {
        // J5 lies on the edge J1–J2.
        let findings = check(&[
            (0.0, 0.0),
            (20.0, 0.0),
            (20.0, 15.0),
            (10.0, 15.0),
            (10.0, 0.0),
            (0.0, 15.0),
        ]);
        assert!(
            codes(&findings).contains(&"self_intersection"),
            "{findings:?}"
        );
    }

    #[test]
    fn the_closing_repeat_is_dropped() {
        let mut closed = ring(&SQUARE);
        closed.push(closed[0]);
        assert_eq!(open_len(&closed), 4);
        assert_eq!(open_len(&ring(&SQUARE)), 4);
        assert_eq!(open_len(&[]), 0);
    }

    #[test]
    fn holes_must_be_inside_and_apart() {
        let shell = ring(&SQUARE);
        let inside = ring(&[(2.0, 2.0), (2.0, 5.0), (5.0, 5.0), (5.0, 2.0)]);
        let overlapping = ring(&[(4.0, 4.0), (4.0, 7.0), (7.0, 7.0), (7.0, 4.0)]);
        let outside = ring(&[(30.0, 2.0), (30.0, 5.0), (35.0, 5.0), (35.0, 2.0)]);
        let across = ring(&[(15.0, 2.0), (15.0, 5.0), (25.0, 5.0), (25.0, 2.0)]);
        assert!(hole_findings(&shell, std::slice::from_ref(&inside)).is_empty());
        assert_eq!(
            hole_findings(&shell, &[inside.clone(), outside, across]),
            [
                FindingKind::HoleOutsideShell { ring: 2 },
                FindingKind::HoleOutsideShell { ring: 3 }
            ]
        );
        assert_eq!(
            hole_findings(&shell, &[inside, overlapping]),
            [FindingKind::HolesOverlap { rings: [1, 2] }]
        );
    }

    #[test]
    fn orientation_is_normalised_keeping_the_first_corner() {
        let ccw = ring(&SQUARE);
        assert_eq!(oriented(&ccw, true), [0, 1, 2, 3]);
        assert_eq!(oriented(&ccw, false), [0, 3, 2, 1]);
    }
}
