//! What the simulated receiver sends each second: its fixes, with a time-correlated error, and
//! its active route.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::RouteCorner;
use super::walk::{Movement, Walker};
use crate::geo::METRES_PER_DEGREE;
use crate::nmea;

/// Correlation time of the position error: minutes, like multipath and ionosphere.
const ERROR_CORRELATION_S: f64 = 60.0;
/// The vertical dilution of precision of the simulated constellation.
const VDOP: f64 = 1.5;
/// Where the unit stands when no route is given (Beijing).
const DEFAULT_POSITION: (f64, f64) = (116.397_4, 39.908_7);

/// The simulated receiver: deterministic for a given seed.
pub struct Handheld {
    corners: Vec<RouteCorner>,
    /// Where the unit really is.
    walker: Walker,
    sigma_m: f64,
    /// Current error, metres north and east.
    error: (f64, f64),
    rng: StdRng,
    /// Seconds of day of the next fix.
    second: u32,
    next_wpl: usize,
}

/// A sentence as the unit sends it: checksum and line ending added.
fn with_checksum(body: &str) -> String {
    format!("{}\r\n", nmea::with_checksum(body))
}

fn ddmm(value: f64, positive: char, negative: char, degree_digits: usize) -> String {
    let hemisphere = if value < 0.0 { negative } else { positive };
    let value = value.abs();
    let degrees = value.trunc();
    let minutes = (value - degrees) * 60.0;
    format!(
        "{:0width$}{:07.4},{hemisphere}",
        degrees as u32,
        minutes,
        width = degree_digits
    )
}

impl Handheld {
    pub fn new(corners: Vec<RouteCorner>, sigma_m: f64, seed: u64) -> Self {
        let (lon, lat) = corners.first().map_or(DEFAULT_POSITION, |c| (c.lon, c.lat));
        let mut rng = StdRng::seed_from_u64(seed);
        let error = (gaussian(&mut rng) * sigma_m, gaussian(&mut rng) * sigma_m);
        Handheld {
            corners,
            walker: Walker::at(lon, lat),
            sigma_m,
            error,
            rng,
            second: 12 * 3600,
            next_wpl: 0,
        }
    }

    /// Carries the unit round the route: `dwell_s` at each corner, walking in between. Without a
    /// route of at least two corners the unit stays put.
    pub fn walking(mut self, dwell_s: f64) -> Self {
        self.walker.carry_round(&self.corners, dwell_s);
        self
    }

    /// Moves the unit by `dt_s` seconds of standing or walking.
    pub fn walk(&mut self, dt_s: f64) -> Movement {
        self.walker.step(&self.corners, dt_s)
    }

    /// The sentences of one second, in a Garmin handheld's order.
    pub fn next_second(&mut self, dt_s: f64) -> Vec<String> {
        let phi = (-dt_s / ERROR_CORRELATION_S).exp();
        let drive = (1.0 - phi * phi).sqrt() * self.sigma_m;
        self.error.0 = phi * self.error.0 + drive * gaussian(&mut self.rng);
        self.error.1 = phi * self.error.1 + drive * gaussian(&mut self.rng);
        let (true_lat, true_lon) = (self.walker.lat, self.walker.lon);
        let lat = true_lat + self.error.0 / METRES_PER_DEGREE;
        let lon = true_lon + self.error.1 / (METRES_PER_DEGREE * true_lat.to_radians().cos());
        let s = self.second % 86_400;
        self.second += 1;
        let time = format!("{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60);
        let (lat_f, lon_f) = (ddmm(lat, 'N', 'S', 2), ddmm(lon, 'E', 'W', 3));
        // One HDOP for the epoch, as GGA and GSA print it; PDOP² = HDOP² + VDOP².
        let hdop = ((0.9 + 0.2 * self.rng.random::<f64>()) * 10.0).round() / 10.0;
        let pdop = hdop.hypot(VDOP);
        let mut out = vec![
            with_checksum(&format!(
                "GPRMC,{time},A,{lat_f},{lon_f},000.0,000.0,010125,006.3,W,A"
            )),
            with_checksum(&format!(
                "GPGGA,{time},{lat_f},{lon_f},1,08,{hdop:.1},52.4,M,-8.7,M,,"
            )),
            with_checksum(&format!(
                "GPGSA,A,3,02,05,10,13,15,18,24,29,,,,,{pdop:.1},{hdop:.1},{VDOP:.1}"
            )),
            with_checksum("GPGSV,2,1,08,02,45,058,42,05,31,301,39,10,62,141,45,13,18,201,36"),
            with_checksum("GPGSV,2,2,08,15,55,045,44,18,27,256,38,24,40,097,41,29,12,322,33"),
            with_checksum(&format!(
                "GPGST,{time},1.2,{:.1},{:.1},0.0,{:.1},{:.1},{:.1}",
                self.sigma_m * 1.2,
                self.sigma_m * 0.8,
                self.sigma_m,
                self.sigma_m,
                self.sigma_m * 1.6
            )),
            with_checksum(&format!(
                "PGRME,{:.1},M,{:.1},M,{:.1},M",
                self.sigma_m * 2.0_f64.sqrt(),
                self.sigma_m * 1.6,
                self.sigma_m * 2.4
            )),
        ];
        out.extend(self.route_sentences());
        out
    }

    /// The active route as RTE (two names per sentence, as Garmins split it) and the next WPL.
    fn route_sentences(&mut self) -> Vec<String> {
        if self.corners.is_empty() {
            return vec![with_checksum("GPRTE,1,1,c,")];
        }
        let chunks: Vec<&[RouteCorner]> = self.corners.chunks(2).collect();
        let mut out: Vec<String> = chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let names: Vec<&str> = chunk.iter().map(|c| c.name.as_str()).collect();
                with_checksum(&format!(
                    "GPRTE,{},{},c,PLOT,{}",
                    chunks.len(),
                    i + 1,
                    names.join(",")
                ))
            })
            .collect();
        let corner = &self.corners[self.next_wpl % self.corners.len()];
        self.next_wpl += 1;
        out.push(with_checksum(&format!(
            "GPWPL,{},{},{}",
            ddmm(corner.lat, 'N', 'S', 2),
            ddmm(corner.lon, 'E', 'W', 3),
            corner.name
        )));
        out
    }
}

/// A standard normal sample (Box-Muller).
fn gaussian(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmea::{Framer, FramerConfig, Sentence, decode};

    fn square() -> Vec<RouteCorner> {
        ["J1", "J2", "J3", "J4", "J5"]
            .iter()
            .zip([
                (116.4, 39.9),
                (116.4001, 39.9),
                (116.4001, 39.9001),
                (116.4, 39.9001),
                (116.39995, 39.90005),
            ])
            .map(|(n, (lon, lat))| RouteCorner {
                name: (*n).to_owned(),
                lon,
                lat,
            })
            .collect()
    }

    #[test]
    fn every_sentence_parses_and_the_route_is_complete_after_a_cycle() {
        let mut unit = Handheld::new(square(), 2.0, 7);
        let mut framer = Framer::new(FramerConfig::default());
        let mut assembler =
            crate::survey::RouteAssembler::new("sim", crate::survey::RouteConfig::default());
        let now = std::time::Instant::now();
        let mut kinds = std::collections::BTreeSet::new();
        for _ in 0..5 {
            for sentence in unit.next_second(1.0) {
                framer.push(sentence.as_bytes(), |r| {
                    let parsed = decode(r.expect("valid checksum")).expect("decodes");
                    kinds.insert(parsed.kind.to_owned());
                    assembler.handle(&parsed, now);
                });
            }
        }
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            ["GGA", "GSA", "GST", "GSV", "PGRME", "RMC", "RTE", "WPL"]
        );
        let Some(crate::survey::RouteEvent::Complete(plot)) = assembler.poll_event() else {
            panic!("no route")
        };
        assert_eq!(plot.corners.len(), 5);
        assert!((plot.corners[2].lat - 39.9001).abs() < 1e-6);
    }

    #[test]
    fn gsa_states_the_hdop_of_its_epochs_gga() {
        let mut unit = Handheld::new(square(), 2.0, 5);
        let mut framer = Framer::new(FramerConfig::default());
        let mut epochs = Vec::new();
        for _ in 0..50 {
            let (mut gga, mut gsa) = (None, None);
            for sentence in unit.next_second(1.0) {
                framer.push(sentence.as_bytes(), |r| {
                    match decode(r.unwrap()).unwrap().sentence {
                        Sentence::Gga(g) => gga = g.hdop,
                        Sentence::Gsa(g) => gsa = g.hdop.zip(g.pdop).zip(g.vdop),
                        _ => {}
                    }
                });
            }
            let ((hdop, pdop), vdop) = gsa.unwrap();
            assert_eq!(gga, Some(hdop));
            assert!(
                (pdop - hdop.hypot(vdop)).abs() <= 0.05,
                "{pdop} {hdop} {vdop}"
            );
            epochs.push(hdop);
        }
        epochs.sort_by(f64::total_cmp);
        epochs.dedup();
        assert!(epochs.len() > 1, "HDOP never varies: {epochs:?}");
    }

    #[test]
    fn the_error_is_correlated_in_time_and_has_the_asked_spread() {
        let mut unit = Handheld::new(square(), 3.0, 11);
        let mut framer = Framer::new(FramerConfig::default());
        let mut north = Vec::new();
        for _ in 0..3000 {
            for sentence in unit.next_second(1.0) {
                framer.push(sentence.as_bytes(), |r| {
                    if let Sentence::Gga(g) = decode(r.unwrap()).unwrap().sentence {
                        north.push((g.position.unwrap().lat - 39.9) * METRES_PER_DEGREE);
                    }
                });
            }
        }
        let n = north.len() as f64;
        let mean = north.iter().sum::<f64>() / n;
        let var = north.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let lag1 = north
            .windows(2)
            .map(|w| (w[0] - mean) * (w[1] - mean))
            .sum::<f64>()
            / (n - 1.0);
        // White noise would have lag-1 correlation ≈ 0; this process has exp(-1/60) ≈ 0.98.
        assert!(lag1 / var > 0.9, "lag-1 correlation {}", lag1 / var);
        // 3000 s is 50 correlation times: the spread is near 3 m, not exact.
        assert!((1.5..4.5).contains(&var.sqrt()), "sigma {}", var.sqrt());
    }

    #[test]
    fn a_walking_unit_stands_at_each_corner_then_walks_to_the_next() {
        let mut unit = Handheld::new(square(), 0.0, 3).walking(5.0);
        let mut framer = Framer::new(FramerConfig::default());
        let mut movements = Vec::new();
        let mut fixes = Vec::new();
        for _ in 0..40 {
            let movement = unit.walk(1.0);
            if movement != Movement::Continuing {
                movements.push(movement);
            }
            for sentence in unit.next_second(1.0) {
                framer.push(sentence.as_bytes(), |r| {
                    if let Sentence::Gga(g) = decode(r.unwrap()).unwrap().sentence {
                        fixes.push(g.position.unwrap());
                    }
                });
            }
        }
        // J1 → J2 is 0.0001° of longitude, 8.5 m here: 8 s at 1.2 m/s, after 5 s at J1.
        assert_eq!(
            movements[..3],
            [
                Movement::Left {
                    from: "J1".into(),
                    to: "J2".into()
                },
                Movement::Arrived("J2".into()),
                Movement::Left {
                    from: "J2".into(),
                    to: "J3".into()
                },
            ]
        );
        let at = |i: usize, lon: f64, lat: f64| {
            (fixes[i].lon - lon).abs() < 2e-7 && (fixes[i].lat - lat).abs() < 2e-7
        };
        assert!(at(2, 116.4, 39.9), "standing at J1: {:?}", fixes[2]);
        assert!(at(15, 116.4001, 39.9), "standing at J2: {:?}", fixes[15]);
        assert!(fixes[8].lon > 116.4 + 2e-5 && fixes[8].lon < 116.4001 - 2e-5);
        // A unit without a route, or with one corner, never moves.
        let mut still = Handheld::new(square()[..1].to_vec(), 0.0, 3).walking(1.0);
        assert!((0..5).all(|_| still.walk(1.0) == Movement::Continuing));
    }
}
