//! `gps-bridge replay FILE`: the parser's view of a recorded stream, one JSON object per
//! accepted sentence.

use std::io::{self, Write};

use serde::Serialize;

use crate::nmea::{Framer, FramerConfig, Parsed, Tally, decode};

/// One output line.
#[derive(Serialize)]
struct Record<'a> {
    raw: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Degrees rounded to 9 decimals (about 0.1 mm), as gpsd prints them.
fn degrees(value: f64) -> f64 {
    (value * 1e9).round() / 1e9
}

impl<'a> Record<'a> {
    fn from_parsed(parsed: &Parsed<'a>) -> Self {
        let position = parsed.measured_position();
        Record {
            raw: parsed.line.raw(),
            kind: parsed.kind,
            lat: position.map(|p| degrees(p.lat)),
            lon: position.map(|p| degrees(p.lon)),
            time: parsed.time().map(|t| t.to_string()),
            error: None,
        }
    }
}

/// Replays `chunks` (as successive reads) and writes a JSON line per accepted sentence to `out`.
/// Returns the tally; stops early only if `out` fails.
pub fn replay<'c>(
    chunks: impl IntoIterator<Item = &'c [u8]>,
    config: FramerConfig,
    out: &mut impl Write,
) -> io::Result<Tally> {
    let mut framer = Framer::new(config);
    let mut tally = Tally::default();
    let mut result = Ok(());
    for chunk in chunks {
        framer.push(chunk, |line| {
            if result.is_err() {
                return;
            }
            let line = match line {
                Ok(line) => line,
                Err(reject) => return tally.reject(reject),
            };
            tally.accepted += 1;
            let record = match decode(line) {
                Ok(parsed) => Record::from_parsed(&parsed),
                Err(error) => {
                    tally.undecodable(&error);
                    Record {
                        raw: line.raw(),
                        kind: error.kind,
                        lat: None,
                        lon: None,
                        time: None,
                        error: Some(error.to_string()),
                    }
                }
            };
            result = serde_json::to_writer(&mut *out, &record)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
        });
        result
            .as_ref()
            .map_err(|e| io::Error::new(e.kind(), e.to_string()))?;
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_position_and_time_and_counts_rejects() {
        let input = b"$GPGGA,120824.76,3908.8199,N,00023.0832,W,1,08,0.9,545.4,M,46.9,M,,*7B\r\n\
                      $GPGGA,1208,3908.8199,N,00023.0832,W,1,08,0.9,545.4,M,46.9,M,,*52\r\n\
                      $GPBOD,,T,,M,,*48\r\n$PSRFTXT,x*1B\r\n";
        let mut out = Vec::new();
        let tally = replay([&input[..]], FramerConfig::default(), &mut out).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["lat"], 39.146998333);
        assert_eq!(lines[0]["lon"], -0.38472);
        assert_eq!(lines[0]["time"], "12:08:24.760");
        assert_eq!(lines[0]["type"], "GGA");
        assert_eq!(lines[1]["error"], "GGA: field 1 malformed");
        assert_eq!(lines[2]["type"], "PSRFTXT");
        assert!(lines[2].get("lat").is_none());
        assert_eq!(tally.rejected.get("bad_checksum"), Some(&1));
        assert_eq!(tally.undecodable.get("GGA"), Some(&1));
    }
}
