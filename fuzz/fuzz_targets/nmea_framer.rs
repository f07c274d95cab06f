//! Fuzzes the NMEA framer and decoder: arbitrary bytes, split into reads at arbitrary points.
//! Beyond "no panic", it checks the framer's contract: accepted lines are bounded printable
//! sentences, and the result does not depend on how the stream was split.
#![no_main]

use gps_bridge::nmea::{Framer, FramerConfig, MAX_SENTENCE_LEN, Reject, Sentence, decode};
use libfuzzer_sys::fuzz_target;

fn run(chunks: &[&[u8]], config: FramerConfig) -> Vec<Result<String, Reject>> {
    let mut framer = Framer::new(config);
    let mut out = Vec::new();
    for chunk in chunks {
        framer.push(chunk, |r| {
            if let Ok(line) = r {
                let raw = line.raw();
                assert!(raw.len() <= MAX_SENTENCE_LEN);
                assert!(raw.starts_with('$') || raw.starts_with('!'));
                assert!(raw.bytes().all(|b| (0x20..0x7f).contains(&b)));
                // The parts decoded only on demand (GSV satellites, route waypoints) are walked too.
                match decode(line).map(|parsed| parsed.sentence) {
                    Ok(Sentence::Gsv(gsv)) => gsv.satellites().for_each(drop),
                    Ok(Sentence::Rte(route) | Sentence::Pmgnrte(route)) => {
                        route.waypoints().for_each(drop)
                    }
                    _ => {}
                }
            }
            out.push(r.map(|line| line.raw().to_owned()));
        });
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the read size and the checksum policy; the rest is the stream.
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let config = FramerConfig {
        accept_missing_checksum: control & 0x80 != 0,
    };
    let chunk = usize::from(control & 0x7f).max(1);
    let split: Vec<&[u8]> = stream.chunks(chunk).collect();
    assert_eq!(run(&split, config), run(&[stream], config));
});
