//! Typed, prefixed, sortable identifiers.
//!
//! Every id is a ULID with a short prefix naming its kind (`mch_01J...`), so ids sort by
//! creation time, are unique across processes without coordination, and a `pay_` id can never
//! be passed where a `mch_` id is expected.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;
use ulid::Ulid;

/// Why a string is not an id of the expected kind.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdError {
    /// The prefix is missing or names another kind.
    #[error("expected an id starting with `{expected}_`")]
    WrongPrefix {
        /// The prefix this id kind uses.
        expected: &'static str,
    },
    /// The part after the prefix is not a ULID.
    #[error("the part after `{prefix}_` is not a valid ULID")]
    NotUlid {
        /// The prefix this id kind uses.
        prefix: &'static str,
    },
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Ulid);

        impl $name {
            /// The prefix of this id kind, without the underscore.
            pub const PREFIX: &'static str = $prefix;

            /// A new id, sortable by creation time.
            pub fn generate() -> Self {
                Self(Ulid::new())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|r| r.strip_prefix('_'))
                    .ok_or(IdError::WrongPrefix { expected: $prefix })?;
                Ulid::from_string(rest)
                    .map(Self)
                    .map_err(|_| IdError::NotUlid { prefix: $prefix })
            }
        }
    };
}

typed_id!(
    /// A merchant: the party that calls bayar's APIs and receives the money.
    MerchantId,
    "mch"
);
typed_id!(
    /// A payment: one attempt to collect an amount from a customer for a merchant.
    PaymentId,
    "pay"
);

impl PaymentId {
    /// A new id whose ULID time is `created_at` (to the millisecond), so a range of creation
    /// times is a range of ids: the payments list filters dates on its id index.
    pub fn created_at(created_at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(Ulid::from_parts(ulid_millis(created_at), rand::random()))
    }

    /// The lowest id a payment created at `time` (or later) can have.
    pub fn first_at(time: chrono::DateTime<chrono::Utc>) -> Self {
        Self(Ulid::from_parts(ulid_millis(time), 0))
    }
}

/// Milliseconds since the epoch as a ULID holds them (48 bits, none before 1970).
fn ulid_millis(time: chrono::DateTime<chrono::Utc>) -> u64 {
    u64::try_from(time.timestamp_millis())
        .unwrap_or(0)
        .min((1 << 48) - 1)
}

typed_id!(
    /// A refund of (part of) a succeeded payment.
    RefundId,
    "ref"
);
typed_id!(
    /// A disbursement: money from a merchant's deposit to a customer's wallet.
    DisbursementId,
    "dsb"
);
typed_id!(
    /// A customer of one of the built-in rails (a wallet user or a bank account holder).
    CustomerId,
    "cus"
);
typed_id!(
    /// An account binding: a bank account linked to a merchant.
    BindingId,
    "bnd"
);
typed_id!(
    /// An outbox event: something a merchant is told about.
    EventId,
    "evt"
);
typed_id!(
    /// A payment intent (Stripe-style API): what a merchant means to collect, confirmed into
    /// payments.
    IntentId,
    "pi"
);
typed_id!(
    /// A checkout session (Stripe-style API): a hosted checkout page for line items.
    CheckoutSessionId,
    "cs"
);
typed_id!(
    /// A user of the merchant portal (a merchant's staff or a gateway operator).
    UserId,
    "usr"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_kinds() {
        let id = MerchantId::generate();
        let text = id.to_string();
        assert!(text.starts_with("mch_"));
        assert_eq!(text.parse::<MerchantId>(), Ok(id));
        assert_eq!(
            text.replace("mch_", "pay_").parse::<MerchantId>(),
            Err(IdError::WrongPrefix { expected: "mch" })
        );
        assert_eq!(
            "mch_not-a-ulid".parse::<MerchantId>(),
            Err(IdError::NotUlid { prefix: "mch" })
        );
    }

    #[test]
    fn a_payment_id_carries_its_creation_time() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:00.123Z")
            .unwrap()
            .to_utc();
        let id = PaymentId::created_at(t);
        let next_ms = t + chrono::Duration::milliseconds(1);
        assert!(PaymentId::first_at(t) <= id && id < PaymentId::first_at(next_ms));
        assert!(id.to_string() < PaymentId::first_at(next_ms).to_string());
        assert!(PaymentId::first_at(t).to_string() <= id.to_string());
        let before_epoch = chrono::DateTime::UNIX_EPOCH - chrono::Duration::days(1);
        assert_eq!(
            PaymentId::first_at(before_epoch),
            PaymentId::first_at(chrono::DateTime::UNIX_EPOCH)
        );
    }

    #[test]
    fn sort_by_creation() {
        let a = PaymentId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = PaymentId::generate();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }
}
