//! Areas: in the Gauss-Krüger plane (the figure 宅基地 approval uses), in m², 亩 and ha; on
//! the CGCS2000 ellipsoid beside it, so an officer sees the two agree; and the area's
//! uncertainty from the corners' σ.
//!
//! The plane area is the shoelace formula on coordinates shifted to the ring's first corner:
//! on raw coordinates (northings of 4×10⁶ m, prefixed eastings of 4×10⁷ m) the products cancel
//! and lose hundredths of a m² on a homestead. Written here rather than taken from `geo`
//! because the same sums give the uncertainty (the derivative of the area by each corner).
//!
//! Uncertainty: first-order error propagation. The area A = ½ Σ (xᵢ yᵢ₊₁ − xᵢ₊₁ yᵢ) changes
//! with corner i by ½ (yᵢ₊₁ − yᵢ₋₁) in x and ½ (xᵢ₋₁ − xᵢ₊₁) in y, so with independent errors
//! of σᵢ per axis Var A = Σ σᵢ² · ¼ |Pᵢ₊₁ − Pᵢ₋₁|². A corner's σ is its horizontal (radial) 1σ,
//! √(σ_north² + σ_east²), so σᵢ² per axis is half of it. Errors of nearby corners taken minutes
//! apart are partly common (that moves the plot, not its area), so this is an upper bound; a
//! 15 m × 20 m plot at 3 m per corner gives about 53 m².

use geographiclib_rs::{Geodesic, PolygonArea, Winding};
use serde::{Deserialize, Serialize};

use super::projection::{CGCS2000_A, CGCS2000_RF, PlanePoint};

/// 1 亩 = 10 000 / 15 m².
pub const SQUARE_METRES_PER_MU: f64 = 10_000.0 / 15.0;
pub const SQUARE_METRES_PER_HECTARE: f64 = 10_000.0;

/// Signed area of a ring (not repeated at the end), m²: positive when the ring runs
/// counter-clockwise seen with north up (x = easting, y = northing).
pub fn signed_plane_area(ring: &[PlanePoint]) -> f64 {
    let Some(origin) = ring.first() else {
        return 0.0;
    };
    let local: Vec<(f64, f64)> = ring
        .iter()
        .map(|p| {
            (
                p.easting_m - origin.easting_m,
                p.northing_m - origin.northing_m,
            )
        })
        .collect();
    let twice: f64 = local
        .iter()
        .zip(local.iter().cycle().skip(1))
        .map(|((x0, y0), (x1, y1))| x0 * y1 - x1 * y0)
        .sum();
    twice / 2.0
}

/// The variance of a ring's area, m⁴, from each corner's horizontal 1σ (metres).
pub fn area_variance(ring: &[PlanePoint], sigmas_m: &[f64]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (prev, next) = (ring[(i + n - 1) % n], ring[(i + 1) % n]);
            let per_axis_variance = sigmas_m[i] * sigmas_m[i] / 2.0;
            per_axis_variance * prev.distance_to(next).powi(2) / 4.0
        })
        .sum()
}

/// The unsigned area of a ring of (lon, lat) degrees on the CGCS2000 ellipsoid, m², whichever
/// way it runs.
pub fn ellipsoid_area(ring: &[(f64, f64)]) -> f64 {
    let ellipsoid = Geodesic::new(CGCS2000_A, 1.0 / CGCS2000_RF);
    let mut polygon = PolygonArea::new(&ellipsoid, Winding::CounterClockwise);
    for &(lon, lat) in ring {
        polygon.add_point(lat, lon);
    }
    // Signed: unsigned, GeographicLib takes a clockwise ring for the rest of the Earth.
    polygon.compute(true).1.abs()
}

/// A plot's areas.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Areas {
    /// In the Gauss-Krüger plane, holes taken out.
    pub area_m2: f64,
    pub area_mu: f64,
    pub area_ha: f64,
    /// On the CGCS2000 ellipsoid, holes taken out.
    pub ellipsoid_area_m2: f64,
    /// 1σ of `area_m2`, when every corner has a σ.
    pub area_sigma_m2: Option<f64>,
}

impl Areas {
    pub fn new(area_m2: f64, ellipsoid_area_m2: f64, area_sigma_m2: Option<f64>) -> Self {
        Areas {
            area_m2,
            area_mu: area_m2 / SQUARE_METRES_PER_MU,
            area_ha: area_m2 / SQUARE_METRES_PER_HECTARE,
            ellipsoid_area_m2,
            area_sigma_m2,
        }
    }

    /// The area as an officer reads it, rounded to what the uncertainty allows.
    pub fn shown(&self) -> Shown {
        shown(self.area_m2, self.area_sigma_m2)
    }
}

/// An area in m² and 亩 as shown, each rounded to what the uncertainty allows.
pub fn shown(area_m2: f64, sigma_m2: Option<f64>) -> Shown {
    let m2 = shown_m2(area_m2, sigma_m2);
    let mu = rounded(
        area_m2 / SQUARE_METRES_PER_MU,
        sigma_m2.map(|s| s / SQUARE_METRES_PER_MU),
        4,
    );
    Shown {
        zh: format!("{}（{mu} 亩）", m2.zh),
        en: format!("{} ({mu} mu)", m2.en),
    }
}

/// A figure in Chinese and in English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shown {
    pub zh: String,
    pub en: String,
}

/// An area in m² as shown: with its uncertainty rounded to it, or to 0.01 m² (the coordinate
/// files' precision) when none is known.
pub fn shown_m2(area_m2: f64, sigma_m2: Option<f64>) -> Shown {
    let text = rounded(area_m2, sigma_m2, 2);
    Shown {
        zh: format!("{text} 平方米"),
        en: format!("{text} m²"),
    }
}

/// `value ± σ` with σ rounded to one significant digit (two when it starts with 1 or 2, where
/// one digit would change it by up to a third) and the value to the same decimal place; the
/// value alone at `decimals` when there is no σ.
pub fn rounded(value: f64, sigma: Option<f64>, decimals: usize) -> String {
    let Some(sigma) = sigma.filter(|s| s.is_finite() && *s > 0.0) else {
        return format!("{value:.decimals$}");
    };
    let magnitude = sigma.log10().floor() as i32;
    let leading = sigma / 10f64.powi(magnitude);
    let digits = if leading < 3.0 { 2 } else { 1 };
    // The decimal place of σ's last kept digit: 10^place.
    let mut place = magnitude - (digits - 1);
    let step = 10f64.powi(place);
    let mut sigma_r = (sigma / step).round() * step;
    // Rounding up may add a digit (95 → 100): keep one significant digit then.
    if sigma_r >= 10f64.powi(magnitude + 1) && digits == 1 {
        place += 1;
        sigma_r = 10f64.powi(magnitude + 1);
    }
    let step = 10f64.powi(place);
    let value_r = (value / step).round() * step;
    let decimals = usize::try_from(-place).unwrap_or(0);
    format!("{value_r:.decimals$} ± {sigma_r:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::projection::{GaussKruger, Zone};

    fn rect(e0: f64, n0: f64, w: f64, h: f64) -> Vec<PlanePoint> {
        vec![
            PlanePoint::new(n0, e0),
            PlanePoint::new(n0, e0 + w),
            PlanePoint::new(n0 + h, e0 + w),
            PlanePoint::new(n0 + h, e0),
        ]
    }

    #[test]
    fn shoelace_sign_and_value() {
        let ring = rect(500_000.0, 3_000_000.0, 15.0, 20.0);
        assert_eq!(signed_plane_area(&ring), 300.0);
        let mut reversed = ring.clone();
        reversed.reverse();
        assert_eq!(signed_plane_area(&reversed), -300.0);
        assert_eq!(signed_plane_area(&[]), 0.0);
    }

    /// The shoelace on unshifted coordinates, to show what the shift avoids.
    fn naive(ring: &[PlanePoint]) -> f64 {
        let n = ring.len();
        (0..n)
            .map(|i| {
                let (a, b) = (ring[i], ring[(i + 1) % n]);
                a.easting_m * b.northing_m - b.easting_m * a.northing_m
            })
            .sum::<f64>()
            / 2.0
    }

    #[test]
    fn no_cancellation_on_prefixed_coordinates() {
        // A skewed quadrilateral written with the zone prefix in the easting, where the naive
        // sum's terms are 10¹⁴ m²: ours matches the same shape near the origin, where the
        // arithmetic is exact to far below a mm².
        let shape = [
            (0.0, 0.0),
            (15.123, 0.417),
            (14.871, 20.333),
            (-0.29, 19.871),
        ];
        let at = |e0: f64, n0: f64| -> Vec<PlanePoint> {
            shape
                .iter()
                .map(|(e, n)| PlanePoint::new(n0 + n, e0 + e))
                .collect()
        };
        let exact = signed_plane_area(&at(0.0, 0.0));
        let far = at(39_526_877.366, 4_041_066.347);
        assert!((signed_plane_area(&far) - exact).abs() < 1e-6);
        assert!(
            (naive(&far) - exact).abs() > 1e-4,
            "the naive shoelace should lose precision here, or this test shows nothing"
        );
    }

    #[test]
    fn the_uncertainty_of_a_homestead_at_three_metres_is_tens_of_square_metres() {
        let ring = rect(500_000.0, 3_000_000.0, 15.0, 20.0);
        let sigma = area_variance(&ring, &[3.0; 4]).sqrt();
        // Each corner's neighbours span the 25 m diagonal: √(4 · 4.5 · 625 / 4) = 53.0 m².
        assert!((sigma - 53.03).abs() < 0.01, "{sigma}");
        assert_eq!(rounded(300.2738, Some(sigma), 2), "300 ± 50");
        // A cm-grade survey keeps its decimals.
        let rtk = area_variance(&ring, &[0.02; 4]).sqrt();
        assert_eq!(rounded(300.2738, Some(rtk), 2), "300.3 ± 0.4");
    }

    #[test]
    fn the_uncertainty_matches_a_seeded_monte_carlo() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let ring = vec![
            PlanePoint::new(0.0, 0.0),
            PlanePoint::new(2.0, 31.0),
            PlanePoint::new(22.0, 28.0),
            PlanePoint::new(18.0, -3.0),
            PlanePoint::new(9.0, -6.0),
        ];
        let sigmas = [1.0, 2.0, 0.5, 1.5, 1.0];
        let predicted = area_variance(&ring, &sigmas).sqrt();
        let mut rng = StdRng::seed_from_u64(7);
        let mut gauss = || {
            // Box-Muller: the workspace has no rand_distr.
            let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let runs = 20_000;
        let areas: Vec<f64> = (0..runs)
            .map(|_| {
                let noisy: Vec<PlanePoint> = ring
                    .iter()
                    .zip(sigmas)
                    .map(|(p, s)| {
                        let axis = s / 2f64.sqrt();
                        PlanePoint::new(p.northing_m + axis * gauss(), p.easting_m + axis * gauss())
                    })
                    .collect();
                signed_plane_area(&noisy)
            })
            .collect();
        let mean = areas.iter().sum::<f64>() / runs as f64;
        let sd = (areas.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (runs - 1) as f64).sqrt();
        assert!((sd / predicted - 1.0).abs() < 0.03, "{sd} vs {predicted}");
    }

    #[test]
    fn rounding_to_the_uncertainty() {
        assert_eq!(rounded(1234.5678, Some(0.049), 2), "1234.57 ± 0.05");
        assert_eq!(rounded(1234.5678, Some(0.021), 2), "1234.568 ± 0.021");
        assert_eq!(rounded(1234.5678, Some(96.0), 2), "1200 ± 100");
        assert_eq!(rounded(1234.5678, Some(4.2), 2), "1235 ± 4");
        assert_eq!(rounded(1234.5678, Some(14.2), 2), "1235 ± 14");
        assert_eq!(rounded(1234.5678, None, 2), "1234.57");
        assert_eq!(rounded(1234.5678, Some(0.0), 2), "1234.57");
    }

    #[test]
    fn plane_and_ellipsoid_agree_to_the_scale_factor() {
        // The reference's case: 15 m × 20 m, 0.3° off the central meridian at 36.5°N:
        // plane 300.2738 m², ellipsoid 300.2684 m², ratio k² = 1.000018.
        let gk = GaussKruger::new(Zone::new(39).unwrap());
        let origin = gk.forward(117.3, 36.5).unwrap();
        let plane = rect(origin.easting_m, origin.northing_m, 15.0, 20.0);
        let lonlat: Vec<(f64, f64)> = plane.iter().map(|p| gk.inverse(*p).unwrap()).collect();
        let on_plane = signed_plane_area(&plane);
        let on_ellipsoid = ellipsoid_area(&lonlat);
        let mut clockwise = lonlat.clone();
        clockwise.reverse();
        assert!((ellipsoid_area(&clockwise) - on_ellipsoid).abs() < 1e-9);
        assert!((on_plane - 300.0).abs() < 1e-6, "{on_plane}");
        let k = 1.0 + (0.3f64.to_radians() * 36.5f64.to_radians().cos()).powi(2) / 2.0;
        let ratio = on_plane / on_ellipsoid;
        assert!((ratio - k * k).abs() < 2e-6, "{ratio} vs {}", k * k);
    }

    #[test]
    fn areas_in_every_unit() {
        let a = Areas::new(666.666_666_666_7, 666.6, Some(12.0));
        assert!((a.area_mu - 1.0).abs() < 1e-12);
        assert!((a.area_ha - 0.066_666_666).abs() < 1e-9);
        let shown = a.shown();
        assert_eq!(shown.en, "667 ± 12 m² (1.000 ± 0.018 mu)");
        assert_eq!(shown.zh, "667 ± 12 平方米（1.000 ± 0.018 亩）");
    }
}
