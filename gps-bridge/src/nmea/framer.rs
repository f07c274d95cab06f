//! Byte-stream framer: turns arbitrary read chunks into checksum-checked sentence lines.
//!
//! The framer is sans-io: the caller pushes whatever bytes a read returned and gets back, through
//! a callback, every complete line and every reject. A line that is complete inside the pushed
//! chunk is handed out borrowed from that chunk; only a line split across reads is copied into a
//! fixed internal buffer, so framing never allocates and memory is bounded by
//! [`MAX_SENTENCE_LEN`] whatever the input.
//!
//! Rules (chosen to accept exactly what gpsd's packet lexer accepts on the gpsd corpus):
//! - a sentence starts at `$` or `!`; anything else between sentences is junk, counted once per
//!   run;
//! - a repeated leader (`$$GPGGA`) restarts the sentence silently; a leader in the middle of a
//!   sentence means the previous one was cut short (it is rejected as [`Reject::Interrupted`]);
//! - the sentence ends at `\r` or `\n` (so `\r\n`, `\n` and `\r\r\n` all work);
//! - any byte that is not printable ASCII inside a sentence rejects it ([`Reject::Binary`]);
//! - a sentence longer than [`MAX_SENTENCE_LEN`] is rejected and skipped up to its line end;
//! - the checksum (`*hh`, either case) must match; a sentence without one is rejected unless
//!   [`FramerConfig::accept_missing_checksum`] is set.

use std::fmt;

use super::fields::ascii;

/// Longest sentence accepted, leader to checksum, without the line ending. NMEA 0183 allows 82
/// characters with CRLF, but real receivers send more: the gpsd corpus has 203-character
/// `$PMTKCHN` sentences. gpsd's own limit is comparable.
pub const MAX_SENTENCE_LEN: usize = 256;

/// Why some bytes were not accepted as a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reject {
    /// Bytes outside any sentence (one count per run up to the next leader).
    Junk,
    /// A non-printable byte inside a sentence.
    Binary,
    /// A line longer than [`MAX_SENTENCE_LEN`].
    TooLong,
    /// A new leader arrived before the sentence was finished.
    Interrupted,
    /// No `*hh` checksum (and the configuration requires one).
    NoChecksum,
    /// A `*` not followed by exactly two hex digits.
    MalformedChecksum,
    /// The checksum does not match the contents.
    BadChecksum,
    /// The address is no talker and sentence type gpsd knows (`$LOG108`, `$IMGSA`).
    BadAddress,
}

impl Reject {
    /// Stable snake_case name used in logs, JSON and the status report.
    pub fn name(self) -> &'static str {
        match self {
            Reject::Junk => "junk",
            Reject::Binary => "binary",
            Reject::TooLong => "too_long",
            Reject::Interrupted => "interrupted",
            Reject::NoChecksum => "no_checksum",
            Reject::MalformedChecksum => "malformed_checksum",
            Reject::BadChecksum => "bad_checksum",
            Reject::BadAddress => "bad_address",
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Framer settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FramerConfig {
    /// Accept sentences that carry no checksum at all (gpsd rejects them; some old receivers,
    /// such as the HP 58534A, never send one).
    pub accept_missing_checksum: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between sentences, looking for a leader. `junk` is set once a junk byte was seen.
    Hunting { junk: bool },
    /// Inside a sentence whose first `len` bytes are in the buffer.
    Sentence,
    /// Skipping the rest of an over-long line.
    Discarding,
}

/// Splits a byte stream into sentences. See the module documentation for the rules.
#[derive(Debug, Clone)]
pub struct Framer {
    config: FramerConfig,
    state: State,
    buf: [u8; MAX_SENTENCE_LEN],
    len: usize,
}

/// What the scan of a sentence body stopped at.
enum Stop {
    /// `\r` or `\n` at this index.
    LineEnd(usize),
    /// `$` or `!` at this index.
    Leader(usize),
    /// A non-printable byte at this index.
    Binary(usize),
    /// The slice ended with only ordinary sentence bytes.
    End,
}

fn is_leader(b: u8) -> bool {
    b == b'$' || b == b'!'
}

fn is_line_end(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Whether `word` may hold a byte that is not an ordinary sentence character: one below 0x25
/// (controls, line ends, and the leaders `!` and `$`, along with the rare space, `"` and `#`)
/// or above 0x7e. Never false when such a byte is there; sometimes true when not (then the
/// bytes are looked at one by one). Borrows and carries between lanes only add false alarms.
fn maybe_special(word: u64) -> bool {
    (word.wrapping_sub(ONES * 0x25) | word | word.wrapping_add(ONES)) & HIGH_BITS != 0
}

fn is_ordinary(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && !is_leader(b)
}

fn classify(b: u8, i: usize) -> Stop {
    if is_line_end(b) {
        Stop::LineEnd(i)
    } else if is_leader(b) {
        Stop::Leader(i)
    } else {
        Stop::Binary(i)
    }
}

/// First byte in `bytes` that is not an ordinary sentence character, and the XOR of the bytes
/// before it (the running NMEA checksum). Eight bytes are tested at a time: on a sentence stream
/// this scan is most of the framer's work.
fn scan(bytes: &[u8]) -> (Stop, u8) {
    let mut xor = 0u64;
    let mut words = bytes.chunks_exact(8);
    for (w, chunk) in words.by_ref().enumerate() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        if maybe_special(word)
            && let Some(j) = chunk.iter().position(|&b| !is_ordinary(b))
        {
            let partial = xor_bytes(fold_xor(xor), &chunk[..j]);
            return (classify(chunk[j], w * 8 + j), partial);
        }
        xor ^= word;
    }
    let mut xor = fold_xor(xor);
    let tail = words.remainder();
    let base = bytes.len() - tail.len();
    for (i, &b) in tail.iter().enumerate() {
        if !is_ordinary(b) {
            return (classify(b, base + i), xor);
        }
        xor ^= b;
    }
    (Stop::End, xor)
}

fn fold_xor(word: u64) -> u8 {
    xor_bytes(0, &word.to_le_bytes())
}

/// `start` XOR every byte of `bytes`: the NMEA checksum arithmetic.
fn xor_bytes(start: u8, bytes: &[u8]) -> u8 {
    bytes.iter().fold(start, |acc, b| acc ^ b)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Where the `*hh` of a line starts, and the checksum it states; `None` if the line has none.
fn stated_checksum(line: &[u8]) -> Result<Option<(usize, u8)>, Reject> {
    let star = match line {
        // The usual case: the line ends in `*hh`.
        [.., b'*', _, _] if line.len() > 3 => line.len() - 3,
        _ => match line.iter().skip(1).rposition(|&b| b == b'*') {
            Some(i) => i + 1,
            None => return Ok(None),
        },
    };
    match line[star..] {
        [b'*', hi, lo] => match (hex_value(hi), hex_value(lo)) {
            (Some(hi), Some(lo)) => Ok(Some((star, hi << 4 | lo))),
            _ => Err(Reject::MalformedChecksum),
        },
        _ => Err(Reject::MalformedChecksum),
    }
}

/// `$body*hh`: `body` (address and fields) as a sentence with its checksum, for what writes
/// NMEA (the simulator, tests). The parser never needs it.
pub fn with_checksum(body: &str) -> String {
    let sum = xor_bytes(0, body.as_bytes());
    format!("${body}*{sum:02X}")
}

/// Checks the `*hh` checksum of a complete line (leader included, line ending excluded), given
/// the XOR of every byte after the leader, and returns the line without it.
fn check_line(line: &[u8], body_xor: u8, config: FramerConfig) -> Result<&[u8], Reject> {
    match stated_checksum(line)? {
        None if config.accept_missing_checksum => Ok(line),
        None => Err(Reject::NoChecksum),
        Some((star, stated)) => {
            // Take the `*hh` bytes back out of the running XOR.
            let payload_xor = xor_bytes(body_xor, &line[star..]);
            if payload_xor == stated {
                Ok(&line[..star])
            } else {
                Err(Reject::BadChecksum)
            }
        }
    }
}

/// A line that passed framing and checksum validation: printable ASCII only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub(super) raw: &'a [u8],
    pub(super) payload: &'a [u8],
}

impl<'a> Line<'a> {
    /// The sentence as received, leader and checksum included, line ending excluded.
    pub fn raw(&self) -> &'a str {
        ascii(self.raw)
    }

    /// The sentence without its leader and `*hh` checksum.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// A [`Line`] kept past the read it came from (to send it to another thread): its text and
/// where its payload ends, so that it is not checked a second time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedLine {
    raw: String,
    payload_end: usize,
}

impl OwnedLine {
    pub fn line(&self) -> Line<'_> {
        let raw = self.raw.as_bytes();
        Line {
            raw,
            payload: &raw[1..self.payload_end],
        }
    }

    pub fn raw(&self) -> &str {
        &self.raw
    }
}

impl From<Line<'_>> for OwnedLine {
    fn from(line: Line<'_>) -> Self {
        OwnedLine {
            raw: line.raw().to_owned(),
            // The payload starts after the one-byte leader.
            payload_end: 1 + line.payload.len(),
        }
    }
}

impl Framer {
    pub fn new(config: FramerConfig) -> Self {
        Framer {
            config,
            state: State::Hunting { junk: false },
            buf: [0; MAX_SENTENCE_LEN],
            len: 0,
        }
    }

    /// Forgets any partial sentence, e.g. when the port was reopened or the baud rate changed.
    pub fn reset(&mut self) {
        self.state = State::Hunting { junk: false };
        self.len = 0;
    }

    /// Feeds a chunk of bytes; `on_line` receives each accepted line or reject, in stream order.
    pub fn push(&mut self, mut input: &[u8], mut on_line: impl FnMut(Result<Line<'_>, Reject>)) {
        while !input.is_empty() {
            input = match self.state {
                State::Hunting { junk } => self.hunt(input, junk, &mut on_line),
                State::Sentence => self.continue_sentence(input, &mut on_line),
                State::Discarding => self.discard(input),
            };
        }
    }

    fn hunt<'i>(
        &mut self,
        input: &'i [u8],
        mut junk: bool,
        on_line: &mut impl FnMut(Result<Line<'_>, Reject>),
    ) -> &'i [u8] {
        let Some(start) = input.iter().position(|&b| is_leader(b)) else {
            junk |= input.iter().any(|&b| !is_line_end(b));
            self.state = State::Hunting { junk };
            return &[];
        };
        junk |= input[..start].iter().any(|&b| !is_line_end(b));
        if junk {
            on_line(Err(Reject::Junk));
        }
        let sentence = &input[start..];
        // The body is scanned at most one byte past the limit, so a flood without line ends
        // is cut off after MAX_SENTENCE_LEN bytes, whatever the chunk size.
        let limit = sentence.len().min(MAX_SENTENCE_LEN + 1);
        match scan(&sentence[1..limit]) {
            (Stop::LineEnd(i), body_xor) => {
                self.state = State::Hunting { junk: false };
                finish(&sentence[..=i], body_xor, self.config, on_line);
                &sentence[i + 2..]
            }
            (stop, _) => {
                self.len = 0;
                self.absorb(sentence, 1, limit, stop, on_line)
            }
        }
    }

    fn continue_sentence<'i>(
        &mut self,
        input: &'i [u8],
        on_line: &mut impl FnMut(Result<Line<'_>, Reject>),
    ) -> &'i [u8] {
        let limit = input.len().min(MAX_SENTENCE_LEN + 1 - self.len);
        let (stop, _) = scan(&input[..limit]);
        self.absorb(input, 0, limit, stop, on_line)
    }

    /// Handles a scan result for a sentence that is (or becomes) buffered. The scan covered
    /// `input[offset..scanned]`; bytes before `offset` belong to the sentence.
    fn absorb<'i>(
        &mut self,
        input: &'i [u8],
        offset: usize,
        scanned: usize,
        stop: Stop,
        on_line: &mut impl FnMut(Result<Line<'_>, Reject>),
    ) -> &'i [u8] {
        let (taken, rest) = match stop {
            Stop::LineEnd(i) | Stop::Leader(i) | Stop::Binary(i) => input.split_at(offset + i),
            Stop::End => input.split_at(scanned),
        };
        if self.len + taken.len() > MAX_SENTENCE_LEN {
            on_line(Err(Reject::TooLong));
            self.len = 0;
            self.state = State::Discarding;
            return rest;
        }
        self.buf[self.len..self.len + taken.len()].copy_from_slice(taken);
        self.len += taken.len();
        match stop {
            Stop::End => {
                self.state = State::Sentence;
                rest
            }
            Stop::LineEnd(_) => {
                self.state = State::Hunting { junk: false };
                let len = std::mem::take(&mut self.len);
                let line = &self.buf[..len];
                let body_xor = xor_bytes(0, &line[1..]);
                finish(line, body_xor, self.config, on_line);
                &rest[1..]
            }
            Stop::Leader(_) => {
                // `$$GPGGA`: a doubled leader is noise, not a lost sentence.
                if !self.buf[..self.len].iter().all(|&b| is_leader(b)) {
                    on_line(Err(Reject::Interrupted));
                }
                self.len = 0;
                self.state = State::Hunting { junk: false };
                rest
            }
            Stop::Binary(_) => {
                on_line(Err(Reject::Binary));
                self.len = 0;
                self.state = State::Hunting { junk: false };
                &rest[1..]
            }
        }
    }

    fn discard<'i>(&mut self, input: &'i [u8]) -> &'i [u8] {
        match input.iter().position(|&b| is_line_end(b) || is_leader(b)) {
            Some(i) => {
                self.state = State::Hunting { junk: false };
                &input[i..]
            }
            None => &[],
        }
    }
}

/// Checks a complete line and hands it (or its reject) out.
fn finish(
    line: &[u8],
    body_xor: u8,
    config: FramerConfig,
    on_line: &mut impl FnMut(Result<Line<'_>, Reject>),
) {
    // The checksum first: a garbled line is a bad checksum, and `bad_address` counts only
    // sentences that arrived whole from something that is not an NMEA talker. (gpsd's lexer
    // looks at the address first; either order accepts the same sentences.)
    let checked = check_line(line, body_xor, config).and_then(|without_sum| {
        if super::address::is_valid(line[0], &line[1..]) {
            Ok(without_sum)
        } else {
            Err(Reject::BadAddress)
        }
    });
    on_line(checked.map(|without_sum| Line {
        raw: line,
        payload: &line[1..without_sum.len()],
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owned_line_is_the_line_it_was_made_from() {
        let mut framer = Framer::new(FramerConfig::default());
        let mut lines = Vec::new();
        framer.push(b"$GPRMB,V,,,,,,,,,,,,A,S*0e\r\n$GPRTE,1,1,c,*37\n", |r| {
            let line = r.unwrap();
            let owned = OwnedLine::from(line);
            assert_eq!(owned.line(), line);
            lines.push(owned);
        });
        assert_eq!(lines[1].raw(), "$GPRTE,1,1,c,*37");
        assert_eq!(lines[1].line().payload(), b"GPRTE,1,1,c,");
    }

    #[test]
    fn the_word_test_never_misses_a_special_byte() {
        for lane in 0..8 {
            for b in 0..=255u8 {
                let mut bytes = [b'A'; 8];
                bytes[lane] = b;
                let word = u64::from_le_bytes(bytes);
                if !is_ordinary(b) {
                    assert!(maybe_special(word), "byte {b:#04x} in lane {lane}");
                }
                let (stop, _) = scan(&bytes);
                let expected = (!is_ordinary(b)).then_some(lane);
                let found = match stop {
                    Stop::LineEnd(i) | Stop::Leader(i) | Stop::Binary(i) => Some(i),
                    Stop::End => None,
                };
                assert_eq!(found, expected, "byte {b:#04x} in lane {lane}");
            }
        }
    }
}
