//! IDR amounts as SNAP writes them: a string with exactly two decimals (`"10000.00"`).
//!
//! [`Money`] stores whole minor units (sen) in an `i64`, so arithmetic is exact and no
//! float ever touches an amount. The parser is strict, because an amount that two
//! systems read differently is a payment bug: the accepted grammar is
//! `^(0|[1-9][0-9]{0,12})\.[0-9]{2}$` (at most 13 integer digits, as BCA documents).

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most integer digits SNAP allows in an amount (`String(16,2)`; BCA: "13.2 digit length").
const MAX_INTEGER_DIGITS: usize = 13;

/// Minor units per major unit (2 decimals).
const MINOR_PER_MAJOR: i64 = 100;

/// A non-negative IDR amount in minor units (sen): `"10000.00"` is `1_000_000`.
///
/// The invariant `0 <= minor <= Money::MAX.minor()` holds for every value, so
/// [`Display`](fmt::Display) always produces a string [`Money::parse`] accepts.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// Why an amount was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The string is empty.
    #[error("amount is empty")]
    Empty,
    /// A leading `+` or `-`.
    #[error("amount must not have a sign")]
    SignNotAllowed,
    /// A character other than an ASCII digit or the decimal point (including spaces and `,`).
    #[error("amount may contain only digits and one '.'")]
    NonDigit,
    /// No `.` at all.
    #[error("amount must have a decimal point followed by two decimals")]
    MissingDecimalPoint,
    /// More than one `.`.
    #[error("amount must have exactly one decimal point")]
    MultipleDecimalPoints,
    /// Nothing before the `.` (e.g. `".50"`).
    #[error("amount must have at least one digit before the decimal point")]
    MissingIntegerPart,
    /// Not exactly two digits after the `.`.
    #[error("amount must have exactly two decimals")]
    NotTwoDecimals,
    /// More than 13 digits before the `.`.
    #[error("amount has more than 13 integer digits")]
    TooManyIntegerDigits,
    /// An integer part with a leading zero other than a lone `0` (e.g. `"0100.00"`).
    #[error("amount must not have leading zeros")]
    LeadingZero,
    /// A negative minor-unit value.
    #[error("amount must not be negative")]
    Negative,
    /// A minor-unit value above [`Money::MAX`].
    #[error("amount exceeds the largest SNAP amount (9999999999999.99)")]
    OutOfRange,
}

impl Money {
    /// Zero rupiah.
    pub const ZERO: Money = Money(0);

    /// The largest amount SNAP can express: `"9999999999999.99"`.
    pub const MAX: Money = Money(999_999_999_999_999);

    /// Builds an amount from minor units (sen), rejecting negative values and values
    /// above [`Money::MAX`].
    pub const fn from_minor(minor: i64) -> Result<Money, MoneyError> {
        if minor < 0 {
            Err(MoneyError::Negative)
        } else if minor > Money::MAX.0 {
            Err(MoneyError::OutOfRange)
        } else {
            Ok(Money(minor))
        }
    }

    /// The amount in minor units (sen).
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// `self + other`, or `None` if the sum exceeds [`Money::MAX`].
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0
            .checked_add(other.0)
            .and_then(|m| Money::from_minor(m).ok())
    }

    /// `self - other`, or `None` if the result would be negative.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0
            .checked_sub(other.0)
            .and_then(|m| Money::from_minor(m).ok())
    }

    /// Parses the strict SNAP amount form: digits, one `.`, exactly two decimals, no
    /// sign, no spaces, 1 to 13 integer digits, no leading zeros except a lone `0`.
    pub fn parse(s: &str) -> Result<Money, MoneyError> {
        let bytes = s.as_bytes();
        let Some(&first) = bytes.first() else {
            return Err(MoneyError::Empty);
        };
        if first == b'+' || first == b'-' {
            return Err(MoneyError::SignNotAllowed);
        }
        if bytes.iter().any(|&b| !b.is_ascii_digit() && b != b'.') {
            return Err(MoneyError::NonDigit);
        }
        let mut parts = s.split('.');
        // `split` always yields at least one item; the fallback is never used.
        let int_part = parts.next().unwrap_or_default();
        let Some(frac_part) = parts.next() else {
            return Err(MoneyError::MissingDecimalPoint);
        };
        if parts.next().is_some() {
            return Err(MoneyError::MultipleDecimalPoints);
        }
        if int_part.is_empty() {
            return Err(MoneyError::MissingIntegerPart);
        }
        if frac_part.len() != 2 {
            return Err(MoneyError::NotTwoDecimals);
        }
        if int_part.len() > MAX_INTEGER_DIGITS {
            return Err(MoneyError::TooManyIntegerDigits);
        }
        if int_part.len() > 1 && int_part.starts_with('0') {
            return Err(MoneyError::LeadingZero);
        }
        // At most 15 ASCII digits in total, so this fits in i64 without overflow;
        // checked arithmetic keeps that true even if the limits above change.
        let minor = int_part
            .bytes()
            .chain(frac_part.bytes())
            .try_fold(0i64, |acc, d| {
                acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
            })
            .ok_or(MoneyError::OutOfRange)?;
        Money::from_minor(minor)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Money, MoneyError> {
        Money::parse(s)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:02}",
            self.0 / MINOR_PER_MAJOR,
            self.0 % MINOR_PER_MAJOR
        )
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        struct MoneyVisitor;

        impl Visitor<'_> for MoneyVisitor {
            type Value = Money;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount string with two decimals, e.g. \"10000.00\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
                Money::parse(v).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(MoneyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_amounts() {
        assert_eq!(Money::parse("10000.00").map(Money::minor), Ok(1_000_000));
        assert_eq!(Money::parse("0.00"), Ok(Money::ZERO));
        assert_eq!(Money::parse("0.01").map(Money::minor), Ok(1));
        assert_eq!(Money::parse("9999999999999.99"), Ok(Money::MAX));
        assert_eq!(
            Money::parse("12345678.00").map(Money::minor),
            Ok(1_234_567_800)
        );
    }

    #[test]
    fn rejects_with_reasons() {
        use MoneyError::*;
        let cases = [
            ("", Empty),
            ("-1.00", SignNotAllowed),
            ("+1.00", SignNotAllowed),
            ("1 000.00", NonDigit),
            (" 1.00", NonDigit),
            ("1,000.00", NonDigit),
            ("1e3.00", NonDigit),
            ("١.٠٠", NonDigit),
            ("1000", MissingDecimalPoint),
            ("1.0.0", MultipleDecimalPoints),
            (".50", MissingIntegerPart),
            ("1.0", NotTwoDecimals),
            ("1.", NotTwoDecimals),
            ("1.000", NotTwoDecimals),
            ("10000000000000.00", TooManyIntegerDigits),
            ("0100.00", LeadingZero),
            ("00.00", LeadingZero),
        ];
        for (input, want) in cases {
            assert_eq!(Money::parse(input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn from_minor_bounds() {
        assert_eq!(Money::from_minor(-1), Err(MoneyError::Negative));
        assert_eq!(Money::from_minor(i64::MAX), Err(MoneyError::OutOfRange));
        assert_eq!(Money::from_minor(Money::MAX.minor()), Ok(Money::MAX));
    }

    #[test]
    fn checked_arithmetic() {
        let one = Money::parse("1.00").unwrap();
        assert_eq!(Money::ZERO.checked_sub(one), None);
        assert_eq!(Money::MAX.checked_add(one), None);
        assert_eq!(one.checked_add(one).map(Money::minor), Some(200));
        assert_eq!(one.checked_sub(one), Some(Money::ZERO));
    }

    #[test]
    fn display_debug_and_serde() {
        let m = Money::from_minor(1_000_005).unwrap();
        assert_eq!(m.to_string(), "10000.05");
        assert_eq!(format!("{m:?}"), "10000.05");
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"10000.05\"");
        let back: Money = serde_json::from_str("\"10000.05\"").unwrap();
        assert_eq!(back, m);
        assert!(serde_json::from_str::<Money>("10000.05").is_err());
        assert!(serde_json::from_str::<Money>("\"10000.5\"").is_err());
    }
}
