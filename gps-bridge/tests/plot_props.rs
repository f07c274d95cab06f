//! Properties of the plot geometry: the projection comes back to where it started, a plot's
//! area does not depend on where its corners are listed from, which way round, or how far
//! from the origin, its uncertainty scales with the corners' σ, and `check` never panics and
//! never refuses without saying why.

use gps_bridge::plot::area::{area_variance, signed_plane_area};
use gps_bridge::plot::{
    AreaLimits, GaussKruger, LandKind, PlanePoint, PlotReport, PlotSettings, Zone, ZoneChoice,
    check,
};
use gps_bridge::survey::{Corner, PlotCandidate, Source};
use proptest::prelude::*;

fn settings() -> PlotSettings {
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

/// A star-shaped ring (so a simple polygon): `radii` metres at evenly spread, jittered angles
/// around (0, 0), counter-clockwise.
fn star(radii: &[f64], jitter: &[f64]) -> Vec<(f64, f64)> {
    let n = radii.len() as f64;
    radii
        .iter()
        .zip(jitter)
        .enumerate()
        .map(|(i, (r, j))| {
            let angle = (i as f64 + 0.8 * j) / n * std::f64::consts::TAU;
            (r * angle.cos(), r * angle.sin())
        })
        .collect()
}

fn star_strategy() -> impl Strategy<Value = Vec<(f64, f64)>> {
    (3usize..40).prop_flat_map(|n| {
        (
            prop::collection::vec(5.0f64..60.0, n),
            prop::collection::vec(0.0f64..1.0, n),
        )
            .prop_map(|(radii, jitter)| star(&radii, &jitter))
    })
}

fn plane(ring: &[(f64, f64)], east: f64, north: f64) -> Vec<PlanePoint> {
    ring.iter()
        .map(|(e, n)| PlanePoint::new(north + n, east + e))
        .collect()
}

proptest! {
    #[test]
    fn forward_then_inverse_is_the_identity(
        zone in 25u8..=45,
        offset in -2.0f64..2.0,
        lat in 3.0f64..54.0,
    ) {
        let zone = Zone::new(zone).unwrap();
        let gk = GaussKruger::new(zone);
        let lon = zone.central_meridian() + offset;
        let p = gk.forward(lon, lat).unwrap();
        let (back_lon, back_lat) = gk.inverse(p).unwrap();
        prop_assert!((back_lon - lon).abs() < 1e-9 && (back_lat - lat).abs() < 1e-9);
        // The easting says which side of the meridian the point is.
        prop_assert_eq!(p.easting_m > 500_000.0, offset > 0.0);
    }

    #[test]
    fn area_is_independent_of_start_direction_and_place(
        ring in star_strategy(),
        start in 0usize..40,
        east in 100_000.0f64..900_000.0,
        north in 300_000.0f64..6_000_000.0,
    ) {
        let here = plane(&ring, 0.0, 0.0);
        let area = signed_plane_area(&here);
        prop_assert!(area > 0.0, "a counter-clockwise star has a positive area");
        let mut rotated = here.clone();
        rotated.rotate_left(start % here.len());
        prop_assert!((signed_plane_area(&rotated) - area).abs() < 1e-9 * area.max(1.0));
        let mut reversed = here.clone();
        reversed.reverse();
        prop_assert!((signed_plane_area(&reversed) + area).abs() < 1e-9 * area.max(1.0));
        // Far from the origin, as real coordinates are, nothing cancels: within 1e-6 m².
        let far = plane(&ring, east + 38_000_000.0, north);
        prop_assert!((signed_plane_area(&far) - area).abs() < 1e-6, "{} vs {}", signed_plane_area(&far), area);
    }

    #[test]
    fn the_uncertainty_scales_with_sigma(ring in star_strategy(), sigma in 0.01f64..10.0) {
        let points = plane(&ring, 500_000.0, 3_000_000.0);
        let one = area_variance(&points, &vec![1.0; points.len()]).sqrt();
        let scaled = area_variance(&points, &vec![sigma; points.len()]).sqrt();
        prop_assert!((scaled - sigma * one).abs() <= 1e-9 * scaled.max(1.0));
    }

    #[test]
    fn a_checked_star_has_its_area_whichever_way_it_was_walked(
        ring in star_strategy(),
        clockwise in any::<bool>(),
        lon in 100.0f64..120.0,
        lat in 20.0f64..45.0,
    ) {
        let gk = GaussKruger::new(ZoneChoice::Auto.zone_for(lon));
        let centre = gk.forward(lon, lat).unwrap();
        let mut points = plane(&ring, centre.easting_m, centre.northing_m);
        if clockwise {
            points[1..].reverse();
        }
        let corners: Vec<Corner> = points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (lon, lat) = gk.inverse(*p).unwrap();
                Corner { name: format!("J{}", i + 1), lon, lat, sigma_m: Some(1.0), fixes: 10, raw: Vec::new() }
            })
            .collect();
        let candidate = PlotCandidate::new("p", Source::CornerCapture, "t", corners, Vec::new());
        let expected = signed_plane_area(&plane(&ring, 0.0, 0.0));
        match check(&candidate, &settings(), &[]) {
            PlotReport::Checked(plot) => {
                prop_assert!((plot.areas.area_m2 - expected).abs() < 1e-3 * expected, "{} vs {expected}", plot.areas.area_m2);
                prop_assert!((plot.areas.ellipsoid_area_m2 / plot.areas.area_m2 - 1.0).abs() < 1e-3);
                prop_assert_eq!(&plot.shell[0].name, "J1");
                let shell: Vec<PlanePoint> = plot.shell.iter().map(|c| c.plane.unwrap()).collect();
                prop_assert!(signed_plane_area(&shell) > 0.0, "the shell runs counter-clockwise");
            }
            // A jittered star may turn back sharply at a corner: then it says so.
            PlotReport::Refused(refused) => {
                prop_assert!(refused.findings.iter().any(|f| f.code() == "spike"), "{:?}", refused.findings);
            }
        }
    }

    #[test]
    fn check_never_panics_and_a_refusal_always_says_why(
        corners in prop::collection::vec(
            (
                prop_oneof![70.0f64..140.0, Just(f64::NAN), Just(0.0)],
                prop_oneof![0.0f64..60.0, Just(f64::INFINITY)],
                prop::option::of(0.0f64..20.0),
            ),
            0..12,
        ),
        holes in prop::collection::vec(prop::collection::vec((110.0f64..110.001, 30.0f64..30.001), 0..6), 0..3),
    ) {
        let corner = |i: usize, (lon, lat, sigma_m): (f64, f64, Option<f64>)| Corner {
            name: format!("J{i}"), lon, lat, sigma_m, fixes: 1, raw: Vec::new(),
        };
        let mut candidate = PlotCandidate::new(
            "p",
            Source::TxtImport,
            "t",
            corners.into_iter().enumerate().map(|(i, c)| corner(i, c)).collect(),
            Vec::new(),
        );
        candidate.holes = holes
            .into_iter()
            .map(|h| h.into_iter().enumerate().map(|(i, (lon, lat))| corner(i, (lon, lat, None))).collect())
            .collect();
        let report = check(&candidate, &settings(), &[]);
        match &report {
            PlotReport::Refused(r) => prop_assert!(r.findings.iter().any(|f| f.is_refusal())),
            PlotReport::Checked(p) => {
                prop_assert!(p.findings.iter().all(|f| !f.is_refusal()));
                prop_assert!(p.areas.area_m2 >= 1.0);
            }
        }
        // Stored as JSON, it reads back and writes the same, even with a NaN among its corners.
        let json = serde_json::to_string(&report).unwrap();
        let back: PlotReport = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }
}
