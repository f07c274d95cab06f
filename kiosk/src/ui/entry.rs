//! Keys, told apart: the on-screen keypad, a keyboard, and a USB barcode scanner, which types a
//! receipt's code as a burst of keys ending in Enter, on whatever page is showing. Pure: every
//! call takes the time of the key.

use chrono::{DateTime, Utc};

/// Longest case number accepted (the mirror's lookup takes up to 64 bytes).
pub const MAX_CASE_NO: usize = 32;
/// Longest verification code accepted.
pub const MAX_CODE: usize = 12;
/// Fewer characters than this are no case number.
pub const MIN_CASE_NO: usize = 6;
/// A scanner types faster than any hand: at most this long between the keys of a burst.
/// Measured scanners send a key every 2-20 ms; a fast typist needs 80 ms or more.
pub const BURST_GAP_MS: i64 = 50;
/// A burst is at least this long: shorter ones are a hand that hit two keys at once.
const MIN_BURST: usize = 4;
/// A burst longer than this is not kept further (a scanner reading a long QR code).
const MAX_BURST: usize = 256;

/// What a key means to the kiosk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Backspace,
    /// Arrows, function keys, Escape: no use on the kiosk (and no way out of it).
    Other,
}

/// The key of a Slint key event's text.
pub fn key(text: &str) -> Key {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some('\n' | '\r'), None) => Key::Enter,
        (Some('\u{8}' | '\u{7f}'), None) => Key::Backspace,
        // Slint maps special keys to the private use area (U+F700 on).
        (Some(c), None) if !c.is_control() && !('\u{e000}'..='\u{f8ff}').contains(&c) => {
            Key::Char(c)
        }
        _ => Key::Other,
    }
}

/// A character as it goes into a case number: receipts print upper case; scanners and hands
/// vary. `None` for characters case numbers do not use.
pub fn case_char(c: char) -> Option<char> {
    let c = c.to_ascii_uppercase();
    (c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-').then_some(c)
}

/// A character of a verification code.
pub fn code_char(c: char) -> Option<char> {
    c.is_ascii_alphanumeric().then_some(c)
}

/// What a scanned or typed text is, as a case number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseNumber {
    Valid(String),
    /// Garbage: not the shape of a case number (a URL, another code, line noise).
    Invalid,
}

/// Checks `text` against the shape of a case number: letters, digits and single hyphens,
/// starting with a letter, with digits in it, 6 to 32 characters (GY2026-ZJD-000123).
pub fn case_number(text: &str) -> CaseNumber {
    let normal: Option<String> = text.trim().chars().map(case_char).collect();
    let Some(normal) = normal else {
        return CaseNumber::Invalid;
    };
    let shaped = (MIN_CASE_NO..=MAX_CASE_NO).contains(&normal.len())
        && normal.starts_with(|c: char| c.is_ascii_uppercase())
        && !normal.ends_with('-')
        && !normal.contains("--")
        && normal.contains(|c: char| c.is_ascii_digit());
    if shaped {
        CaseNumber::Valid(normal)
    } else {
        CaseNumber::Invalid
    }
}

/// The letters a case number starts with: its hall (GY in GY2026-ZJD-000123).
pub fn hall_prefix(case_no: &str) -> &str {
    let end = case_no
        .find(|c: char| !c.is_ascii_uppercase())
        .unwrap_or(case_no.len());
    &case_no[..end]
}

/// Watches the characters typed for a scanner's burst.
#[derive(Debug, Default)]
pub struct Burst {
    text: String,
    last: Option<DateTime<Utc>>,
}

impl Burst {
    /// Adds a character typed at `now`; a pause longer than a scanner's starts a new burst.
    pub fn push(&mut self, c: char, now: DateTime<Utc>) {
        if self
            .last
            .is_none_or(|last| gap_ms(last, now) > BURST_GAP_MS)
        {
            self.text.clear();
        }
        if self.text.len() < MAX_BURST {
            self.text.push(c);
        }
        self.last = Some(now);
    }

    /// Enter at `now`: the burst it ends, if the keys before it came as a scanner sends them.
    pub fn enter(&mut self, now: DateTime<Utc>) -> Option<String> {
        let burst = self
            .last
            .is_some_and(|last| gap_ms(last, now) <= BURST_GAP_MS)
            && self.text.chars().count() >= MIN_BURST;
        let text = std::mem::take(&mut self.text);
        self.last = None;
        burst.then_some(text)
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.last = None;
    }
}

fn gap_ms(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_milliseconds()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn keys_of_slint_events() {
        assert_eq!(key("a"), Key::Char('a'));
        assert_eq!(key("\n"), Key::Enter);
        assert_eq!(key("\r"), Key::Enter);
        assert_eq!(key("\u{8}"), Key::Backspace);
        assert_eq!(key("\u{1b}"), Key::Other);
        assert_eq!(key("\u{f700}"), Key::Other, "an arrow key");
        assert_eq!(key("ab"), Key::Other);
        assert_eq!(key(""), Key::Other);
    }

    #[test]
    fn case_numbers_are_normalised_and_shaped() {
        assert_eq!(
            case_number(" gy2026-zjd-000123\t"),
            CaseNumber::Valid("GY2026-ZJD-000123".into())
        );
        for garbage in [
            "https://example.gov.cn/q?c=GY2026",
            "GY2026--ZJD",
            "2026-ZJD-0001",
            "GY2026-",
            "ABCDEFG",
            "GY1",
            "甲2026-ZJD-000123",
            "GY2026-ZJD-000123-000123-000123-000123",
            "\u{0}\u{1}GY2026",
        ] {
            assert_eq!(case_number(garbage), CaseNumber::Invalid, "{garbage:?}");
        }
        assert_eq!(hall_prefix("GY2026-ZJD-000123"), "GY");
        assert_eq!(hall_prefix("CZ2026-BDC-000001"), "CZ");
        assert_eq!(case_char('z'), Some('Z'));
        assert_eq!(case_char('_'), None);
        assert_eq!(
            code_char('７'),
            None,
            "a full-width digit is not a code digit"
        );
    }

    #[test]
    fn a_scanner_burst_is_told_from_typing() {
        let mut burst = Burst::default();
        for (i, c) in "GY2026-ZJD-000123".chars().enumerate() {
            burst.push(c, at(i as i64 * 8));
        }
        assert_eq!(burst.enter(at(17 * 8)), Some("GY2026-ZJD-000123".into()));
        assert_eq!(burst.enter(at(200)), None, "the burst was taken");

        // A person types the same, a key every 150 ms: Enter is theirs, not a scan.
        for (i, c) in "GY2026".chars().enumerate() {
            burst.push(c, at(1_000 + i as i64 * 150));
        }
        assert_eq!(burst.enter(at(1_000 + 6 * 150)), None);

        // A slow start, then a burst: only the burst counts.
        burst.push('X', at(5_000));
        for (i, c) in "BDC-0001".chars().enumerate() {
            burst.push(c, at(6_000 + i as i64 * 10));
        }
        assert_eq!(burst.enter(at(6_080)), Some("BDC-0001".into()));

        // Two keys at once and Enter: too short for a receipt.
        burst.push('1', at(9_000));
        burst.push('2', at(9_001));
        assert_eq!(burst.enter(at(9_002)), None);
    }

    #[test]
    fn a_flood_of_keys_is_bounded() {
        let mut burst = Burst::default();
        for i in 0..10_000 {
            burst.push('A', at(i));
        }
        assert_eq!(burst.enter(at(10_000)).map(|t| t.len()), Some(MAX_BURST));
    }
}
