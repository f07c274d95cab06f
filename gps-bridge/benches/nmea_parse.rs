//! Parse throughput on the gpsd corpus: this crate's framer + typed decoder against the `nmea`
//! crate 0.8 (`parse_bytes` per line), on the same bytes, in one run.
//!
//! Both are charged for the same work: find each line in the stream, check its checksum, decode
//! it into typed values. Throughput is counted in candidate lines (every non-empty line of the
//! stream), the same number for both, so the ratio of the rates is the ratio of the times.
//!
//! `cargo bench -p gps-bridge --bench nmea_parse`

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use gps_bridge::nmea::{Framer, FramerConfig, decode};

/// All corpus logs without their `#` headers (what gpsfake feeds gpsd), concatenated.
fn corpus() -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/gpsd");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("gpsd corpus missing at {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    paths.sort();
    let mut bytes = Vec::new();
    for path in paths {
        let log = std::fs::read(&path).expect("log readable");
        for line in log.split_inclusive(|&b| b == b'\n') {
            if !line.starts_with(b"#") {
                bytes.extend_from_slice(line);
            }
        }
    }
    bytes
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
}

/// This crate: one framer over the whole stream, every accepted line decoded.
fn land_hall(bytes: &[u8]) -> usize {
    let mut framer = Framer::new(FramerConfig::default());
    let mut decoded = 0;
    framer.push(bytes, |line| {
        if let Ok(line) = line
            && black_box(decode(line)).is_ok()
        {
            decoded += 1;
        }
    });
    decoded
}

/// The `nmea` crate: it takes one line at a time.
fn nmea_crate(bytes: &[u8]) -> usize {
    lines(bytes)
        .filter(|line| black_box(nmea::parse_bytes(line)).is_ok())
        .count()
}

fn fastest(runs: usize, f: impl Fn() -> usize) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let bytes = corpus();
    let candidates = lines(&bytes).count() as u64;
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("gpsd_corpus");
    group.throughput(Throughput::Elements(candidates));
    group.bench_function("land_hall_nmea", |b| {
        b.iter(|| land_hall(black_box(&bytes)))
    });
    group.bench_function("nmea_0_8", |b| b.iter(|| nmea_crate(black_box(&bytes))));
    group.finish();
    c.final_summary();

    // The ratio, measured here in the same process on the same bytes (best of 30 passes each).
    let ours = fastest(30, || land_hall(&bytes));
    let theirs = fastest(30, || nmea_crate(&bytes));
    let rate = |d: Duration| candidates as f64 / d.as_secs_f64() / 1e6;
    println!(
        "corpus: {} bytes, {candidates} lines; decoded: land_hall {}, nmea 0.8 {}",
        bytes.len(),
        land_hall(&bytes),
        nmea_crate(&bytes)
    );
    println!(
        "land_hall {:.1} M sentences/s, nmea 0.8 {:.1} M sentences/s, ratio {:.2}x",
        rate(ours),
        rate(theirs),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
}
