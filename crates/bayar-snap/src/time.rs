//! `X-TIMESTAMP` parsing and Asia/Jakarta formatting.
//!
//! Senders disagree on the exact form (`Z`, `-00:00`, `+07:00`, with or without
//! milliseconds), so parsing accepts any RFC 3339 timestamp with an explicit offset.
//! It rejects what RFC 3339 does not allow but lenient parsers do (a space instead of
//! `T`, `+0700`). Signatures always use the header string byte-for-byte; the parsed
//! value is only for the clock-skew window. bayar emits `YYYY-MM-DDTHH:mm:ss+07:00`,
//! which every surveyed provider accepts.

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};

/// Asia/Jakarta's offset from UTC in seconds (WIB, UTC+7, no daylight saving).
pub const JAKARTA_OFFSET_SECS: i32 = 7 * 3600;

/// Longest timestamp accepted; real ones are 20 to 35 characters. Bounding the length
/// keeps garbage headers cheap to reject.
const MAX_TIMESTAMP_LEN: usize = 64;

// Evaluated at compile time, so the `panic!` can never fire at runtime.
const JAKARTA: FixedOffset = match FixedOffset::east_opt(JAKARTA_OFFSET_SECS) {
    Some(offset) => offset,
    None => panic!("UTC+7 is a valid offset"),
};

/// Why an `X-TIMESTAMP` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The value is empty.
    #[error("timestamp is empty")]
    Empty,
    /// The value is longer than any valid timestamp.
    #[error("timestamp is too long ({len} bytes, at most {MAX_TIMESTAMP_LEN})")]
    TooLong {
        /// Length of the rejected value in bytes.
        len: usize,
    },
    /// The date and time are not separated by an upper-case `T`.
    #[error("date and time must be separated by 'T' (yyyy-MM-ddTHH:mm:ss±hh:mm)")]
    Separator,
    /// No UTC offset after the time.
    #[error("timestamp has no UTC offset (expected 'Z' or ±hh:mm)")]
    MissingOffset,
    /// An offset that is not `Z` or `±hh:mm` (e.g. `+0700`).
    #[error("UTC offset must be 'Z' or ±hh:mm")]
    BadOffset,
    /// Any other deviation from RFC 3339 (bad date, bad time, trailing characters).
    #[error("timestamp is not RFC 3339 (yyyy-MM-ddTHH:mm:ss[.SSS]±hh:mm): {0}")]
    Invalid(chrono::ParseError),
}

/// Asia/Jakarta as a fixed UTC+7 offset.
pub fn jakarta() -> FixedOffset {
    JAKARTA
}

/// Parses an RFC 3339 timestamp with a mandatory offset (`Z`, `-00:00`, `+07:00`),
/// with or without fractional seconds, e.g. `2024-03-01T08:27:49.024Z` or
/// `2020-12-17T10:55:00+07:00`.
pub fn parse_timestamp(s: &str) -> Result<DateTime<FixedOffset>, TimestampError> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err(TimestampError::Empty);
    }
    if bytes.len() > MAX_TIMESTAMP_LEN {
        return Err(TimestampError::TooLong { len: bytes.len() });
    }
    // chrono also accepts ' ' and 't' here; SNAP senders use 'T' and a space usually
    // means a hand-built or proxied value, which we want to surface as a format error.
    if bytes.get(10) != Some(&b'T') {
        return Err(TimestampError::Separator);
    }
    check_offset(bytes.get(11..).unwrap_or_default())?;
    DateTime::parse_from_rfc3339(s).map_err(TimestampError::Invalid)
}

/// Classifies the offset of the time part (everything after `T`) to give a precise
/// reason; chrono does the full validation afterwards.
fn check_offset(time: &[u8]) -> Result<(), TimestampError> {
    if matches!(time.last(), Some(b'Z' | b'z')) {
        return Ok(());
    }
    // The time itself (`HH:mm:ss.SSS`) contains neither sign, so the last sign starts
    // the offset.
    let Some(sign) = time.iter().rposition(|&b| b == b'+' || b == b'-') else {
        return Err(TimestampError::MissingOffset);
    };
    match time.get(sign + 1..) {
        Some([h1, h2, b':', m1, m2]) if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) => {
            Ok(())
        }
        _ => Err(TimestampError::BadOffset),
    }
}

/// Formats `t` in Asia/Jakarta time as `YYYY-MM-DDTHH:mm:ss+07:00` (no fraction).
pub fn format_jakarta(t: DateTime<Utc>) -> String {
    // The RFC 3339 writer, not a `format("%Y-...")` string that is parsed again on every call
    // (every signed answer and notification carries one of these).
    t.with_timezone(&JAKARTA)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The calendar day in Jakarta at instant `t`; SNAP scopes `X-EXTERNAL-ID` uniqueness
/// to this day.
pub fn jakarta_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&JAKARTA).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn accepts_sender_variants() {
        for s in [
            "2024-03-01T08:27:49.024Z",
            "2026-11-22T10:43:26-00:00",
            "2020-12-17T10:55:00+07:00",
            "2026-11-22T10:42:37Z",
            "2026-11-22T17:44:36.123+07:00",
        ] {
            assert!(parse_timestamp(s).is_ok(), "{s}");
        }
        let t = parse_timestamp("2020-12-17T10:55:00+07:00").unwrap();
        assert_eq!(t.offset().local_minus_utc(), JAKARTA_OFFSET_SECS);
        assert_eq!(t.timestamp(), 1_608_177_300);
    }

    #[test]
    fn rejects_with_reasons() {
        use TimestampError::*;
        assert_eq!(parse_timestamp(""), Err(Empty));
        assert_eq!(parse_timestamp("2020-12-17T10:55:00+0700"), Err(BadOffset));
        assert_eq!(parse_timestamp("2020-12-17T10:55:00"), Err(MissingOffset));
        assert_eq!(parse_timestamp("2020-12-17 10:55:00+07:00"), Err(Separator));
        assert_eq!(parse_timestamp("2020-12-17"), Err(Separator));
        assert!(matches!(
            parse_timestamp("2020-13-17T10:55:00+07:00"),
            Err(Invalid(_))
        ));
        assert!(matches!(
            parse_timestamp(&"9".repeat(100)),
            Err(TooLong { len: 100 })
        ));
        // Multi-byte characters around the separator must not cause a slicing panic.
        assert!(parse_timestamp("2020-12-1éT10:55:00+07:00").is_err());
        assert!(parse_timestamp("2020-12-17T10:55:00+07:0é").is_err());
    }

    #[test]
    fn jakarta_formatting_and_day() {
        let t = Utc.with_ymd_and_hms(2024, 3, 1, 17, 30, 5).unwrap();
        assert_eq!(format_jakarta(t), "2024-03-02T00:30:05+07:00");
        assert_eq!(
            jakarta_date(t),
            NaiveDate::from_ymd_opt(2024, 3, 2).unwrap()
        );
        let before = Utc.with_ymd_and_hms(2024, 3, 1, 16, 59, 59).unwrap();
        assert_eq!(
            jakarta_date(before),
            NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
        );
        assert_eq!(jakarta().local_minus_utc(), 25_200);
    }

    #[test]
    fn formatting_matches_the_strftime_form_and_drops_the_fraction() {
        for (secs, nanos) in [
            (0, 0),
            (1_709_314_205, 999_999_999),
            (1_735_664_399, 123_000_000),
            (4_102_444_799, 1),
        ] {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            let strftime = t
                .with_timezone(&JAKARTA)
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string();
            assert_eq!(format_jakarta(t), strftime);
        }
    }

    #[test]
    fn formatted_output_parses_back() {
        let t = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let parsed = parse_timestamp(&format_jakarta(t)).unwrap();
        assert_eq!(parsed.with_timezone(&Utc), t);
    }
}
