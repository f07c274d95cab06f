//! The simulated handheld on a pseudo-terminal, at the pace of its fixes.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serialport::{SerialPort, TTYPort};

use super::{Handheld, Movement, corners_from_geojson};

/// Opens a pty, prints the receiver end's path, and sends forever.
pub fn run(
    route: Option<&Path>,
    sigma_m: f64,
    interval_s: f64,
    dwell_s: Option<f64>,
) -> anyhow::Result<()> {
    let valid = sigma_m.is_finite() && sigma_m >= 0.0 && interval_s > 0.0 && interval_s <= 60.0;
    if !valid {
        bail!("--sigma must be ≥ 0 and --interval in (0, 60]");
    }
    if dwell_s.is_some_and(|d| !(d.is_finite() && d > 0.0 && d <= 86_400.0)) {
        bail!("--dwell must be in (0, 86400] seconds");
    }
    let corners = match route {
        Some(path) => corners_from_geojson(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )?,
        None => Vec::new(),
    };
    if dwell_s.is_some() && corners.len() < 2 {
        bail!("--dwell needs a --route with at least two corners");
    }
    let (mut master, slave) = TTYPort::pair().context("opening a pseudo-terminal")?;
    let path = slave.name().context("the pseudo-terminal has no name")?;
    println!("{path}");
    std::io::stdout().flush()?;
    // Like a handheld at 4800 8N1 (a pty moves bytes at any speed; this is what stty shows).
    master.set_baud_rate(4800).ok();
    if let (Some(dwell_s), Some(first)) = (dwell_s, corners.first()) {
        eprintln!("simulate: at corner {} for {dwell_s} s", first.name);
    }
    let mut unit = Handheld::new(corners, sigma_m, rand::random());
    if let Some(dwell_s) = dwell_s {
        unit = unit.walking(dwell_s);
    }
    loop {
        match unit.walk(interval_s) {
            Movement::Continuing => {}
            Movement::Arrived(name) => {
                let dwell_s = dwell_s.unwrap_or_default();
                eprintln!("simulate: at corner {name} for {dwell_s} s");
            }
            Movement::Left { from, to } => eprintln!("simulate: leaving {from}, walking to {to}"),
        }
        for sentence in unit.next_second(interval_s) {
            // Nobody reading yet, or the reader closed: a handheld keeps talking regardless.
            let _ = master.write_all(sentence.as_bytes());
        }
        std::thread::sleep(Duration::from_secs_f64(interval_s));
    }
}
