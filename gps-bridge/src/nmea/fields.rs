//! Field-level parsing: the comma-separated fields of a payload and the value formats NMEA uses
//! (decimals, ddmm.mmmm coordinates, hhmmss.ss times, ddmmyy dates).
//!
//! An empty field is "not sent" and parses to `None`; a field that is present but malformed is a
//! [`FieldError`], so a sentence can be told apart from one that merely omits data.

use std::fmt;

/// A present but unusable field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    /// 1-based field number after the address, as in the NMEA tables.
    pub field: u8,
    pub problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not a number, or not in the field's format.
    Malformed,
    /// A number outside the field's range (minute 61, a negative coordinate, ...).
    OutOfRange,
    /// A latitude beyond 90° or a longitude beyond 180°: well formed, but no place on earth.
    PositionOutOfRange,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.problem {
            Problem::Malformed => "malformed",
            Problem::OutOfRange => "out of range",
            Problem::PositionOutOfRange => "position out of range",
        };
        write!(f, "field {} {what}", self.field)
    }
}

/// Cursor over the fields of a payload (the text between the address and the checksum).
/// Fields past the end read as empty, since receivers routinely drop trailing empty fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields<'a> {
    rest: Option<&'a [u8]>,
    number: u8,
}

/// Text of a framed line. The framer admits only printable ASCII, so the conversion cannot fail;
/// it is done per field, on demand, because most fields are numbers and never need it.
pub fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl<'a> Fields<'a> {
    /// `after_address` is the payload after the address, starting at the first comma (or empty).
    pub fn new(after_address: &'a [u8]) -> Self {
        Fields {
            rest: after_address.strip_prefix(b","),
            number: 0,
        }
    }

    /// A cursor with no fields left.
    pub fn exhausted() -> Self {
        Fields {
            rest: None,
            number: 0,
        }
    }

    /// Whether every field has been read.
    pub fn is_exhausted(&self) -> bool {
        self.rest.is_none()
    }

    /// The next field's text ("" when absent).
    #[inline]
    pub fn text(&mut self) -> &'a str {
        ascii(self.bytes())
    }

    /// The next field's bytes (empty when absent).
    #[inline]
    pub fn bytes(&mut self) -> &'a [u8] {
        self.number = self.number.saturating_add(1);
        match self.rest {
            None => &[],
            // A plain byte loop: fields are short, so this beats a memchr call.
            Some(rest) => match rest.iter().position(|&b| b == b',') {
                Some(i) => {
                    self.rest = Some(&rest[i + 1..]);
                    &rest[..i]
                }
                None => {
                    self.rest = None;
                    rest
                }
            },
        }
    }

    /// All remaining fields, unsplit (for variable-length lists such as RTE waypoints).
    pub fn remainder(&mut self) -> &'a str {
        ascii(self.rest.take().unwrap_or_default())
    }

    pub fn skip(&mut self, n: usize) {
        for _ in 0..n {
            self.bytes();
        }
    }

    fn error(&self, problem: Problem) -> FieldError {
        FieldError {
            field: self.number,
            problem,
        }
    }

    /// A decimal number. Split and parsed in one pass: numbers are most of a sentence.
    #[inline]
    pub fn f64(&mut self) -> Result<Option<f64>, FieldError> {
        self.number = self.number.saturating_add(1);
        let Some(rest) = self.rest else {
            return Ok(None);
        };
        let (value, len) = decimal_field(rest);
        self.rest = rest.get(len + 1..);
        value.map_err(|()| self.error(Problem::Malformed))
    }

    /// An unsigned integer of up to 9 digits. Split and parsed in one pass.
    #[inline]
    pub fn u32(&mut self) -> Result<Option<u32>, FieldError> {
        self.number = self.number.saturating_add(1);
        let Some(rest) = self.rest else {
            return Ok(None);
        };
        // Satellite numbers, angles and counts: most integer fields have two digits.
        if let [a @ b'0'..=b'9', b @ b'0'..=b'9', b',', ..] = rest {
            self.rest = Some(&rest[3..]);
            return Ok(Some(u32::from(a - b'0') * 10 + u32::from(b - b'0')));
        }
        let mut value = 0u32;
        let mut len = rest.len();
        let mut malformed = false;
        for (i, &b) in rest.iter().enumerate() {
            match b {
                b'0'..=b'9' => value = value.wrapping_mul(10).wrapping_add(u32::from(b - b'0')),
                b',' => {
                    len = i;
                    break;
                }
                _ => malformed = true,
            }
        }
        self.rest = rest.get(len + 1..);
        if malformed || len > 9 {
            return Err(self.error(Problem::Malformed));
        }
        Ok((len > 0).then_some(value))
    }

    /// An unsigned integer that fits 16 bits (satellite angles and signal strengths).
    #[inline]
    pub fn u16(&mut self) -> Result<Option<u16>, FieldError> {
        match self.u32()? {
            Some(v) => u16::try_from(v)
                .map(Some)
                .map_err(|_| self.error(Problem::OutOfRange)),
            None => Ok(None),
        }
    }

    /// A single character (its first byte; "" gives `None`).
    #[inline]
    pub fn char(&mut self) -> Option<u8> {
        self.bytes().first().copied()
    }

    /// A time of day, `hhmmss` with optional fraction.
    pub fn time(&mut self) -> Result<Option<TimeOfDay>, FieldError> {
        let text = self.bytes();
        if text.is_empty() {
            return Ok(None);
        }
        TimeOfDay::parse(text)
            .map(Some)
            .ok_or_else(|| self.error(Problem::Malformed))
    }

    /// A latitude (`ddmm.mmmm`) and its hemisphere field.
    pub fn latitude(&mut self) -> Result<Option<f64>, FieldError> {
        self.coordinate(b'N', b'S', 90.0)
    }

    /// A longitude (`dddmm.mmmm`) and its hemisphere field.
    pub fn longitude(&mut self) -> Result<Option<f64>, FieldError> {
        self.coordinate(b'E', b'W', 180.0)
    }

    fn coordinate(&mut self, plus: u8, minus: u8, limit: f64) -> Result<Option<f64>, FieldError> {
        let value = self.f64()?;
        let (malformed, beyond) = (
            self.error(Problem::OutOfRange),
            self.error(Problem::PositionOutOfRange),
        );
        let hemisphere = self.char();
        let (Some(value), Some(hemisphere)) = (value, hemisphere) else {
            return Ok(None);
        };
        let sign = match hemisphere {
            h if h == plus => 1.0,
            h if h == minus => -1.0,
            _ => return Err(self.error(Problem::Malformed)),
        };
        let degrees = (value / 100.0).trunc();
        let minutes = value - degrees * 100.0;
        if value < 0.0 || minutes >= 60.0 {
            return Err(malformed);
        }
        let decimal = degrees + minutes / 60.0;
        if decimal > limit {
            return Err(beyond);
        }
        Ok(Some(sign * decimal))
    }
}

/// UTC time of day as sent (`hhmmss.sss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
    /// 0..=60 (60 for a leap second).
    pub second: u8,
    pub millis: u16,
}

impl TimeOfDay {
    fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < 6 {
            return None;
        }
        let two = |i: usize| -> Option<u8> {
            let (a, b) = (bytes[i], bytes[i + 1]);
            (a.is_ascii_digit() && b.is_ascii_digit()).then(|| (a - b'0') * 10 + (b - b'0'))
        };
        let (hour, minute, second) = (two(0)?, two(2)?, two(4)?);
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let millis = match &bytes[6..] {
            [] => 0,
            [b'.', frac @ ..] if frac.iter().all(u8::is_ascii_digit) => {
                // Milliseconds from the first three digits; fewer digits are scaled up.
                let used = &frac[..frac.len().min(3)];
                let value = used
                    .iter()
                    .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
                value * [1000, 100, 10, 1][used.len()]
            }
            _ => return None,
        };
        Some(TimeOfDay {
            hour,
            minute,
            second,
            millis,
        })
    }

    /// Milliseconds since midnight.
    pub fn millis_of_day(self) -> u32 {
        ((u32::from(self.hour) * 60 + u32::from(self.minute)) * 60 + u32::from(self.second)) * 1000
            + u32::from(self.millis)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}:{:02}.{:03}",
            self.hour, self.minute, self.second, self.millis
        )
    }
}

/// Calendar date as sent (RMC `ddmmyy`, ZDA day/month/year).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn new(year: u32, month: u32, day: u32) -> Option<Self> {
        ((1..=12).contains(&month) && (1..=31).contains(&day) && year <= 9999).then_some(Date {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        })
    }

    /// RMC's `ddmmyy`. Two-digit years are read as 1980..=2079 (GPS time began in 1980).
    pub fn parse_ddmmyy(b: &[u8]) -> Option<Self> {
        if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let two = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
        let yy = two(4);
        let year = if yy >= 80 { 1900 + yy } else { 2000 + yy };
        Date::new(year, two(2), two(0))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Exact powers of ten for the fast path of [`parse_decimal`].
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Parses the decimal field at the start of `bytes`, up to the first comma; returns the value
/// (`None` for an empty field) and the field's length.
///
/// Numbers of up to 15 digits (every NMEA field) take a fast path whose result is the correctly
/// rounded value, as `str::parse` would give: both the integer mantissa and the power of ten are
/// exact in f64, and one IEEE division rounds once. Longer numbers fall back to `str::parse`.
/// Exponents, "inf" and "NaN" are not NMEA and are rejected.
fn decimal_field(bytes: &[u8]) -> (Result<Option<f64>, ()>, usize) {
    let (negative, start) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let mut mantissa: u64 = 0;
    let mut i = start;
    while let Some(d @ b'0'..=b'9') = bytes.get(i) {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        i += 1;
    }
    let integer_digits = i - start;
    let mut scale = 0;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        while let Some(d @ b'0'..=b'9') = bytes.get(i) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            i += 1;
            scale += 1;
        }
    }
    match bytes.get(i) {
        None | Some(b',') => {}
        // Anything else makes the whole field malformed; skip to its end.
        Some(_) => {
            let len = bytes[i..]
                .iter()
                .position(|&b| b == b',')
                .map_or(bytes.len(), |p| i + p);
            return (Err(()), len);
        }
    }
    let len = i;
    if len == 0 {
        return (Ok(None), 0);
    }
    if integer_digits + scale == 0 {
        return (Err(()), len);
    }
    let magnitude = if integer_digits + scale <= 15 {
        mantissa as f64 / POW10[scale]
    } else {
        match ascii(&bytes[start..len]).parse::<f64>() {
            Ok(v) => v,
            Err(_) => return (Err(()), len),
        }
    };
    (Ok(Some(if negative { -magnitude } else { magnitude })), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_decimal(bytes: &[u8]) -> Option<f64> {
        match decimal_field(bytes) {
            (Ok(value), len) if len == bytes.len() => value,
            _ => None,
        }
    }

    #[test]
    fn decimals_match_std_parse() {
        for text in [
            "0",
            "12.5",
            "-0.75",
            "4807.038",
            "01131.000",
            "123456789.123456",
            ".5",
            "5.",
        ] {
            assert_eq!(
                parse_decimal(text.as_bytes()),
                text.parse::<f64>().ok(),
                "{text}"
            );
        }
        for text in ["", "-", ".", "1e5", "NaN", "inf", "1.2.3", "12a"] {
            assert_eq!(parse_decimal(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn fields_past_the_end_are_empty() {
        let mut f = Fields::new(b",a,,b");
        assert_eq!((f.text(), f.text(), f.text(), f.text()), ("a", "", "b", ""));
        assert_eq!(Fields::new(b"").text(), "");
    }

    #[test]
    fn coordinates_convert_degrees_and_minutes() {
        let mut f = Fields::new(b",4807.038,N,01131.000,W");
        let lat = f.latitude().unwrap().unwrap();
        let lon = f.longitude().unwrap().unwrap();
        assert!((lat - 48.1173).abs() < 1e-9);
        assert!((lon + 11.516_666_666).abs() < 1e-8);
    }

    #[test]
    fn absurd_coordinates_are_out_of_range() {
        for (text, problem) in [
            (",9100.000,N", Problem::PositionOutOfRange),
            (",9000.001,S", Problem::PositionOutOfRange),
            (",36000.0000,N", Problem::PositionOutOfRange),
            (",4875.0,N", Problem::OutOfRange),
            (",-4807.0,N", Problem::OutOfRange),
        ] {
            let err = Fields::new(text.as_bytes()).latitude().unwrap_err();
            assert_eq!(err.problem, problem, "{text}");
        }
        let err = Fields::new(b",18000.06,E").longitude().unwrap_err();
        assert_eq!(err.problem, Problem::PositionOutOfRange);
        assert_eq!(Fields::new(b",9000.000,N").latitude(), Ok(Some(90.0)));
        assert_eq!(Fields::new(b",4807.0,X").latitude().unwrap_err().field, 2);
        assert_eq!(Fields::new(b",,N").latitude(), Ok(None));
    }

    #[test]
    fn times_keep_milliseconds() {
        let t = Fields::new(b",120824.76").time().unwrap().unwrap();
        assert_eq!(t.to_string(), "12:08:24.760");
        assert_eq!(t.millis_of_day(), 43_704_760);
        assert!(Fields::new(b",256000").time().is_err());
        assert!(Fields::new(b",1208").time().is_err());
    }

    #[test]
    fn two_digit_years_pivot_at_1980() {
        assert_eq!(
            Date::parse_ddmmyy(b"230394").unwrap().to_string(),
            "1994-03-23"
        );
        assert_eq!(Date::parse_ddmmyy(b"010125").unwrap().year, 2025);
        assert_eq!(Date::parse_ddmmyy(b"320125"), None);
    }
}
