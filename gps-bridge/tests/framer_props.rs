//! Property tests: the framer and decoder never panic, stay within their bounds and do not
//! depend on how the stream was split into reads.

use gps_bridge::nmea::{Framer, FramerConfig, MAX_SENTENCE_LEN, Reject, decode, with_checksum};
use proptest::prelude::*;

type Outcome = Result<String, Reject>;

fn run(chunks: &[&[u8]], config: FramerConfig) -> Vec<Outcome> {
    let mut framer = Framer::new(config);
    let mut out = Vec::new();
    for chunk in chunks {
        framer.push(chunk, |r| {
            if let Ok(line) = r {
                // Decoding any accepted line must not panic either.
                let _ = decode(line);
            }
            out.push(r.map(|line| line.raw().to_owned()));
        });
    }
    out
}

fn split_at_cuts(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in points.into_iter().chain([bytes.len()]) {
        chunks.push(bytes[start..p].to_vec());
        start = p;
    }
    chunks
}

/// A well-formed sentence with a correct checksum.
fn sentence() -> impl Strategy<Value = String> {
    ("[A-Z]{5}", "[ -~&&[^$!*]]{0,60}")
        .prop_map(|(address, body)| with_checksum(&format!("{address},{body}")))
}

/// Noise that cannot form a sentence: no leaders, ending in a line end.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        any::<u8>().prop_filter("no leader", |b| *b != b'$' && *b != b'!'),
        0..40,
    )
    .prop_map(|mut v| {
        v.push(b'\n');
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_break_the_framer(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        cuts in prop::collection::vec(any::<usize>(), 0..16),
        lenient in any::<bool>(),
    ) {
        let config = FramerConfig { accept_missing_checksum: lenient };
        let whole = run(&[&bytes], config);
        let chunks = split_at_cuts(&bytes, &cuts);
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(&run(&refs, config), &whole);
        for line in whole.iter().flatten() {
            prop_assert!(line.len() <= MAX_SENTENCE_LEN);
            prop_assert!(line.starts_with('$') || line.starts_with('!'));
            prop_assert!(line.bytes().all(|b| (0x20..0x7f).contains(&b)));
        }
    }

    #[test]
    fn sentences_survive_any_noise_between_them(
        parts in prop::collection::vec((noise(), sentence()), 1..20),
        cuts in prop::collection::vec(any::<usize>(), 0..16),
    ) {
        let mut bytes = Vec::new();
        for (junk, sentence) in &parts {
            bytes.extend_from_slice(junk);
            bytes.extend_from_slice(sentence.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        let chunks = split_at_cuts(&bytes, &cuts);
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let accepted: Vec<String> = run(&refs, FramerConfig::default()).into_iter().flatten().collect();
        let sent: Vec<String> = parts.into_iter().map(|(_, s)| s).collect();
        prop_assert_eq!(accepted, sent);
    }
}

#[test]
fn framer_memory_is_fixed() {
    // The only buffer is inline: a flood cannot grow it.
    assert!(std::mem::size_of::<Framer>() <= MAX_SENTENCE_LEN + 64);
}
