//! Customers of the built-in rails: DANA-like wallet users and Allo-like bank account holders.

use std::fmt;
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use rand::Rng;
use thiserror::Error;

use crate::ids::CustomerId;
use crate::ledger::AccountId;
use crate::secret::Secret;

/// Why a customer attribute was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CustomerInputError {
    /// Not an Indonesian mobile number.
    #[error(
        "phone number must be an Indonesian mobile number: 08..., 628... or +628..., 9 to 13 digits after the 62"
    )]
    Phone,
    /// A PIN is exactly six digits.
    #[error("PIN must be exactly 6 digits")]
    Pin,
    /// Unknown rail name.
    #[error("rail must be `wallet` or `bank`")]
    Rail,
}

/// Which built-in rail holds the customer's money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rail {
    /// The DANA-like e-wallet.
    Wallet,
    /// The Allo-like bank.
    Bank,
}

impl Rail {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wallet => "wallet",
            Self::Bank => "bank",
        }
    }
}

impl FromStr for Rail {
    type Err = CustomerInputError;

    fn from_str(s: &str) -> Result<Self, CustomerInputError> {
        match s {
            "wallet" => Ok(Self::Wallet),
            "bank" => Ok(Self::Bank),
            _ => Err(CustomerInputError::Rail),
        }
    }
}

/// An Indonesian mobile number, normalised to `62...` (no `+`, no leading `0`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses `08xx`, `628xx` or `+628xx` (spaces and dashes allowed between digits).
    pub fn parse(s: &str) -> Result<Self, CustomerInputError> {
        let compact: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        let rest = compact
            .strip_prefix("+62")
            .or_else(|| compact.strip_prefix("62"))
            .or_else(|| compact.strip_prefix('0'))
            .ok_or(CustomerInputError::Phone)?;
        let ok = rest.starts_with('8')
            && (9..=13).contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Self(format!("62{rest}")))
        } else {
            Err(CustomerInputError::Phone)
        }
    }

    /// The normalised number, e.g. `6281234567890`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.0)
    }
}

/// A six-digit PIN as typed; never printed, only hashed.
pub struct Pin(Secret<String>);

impl Pin {
    /// Parses a PIN: exactly six ASCII digits.
    pub fn parse(s: &str) -> Result<Self, CustomerInputError> {
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(Secret::new(s.to_string())))
        } else {
            Err(CustomerInputError::Pin)
        }
    }

    /// An argon2id hash of the PIN with a fresh salt.
    pub fn hash(&self) -> Result<PinHash, argon2::password_hash::Error> {
        let salt = SaltString::generate(&mut OsRng);
        let hash = Argon2::default().hash_password(self.0.expose().as_bytes(), &salt)?;
        Ok(PinHash(hash.to_string()))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin([redacted])")
    }
}

/// A stored PIN hash (PHC string, argon2id).
#[derive(Clone, PartialEq, Eq)]
pub struct PinHash(String);

impl PinHash {
    /// Wraps a stored hash.
    pub(crate) fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `pin` matches (argon2's comparison is constant time).
    pub fn verify(&self, pin: &Pin) -> bool {
        PasswordHash::new(&self.0).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(pin.0.expose().as_bytes(), &hash)
                .is_ok()
        })
    }
}

impl fmt::Debug for PinHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinHash([redacted])")
    }
}

/// Whether the customer can pay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerStatus {
    /// Can pay and receive.
    Active,
    /// Blocked by the rail: it cannot pay, be bound or receive disbursements; refunds of its
    /// earlier payments still come back to it, since that money is the customer's.
    Frozen,
}

impl CustomerStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Frozen => "frozen",
        }
    }
}

impl FromStr for CustomerStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "active" => Ok(Self::Active),
            "frozen" => Ok(Self::Frozen),
            other => Err(format!("unknown customer status {other:?}")),
        }
    }
}

/// A customer of a built-in rail.
#[derive(Clone, Debug)]
pub struct Customer {
    /// bayar's id.
    pub id: CustomerId,
    /// Which rail.
    pub rail: Rail,
    /// Their phone number (unique per rail).
    pub phone: PhoneNumber,
    /// Their bank account number (bank rail only).
    pub account_number: Option<String>,
    /// Their PIN hash.
    pub pin_hash: PinHash,
    /// Active or frozen.
    pub status: CustomerStatus,
    /// Their ledger account.
    pub account: AccountId,
    /// When they were created.
    pub created_at: DateTime<Utc>,
}

/// A fresh 12-digit bank account number.
pub fn generate_account_number() -> String {
    let mut rng = rand::thread_rng();
    // Allo-like numbers start with a fixed bank prefix, so they never start with 0.
    std::iter::once('1')
        .chain((0..11).map(|_| char::from(b'0' + rng.gen_range(0..10u8))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_normalise() {
        for input in ["081234567890", "6281234567890", "+62 812-3456-7890"] {
            assert_eq!(PhoneNumber::parse(input).unwrap().as_str(), "6281234567890");
        }
        for bad in [
            "",
            "12345",
            "0712345678",
            "08123",
            "0812345678901234",
            "08123abc567",
        ] {
            assert_eq!(
                PhoneNumber::parse(bad),
                Err(CustomerInputError::Phone),
                "{bad}"
            );
        }
    }

    #[test]
    fn pins_hash_and_verify() {
        assert!(Pin::parse("12345").is_err());
        assert!(Pin::parse("12345a").is_err());
        let pin = Pin::parse("123456").unwrap();
        let hash = pin.hash().unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(hash.verify(&pin));
        assert!(!hash.verify(&Pin::parse("654321").unwrap()));
        assert_eq!(
            format!("{pin:?} {hash:?}"),
            "Pin([redacted]) PinHash([redacted])"
        );
    }

    #[test]
    fn account_numbers() {
        let n = generate_account_number();
        assert_eq!(n.len(), 12);
        assert!(n.starts_with('1'));
    }
}
