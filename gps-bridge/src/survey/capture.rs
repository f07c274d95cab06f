//! Live corner capture: while the officer stands on a corner, average the fixes that pass the
//! quality filters and estimate the error of the mean.
//!
//! Sans-io: the caller feeds decoded sentences and, once [`CornerCapture::deadline`] has passed,
//! calls [`CornerCapture::finish`].
//!
//! A GGA fix that passes the filters is held until the unit's next GSA (or next GGA, or the
//! end of the capture), because receivers send the GSA that states the epoch's 2D/3D mode
//! after its GGA. A unit that sends no GSA never says, and its measured fixes count.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Corner;
use crate::geo::METRES_PER_DEGREE;
use crate::nmea::{LatLon, Parsed, Sentence};

/// The least fix type a corner's fixes need, as GSA reports it: a 2D fix assumes a height
/// and is only as good as that assumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FixType {
    #[serde(rename = "2d")]
    TwoD,
    #[serde(rename = "3d")]
    ThreeD,
}

impl FixType {
    /// Whether GSA's fix type (1 no fix, 2 2D, 3 3D) is at least this.
    fn admits(self, gsa_fix_type: u32) -> bool {
        let needed = match self {
            FixType::TwoD => 2,
            FixType::ThreeD => 3,
        };
        gsa_fix_type >= needed
    }
}

/// Which fixes may go into a corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityFilter {
    /// Applies when the unit sends GSA; GGA says nothing of 2D or 3D.
    pub min_fix_type: FixType,
    pub min_satellites: u32,
    pub max_hdop: f64,
    /// Oldest differential correction accepted, seconds (applies when the receiver reports an
    /// age; autonomous fixes report none).
    pub max_correction_age_s: f64,
    /// Fewest fixes that make a corner.
    pub min_fixes: u32,
}

impl Default for QualityFilter {
    fn default() -> Self {
        QualityFilter {
            min_fix_type: FixType::ThreeD,
            min_satellites: 5,
            max_hdop: 2.0,
            max_correction_age_s: 30.0,
            min_fixes: 3,
        }
    }
}

/// Fixes kept per corner: an hour at 1 Hz.
const MAX_FIXES: usize = 3600;
/// Sentences kept per corner (fixes and error estimates).
const MAX_RAW: usize = 4 * MAX_FIXES;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error(
    "界址点 {name} 未记录：{seen} 次定位中只有 {accepted} 次合格，至少需要 {needed} 次，请在该点多停留一会儿再测 \
     (corner {name}: only {accepted} of {seen} fixes passed the quality filters, {needed} needed)"
)]
pub struct CaptureError {
    pub name: String,
    pub accepted: u32,
    pub seen: u32,
    pub needed: u32,
}

/// A corner being marked.
#[derive(Debug)]
pub struct CornerCapture {
    name: String,
    deadline: Instant,
    filter: QualityFilter,
    fixes: Vec<(f64, f64)>,
    raw: Vec<String>,
    /// Receiver error estimates (GST, PGRME) seen during the capture, metres 1σ.
    reported_sigmas: Vec<f64>,
    seen: u32,
    /// The latest fix that passed the GGA filters, and its sentence, until its epoch's GSA.
    awaiting_gsa: Option<(LatLon, String)>,
    /// The fix type of the unit's latest GSA; `None` while it has sent none.
    gsa_fix_type: Option<u32>,
}

impl CornerCapture {
    pub fn start(
        name: impl Into<String>,
        now: Instant,
        duration: Duration,
        filter: QualityFilter,
    ) -> Self {
        CornerCapture {
            name: name.into(),
            deadline: now + duration,
            filter,
            fixes: Vec::new(),
            raw: Vec::new(),
            reported_sigmas: Vec::new(),
            seen: 0,
            awaiting_gsa: None,
            gsa_fix_type: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Fixes accepted so far and fixes seen (the latest may still wait for its GSA).
    pub fn progress(&self) -> (usize, u32) {
        (self.fixes.len(), self.seen)
    }

    pub fn handle(&mut self, parsed: &Parsed<'_>) {
        if self.fixes.len() >= MAX_FIXES || self.raw.len() >= MAX_RAW {
            return;
        }
        let sigma = match &parsed.sentence {
            Sentence::Gga(gga) => {
                self.seen += 1;
                // The previous epoch brought no GSA: the unit's latest one stands.
                self.settle();
                let passes = gga.quality.is_some_and(|q| q.is_measured())
                    && gga
                        .satellites
                        .is_some_and(|n| n >= self.filter.min_satellites)
                    && gga.hdop.is_some_and(|h| h <= self.filter.max_hdop)
                    && gga
                        .correction_age
                        .is_none_or(|age| age <= self.filter.max_correction_age_s);
                if let (true, Some(p)) = (passes, parsed.measured_position()) {
                    self.awaiting_gsa = Some((p, parsed.line.raw().to_owned()));
                }
                None
            }
            Sentence::Gsa(gsa) => {
                // A GSA without a fix type says nothing new.
                self.gsa_fix_type = gsa.fix_type.or(self.gsa_fix_type);
                if self.settle() {
                    // The GSA is the evidence that the fix had the dimensions asked for.
                    self.raw.push(parsed.line.raw().to_owned());
                }
                None
            }
            Sentence::Gst(gst) => gst.horizontal_sigma(),
            // Garmin's HPE; Garmin does not say which confidence it is, it is used as 1σ.
            Sentence::Pgrme(e) => e.horizontal,
            _ => None,
        };
        if let Some(sigma) = sigma.filter(|s| s.is_finite() && *s >= 0.0) {
            self.reported_sigmas.push(sigma);
            self.raw.push(parsed.line.raw().to_owned());
        }
    }

    /// Decides the fix waiting for its GSA by the unit's latest GSA; true if it was accepted.
    fn settle(&mut self) -> bool {
        let Some((position, raw)) = self.awaiting_gsa.take() else {
            return false;
        };
        let admitted = self
            .gsa_fix_type
            .is_none_or(|fix_type| self.filter.min_fix_type.admits(fix_type));
        if admitted {
            self.fixes.push((position.lat, position.lon));
            self.raw.push(raw);
        }
        admitted
    }

    /// The averaged corner, or why there is none.
    pub fn finish(mut self) -> Result<Corner, CaptureError> {
        self.settle();
        let n = self.fixes.len();
        if n < self.filter.min_fixes.max(1) as usize {
            return Err(CaptureError {
                name: self.name,
                accepted: n as u32,
                seen: self.seen,
                needed: self.filter.min_fixes,
            });
        }
        let count = n as f64;
        let lat = self.fixes.iter().map(|f| f.0).sum::<f64>() / count;
        let lon = self.fixes.iter().map(|f| f.1).sum::<f64>() / count;
        // The receiver's own estimate is preferred. It is not divided by √n: errors a second
        // apart are strongly correlated, so averaging a minute of fixes hardly shrinks them.
        let sigma_m = if self.reported_sigmas.is_empty() {
            spread_sigma(&self.fixes, lat)
        } else {
            Some(self.reported_sigmas.iter().sum::<f64>() / self.reported_sigmas.len() as f64)
        };
        Ok(Corner {
            name: self.name,
            lon,
            lat,
            sigma_m,
            fixes: n as u32,
            raw: self.raw,
        })
    }
}

/// Horizontal 1σ of the fixes around their mean, metres (√(σ_north² + σ_east²)).
fn spread_sigma(fixes: &[(f64, f64)], mean_lat: f64) -> Option<f64> {
    if fixes.len() < 2 {
        return None;
    }
    let mean_lon = fixes.iter().map(|f| f.1).sum::<f64>() / fixes.len() as f64;
    let east_scale = METRES_PER_DEGREE * mean_lat.to_radians().cos();
    let sum_sq: f64 = fixes
        .iter()
        .map(|(lat, lon)| {
            let north = (lat - mean_lat) * METRES_PER_DEGREE;
            let east = (lon - mean_lon) * east_scale;
            north * north + east * east
        })
        .sum();
    Some((sum_sq / (fixes.len() - 1) as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmea::testing::for_each_parsed;

    fn feed(capture: &mut CornerCapture, bodies: &[String]) {
        for_each_parsed(bodies, |parsed| capture.handle(parsed));
    }

    fn gga(minutes_north: f64, quality: u8, sats: u8, hdop: f64) -> String {
        format!(
            "GPGGA,120000,39{minutes_north:07.4},N,11623.0000,E,{quality},{sats:02},{hdop},50.0,M,-8.0,M,,"
        )
    }

    fn start(filter: QualityFilter) -> CornerCapture {
        CornerCapture::start("J1", Instant::now(), Duration::from_secs(10), filter)
    }

    #[test]
    fn averages_only_fixes_that_pass_the_filters() {
        let mut c = start(QualityFilter::default());
        feed(
            &mut c,
            &[
                gga(8.0, 1, 8, 0.9),
                gga(8.002, 2, 9, 1.1),
                gga(9.0, 6, 8, 0.9), // estimated
                gga(9.0, 8, 8, 0.9), // simulator
                gga(9.0, 1, 4, 0.9), // too few satellites
                gga(9.0, 1, 8, 2.5), // HDOP too high
                gga(8.001, 1, 7, 2.0),
            ],
        );
        // The last fix is decided when the capture ends (or by the unit's next GSA or GGA).
        assert_eq!(c.progress(), (2, 7));
        let corner = c.finish().unwrap();
        assert_eq!(corner.fixes, 3);
        assert!((corner.lat - (39.0 + 8.001 / 60.0)).abs() < 1e-9);
        assert!((corner.lon - (116.0 + 23.0 / 60.0)).abs() < 1e-9);
        // 0.001' of latitude is 1.855 m: the spread of -1, 0, +1 such steps is that, 1σ.
        let sigma = corner.sigma_m.unwrap();
        assert!(
            (sigma - 0.001 / 60.0 * METRES_PER_DEGREE).abs() < 1e-3,
            "{sigma}"
        );
        assert_eq!(corner.raw.len(), 3);
    }

    #[test]
    fn receiver_error_estimates_are_preferred() {
        let mut c = start(QualityFilter::default());
        let mut sentences = vec![gga(8.0, 1, 8, 0.9), "PGRME,3.0,M,5.0,M,6.0,M".to_owned()];
        sentences.push(gga(8.0, 1, 8, 0.9));
        sentences.push("GPGST,120001,1.0,2.0,1.0,0.0,3.0,4.0,6.0".to_owned());
        sentences.push(gga(8.0, 1, 8, 0.9));
        feed(&mut c, &sentences);
        let corner = c.finish().unwrap();
        assert_eq!(corner.sigma_m, Some(4.0)); // mean of 3 (HPE) and 5 (hypot 3, 4)
        assert_eq!(corner.raw.len(), 5);
    }

    /// Five good GGA fixes, four followed by GSAs of types 3, 2, 1, 3: progress before the end
    /// and the corner.
    fn fixes_with_gsa(filter: QualityFilter) -> ((usize, u32), Corner) {
        let gsa = |fix_type: u8| format!("GPGSA,A,{fix_type},02,05,10,13,15,18,,,,,,,1.8,0.9,1.5");
        let mut c = start(filter);
        feed(
            &mut c,
            &[
                gga(8.0, 1, 8, 0.9),
                gsa(3),
                gga(8.0, 1, 8, 0.9),
                gsa(2),
                gga(8.0, 1, 8, 0.9),
                gsa(1), // no fix: never counts
                gga(8.0, 1, 8, 0.9),
                gsa(3),
                // No GSA follows: the last one (3D) decides, when the capture ends.
                gga(8.0, 1, 8, 0.9),
            ],
        );
        (c.progress(), c.finish().unwrap())
    }

    #[test]
    fn the_fix_type_is_taken_from_the_gsa_that_follows_each_fix() {
        let (progress, corner) = fixes_with_gsa(QualityFilter::default());
        assert_eq!(progress, (2, 5), "the last fix still waits");
        assert_eq!(corner.fixes, 3);
        // Each accepted fix with the GSA that vouched for it; the last had none of its own.
        let kinds: Vec<&str> = corner.raw.iter().map(|r| &r[3..6]).collect();
        assert_eq!(kinds, ["GGA", "GSA", "GGA", "GSA", "GGA"]);
        let two_d = QualityFilter {
            min_fix_type: FixType::TwoD,
            ..QualityFilter::default()
        };
        let (progress, corner) = fixes_with_gsa(two_d);
        assert_eq!((progress, corner.fixes), ((3, 5), 4));
    }

    #[test]
    fn too_few_fixes_is_an_error_that_says_so() {
        let mut c = start(QualityFilter::default());
        feed(&mut c, &[gga(8.0, 1, 8, 0.9), gga(8.0, 0, 8, 0.9)]);
        let err = c.finish().unwrap_err();
        assert_eq!((err.accepted, err.seen, err.needed), (1, 2, 3));
    }
}
