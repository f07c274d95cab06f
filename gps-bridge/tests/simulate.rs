//! `gps-bridge simulate`, the real binary: the path of its pseudo-terminal on the first line of
//! stdout, then a handheld's sentences on it.

#[path = "support/programs.rs"]
#[allow(dead_code, reason = "shared with the field session test")]
mod programs;

use std::io::Read;
use std::time::{Duration, Instant};

use gps_bridge::nmea::{Framer, FramerConfig, LatLon, Sentence, decode};

#[test]
fn the_simulator_sends_fixes_on_the_pty_it_prints() {
    let (_simulator, path) = programs::simulate(&["--interval", "0.1", "--sigma", "1"]);
    let path = path.as_str();
    assert!(path.starts_with("/dev/"), "first line {path:?}");

    let mut port = serialport::new(path, 4800)
        .timeout(Duration::from_millis(200))
        .open_native()
        .unwrap_or_else(|e| panic!("opening {path}: {e}"));
    let mut framer = Framer::new(FramerConfig::default());
    let mut fixes: Vec<LatLon> = Vec::new();
    let mut rejects = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 512];
    while fixes.len() < 3 && Instant::now() < deadline {
        let n = match port.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(e) => panic!("reading {path}: {e}"),
        };
        framer.push(&buf[..n], |r| match r {
            Ok(line) => {
                let parsed = decode(line).expect("the simulator's sentences decode");
                if let (Sentence::Gga(_), Some(fix)) = (parsed.sentence, parsed.measured_position())
                {
                    fixes.push(fix);
                }
            }
            Err(_) => rejects += 1,
        });
    }
    assert!(fixes.len() >= 3, "only {} GGA fixes in 10 s", fixes.len());
    // Without a route the unit stands in Beijing, within its error of a few metres.
    for fix in &fixes {
        assert!(
            (fix.lat - 39.9087).abs() < 1e-3 && (fix.lon - 116.3974).abs() < 1e-3,
            "{fix:?}"
        );
    }
    // Opening the port may cut one sentence short; nothing else is rejected.
    assert!(rejects <= 1, "{rejects} rejects");
}
