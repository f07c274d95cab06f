//! Property tests: the framer and decoder never panic, stay within their bounds and do not
//! depend on how the stream was split into reads; and they never allocate (counted by this
//! test binary's global allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use gps_bridge::nmea::{
    Framer, FramerConfig, MAX_SENTENCE_LEN, Reject, Sentence, decode, with_checksum,
};
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

/// A well-formed sentence with a correct checksum: a talker gpsd knows and a type, or a
/// proprietary address.
fn sentence() -> impl Strategy<Value = String> {
    (
        "(GP|GN|GL|GA|BD|GB|QZ)[A-Z]{3}|P[A-Z]{4}",
        "[ -~&&[^$!*]]{0,60}",
    )
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

/// Allocations made by each thread, so that tests running at once do not count each other's.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_allocation() {
    // During thread teardown the counter may be gone; nothing is measured then.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is passed on to the system allocator unchanged; counting touches only a
// thread-local Cell, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn framing_and_decoding_never_allocate() {
    // Every kind of sentence the decoder knows, and every kind of damage the framer handles.
    let mut stream = Vec::new();
    for body in [
        "GPGGA,120824.76,3908.8199,N,00023.0832,W,1,08,0.9,545.4,M,46.9,M,,",
        "GNRMC,120824.76,A,3908.8199,N,00023.0832,W,0.0,0.0,010125,,,A",
        "GPGLL,3908.8199,N,00023.0832,W,120824,A",
        "GPGSA,A,3,02,05,10,13,15,18,24,29,,,,,1.8,1.0,1.5",
        "GPGSV,2,1,08,02,45,058,42,05,31,301,39,10,62,141,45,13,18,201,36",
        "GPVTG,054.7,T,034.4,M,005.5,N,010.2,K,A",
        "GPZDA,120824.76,01,01,2025,-05,00",
        "GPGST,120824.76,1.2,2.4,1.6,0.0,2.0,2.0,3.2",
        "GNGNS,120824.76,3908.8199,N,00023.0832,W,AN,08,0.9,545.4,46.9,,",
        "GPWPL,3908.8199,N,11623.0832,E,C1",
        "GPRTE,2,1,c,PLOT7,C1,C2,C3",
        "GPBOD,099.3,T,105.6,M,POINTB,POINTA",
        "GPRMB,A,0.66,L,003,004,4917.24,N,12309.57,W,001.3,052.5,000.5,V",
        "PGRME,3.0,M,5.0,M,6.0,M",
        "PGRMZ,246,f,3",
        "PGRMM,WGS 84",
        "PGRMT,GPS 12 VER 4.57,P,P,R,R,P,,22,R",
        "PMGNWPL,3339.889,N,11736.283,W,0000155,M,CORNER1,first corner,a",
        "PMGNRTE,1,1,c,1,PLOT9,M1,a,M2,a",
        "PSRFTXT,Version 2.3",
        "GPGGA,120824,9100.0,N,00023.0832,W,1,08,0.9,545.4,M,46.9,M,,",
    ] {
        stream.extend_from_slice(with_checksum(body).as_bytes());
        stream.extend_from_slice(b"\r\n");
    }
    stream.extend_from_slice(b"\x00\xff junk $$GPGGA,bad*00\r\n$GPGGA,cut");
    stream.extend_from_slice(&[b'9'; 10_000]);
    stream.extend_from_slice(b"\n$GPRTE,1,1,c,*37\n");

    for chunk in [1, 7, 64, stream.len()] {
        let before = allocations();
        let mut framer = Framer::new(FramerConfig::default());
        let (mut decoded, mut rejected) = (0, 0);
        for piece in stream.chunks(chunk) {
            framer.push(piece, |r| match r.map(decode) {
                Ok(Ok(parsed)) => {
                    decoded += 1;
                    // What decodes lazily is read too.
                    match parsed.sentence {
                        Sentence::Gsv(gsv) => gsv.satellites().for_each(drop),
                        Sentence::Rte(route) | Sentence::Pmgnrte(route) => {
                            route.waypoints().for_each(drop)
                        }
                        _ => {}
                    }
                }
                Ok(Err(_)) | Err(_) => rejected += 1,
            });
        }
        assert_eq!(allocations() - before, 0, "chunks of {chunk}");
        // Rejected: the latitude of 91°, the junk, the bad checksum, the flood.
        assert_eq!((decoded, rejected), (21, 4), "chunks of {chunk}");
    }
    // The counter does count: a sentence kept past the read allocates.
    let before = allocations();
    let kept = with_checksum("GPRTE,1,1,c,");
    assert!(allocations() > before, "{kept}");
}
