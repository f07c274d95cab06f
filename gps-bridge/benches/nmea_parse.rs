//! Parse throughput on the gpsd corpus: this crate's framer + typed decoder against the `nmea`
//! crate 0.8 (`parse_bytes` per line), on the same bytes, in one run.
//!
//! Both are charged for the same work: find each line in the stream, check its checksum, decode
//! it into typed values. Throughput is counted in candidate lines (every non-empty line of the
//! stream), the same number for both, so the ratio of the rates is the ratio of the times.
//! `decode` leaves GSV's satellite fields to be read on demand (the bridge never needs them);
//! `land_hall_nmea_with_satellites` also reads every one of them, as the `nmea` crate always does,
//! so both the bridge's workload and the like-for-like figure are shown.
//!
//! `cargo bench -p gps-bridge --bench nmea_parse`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use gps_bridge::nmea::{Framer, FramerConfig, Sentence, decode};

#[path = "../tests/support/corpus.rs"]
mod corpus;

/// All corpus logs as gpsfake feeds them to gpsd, concatenated.
fn corpus_stream() -> Vec<u8> {
    corpus::logs()
        .iter()
        .flat_map(|path| corpus::stream_bytes(&std::fs::read(path).expect("log readable")))
        .collect()
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

/// This crate, also reading every GSV satellite (which `decode` leaves to the caller, lazily):
/// the work the `nmea` crate always does.
fn land_hall_with_satellites(bytes: &[u8]) -> usize {
    let mut framer = Framer::new(FramerConfig::default());
    let mut decoded = 0;
    framer.push(bytes, |line| {
        if let Ok(line) = line
            && let Ok(parsed) = decode(line)
        {
            if let Sentence::Gsv(gsv) = parsed.sentence {
                for satellite in gsv.satellites() {
                    let _ = black_box(satellite);
                }
            }
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

fn time(f: impl Fn() -> usize) -> Duration {
    let start = Instant::now();
    black_box(f());
    start.elapsed()
}

/// One parser's best pass and its median ratio to the `nmea` crate, over rounds that run every
/// parser back to back, so a slow spell of this shared machine hits all of them alike instead
/// of only whichever ran during it.
struct Standing {
    best: Duration,
    median_ratio: f64,
}

/// A parser under test: the number of sentences it decoded from the stream.
type Parser = fn(&[u8]) -> usize;

fn interleaved(rounds: usize, parsers: &[Parser], bytes: &[u8]) -> Vec<Standing> {
    let passes: Vec<Vec<Duration>> = (0..rounds)
        .map(|_| parsers.iter().map(|parse| time(|| parse(bytes))).collect())
        .collect();
    let reference = parsers.len() - 1;
    (0..parsers.len())
        .map(|p| {
            let mut ratios: Vec<f64> = passes
                .iter()
                .map(|round| round[reference].as_secs_f64() / round[p].as_secs_f64())
                .collect();
            ratios.sort_by(f64::total_cmp);
            Standing {
                best: passes
                    .iter()
                    .map(|round| round[p])
                    .min()
                    .unwrap_or_default(),
                median_ratio: ratios[rounds / 2],
            }
        })
        .collect()
}

fn main() {
    let bytes = corpus_stream();
    let candidates = lines(&bytes).count() as u64;
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("gpsd_corpus");
    group.throughput(Throughput::Elements(candidates));
    group.bench_function("land_hall_nmea", |b| {
        b.iter(|| land_hall(black_box(&bytes)))
    });
    group.bench_function("land_hall_nmea_with_satellites", |b| {
        b.iter(|| land_hall_with_satellites(black_box(&bytes)))
    });
    group.bench_function("nmea_0_8", |b| b.iter(|| nmea_crate(black_box(&bytes))));
    group.finish();
    c.final_summary();

    // The ratios, measured here in the same process on the same bytes: 60 interleaved rounds.
    let parsers: [(&str, Parser); 3] = [
        ("land_hall", land_hall),
        ("land_hall_with_satellites", land_hall_with_satellites),
        ("nmea_0_8", nmea_crate),
    ];
    let standings = interleaved(60, &parsers.map(|(_, parse)| parse), &bytes);
    println!(
        "corpus: {} bytes, {candidates} lines; decoded: land_hall {}, nmea 0.8 {}",
        bytes.len(),
        land_hall(&bytes),
        nmea_crate(&bytes)
    );
    let nmea_best = standings[parsers.len() - 1].best;
    for ((name, _), standing) in parsers.iter().zip(&standings) {
        println!(
            "{name}: {:.1} M sentences/s (best pass); vs nmea 0.8: {:.2}x best passes, \
             {:.2}x median of rounds",
            candidates as f64 / standing.best.as_secs_f64() / 1e6,
            nmea_best.as_secs_f64() / standing.best.as_secs_f64(),
            standing.median_ratio
        );
    }
}
