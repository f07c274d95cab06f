//! The Gauss-Krüger projection against PROJ itself: Debian's `cs2cs` (package `proj-bin`,
//! installed by `scripts/setup.sh`) on seeded random points in every 3° zone of China, 25–45,
//! through EPSG:4513–4533 (easting with the zone prefix) and EPSG:4534–4554 (without), both
//! ways. Agreement must be within 0.1 mm on the ground.
//!
//! The short run (3 150 points, 150 per zone) is part of `cargo test`; the long one is
//! `cargo test -p gps-bridge --test proj_oracle -- --ignored` (105 000 points). Each prints its
//! largest differences, which `docs/performance.md` records.

use std::io::Write;
use std::process::{Command, Stdio};

use gps_bridge::plot::{GaussKruger, PlanePoint, Zone};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// 0.1 mm.
const TOLERANCE_M: f64 = 1e-4;
/// Metres per degree of latitude, near enough to turn a degree difference into a distance.
const M_PER_DEG: f64 = 111_320.0;

/// Runs `cs2cs FROM TO` on `lines` and returns each output line's first two numbers.
fn cs2cs(from: &str, to: &str, lines: &[String]) -> Vec<(f64, f64)> {
    let mut child = Command::new("cs2cs")
        .args(["-f", "%.12f", from, to])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cs2cs (PROJ) is needed: install proj-bin, e.g. with scripts/setup.sh");
    let mut stdin = child.stdin.take().unwrap();
    let input = lines.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "cs2cs {from} {to} failed");
    let out: Vec<(f64, f64)> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut fields = line.split_whitespace().map(|f| f.parse::<f64>().unwrap());
            (fields.next().unwrap(), fields.next().unwrap())
        })
        .collect();
    assert_eq!(
        out.len(),
        lines.len(),
        "cs2cs {from} {to} answered every line"
    );
    out
}

/// The largest differences found for one set of zones, metres.
#[derive(Debug, Default)]
struct Agreement {
    points: usize,
    forward_m: f64,
    inverse_m: f64,
}

impl Agreement {
    fn merge(&mut self, other: &Agreement) {
        self.points += other.points;
        self.forward_m = self.forward_m.max(other.forward_m);
        self.inverse_m = self.inverse_m.max(other.inverse_m);
    }
}

/// Compares one zone, with or without the prefix, on `points` (lon, lat).
fn compare_zone(zone: Zone, prefixed: bool, points: &[(f64, f64)]) -> Agreement {
    let gk = GaussKruger::new(zone);
    let epsg = if prefixed {
        4488 + u32::from(zone.number())
    } else {
        4509 + u32::from(zone.number())
    };
    let plane_crs = format!("EPSG:{epsg}");
    // EPSG:4490 and the zone CRSs are lat/lon and northing/easting in PROJ's axis order.
    let input: Vec<String> = points
        .iter()
        .map(|(lon, lat)| format!("{lat:.12} {lon:.12}"))
        .collect();
    let proj_forward = cs2cs("EPSG:4490", &plane_crs, &input);
    let mut agreement = Agreement {
        points: points.len(),
        ..Agreement::default()
    };
    let mut plane_input = Vec::new();
    for (&(lon, lat), &(north, east)) in points.iter().zip(&proj_forward) {
        let ours = gk.forward(lon, lat).unwrap();
        let our_east = if prefixed {
            ours.prefixed_easting(zone)
        } else {
            ours.easting_m
        };
        let d = (ours.northing_m - north).hypot(our_east - east);
        assert!(
            d <= TOLERANCE_M,
            "zone {zone} ({plane_crs}): ({lon}, {lat}) is N {} E {our_east} here, N {north} E {east} in PROJ: {d} m apart",
            ours.northing_m
        );
        agreement.forward_m = agreement.forward_m.max(d);
        plane_input.push(format!("{north:.6} {east:.6}"));
    }
    // Back from PROJ's plane coordinates, by both.
    let proj_inverse = cs2cs(&plane_crs, "EPSG:4490", &plane_input);
    for ((&(north, east), &(lat, lon)), &(orig_lon, orig_lat)) in
        proj_forward.iter().zip(&proj_inverse).zip(points)
    {
        let easting = if prefixed {
            east - zone.easting_prefix()
        } else {
            east
        };
        let (our_lon, our_lat) = gk.inverse(PlanePoint::new(north, easting)).unwrap();
        let d = ((our_lat - lat) * M_PER_DEG)
            .hypot((our_lon - lon) * M_PER_DEG * lat.to_radians().cos());
        assert!(
            d <= TOLERANCE_M,
            "zone {zone} ({plane_crs}): N {north} E {east} is ({our_lon}, {our_lat}) here, ({lon}, {lat}) in PROJ: {d} m apart"
        );
        // And both come back to where they started, to the 6 decimals of the plane input.
        assert!((our_lon - orig_lon).abs() < 1e-8 && (our_lat - orig_lat).abs() < 1e-8);
        agreement.inverse_m = agreement.inverse_m.max(d);
    }
    agreement
}

/// `per_zone` seeded random points in each zone: up to 2° either side of the central
/// meridian (beyond the 1.5° of the zone itself, as a county held to one zone reaches), at
/// China's latitudes.
fn run(per_zone: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut with_prefix, mut without) = (Agreement::default(), Agreement::default());
    for zone in Zone::all() {
        let points: Vec<(f64, f64)> = (0..per_zone)
            .map(|_| {
                (
                    zone.central_meridian() + rng.random_range(-2.0..2.0),
                    rng.random_range(3.0..54.0),
                )
            })
            .collect();
        with_prefix.merge(&compare_zone(zone, true, &points));
        without.merge(&compare_zone(zone, false, &points));
    }
    eprintln!(
        "PROJ agreement, zones 25-45, seed {seed}:\n  \
         EPSG:4513-4533 (with prefix): {} points, forward max {:.2e} m, inverse max {:.2e} m\n  \
         EPSG:4534-4554 (no prefix):   {} points, forward max {:.2e} m, inverse max {:.2e} m",
        with_prefix.points,
        with_prefix.forward_m,
        with_prefix.inverse_m,
        without.points,
        without.forward_m,
        without.inverse_m
    );
    assert_eq!(with_prefix.points, 21 * per_zone);
}

#[test]
fn agrees_with_proj_in_every_zone() {
    run(150, 0x4789_2000);
}

#[test]
#[ignore = "the long run, 105 000 points: cargo test -p gps-bridge --test proj_oracle -- --ignored"]
fn agrees_with_proj_in_every_zone_long() {
    run(5_000, 0x4789_2001);
}
