//! A unit's current fix, as `status` reports it: the position and time of the newest measured
//! fix, with the quality, satellites and HDOP that its own epoch's GGA, GNS or GSA stated.
//! A receiver spreads one epoch over several sentences (RMC has no satellites, GSA no time),
//! so these arrive apart; they are unknown until they do, never carried over from an earlier
//! epoch.

use serde::{Serialize, Serializer};

use crate::nmea::{FixQuality, Parsed, Sentence, TimeOfDay};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    /// `12:08:24.760`.
    #[serde(serialize_with = "displayed")]
    pub time: Option<TimeOfDay>,
    /// `Gps`, `Dgps`, `RtkFixed`...
    #[serde(serialize_with = "debugged")]
    pub quality: Option<FixQuality>,
    pub satellites: Option<u32>,
    pub hdop: Option<f64>,
}

fn displayed<S: Serializer>(time: &Option<TimeOfDay>, s: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => s.collect_str(time),
        None => s.serialize_none(),
    }
}

fn debugged<S: Serializer>(quality: &Option<FixQuality>, s: S) -> Result<S::Ok, S::Error> {
    match quality {
        Some(quality) => s.collect_str(&format_args!("{quality:?}")),
        None => s.serialize_none(),
    }
}

/// Folds a unit's sentences into its current fix.
#[derive(Debug, Default)]
pub struct CurrentFix {
    fix: Option<Fix>,
}

impl CurrentFix {
    pub fn fix(&self) -> Option<&Fix> {
        self.fix.as_ref()
    }

    pub fn update(&mut self, parsed: &Parsed<'_>) {
        if let Some(position) = parsed.measured_position() {
            let time = parsed.time();
            let same_epoch = self
                .fix
                .as_ref()
                .is_some_and(|f| time.is_some() && f.time == time);
            let fix = self.fix.get_or_insert_with(Fix::default);
            if !same_epoch {
                *fix = Fix::default();
            }
            (fix.lat, fix.lon, fix.time) = (position.lat, position.lon, time);
            match &parsed.sentence {
                Sentence::Gga(gga) => {
                    fix.quality = gga.quality;
                    fix.satellites = gga.satellites;
                    fix.hdop = gga.hdop;
                }
                Sentence::Gns(gns) => {
                    fix.satellites = gns.satellites;
                    fix.hdop = gns.hdop;
                }
                _ => {}
            }
            return;
        }
        // GSA carries no time: it describes the epoch of the fix just before it, if it says
        // there is a fix at all (type 2 or 3).
        if let (Sentence::Gsa(gsa), Some(fix)) = (&parsed.sentence, &mut self.fix)
            && gsa.fix_type.is_some_and(|t| t >= 2)
            && gsa.hdop.is_some()
        {
            fix.hdop = gsa.hdop;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nmea::testing::for_each_parsed;

    fn feed(current: &mut CurrentFix, body: &str) {
        for_each_parsed(&[body], |parsed| current.update(parsed));
    }

    fn summary(current: &CurrentFix) -> (f64, String, Option<u32>, Option<f64>) {
        let fix = current.fix().unwrap();
        let time = fix.time.unwrap().to_string();
        (
            (fix.lat * 1e6).round() / 1e6,
            time,
            fix.satellites,
            fix.hdop,
        )
    }

    #[test]
    fn an_epochs_sentences_merge_and_a_new_epoch_starts_unknown() {
        let mut current = CurrentFix::default();
        feed(
            &mut current,
            "GPGGA,120000,3954.0000,N,11624.0000,E,1,08,0.9,50,M,0,M,,",
        );
        // The same epoch's RMC moves the position but keeps what GGA said of the solution.
        feed(
            &mut current,
            "GPRMC,120000,A,3954.0060,N,11624.0000,E,0,0,010125,,,A",
        );
        assert_eq!(
            summary(&current),
            (39.9001, "12:00:00.000".to_owned(), Some(8), Some(0.9))
        );
        assert_eq!(current.fix().unwrap().quality, Some(FixQuality::Gps));
        // The next second's RMC: satellites and HDOP are not known for it yet.
        feed(
            &mut current,
            "GPRMC,120001,A,3954.0000,N,11624.0000,E,0,0,010125,,,A",
        );
        assert_eq!(
            summary(&current),
            (39.9, "12:00:01.000".to_owned(), None, None)
        );
        assert_eq!(current.fix().unwrap().quality, None);
        // Its GSA gives the HDOP (a no-fix GSA would not); its GGA the rest.
        feed(&mut current, "GPGSA,A,1,,,,,,,,,,,,,99.9,99.9,99.9");
        assert_eq!(current.fix().unwrap().hdop, None);
        feed(&mut current, "GPGSA,A,3,02,05,10,13,,,,,,,,,1.8,1.2,1.5");
        assert_eq!(current.fix().unwrap().hdop, Some(1.2));
        feed(
            &mut current,
            "GPGGA,120001,3954.0000,N,11624.0000,E,2,07,1.1,50,M,0,M,,",
        );
        assert_eq!(
            summary(&current),
            (39.9, "12:00:01.000".to_owned(), Some(7), Some(1.1))
        );
        let json = serde_json::to_value(current.fix().unwrap()).unwrap();
        assert_eq!(json["time"], "12:00:01.000");
        assert_eq!(json["quality"], "Dgps");
        // A fix that is not measured is no current fix.
        feed(
            &mut current,
            "GPGGA,120002,3954.0000,N,11624.0000,E,6,07,1.1,50,M,0,M,,",
        );
        assert_eq!(current.fix().unwrap().time.unwrap().second, 1);
    }
}
