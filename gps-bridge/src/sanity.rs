//! Plausibility of a unit's fixes: what a checksum cannot catch. A fix far from the previous one
//! or a time going backwards is counted and kept out of surveys, never trusted.

use crate::geo::distance_km;
use crate::nmea::{LatLon, Parsed, TimeOfDay};

/// Consecutive far-away fixes after which the new place is believed (the unit really moved,
/// or another unit now sends on this port).
const JUMPS_BEFORE_BELIEVING: u32 = 5;
const HALF_DAY_MS: u32 = 12 * 3600 * 1000;

#[derive(Debug, Default)]
pub struct Sanity {
    last_position: Option<LatLon>,
    last_time: Option<TimeOfDay>,
    jumps: u32,
}

impl Sanity {
    /// `Err(cause)` if the sentence should not be used.
    pub fn check(&mut self, parsed: &Parsed<'_>, max_jump_km: f64) -> Result<(), &'static str> {
        if let Some(time) = parsed.time() {
            let previous = self.last_time.replace(time);
            if let Some(previous) = previous {
                let (now, before) = (time.millis_of_day(), previous.millis_of_day());
                // Within half a day backwards is going back; more is passing midnight.
                if now < before && before - now < HALF_DAY_MS {
                    return Err("time_backwards");
                }
            }
        }
        let Some(position) = parsed.measured_position() else {
            return Ok(());
        };
        match self.last_position {
            Some(last) if distance_km(last, position) > max_jump_km => {
                self.jumps += 1;
                if self.jumps >= JUMPS_BEFORE_BELIEVING {
                    self.jumps = 0;
                    self.last_position = Some(position);
                }
                Err("position_jump")
            }
            _ => {
                self.jumps = 0;
                self.last_position = Some(position);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmea::testing::for_each_parsed;

    fn check_all(sanity: &mut Sanity, bodies: &[&str]) -> Vec<Result<(), &'static str>> {
        let mut out = Vec::new();
        for_each_parsed(bodies, |parsed| out.push(sanity.check(parsed, 1000.0)));
        out
    }

    #[test]
    fn jumps_and_backward_time_are_flagged() {
        let beijing = "GPGGA,120000,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,";
        let later = "GPGGA,120001,3954.0010,N,11624.0000,E,1,08,0.9,50,M,0,M,,";
        let earlier = "GPGGA,115959,3954.0010,N,11624.0000,E,1,08,0.9,50,M,0,M,,";
        let sydney = "GPGGA,120002,3352.0000,S,15112.0000,E,1,08,0.9,50,M,0,M,,";
        let got = check_all(
            &mut Sanity::default(),
            &[beijing, later, earlier, sydney, later],
        );
        assert_eq!(
            got,
            [
                Ok(()),
                Ok(()),
                Err("time_backwards"),
                Err("position_jump"),
                Err("time_backwards")
            ]
        );
        let midnight = [
            "GPGGA,235959,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,",
            "GPGGA,000000,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,",
        ];
        assert_eq!(
            check_all(&mut Sanity::default(), &midnight),
            [Ok(()), Ok(())]
        );
    }

    #[test]
    fn a_unit_that_really_moved_is_believed_after_a_few_fixes() {
        let mut sanity = Sanity::default();
        let beijing = "GPRMC,120000,A,3954.0000,N,11624.0000,E,0,0,010125,,";
        check_all(&mut sanity, &[beijing]);
        let sydney: Vec<String> = (1..=6)
            .map(|s| format!("GPRMC,1200{s:02},A,3352.0000,S,15112.0000,E,0,0,010125,,"))
            .collect();
        let refs: Vec<&str> = sydney.iter().map(String::as_str).collect();
        let got = check_all(&mut sanity, &refs);
        assert_eq!(got[..5], [Err("position_jump"); 5]);
        assert_eq!(got[5], Ok(()));
    }
}
