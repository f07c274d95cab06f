//! `gps-bridge replay FILE`: the parser's view of a recorded stream, one JSON object per
//! accepted sentence. The stream is read and answered a chunk at a time, so a log of any size
//! (or a live `-` on stdin) replays in fixed memory, and its lines come out as it is read.

use std::io::{self, Read, Write};

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

/// Bytes read from the stream at a time.
const READ_CHUNK: usize = 64 * 1024;

/// What stopped a replay.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("reading the stream: {0}")]
    Read(#[source] io::Error),
    #[error("writing the records: {0}")]
    Write(#[source] io::Error),
}

/// Replays `input`, read a chunk at a time, and writes a JSON line per accepted sentence to
/// `out`, flushed after each chunk. Returns the tally; stops early only if reading or `out`
/// fails.
pub fn replay(
    mut input: impl Read,
    config: FramerConfig,
    out: &mut impl Write,
) -> Result<Tally, ReplayError> {
    let mut framer = Framer::new(config);
    let mut tally = Tally::default();
    let mut chunk = vec![0; READ_CHUNK];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReplayError::Read(e)),
        };
        let mut result = Ok(());
        framer.push(&chunk[..n], |line| {
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
            .and_then(|()| out.flush())
            .map_err(ReplayError::Write)?;
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
        let tally = replay(&input[..], FramerConfig::default(), &mut out).unwrap();
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

    /// A reader that hands out a long stream in small reads, and says how many it gave.
    struct Slow {
        sentence: &'static [u8],
        left: usize,
        reads: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl Read for Slow {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Ok(0);
            }
            self.left -= 1;
            self.reads.set(self.reads.get() + 1);
            let n = self.sentence.len().min(buf.len());
            buf[..n].copy_from_slice(&self.sentence[..n]);
            Ok(n)
        }
    }

    /// Records, for each write, how many reads had been made by then.
    struct Witness {
        reads: std::rc::Rc<std::cell::Cell<usize>>,
        seen_at: Vec<usize>,
    }

    impl Write for Witness {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.ends_with(b"\n") {
                self.seen_at.push(self.reads.get());
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_stream_is_answered_as_it_is_read() {
        let reads = std::rc::Rc::new(std::cell::Cell::new(0));
        let input = Slow {
            sentence: b"$GPGSA,A,1,,,,,,,,,,,,,,,*1E\r\n",
            left: 1000,
            reads: reads.clone(),
        };
        let mut out = Witness {
            reads,
            seen_at: Vec::new(),
        };
        let tally = replay(input, FramerConfig::default(), &mut out).unwrap();
        assert_eq!(tally.accepted, 1000);
        // Each record is out right after the read that brought it, not after the last read.
        assert_eq!(out.seen_at, (1..=1000).collect::<Vec<_>>());
    }

    #[test]
    fn a_failing_reader_is_a_read_error() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("unplugged"))
            }
        }
        let error = replay(Broken, FramerConfig::default(), &mut Vec::new()).unwrap_err();
        assert!(matches!(error, ReplayError::Read(_)), "{error}");
    }
}
