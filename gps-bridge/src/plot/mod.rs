//! Plots: a surveyed candidate made into a checked plot, or refused with the reasons. Pure: no
//! I/O, no clock, no database; the caller gives the candidate, the settings and the plots it
//! already holds, and gets a [`PlotReport`] back.
//!
//! - [`projection`]: CGCS2000 3° Gauss-Krüger zones, forward and inverse;
//! - [`shape`]: is it a simple polygon with holes inside, and its orientation;
//! - [`area`]: plane area in m², 亩 and ha, ellipsoid area, uncertainty, rounding for display;
//! - [`checks`]: fixes, corner accuracy, far corners, the zone's meridian, area limits;
//! - [`duplicates`]: 查重, the plot against the office's earlier plots;
//! - [`finding`]: what the checks found, coded for programs and worded for officers.
//!
//! [`check`] runs them in order: a candidate its reader refused (a file that could not be
//! read) is refused for that alone; corners outside China or too many stop it before projection;
//! the corners are checked next, then the shape; a shape that is not a polygon stops it before
//! the areas, the area limit and 查重. Whatever is found, the report keeps
//! the corners as given (with their plane coordinates once projected), so nothing of the input
//! is lost with a refusal.

pub mod area;
pub mod checks;
pub mod duplicates;
pub mod finding;
pub mod projection;
pub mod shape;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use area::{Areas, Shown};
pub use duplicates::EarlierPlot;
pub use finding::{Finding, FindingKind, RingIndex, Severity};
pub use projection::{GaussKruger, NoSuchZone, PlanePoint, ProjectionError, Zone, ZoneChoice};

use crate::survey::{Corner, PlotCandidate};

/// The land a homestead is built on; the area limit depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandKind {
    /// 耕地
    Cultivated,
    /// 其他土地 (村内空闲地、原有宅基地等)
    Other,
    /// 荒山荒坡
    Barren,
}

impl LandKind {
    pub const ALL: [LandKind; 3] = [LandKind::Cultivated, LandKind::Other, LandKind::Barren];

    /// The name in files, options and JSON.
    pub fn name(self) -> &'static str {
        match self {
            LandKind::Cultivated => "cultivated",
            LandKind::Other => "other",
            LandKind::Barren => "barren",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            LandKind::Cultivated => "耕地",
            LandKind::Other => "其他土地",
            LandKind::Barren => "荒山荒坡",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            LandKind::Cultivated => "cultivated land",
            LandKind::Other => "other land",
            LandKind::Barren => "barren hills",
        }
    }
}

impl fmt::Display for LandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A land kind that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("land kind {0:?}: one of cultivated, other, barren")]
pub struct UnknownLandKind(pub String);

impl FromStr for LandKind {
    type Err = UnknownLandKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LandKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownLandKind(s.to_owned()))
    }
}

/// Largest homestead area per land kind, m².
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AreaLimits {
    pub cultivated_m2: f64,
    pub other_m2: f64,
    pub barren_m2: f64,
}

impl AreaLimits {
    pub fn for_land(&self, land: LandKind) -> f64 {
        match land {
            LandKind::Cultivated => self.cultivated_m2,
            LandKind::Other => self.other_m2,
            LandKind::Barren => self.barren_m2,
        }
    }
}

/// The settings the checks use (from `[projection]` and `[checks]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotSettings {
    pub zone: ZoneChoice,
    /// A corner with a larger 1σ is a warning.
    pub max_corner_sigma_m: f64,
    /// A corner farther than this from the rest is a refusal.
    pub far_corner_m: f64,
    /// A plot farther than this from its zone's central meridian is a warning.
    pub max_meridian_offset_deg: f64,
    pub area_limits: AreaLimits,
    /// The land kind of a candidate that names none.
    pub default_land: LandKind,
}

/// The plot's corner: as surveyed, and in the zone's plane once projected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotCorner {
    pub name: String,
    /// CGCS2000 degrees. A refused input may hold a NaN, which JSON writes as `null`.
    #[serde(deserialize_with = "nan_for_null")]
    pub lon: f64,
    #[serde(deserialize_with = "nan_for_null")]
    pub lat: f64,
    /// Horizontal 1σ, metres, when known.
    pub sigma_m: Option<f64>,
    pub fixes: u32,
    #[serde(flatten)]
    pub plane: Option<PlanePoint>,
}

/// Reads `null` (how JSON writes a NaN) back as NaN, so a refused input is stored whole.
fn nan_for_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl PlotCorner {
    fn new(corner: &Corner, plane: Option<PlanePoint>) -> Self {
        PlotCorner {
            name: corner.name.clone(),
            lon: corner.lon,
            lat: corner.lat,
            sigma_m: corner.sigma_m,
            fixes: corner.fixes,
            plane,
        }
    }
}

/// A plot that passed: its rings normalised (shell counter-clockwise, holes clockwise, closing
/// corner not repeated), every corner with its plane coordinates, its areas and its warnings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedPlot {
    pub name: String,
    pub land: LandKind,
    pub zone: Zone,
    pub shell: Vec<PlotCorner>,
    pub holes: Vec<Vec<PlotCorner>>,
    #[serde(flatten)]
    pub areas: Areas,
    /// The area as shown to an officer, rounded to its uncertainty.
    pub area_shown: Shown,
    /// Warnings only.
    pub findings: Vec<Finding>,
}

/// A plot that was refused: the corners as given (plane coordinates once projected), what
/// could be computed, and the findings with at least one refusal among them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusedPlot {
    pub name: String,
    pub land: LandKind,
    pub zone: Option<Zone>,
    pub shell: Vec<PlotCorner>,
    pub holes: Vec<Vec<PlotCorner>>,
    #[serde(flatten)]
    pub areas: Option<Areas>,
    pub findings: Vec<Finding>,
}

/// What [`check`] says of a candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PlotReport {
    Checked(CheckedPlot),
    Refused(RefusedPlot),
}

impl PlotReport {
    pub fn name(&self) -> &str {
        match self {
            PlotReport::Checked(p) => &p.name,
            PlotReport::Refused(p) => &p.name,
        }
    }

    pub fn findings(&self) -> &[Finding] {
        match self {
            PlotReport::Checked(p) => &p.findings,
            PlotReport::Refused(p) => &p.findings,
        }
    }

    pub fn areas(&self) -> Option<&Areas> {
        match self {
            PlotReport::Checked(p) => Some(&p.areas),
            PlotReport::Refused(p) => p.areas.as_ref(),
        }
    }

    pub fn checked(&self) -> Option<&CheckedPlot> {
        match self {
            PlotReport::Checked(p) => Some(p),
            PlotReport::Refused(_) => None,
        }
    }
}

/// Most corners a plot may have, all rings together (the approval system's limit).
pub const MAX_CORNERS: usize = protocol::plots::MAX_CORNERS;
/// A plot enclosing less than this is no plot, m² (the approval system's limit).
pub const MIN_AREA_M2: f64 = 1.0;

/// The candidate's rings: shell first, then its holes.
fn rings(candidate: &PlotCandidate) -> Vec<&[Corner]> {
    std::iter::once(candidate.corners.as_slice())
        .chain(candidate.holes.iter().map(Vec::as_slice))
        .collect()
}

/// The corners as given, with their plane coordinates where known.
fn as_given(rings: &[&[Corner]], plane: Option<&[Vec<PlanePoint>]>) -> Vec<Vec<PlotCorner>> {
    rings
        .iter()
        .enumerate()
        .map(|(r, ring)| {
            ring.iter()
                .enumerate()
                .map(|(i, c)| PlotCorner::new(c, plane.map(|p| p[r][i])))
                .collect()
        })
        .collect()
}

/// A refusal keeping everything known so far.
fn refused(
    candidate: &PlotCandidate,
    land: LandKind,
    zone: Option<Zone>,
    rings: Vec<Vec<PlotCorner>>,
    areas: Option<Areas>,
    findings: Vec<Finding>,
) -> PlotReport {
    let mut rings = rings.into_iter();
    PlotReport::Refused(RefusedPlot {
        name: candidate.name.clone(),
        land,
        zone,
        shell: rings.next().unwrap_or_default(),
        holes: rings.collect(),
        areas,
        findings,
    })
}

/// Checks a candidate and makes it a plot, or says why not; `earlier` are the office's plots
/// it must not duplicate.
pub fn check(
    candidate: &PlotCandidate,
    settings: &PlotSettings,
    earlier: &[EarlierPlot],
) -> PlotReport {
    let land = candidate.land.unwrap_or(settings.default_land);
    let rings = rings(candidate);
    let mut findings = candidate.findings.clone();
    // Refused before projection: the corners as given, no zone, no areas.
    let unprojected = |findings| {
        refused(
            candidate,
            land,
            None,
            as_given(&rings, None),
            None,
            findings,
        )
    };
    // A candidate its reader refused (a file that could not be read) is no plot to check: it
    // is refused for that reason alone, with whatever it holds.
    if findings.iter().any(Finding::is_refusal) {
        return unprojected(findings);
    }
    let count: usize = rings.iter().map(|r| r.len()).sum();
    if count > MAX_CORNERS {
        findings.push(
            FindingKind::TooManyCorners {
                count,
                limit: MAX_CORNERS,
            }
            .into(),
        );
        return unprojected(findings);
    }
    let outside: Vec<String> = rings
        .iter()
        .flat_map(|r| r.iter())
        .filter(|c| !protocol::plots::in_china(c.lon, c.lat))
        .map(|c| c.name.clone())
        .collect();
    if !outside.is_empty() {
        findings.push(FindingKind::OutsideChina { corners: outside }.into());
        return unprojected(findings);
    }
    // Every corner is in China, so the centroid is, and so is its zone.
    let shell = rings[0];
    let centroid_lon = shell.iter().map(|c| c.lon).sum::<f64>() / shell.len().max(1) as f64;
    let zone = settings.zone.zone_for(centroid_lon);
    let gk = GaussKruger::new(zone);
    let plane: Result<Vec<Vec<PlanePoint>>, ProjectionError> = rings
        .iter()
        .map(|r| r.iter().map(|c| gk.forward(c.lon, c.lat)).collect())
        .collect();
    // Corners in China project in any of China's zones (at most 63° from its meridian, where
    // the exact transverse Mercator still converges; tested at the extremes).
    let plane = plane.expect("a corner in China projects in every zone of China");
    let given = as_given(&rings, Some(&plane));
    let corners: Vec<&Corner> = rings.iter().flat_map(|r| r.iter()).collect();
    let mut corner_findings = checks::fix_findings(&corners, &candidate.raw);
    corner_findings.extend(checks::sigma_findings(
        &corners,
        settings.max_corner_sigma_m,
    ));
    let names: Vec<&str> = corners.iter().map(|c| c.name.as_str()).collect();
    let all_points: Vec<PlanePoint> = plane.iter().flatten().copied().collect();
    corner_findings.extend(checks::far_corner_findings(
        &names,
        &all_points,
        settings.far_corner_m,
    ));
    corner_findings.extend(checks::meridian_finding(
        zone,
        centroid_lon,
        settings.max_meridian_offset_deg,
    ));
    findings.extend(corner_findings.into_iter().map(Finding::from));
    let open: Vec<&[PlanePoint]> = plane.iter().map(|r| &r[..shape::open_len(r)]).collect();
    let mut shape_findings: Vec<FindingKind> = open
        .iter()
        .enumerate()
        .flat_map(|(r, points)| {
            let names: Vec<&str> = rings[r].iter().map(|c| c.name.as_str()).collect();
            shape::ring_findings(r, &names[..points.len()], points)
        })
        .collect();
    if shape_findings.is_empty() && open.len() > 1 {
        let holes: Vec<Vec<PlanePoint>> = open[1..].iter().map(|h| h.to_vec()).collect();
        shape_findings = shape::hole_findings(open[0], &holes);
    }
    if !shape_findings.is_empty() {
        findings.extend(shape_findings.into_iter().map(Finding::from));
        return refused(candidate, land, Some(zone), given, None, findings);
    }
    // Orient: shell counter-clockwise, holes clockwise; drop closing repeats.
    let oriented: Vec<Vec<PlotCorner>> = open
        .iter()
        .enumerate()
        .map(|(r, points)| {
            shape::oriented(points, r == 0)
                .into_iter()
                .map(|i| given[r][i].clone())
                .collect()
        })
        .collect();
    let areas = areas_of(&oriented);
    if areas.area_m2 < MIN_AREA_M2 {
        findings.push(
            FindingKind::AreaTooSmall {
                area_m2: areas.area_m2,
                limit_m2: MIN_AREA_M2,
            }
            .into(),
        );
    }
    findings
        .extend(checks::area_limit_finding(&areas, land, &settings.area_limits).map(Finding::from));
    let plane_rings: Vec<Vec<PlanePoint>> = oriented
        .iter()
        .map(|ring| ring.iter().filter_map(|c| c.plane).collect())
        .collect();
    findings.extend(
        duplicates::findings(zone, &plane_rings[0], &plane_rings[1..], earlier)
            .into_iter()
            .map(Finding::from),
    );
    if findings.iter().any(Finding::is_refusal) {
        return refused(candidate, land, Some(zone), given, Some(areas), findings);
    }
    let mut oriented = oriented.into_iter();
    PlotReport::Checked(CheckedPlot {
        name: candidate.name.clone(),
        land,
        zone,
        shell: oriented.next().unwrap_or_default(),
        holes: oriented.collect(),
        area_shown: areas.shown(),
        areas,
        findings,
    })
}

/// The areas of oriented rings, every corner projected: the shell's less its holes'.
fn areas_of(rings: &[Vec<PlotCorner>]) -> Areas {
    let plane = |ring: &[PlotCorner]| -> Vec<PlanePoint> {
        ring.iter()
            .map(|c| {
                c.plane
                    .expect("every corner of a checked ring is projected")
            })
            .collect()
    };
    let (mut plane_m2, mut ellipsoid_m2, mut variance) = (0.0, 0.0, Some(0.0));
    for (r, ring) in rings.iter().enumerate() {
        let points = plane(ring);
        plane_m2 += area::signed_plane_area(&points);
        let lonlat: Vec<(f64, f64)> = ring.iter().map(|c| (c.lon, c.lat)).collect();
        let sign = if r == 0 { 1.0 } else { -1.0 };
        ellipsoid_m2 += sign * area::ellipsoid_area(&lonlat);
        let sigmas: Option<Vec<f64>> = ring.iter().map(|c| c.sigma_m).collect();
        variance = variance
            .zip(sigmas)
            .map(|(v, s)| v + area::area_variance(&points, &s));
    }
    // Holes run clockwise, so their signed areas already subtract.
    Areas::new(plane_m2, ellipsoid_m2, variance.map(f64::sqrt))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Candidates for the plot tests: rectangles in metres around a point.

    use super::*;
    use crate::survey::Source;

    /// Metres east and north of (lon, lat) as a corner, by a local flat approximation (good to
    /// well under a millimetre over a homestead, and the tests compare projected shapes).
    pub(crate) fn corner_at(name: &str, lon: f64, lat: f64, east: f64, north: f64) -> Corner {
        let m_per_deg_lat = 111_132.954 - 559.822 * (2.0 * lat.to_radians()).cos();
        let m_per_deg_lon = 111_412.84 * lat.to_radians().cos();
        Corner {
            name: name.to_owned(),
            lon: lon + east / m_per_deg_lon,
            lat: lat + north / m_per_deg_lat,
            sigma_m: Some(3.0),
            fixes: 30,
            raw: Vec::new(),
        }
    }

    /// Corners of a `width` × `height` m rectangle from its south-west corner, counter-clockwise.
    pub(crate) fn rectangle(lon: f64, lat: f64, width: f64, height: f64) -> Vec<Corner> {
        [(0.0, 0.0), (width, 0.0), (width, height), (0.0, height)]
            .iter()
            .enumerate()
            .map(|(i, (e, n))| corner_at(&format!("J{}", i + 1), lon, lat, *e, *n))
            .collect()
    }

    pub(crate) fn candidate(corners: Vec<Corner>) -> PlotCandidate {
        PlotCandidate::new(
            "wang",
            Source::CornerCapture,
            "/dev/ttyUSB0",
            corners,
            Vec::new(),
        )
    }

    pub(crate) fn settings() -> PlotSettings {
        PlotSettings {
            zone: ZoneChoice::Auto,
            max_corner_sigma_m: 5.0,
            far_corner_m: 1000.0,
            max_meridian_offset_deg: 1.6,
            area_limits: AreaLimits {
                cultivated_m2: 130.0,
                other_m2: 180.0,
                barren_m2: 210.0,
            },
            default_land: LandKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    /// 桂阳县, zone 38 (its central meridian is 114°E).
    const LON: f64 = 112.73;
    const LAT: f64 = 25.75;

    fn codes(report: &PlotReport) -> Vec<&'static str> {
        report.findings().iter().map(Finding::code).collect()
    }

    #[test]
    fn a_homestead_with_a_courtyard_is_checked() {
        // 15 m × 20 m, clockwise as many officers walk it, with a 4 m × 5 m hole.
        let mut shell = rectangle(LON, LAT, 15.0, 20.0);
        shell[1..].reverse();
        let mut plot = candidate(shell);
        plot.holes = vec![
            [(5.0, 5.0), (9.0, 5.0), (9.0, 10.0), (5.0, 10.0)]
                .iter()
                .enumerate()
                .map(|(i, (e, n))| corner_at(&format!("K{}", i + 1), LON, LAT, *e, *n))
                .collect(),
        ];
        let report = check(&plot, &settings(), &[]);
        let PlotReport::Checked(checked) = &report else {
            panic!("{report:#?}")
        };
        // Auto: round(112.73 / 3) = round(37.58) = 38.
        assert_eq!(checked.zone.number(), 38);
        assert_eq!(checked.land, LandKind::Other);
        // 280 ± 50 m² on other land: over its 180 m², by no more than twice the uncertainty.
        assert_eq!(codes(&report), ["area_over_limit"]);
        // The shell now runs counter-clockwise from the same first corner, the hole clockwise.
        let names: Vec<&str> = checked.shell.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["J1", "J2", "J3", "J4"]);
        let hole: Vec<&str> = checked.holes[0].iter().map(|c| c.name.as_str()).collect();
        assert_eq!(hole, ["K1", "K4", "K3", "K2"]);
        let a = checked.areas;
        // The test's flat-earth corners are good to a few parts in 10⁴, like the zone scale.
        assert!((a.area_m2 - 280.0).abs() < 0.2, "{a:?}");
        assert!((a.area_mu - a.area_m2 * 15.0 / 10_000.0).abs() < 1e-12);
        // The plane and the ellipsoid agree to the zone's scale (1.3° off: 1.0002).
        assert!(
            (a.area_m2 / a.ellipsoid_area_m2 - 1.0).abs() < 5e-4,
            "{a:?}"
        );
        // 3 m per corner: tens of m², shown to the tens.
        let sigma = a.area_sigma_m2.unwrap();
        assert!((40.0..70.0).contains(&sigma), "{sigma}");
        assert_eq!(checked.area_shown.en, "280 ± 50 m² (0.42 ± 0.08 mu)");
        // Every corner carries its plane coordinates.
        assert!(checked.shell.iter().all(|c| c.plane.is_some()));
        // Stored as JSON and read back whole.
        let json = serde_json::to_string(&report).unwrap();
        let back: PlotReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["outcome"], "checked");
        assert!(value["area_m2"].is_f64() && value["shell"][0]["northing_m"].is_f64());
    }

    #[test]
    fn a_fixed_zone_is_used_even_across_the_zone_edge() {
        let mut settings = settings();
        settings.zone = ZoneChoice::Fixed(Zone::new(38).unwrap());
        let report = check(
            &candidate(rectangle(112.49, LAT, 15.0, 20.0)),
            &settings,
            &[],
        );
        assert_eq!(report.checked().unwrap().zone.number(), 38);
        let auto = check(
            &candidate(rectangle(112.49, LAT, 15.0, 20.0)),
            &self::settings(),
            &[],
        );
        assert_eq!(auto.checked().unwrap().zone.number(), 37);
    }

    #[test]
    fn a_refusal_keeps_the_corners_as_given() {
        let mut corners = rectangle(LON, LAT, 15.0, 20.0);
        corners.swap(1, 2);
        let report = check(&candidate(corners.clone()), &settings(), &[]);
        assert_eq!(codes(&report), ["self_intersection"]);
        let PlotReport::Refused(refused) = &report else {
            panic!("{report:#?}")
        };
        let given: Vec<(&str, f64, f64)> = refused
            .shell
            .iter()
            .map(|c| (c.name.as_str(), c.lon, c.lat))
            .collect();
        let input: Vec<(&str, f64, f64)> = corners
            .iter()
            .map(|c| (c.name.as_str(), c.lon, c.lat))
            .collect();
        assert_eq!(given, input);
        assert!(refused.zone.is_some() && refused.shell.iter().all(|c| c.plane.is_some()));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["outcome"], "refused");
        assert_eq!(serde_json::from_value::<PlotReport>(json).unwrap(), report);
    }

    #[test]
    fn corners_outside_china_are_refused_before_projection() {
        let mut corners = rectangle(LON, LAT, 15.0, 20.0);
        corners[2].lon = 0.0;
        corners[2].lat = 0.0;
        let report = check(&candidate(corners), &settings(), &[]);
        assert_eq!(codes(&report), ["outside_china"]);
        let PlotReport::Refused(refused) = report else {
            unreachable!()
        };
        assert_eq!(refused.zone, None);
        assert_eq!(refused.shell.len(), 4);
    }

    #[test]
    fn two_corners_are_refused_and_so_is_a_speck() {
        let two = check(
            &candidate(rectangle(LON, LAT, 15.0, 20.0)[..2].to_vec()),
            &settings(),
            &[],
        );
        assert_eq!(codes(&two), ["too_few_corners"]);
        let speck = check(&candidate(rectangle(LON, LAT, 0.5, 0.5)), &settings(), &[]);
        assert_eq!(codes(&speck), ["area_too_small"]);
    }

    #[test]
    fn too_many_corners_are_refused() {
        let corners: Vec<Corner> = (0..=MAX_CORNERS)
            .map(|i| {
                let angle = i as f64 / (MAX_CORNERS + 1) as f64 * std::f64::consts::TAU;
                corner_at(
                    &format!("J{i}"),
                    LON,
                    LAT,
                    100.0 * angle.cos(),
                    100.0 * angle.sin(),
                )
            })
            .collect();
        let report = check(&candidate(corners), &settings(), &[]);
        assert_eq!(codes(&report), ["too_many_corners"]);
    }

    #[test]
    fn the_same_plot_again_is_a_duplicate_of_the_first() {
        // 12 m × 14 m = 168 m², within the 180 m² of other land.
        let first = check(
            &candidate(rectangle(LON, LAT, 12.0, 14.0)),
            &settings(),
            &[],
        );
        assert!(first.findings().is_empty(), "{first:#?}");
        let earlier = [EarlierPlot::new("P7", first.checked().unwrap())];
        let again = check(
            &candidate(rectangle(LON, LAT, 12.0, 14.0)),
            &settings(),
            &earlier,
        );
        assert_eq!(codes(&again), ["duplicate_of"]);
        assert!(matches!(again, PlotReport::Refused(_)));
        // The neighbour to the east shares a metre's strip with it.
        let east: Vec<Corner> = rectangle(LON, LAT, 12.0, 14.0)
            .into_iter()
            .map(|mut c| {
                c.lon += 11.0 / 100_000.0;
                c
            })
            .collect();
        let neighbour = check(&candidate(east), &settings(), &earlier);
        assert_eq!(codes(&neighbour), ["overlaps_plot"]);
        assert!(matches!(neighbour, PlotReport::Checked(_)));
    }

    #[test]
    fn corners_are_checked_whatever_the_shape() {
        // A corner 500 km north: refused for it, and for what it does to the shape.
        let mut far = rectangle(LON, LAT, 12.0, 14.0);
        far[2].lat += 4.5;
        let report = check(&candidate(far), &settings(), &[]);
        assert!(matches!(report, PlotReport::Refused(_)));
        assert_eq!(
            codes(&report)[0],
            "corner_far_from_rest",
            "{:?}",
            codes(&report)
        );
        // A corner surveyed at 7 m and a plot 1.7° west of its fixed zone's meridian: warnings.
        let mut settings = settings();
        settings.zone = ZoneChoice::Fixed(Zone::new(38).unwrap());
        let mut poor = rectangle(112.3, LAT, 12.0, 14.0);
        poor[1].sigma_m = Some(7.0);
        let report = check(&candidate(poor), &settings, &[]);
        assert_eq!(
            codes(&report),
            ["corner_sigma_over_limit", "far_from_central_meridian"]
        );
        assert!(matches!(report, PlotReport::Checked(_)));
        // A corner from the receiver's demo mode is refused.
        let mut demo = rectangle(LON, LAT, 12.0, 14.0);
        demo[0].raw = vec![crate::nmea::with_checksum(
            "GPGGA,120002,2545.0000,N,11243.8000,E,8,08,0.9,50.0,M,-8.0,M,,",
        )];
        let report = check(&candidate(demo), &self::settings(), &[]);
        assert_eq!(codes(&report), ["simulated_fix"]);
        assert!(matches!(report, PlotReport::Refused(_)));
    }

    #[test]
    fn what_the_reader_found_is_reported_with_the_plot() {
        let mut plot = candidate(rectangle(LON, LAT, 12.0, 14.0));
        plot.findings = vec![FindingKind::RingNotClosed { ring: 0 }.into()];
        plot.land = Some(LandKind::Cultivated);
        let report = check(&plot, &settings(), &[]);
        assert_eq!(codes(&report), ["ring_not_closed", "area_over_limit"]);
        assert_eq!(report.checked().unwrap().land, LandKind::Cultivated);
    }
}
