//! `gps-bridge simulate`, the real binary: the path of its pseudo-terminal on the first line of
//! stdout, then a handheld's sentences on it.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gps_bridge::nmea::{Framer, FramerConfig, LatLon, Sentence, decode};

/// The simulator, killed when the test ends however it ends.
struct Simulator(Child);

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_simulator_sends_fixes_on_the_pty_it_prints() {
    let mut simulator = Simulator(
        Command::new(env!("CARGO_BIN_EXE_gps-bridge"))
            .args(["simulate", "--interval", "0.1", "--sigma", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gps-bridge runs"),
    );
    let mut first_line = String::new();
    BufReader::new(simulator.0.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let path = first_line.trim_end();
    assert!(path.starts_with("/dev/"), "first line {first_line:?}");

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
