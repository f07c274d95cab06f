//! Timestamps on the wire: RFC 3339, written by chrono, read with a fast path.
//!
//! Every feed entry carries a dozen or more timestamps, and chrono's general RFC 3339 parser
//! (a format-item interpreter) made them most of the cost of decoding a feed page (about
//! 19 µs a case, measured in `egov-sim`'s feed bench). The upstream writes them in one fixed
//! shape, `YYYY-MM-DDTHH:MM:SSZ`, possibly with a fraction; that shape is parsed directly,
//! and anything else still goes through chrono, so every valid RFC 3339 time is accepted.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::Visitor;
use serde::{Deserializer, Serialize, Serializer};

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…]Z`, or `None` for any other shape.
fn parse_utc_fast(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[b.len() - 1] != b'Z'
    {
        return None;
    }
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            digits(fraction)? * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(
        digits(&b[0..4])? as i32,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )?;
    let time = date.and_hms_nano_opt(
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
        nanos,
    )?;
    Some(time.and_utc())
}

fn parse<E: serde::de::Error>(text: &str) -> Result<DateTime<Utc>, E> {
    match parse_utc_fast(text) {
        Some(time) => Ok(time),
        None => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| E::custom(format!("invalid RFC 3339 time {text:?}: {e}"))),
    }
}

pub fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    time.serialize(serializer)
}

/// Reads the time from whatever string the format hands over, borrowed or transient, without
/// copying it (serde's `Cow<str>` would always allocate).
struct TimeVisitor;

impl<'de> Visitor<'de> for TimeVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an RFC 3339 time")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
        parse(text)
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(TimeVisitor)
}

/// The same for optional timestamps.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        time: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        time.serialize(serializer)
    }

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an RFC 3339 time or null")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            super::deserialize(deserializer).map(Some)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        deserializer.deserialize_option(OptionVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chrono_parse(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    #[test]
    fn the_fast_path_agrees_with_chrono() {
        for text in [
            "2026-11-29T01:02:03Z",
            "2026-02-28T23:59:59.5Z",
            "2024-02-29T00:00:00.123456789Z",
        ] {
            assert_eq!(parse_utc_fast(text), chrono_parse(text), "{text}");
        }
    }

    #[test]
    fn other_shapes_fall_back_or_fail() {
        // Offsets are valid RFC 3339 and go through chrono.
        let offset: DateTime<Utc> =
            parse::<serde_json::Error>("2026-11-29T09:02:03+08:00").unwrap();
        assert_eq!(offset, chrono_parse("2026-11-29T01:02:03Z").unwrap());
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T01:02Z",
            "x",
        ] {
            assert!(parse::<serde_json::Error>(bad).is_err(), "{bad}");
        }
    }

    #[derive(Debug, serde::Deserialize)]
    struct Stamped {
        #[serde(with = "super")]
        at: DateTime<Utc>,
        #[serde(default, with = "option")]
        until: Option<DateTime<Utc>>,
    }

    #[test]
    fn fields_read_times_nulls_escapes_and_bad_types() {
        let read = |json: &str| serde_json::from_str::<Stamped>(json);
        let at = chrono_parse("2026-11-29T01:02:03Z").unwrap();
        let both = read(r#"{"at":"2026-11-29T01:02:03Z","until":"2026-11-29T09:02:03+08:00"}"#);
        assert_eq!(both.unwrap().until, Some(at));
        // An escaped character makes serde_json hand over a transient copy, not a borrow.
        let escaped = read(r#"{"at":"2026-11-29T01:02:03\u005a","until":null}"#).unwrap();
        assert_eq!((escaped.at, escaped.until), (at, None));
        assert_eq!(
            read(r#"{"at":"2026-11-29T01:02:03Z"}"#).unwrap().until,
            None
        );
        for bad in [r#"{"at":17}"#, r#"{"at":null}"#, r#"{"at":"x","until":1}"#] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_time_chrono_writes_reads_back(secs in 0i64..4_102_444_800, nanos in 0u32..1_000_000_000) {
            let time = DateTime::from_timestamp(secs, nanos).unwrap();
            let json = serde_json::to_string(&time).unwrap();
            let mut de = serde_json::Deserializer::from_str(&json);
            prop_assert_eq!(deserialize(&mut de).unwrap(), time);
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,40}") {
            let _ = parse::<serde_json::Error>(&text);
        }
    }
}
