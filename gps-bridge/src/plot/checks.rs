//! The checks of a plot's corners and area that are not about its shape: where the fixes came
//! from, how accurate each corner is, a corner far from the rest, the distance from the zone's
//! central meridian, and the area against the limit for its land kind (面积分析).

use super::area::Areas;
use super::finding::FindingKind;
use super::projection::{PlanePoint, Zone};
use super::{AreaLimits, LandKind};
use crate::nmea::{FixQuality, Framer, FramerConfig, Sentence, decode};
use crate::survey::Corner;

/// What a receiver said of a fix, when it said it was not a measurement; simulated outweighs
/// estimated (it is not even the receiver's guess).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum NotMeasured {
    Estimated,
    Simulated,
}

/// Whether any of these stored sentences says its fix was estimated or simulated: GGA's fix
/// quality 6 or 8, RMC's or GLL's mode `E` or `S`. Anything that is not such a sentence says
/// nothing (a GPX or file corner's raw is where the point is in its file).
fn not_measured(raw: &[String]) -> Option<NotMeasured> {
    let mut framer = Framer::new(FramerConfig {
        accept_missing_checksum: true,
    });
    let mut found = None;
    for sentence in raw.iter().filter(|r| r.starts_with('$')) {
        framer.push(format!("{sentence}\r\n").as_bytes(), |line| {
            let Some(parsed) = line.ok().and_then(|l| decode(l).ok()) else {
                return;
            };
            let verdict = match parsed.sentence {
                Sentence::Gga(gga) => match gga.quality {
                    Some(FixQuality::Estimated) => Some(NotMeasured::Estimated),
                    Some(FixQuality::Simulator) => Some(NotMeasured::Simulated),
                    _ => None,
                },
                Sentence::Rmc(rmc) => mode_verdict(rmc.mode),
                Sentence::Gll(gll) => mode_verdict(gll.mode),
                _ => None,
            };
            found = found.max(verdict);
        });
    }
    found
}

fn mode_verdict(mode: Option<u8>) -> Option<NotMeasured> {
    match mode {
        Some(b'E') => Some(NotMeasured::Estimated),
        Some(b'S') => Some(NotMeasured::Simulated),
        _ => None,
    }
}

/// Corners from estimated or simulated fixes. `plot_raw` is what the plot as a whole came
/// with: a unit that reported such fixes while it sent its route taints every corner.
pub fn fix_findings(corners: &[&Corner], plot_raw: &[String]) -> Vec<FindingKind> {
    let whole_plot = not_measured(plot_raw);
    let (mut estimated, mut simulated) = (Vec::new(), Vec::new());
    for corner in corners {
        match not_measured(&corner.raw).max(whole_plot) {
            Some(NotMeasured::Estimated) => estimated.push(corner.name.clone()),
            Some(NotMeasured::Simulated) => simulated.push(corner.name.clone()),
            None => {}
        }
    }
    let mut findings = Vec::new();
    if !simulated.is_empty() {
        findings.push(FindingKind::SimulatedFix { corners: simulated });
    }
    if !estimated.is_empty() {
        findings.push(FindingKind::EstimatedFix { corners: estimated });
    }
    findings
}

/// Corners less accurate than `limit_m`.
pub fn sigma_findings(corners: &[&Corner], limit_m: f64) -> Vec<FindingKind> {
    corners
        .iter()
        .filter_map(|c| {
            let sigma_m = c.sigma_m.filter(|s| *s > limit_m)?;
            Some(FindingKind::CornerSigmaOverLimit {
                corner: c.name.clone(),
                sigma_m,
                limit_m,
            })
        })
        .collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Corners farther than `limit_m` from the median of all corners (north and east apart): a
/// single wild corner cannot drag the median with it, as it would the mean.
pub fn far_corner_findings(
    names: &[&str],
    points: &[PlanePoint],
    limit_m: f64,
) -> Vec<FindingKind> {
    if points.is_empty() {
        return Vec::new();
    }
    let centre = PlanePoint::new(
        median(points.iter().map(|p| p.northing_m).collect()),
        median(points.iter().map(|p| p.easting_m).collect()),
    );
    names
        .iter()
        .zip(points)
        .filter_map(|(name, p)| {
            let distance_m = p.distance_to(centre);
            (distance_m > limit_m).then(|| FindingKind::CornerFarFromRest {
                corner: (*name).to_owned(),
                distance_m,
                limit_m,
            })
        })
        .collect()
}

/// A plot whose centroid lies more than `limit_deg` from its zone's central meridian.
pub fn meridian_finding(zone: Zone, centroid_lon: f64, limit_deg: f64) -> Option<FindingKind> {
    let offset_deg = (centroid_lon - zone.central_meridian()).abs();
    (offset_deg > limit_deg).then_some(FindingKind::FarFromCentralMeridian {
        zone: zone.number(),
        offset_deg,
        limit_deg,
    })
}

/// The area over the limit of its land kind.
pub fn area_limit_finding(
    areas: &Areas,
    land: LandKind,
    limits: &AreaLimits,
) -> Option<FindingKind> {
    let limit_m2 = limits.for_land(land);
    (areas.area_m2 > limit_m2).then_some(FindingKind::AreaOverLimit {
        land,
        area_m2: areas.area_m2,
        area_sigma_m2: areas.area_sigma_m2,
        limit_m2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmea::with_checksum;

    fn corner(name: &str, sigma_m: Option<f64>, raw: &[&str]) -> Corner {
        Corner {
            name: name.to_owned(),
            lon: 112.7,
            lat: 25.7,
            sigma_m,
            fixes: raw.len() as u32,
            raw: raw.iter().map(|b| with_checksum(b)).collect(),
        }
    }

    const MEASURED: &str = "GPGGA,120000,2542.0000,N,11242.0000,E,1,08,0.9,50.0,M,-8.0,M,,";
    const ESTIMATED: &str = "GPGGA,120001,2542.0000,N,11242.0000,E,6,08,0.9,50.0,M,-8.0,M,,";
    const SIMULATED: &str = "GPGGA,120002,2542.0000,N,11242.0000,E,8,08,0.9,50.0,M,-8.0,M,,";
    const RMC_ESTIMATED: &str = "GPRMC,120003,A,2542.0000,N,11242.0000,E,0.0,0.0,011226,,,E";

    #[test]
    fn estimated_and_simulated_fixes_are_named_by_corner() {
        let corners = [
            corner("J1", Some(2.0), &[MEASURED, MEASURED]),
            corner("J2", Some(2.0), &[MEASURED, ESTIMATED]),
            corner("J3", Some(2.0), &[SIMULATED]),
            corner("J4", Some(2.0), &[RMC_ESTIMATED]),
        ];
        let refs: Vec<&Corner> = corners.iter().collect();
        assert_eq!(
            fix_findings(&refs, &[]),
            [
                FindingKind::SimulatedFix {
                    corners: vec!["J3".to_owned()]
                },
                FindingKind::EstimatedFix {
                    corners: vec!["J2".to_owned(), "J4".to_owned()]
                },
            ]
        );
        // A unit in demo mode while it sent its route: every corner.
        let plot_raw = [with_checksum(SIMULATED)];
        assert_eq!(
            fix_findings(&refs[..2], &plot_raw),
            [FindingKind::SimulatedFix {
                corners: vec!["J1".to_owned(), "J2".to_owned()]
            }]
        );
        // A file corner's raw is a place in the file, not a sentence.
        let from_file = Corner {
            raw: vec!["rte[1]/rtept[3]".to_owned()],
            ..corners[0].clone()
        };
        assert!(fix_findings(&[&from_file], &[]).is_empty());
    }

    #[test]
    fn corners_over_the_sigma_limit_are_warnings() {
        let corners = [
            corner("J1", Some(2.0), &[]),
            corner("J2", Some(7.5), &[]),
            corner("J3", None, &[]),
        ];
        let refs: Vec<&Corner> = corners.iter().collect();
        assert_eq!(
            sigma_findings(&refs, 5.0),
            [FindingKind::CornerSigmaOverLimit {
                corner: "J2".to_owned(),
                sigma_m: 7.5,
                limit_m: 5.0
            }]
        );
    }

    #[test]
    fn a_corner_500_km_away_is_far_from_the_rest() {
        let square = [(0.0, 0.0), (20.0, 0.0), (20.0, 15.0), (0.0, 15.0)];
        let mut points: Vec<PlanePoint> = square
            .iter()
            .map(|(e, n)| PlanePoint::new(2_850_000.0 + n, 372_000.0 + e))
            .collect();
        assert!(far_corner_findings(&["J1", "J2", "J3", "J4"], &points, 1000.0).is_empty());
        points[2].northing_m += 500_000.0;
        let found = far_corner_findings(&["J1", "J2", "J3", "J4"], &points, 1000.0);
        let [
            FindingKind::CornerFarFromRest {
                corner, distance_m, ..
            },
        ] = &found[..]
        else {
            panic!("{found:?}")
        };
        assert_eq!(corner, "J3");
        assert!((distance_m - 500_007.5).abs() < 1.0, "{distance_m}");
        let finding = crate::plot::Finding::new(found[0].clone());
        assert!(finding.zh.contains("500公里，超过1000米"), "{}", finding.zh);
        assert!(finding.en.contains("500 km"), "{}", finding.en);
    }

    #[test]
    fn far_from_the_meridian_is_a_warning() {
        let zone = Zone::new(38).unwrap();
        assert_eq!(meridian_finding(zone, 113.0, 1.6), None);
        assert!(matches!(
            meridian_finding(zone, 112.2, 1.6),
            Some(FindingKind::FarFromCentralMeridian { zone: 38, .. })
        ));
    }

    #[test]
    fn the_area_limit_depends_on_the_land() {
        let limits = AreaLimits {
            cultivated_m2: 130.0,
            other_m2: 180.0,
            barren_m2: 210.0,
        };
        let areas = Areas::new(150.0, 149.98, Some(25.0));
        assert_eq!(area_limit_finding(&areas, LandKind::Other, &limits), None);
        let over = area_limit_finding(&areas, LandKind::Cultivated, &limits).unwrap();
        let finding = crate::plot::Finding::new(over);
        assert_eq!(finding.code(), "area_over_limit");
        // 150 ± 25 against 130: over, but within the uncertainty, and it says so.
        assert_eq!(
            finding.en,
            "The area 150 ± 25 m² exceeds the limit of 130 m² for a homestead on cultivated land, \
             but within the survey's uncertainty; a more accurate survey is advised."
        );
        let clear = Areas::new(250.0, 249.9, Some(5.0));
        let finding = crate::plot::Finding::new(
            area_limit_finding(&clear, LandKind::Barren, &limits).unwrap(),
        );
        assert_eq!(
            finding.zh,
            "面积250 ± 5 平方米，超过荒山荒坡宅基地限额210平方米。"
        );
        // Without an uncertainty (a file's plot), it says that it is unknown.
        let unknown = Areas::new(250.0, 249.9, None);
        let finding = crate::plot::Finding::new(
            area_limit_finding(&unknown, LandKind::Barren, &limits).unwrap(),
        );
        assert_eq!(
            (finding.zh.as_str(), finding.en.as_str()),
            (
                "面积250.00 平方米，超过荒山荒坡宅基地限额210平方米（测量误差未知）。",
                "The area 250.00 m² exceeds the limit of 210 m² for a homestead on barren hills (the survey's uncertainty is unknown)."
            )
        );
    }
}
