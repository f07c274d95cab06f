//! Regression suite against gpsd's own output for 83 real receiver logs
//! (`tests/corpus/gpsd/*.log` and `*.log.chk`, copied from `shared/corpus/gpsd/`,
//! BSD-2-Clause, see the corpus README).
//!
//! Every log is fed through the framer in random chunk sizes, as gpsfake feeds it to gpsd, and
//! the accepted sentences are lined up with the ones gpsd echoed in the `.chk`:
//! - a sentence is accepted if and only if gpsd echoed it, in the same order;
//! - every TPV with lat/lon equals, within 1e-6°, the latest position this parser accepted
//!   before it, and its time of day is that sentence's, to the millisecond where gpsd gives
//!   milliseconds; one side with a time and the other without is a difference too.
//!
//! Each known difference is an exception below: one direction, the sentence that causes it,
//! how many times it occurs, and why. An exception that no longer occurs as often as it says
//! fails the suite too, so none outlives its cause.

#[path = "support/corpus.rs"]
mod corpus;

use std::path::Path;

use gps_bridge::nmea::{
    Framer, FramerConfig, LatLon, OwnedLine, Parsed, Reject, Rmc, Sentence, TimeOfDay, Zda, decode,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Which side has a sentence the other does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// This parser accepts it; gpsd did not echo it.
    OursOnly,
    /// gpsd echoed it; this parser rejects it.
    GpsdOnly,
}

struct EchoException {
    log: &'static str,
    side: Side,
    /// The sentence, or the start of it shared by every sentence affected.
    sentence: &'static str,
    times: usize,
    why: &'static str,
}

const ECHO_EXCEPTIONS: &[EchoException] = &[
    EchoException {
        log: "skytraq-err.log",
        side: Side::GpsdOnly,
        sentence: "$STI,",
        times: 6,
        why: "gpsd whitelists SkyTraq's `$STI` without a checksum (`$STI,IC,error=4`); the \
              issue asks for sentences without a checksum to be rejected by default \
              (`accept_missing_checksum` admits them)",
    },
    EchoException {
        log: "isync.log",
        side: Side::GpsdOnly,
        sentence: "$GPGSV,4,1,15,02,11,115,36,05,34,060,48,07,00,023,,13,56,090,49*71",
        times: 1,
        why: "at 13:15:39 a second writer put `$PTNTA,20160203131539,...*18` into the middle \
              of this GSV (`...,36,0$PTNTA...*18\\n5,34,...`); both accept the PTNTA, gpsd \
              also stitches the GSV back together around it, this parser rejects the cut GSV \
              as interrupted",
    },
];

/// What of a TPV may differ from the latest sentence this parser accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TpvField {
    Position,
}

struct TpvException {
    log: &'static str,
    /// The start of the latest sentence gpsd echoed before each TPV affected.
    after: &'static str,
    field: TpvField,
    times: usize,
    why: &'static str,
}

const TPV_EXCEPTIONS: &[TpvException] = &[TpvException {
    log: "ericsson-gru04-02-70sec.log",
    after: "$PERC,GPavp,4111.5950,N,11156.5597,W,001492.2,M*2E",
    field: TpvField::Position,
    times: 2,
    why: "a timing receiver: gpsd reports Ericsson's proprietary averaged survey position \
          `$PERC,GPavp` in the TPV it sends right after it; this parser passes `$PERC` through \
          raw, so its latest position is still the GLL's",
}];

fn is_sentence(line: &str) -> bool {
    line.starts_with('$') || line.starts_with('!')
}

fn file_name(log: &Path) -> String {
    log.file_name().unwrap().to_string_lossy().into_owned()
}

/// Accepted lines of `bytes`, pushed in random chunks of 1..=200 bytes.
fn accepted(bytes: &[u8], rng: &mut StdRng) -> Vec<OwnedLine> {
    let mut framer = Framer::new(FramerConfig::default());
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(rng.random_range(1..=200).min(rest.len()));
        framer.push(chunk, |r| out.extend(r.ok().map(OwnedLine::from)));
        rest = tail;
    }
    out
}

/// One step of the two sentence lists lined up.
enum Step<'a> {
    Both(&'a OwnedLine),
    Ours(&'a OwnedLine),
    Gpsd,
}

/// A log read by this parser and by gpsd.
struct Comparison {
    name: String,
    chk: String,
    ours: Vec<OwnedLine>,
}

impl Comparison {
    fn new(log: &Path, rng: &mut StdRng) -> Self {
        let stream = corpus::stream_bytes(&std::fs::read(log).unwrap());
        Comparison {
            name: file_name(log),
            chk: std::fs::read_to_string(log.with_extension("log.chk")).unwrap(),
            ours: accepted(&stream, rng),
        }
    }

    /// The `.chk` lines without their line endings.
    fn chk_lines(&self) -> impl Iterator<Item = &str> {
        self.chk.lines().map(|l| l.trim_end_matches('\r'))
    }

    /// The two lists lined up, each difference explained by an exception used no more often
    /// than it says, or the first unexplained difference.
    fn align(&self) -> Result<Vec<Step<'_>>, String> {
        let echoed: Vec<&str> = self.chk_lines().filter(|l| is_sentence(l)).collect();
        let exceptions: Vec<&EchoException> = ECHO_EXCEPTIONS
            .iter()
            .filter(|e| e.log == self.name)
            .collect();
        let mut used = vec![0; exceptions.len()];
        let mut explained = |side: Side, sentence: Option<&str>| {
            let sentence = sentence?;
            let i = exceptions.iter().enumerate().position(|(i, e)| {
                e.side == side && sentence.starts_with(e.sentence) && used[i] < e.times
            })?;
            used[i] += 1;
            Some(())
        };
        let (mut i, mut j, mut steps) = (0, 0, Vec::new());
        while i < self.ours.len() || j < echoed.len() {
            let ours = self.ours.get(i).map(OwnedLine::raw);
            let gpsd = echoed.get(j).copied();
            if ours.is_some() && ours == gpsd {
                steps.push(Step::Both(&self.ours[i]));
                (i, j) = (i + 1, j + 1);
            } else if explained(Side::OursOnly, ours).is_some() {
                steps.push(Step::Ours(&self.ours[i]));
                i += 1;
            } else if explained(Side::GpsdOnly, gpsd).is_some() {
                steps.push(Step::Gpsd);
                j += 1;
            } else {
                return Err(format!(
                    "{}: sentence {i} of ours, {j} of gpsd's: ours {ours:?}, gpsd {gpsd:?}",
                    self.name
                ));
            }
        }
        for (e, used) in exceptions.iter().zip(used) {
            if used != e.times {
                return Err(format!(
                    "{}: exception {:?} {:?} occurs {used} times, not {} ({})",
                    self.name, e.side, e.sentence, e.times, e.why
                ));
            }
        }
        Ok(steps)
    }
}

/// The gpsd corpus, each log with its own reproducible chunking.
fn comparisons() -> impl Iterator<Item = Comparison> {
    corpus::logs().into_iter().enumerate().map(|(n, log)| {
        let mut rng = StdRng::seed_from_u64(0x6c61_6e64 + n as u64);
        Comparison::new(&log, &mut rng)
    })
}

#[test]
fn accepts_exactly_what_gpsd_echoed() {
    let mut failures = Vec::new();
    let mut total = 0;
    for comparison in comparisons() {
        total += comparison.ours.len();
        if let Err(difference) = comparison.align() {
            failures.push(difference);
        }
    }
    assert!(total > 25_000, "only {total} sentences accepted");
    assert!(
        failures.is_empty(),
        "{} logs differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Sentences with a valid checksum whose address gpsd's lexer does not take (a talker it does
/// not know), per log: this parser rejects them as `bad_address`, and gpsd echoed none.
const BAD_ADDRESSES: &[(&str, &str, usize)] = &[
    // A Garmin-made talker gpsd does not list (`IM`, not `IN`).
    ("gpsdf.log", "$IMGSA,", 51),
    // The RoyalTek RGM-3800's logging-format status line: not NMEA.
    ("rgm3800.log", "$LOG108,", 4),
];

#[test]
fn addresses_gpsd_does_not_take_are_rejected_as_bad_addresses() {
    let mut seen = 0;
    for log in corpus::logs() {
        let name = file_name(&log);
        let stream = corpus::stream_bytes(&std::fs::read(&log).unwrap());
        let mut rejected = 0;
        Framer::new(FramerConfig::default()).push(&stream, |r| {
            rejected += usize::from(r == Err(Reject::BadAddress));
        });
        let expected = BAD_ADDRESSES.iter().find(|(l, ..)| *l == name);
        match expected {
            None => assert_eq!(rejected, 0, "{name}: bad addresses where gpsd saw none"),
            Some((_, prefix, times)) => {
                assert_eq!(rejected, *times, "{name}");
                let text = String::from_utf8_lossy(&stream);
                assert_eq!(
                    text.lines().filter(|l| l.starts_with(prefix)).count(),
                    *times
                );
                let chk = std::fs::read_to_string(log.with_extension("log.chk")).unwrap();
                assert!(!chk.contains(prefix), "{name}: gpsd echoed {prefix}");
                seen += 1;
            }
        }
    }
    assert_eq!(
        seen,
        BAD_ADDRESSES.len(),
        "every log named is in the corpus"
    );
}

#[derive(serde::Deserialize)]
struct Tpv {
    class: String,
    lat: Option<f64>,
    lon: Option<f64>,
    time: Option<String>,
}

/// The time of day of gpsd's `2026-02-12T21:37:13.000Z`, and whether it gave milliseconds.
fn gpsd_time_of_day(time: &str) -> Option<(u32, bool)> {
    let clock = time.split_once('T')?.1.trim_end_matches('Z');
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = hms.split(':').map(|p| p.parse::<u32>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    // The first three digits of the fraction, however many gpsd wrote.
    let millis = match fraction {
        "" => 0,
        f => format!("{f:0<3}")[..3].parse::<u32>().ok()?,
    };
    Some((
        ((h * 60 + m) * 60 + s) * 1000 + millis,
        !fraction.is_empty(),
    ))
}

/// Whether the TPV's time and the latest sentence's agree, to the millisecond if gpsd gave
/// milliseconds.
///
/// The one exception, in one direction: gpsd's TPV time is a date and time, so while gpsd
/// knows no date it writes TPVs without a time, though the GGA, GLL or GNS they come from has
/// its time of day. gpsd takes the date from a valid RMC or a ZDA, not from a void RMC
/// (`$GNRMC,074150.799,V,,,,,,,250215,,,N*52` before beidou-bd.log's first fix), and forgets
/// it at a void RMC (quectel.log's `$GPRMC,,V,,,,,,,,,,N*53` while it lost the sky, then
/// `$GPGGA,022047.00,...`). A TPV without a time while gpsd knew the date, or ours without a
/// time when gpsd has one, is a difference.
fn times_agree(tpv: Option<&str>, ours: Option<TimeOfDay>, gpsd_knows_date: bool) -> bool {
    match (tpv.and_then(gpsd_time_of_day), ours) {
        (None, None) => true,
        (None, Some(_)) => !gpsd_knows_date,
        (Some((gpsd, true)), Some(ours)) => gpsd == ours.millis_of_day(),
        (Some((gpsd, false)), Some(ours)) => gpsd / 1000 == ours.millis_of_day() / 1000,
        (Some(_), None) => false,
    }
}

/// Whether gpsd knows the date after `parsed`, given whether it did before (see
/// [`times_agree`]).
fn gpsd_knows_date(parsed: &Parsed<'_>, before: bool) -> bool {
    match parsed.sentence {
        Sentence::Rmc(Rmc { date, status, .. }) => date.is_some() && status == Some(b'A'),
        Sentence::Zda(Zda { date, .. }) => before || date.is_some(),
        _ => before,
    }
}

#[test]
fn tpv_positions_and_times_match_the_latest_sentence() {
    let mut failures = Vec::new();
    let (mut checked, mut times) = (0, 0);
    for comparison in comparisons() {
        let name = comparison.name.as_str();
        let steps = match comparison.align() {
            Ok(steps) => steps,
            Err(difference) => {
                failures.push(difference);
                continue;
            }
        };
        let exceptions: Vec<&TpvException> =
            TPV_EXCEPTIONS.iter().filter(|e| e.log == name).collect();
        let mut used = vec![0; exceptions.len()];
        let mut steps = steps.into_iter();
        // This parser's latest position, the time of day of its sentence, and the sentence.
        let mut latest: Option<(LatLon, Option<TimeOfDay>, &str)> = None;
        let mut last_echoed = "";
        let mut knows_date = false;
        for line in comparison.chk_lines() {
            if is_sentence(line) {
                // What this parser accepted up to the sentence gpsd echoed.
                for step in steps.by_ref() {
                    let (line, echoed) = match step {
                        Step::Both(line) => (Some(line), true),
                        Step::Ours(line) => (Some(line), false),
                        Step::Gpsd => (None, true),
                    };
                    if let Some(parsed) = line.and_then(|l| decode(l.line()).ok()) {
                        knows_date = gpsd_knows_date(&parsed, knows_date);
                        if let Some(p) = parsed.position() {
                            latest = Some((p, parsed.time(), parsed.line.raw()));
                        }
                    }
                    if echoed {
                        break;
                    }
                }
                last_echoed = line;
                continue;
            }
            let Ok(tpv) = serde_json::from_str::<Tpv>(line) else {
                continue;
            };
            let (true, Some(lat), Some(lon)) = (tpv.class == "TPV", tpv.lat, tpv.lon) else {
                continue;
            };
            checked += 1;
            let Some((position, time, sentence)) = latest else {
                failures.push(format!("{name}: {line}\n   no position before it"));
                continue;
            };
            let position_agrees =
                (position.lat - lat).abs() <= 1e-6 && (position.lon - lon).abs() <= 1e-6;
            let excused = exceptions
                .iter()
                .position(|e| e.field == TpvField::Position && last_echoed.starts_with(e.after));
            match (position_agrees, excused) {
                (true, _) => {}
                (false, Some(e)) => used[e] += 1,
                (false, None) => failures.push(format!("{name}: {line}\n   latest: {sentence}")),
            }
            if !times_agree(tpv.time.as_deref(), time, knows_date) {
                failures.push(format!("{name}: {line}\n   time of: {sentence}"));
            }
            times += usize::from(time.is_some());
        }
        for (e, used) in exceptions.iter().zip(used) {
            if used != e.times {
                failures.push(format!(
                    "{name}: TPV exception after {:?} occurs {used} times, not {} ({})",
                    e.after, e.times, e.why
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 6_000, "only {checked} TPV positions checked");
    assert!(times > 5_000, "only {times} TPV times checked");
}
