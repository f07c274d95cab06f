//! Regression suite against gpsd's own output for 82 real receiver logs
//! (`shared/corpus/gpsd/*.log` and `*.log.chk`, BSD-2-Clause, see the corpus README).
//!
//! For every log, fed through the framer in random chunk sizes:
//! - a sentence is accepted if and only if gpsd echoed it in the `.chk`, in the same order;
//! - every TPV with lat/lon equals, within 1e-6°, the latest accepted position before it, and
//!   its time of day is that sentence's.
//!
//! The known exceptions are listed below with the sentence that causes each.

#[path = "support/corpus.rs"]
mod corpus;

use gps_bridge::nmea::{Framer, FramerConfig, LatLon, TimeOfDay, decode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Accepted sentences of `bytes`, pushed in random chunks of 1..=max_chunk bytes.
fn accepted(bytes: &[u8], rng: &mut StdRng, max_chunk: usize) -> Vec<String> {
    let mut framer = Framer::new(FramerConfig::default());
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(rng.random_range(1..=max_chunk).min(rest.len()));
        framer.push(chunk, |r| {
            if let Ok(line) = r {
                out.push(line.raw().to_owned());
            }
        });
        rest = tail;
    }
    out
}

/// Sentences gpsd accepts that this parser rejects, or the reverse:
/// (log file, sentence or its prefix, why).
const ECHO_EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "gpsdf.log",
        "$IMGSA,",
        "gpsd's lexer only admits known talkers and drops `$IM`; this parser accepts any talker \
         with a valid checksum and leaves the choice to the consumers",
    ),
    (
        "skytraq-err.log",
        "$STI,",
        "gpsd whitelists SkyTraq's `$STI` without a checksum; the issue asks for sentences \
         without a checksum to be rejected by default (`accept_missing_checksum` admits them)",
    ),
    (
        "isync.log",
        "$GPGSV,4,1,15,02,11,115,36,05,34,060,48,07,00,023,,13,56,090,49*71",
        "at 13:15:39 a second writer put `$PTNTA,20160203131539,...*18` into the middle of this \
         GSV (`...,36,0$PTNTA...*18\\n5,34,...`); gpsd stitches the GSV back together around \
         it, this parser keeps the PTNTA and rejects the cut GSV as interrupted. The same GSV \
         text, sent whole at other seconds, is excluded from the comparison with it",
    ),
];

/// TPVs whose position is not the latest sentence's: (log file, TPV prefix, why).
const TPV_EXCEPTIONS: &[(&str, &str, &str)] = &[(
    "ericsson-gru04-02-70sec.log",
    r#"{"class":"TPV","status":7,"mode":3,"time":"2026-02-12T21:3"#,
    "a timing receiver: gpsd decodes Ericsson's proprietary averaged survey position \
     `$PERC,GPavp,4111.5950,N,11156.5597,W,001492.2,M*2E` (status 7, surveyed) into the TPV; \
     this parser passes `$PERC` through raw, so the latest position it knows is the GLL's",
)];

fn is_sentence(line: &str) -> bool {
    line.starts_with('$') || line.starts_with('!')
}

#[test]
fn accepts_exactly_what_gpsd_echoed() {
    let mut rng = StdRng::seed_from_u64(0x6c61_6e64);
    let mut failures = Vec::new();
    let mut total = 0;
    for log in corpus::logs() {
        let name = log.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = corpus::stream_bytes(&std::fs::read(&log).unwrap());
        let chk = std::fs::read_to_string(log.with_extension("log.chk")).unwrap();
        let echoed: Vec<&str> = chk
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| is_sentence(l))
            .collect();
        let ours = accepted(&bytes, &mut rng, 200);
        total += ours.len();
        let allowed = |s: &str| {
            ECHO_EXCEPTIONS
                .iter()
                .any(|(f, e, _)| *f == name && s.starts_with(e))
        };
        let ours_f: Vec<&str> = ours
            .iter()
            .map(String::as_str)
            .filter(|s| !allowed(s))
            .collect();
        let echoed_f: Vec<&str> = echoed.iter().copied().filter(|s| !allowed(s)).collect();
        if ours_f != echoed_f {
            let first = ours_f
                .iter()
                .zip(&echoed_f)
                .position(|(a, b)| a != b)
                .unwrap_or(ours_f.len().min(echoed_f.len()));
            failures.push(format!(
                "{name}: ours {} vs gpsd {}; first difference at {first}: ours {:?} gpsd {:?}",
                ours_f.len(),
                echoed_f.len(),
                ours_f.get(first),
                echoed_f.get(first)
            ));
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

#[derive(serde::Deserialize)]
struct Tpv {
    class: String,
    lat: Option<f64>,
    lon: Option<f64>,
    time: Option<String>,
}

#[test]
fn tpv_positions_and_times_match_the_latest_sentence() {
    let mut failures = Vec::new();
    let (mut checked, mut times) = (0, 0);
    for log in corpus::logs() {
        let name = log.file_name().unwrap().to_string_lossy().into_owned();
        let chk = std::fs::read_to_string(log.with_extension("log.chk")).unwrap();
        // The latest position, the time of day of its sentence, and the sentence.
        let mut latest: Option<(LatLon, Option<TimeOfDay>, String)> = None;
        for line in chk.lines().map(|l| l.trim_end_matches('\r')) {
            if is_sentence(line) {
                let mut framer = Framer::new(FramerConfig::default());
                framer.push(format!("{line}\n").as_bytes(), |r| {
                    let Some(parsed) = r.ok().and_then(|l| decode(l).ok()) else {
                        return;
                    };
                    if let Some(p) = parsed.position() {
                        latest = Some((p, parsed.time(), line.to_owned()));
                    }
                });
                continue;
            }
            let Ok(tpv) = serde_json::from_str::<Tpv>(line) else {
                continue;
            };
            if tpv.class != "TPV" {
                continue;
            }
            if TPV_EXCEPTIONS
                .iter()
                .any(|(f, p, _)| *f == name && line.starts_with(p))
            {
                continue;
            }
            let (Some(lat), Some(lon)) = (tpv.lat, tpv.lon) else {
                continue;
            };
            checked += 1;
            let Some((position, time, sentence)) = &latest else {
                failures.push(format!("{name}: {line}\n   no position before it"));
                continue;
            };
            if (position.lat - lat).abs() > 1e-6 || (position.lon - lon).abs() > 1e-6 {
                failures.push(format!("{name}: {line}\n   latest: {sentence}"));
            }
            let tpv_time = tpv.time.as_deref().and_then(|t| t.get(11..19));
            let ours = time.map(|t| format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second));
            if let (Some(tpv_time), Some(ours)) = (tpv_time, ours) {
                if tpv_time != ours {
                    failures.push(format!("{name}: {line}\n   time of: {sentence}"));
                }
                times += 1;
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
