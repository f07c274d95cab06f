//! Live corner capture: while the officer stands on a corner, average the fixes that pass the
//! quality filters and estimate the error of the mean.
//!
//! Sans-io: the caller feeds decoded sentences and, once [`CornerCapture::deadline`] has passed,
//! calls [`CornerCapture::finish`].

use std::time::{Duration, Instant};

use serde::Serialize;

use super::Corner;
use crate::nmea::{Parsed, Sentence};

/// Which fixes may go into a corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityFilter {
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
/// Metres per degree of latitude (and of longitude at the equator), WGS84 mean.
const METRES_PER_DEGREE: f64 = 111_320.0;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error(
    "corner {name}: only {accepted} of {seen} fixes passed the quality filters, {needed} needed"
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
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Fixes accepted so far and fixes seen.
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
                let passes = gga.quality.is_some_and(|q| q.is_measured())
                    && gga
                        .satellites
                        .is_some_and(|n| n >= self.filter.min_satellites)
                    && gga.hdop.is_some_and(|h| h <= self.filter.max_hdop)
                    && gga
                        .correction_age
                        .is_none_or(|age| age <= self.filter.max_correction_age_s);
                if let (true, Some(p)) = (passes, parsed.measured_position()) {
                    self.fixes.push((p.lat, p.lon));
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

    /// The averaged corner, or why there is none.
    pub fn finish(self) -> Result<Corner, CaptureError> {
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
    use crate::nmea::{Framer, FramerConfig, decode};

    fn feed(capture: &mut CornerCapture, bodies: &[String]) {
        let mut framer = Framer::new(FramerConfig::default());
        for body in bodies {
            let sum = body.bytes().fold(0u8, |a, b| a ^ b);
            framer.push(format!("${body}*{sum:02X}\n").as_bytes(), |r| {
                capture.handle(&decode(r.unwrap()).unwrap())
            });
        }
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
        assert_eq!(c.progress(), (3, 7));
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

    #[test]
    fn too_few_fixes_is_an_error_that_says_so() {
        let mut c = start(QualityFilter::default());
        feed(&mut c, &[gga(8.0, 1, 8, 0.9), gga(8.0, 0, 8, 0.9)]);
        let err = c.finish().unwrap_err();
        assert_eq!((err.accepted, err.seen, err.needed), (1, 2, 3));
    }
}
