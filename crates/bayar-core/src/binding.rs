//! Account bindings: a merchant's customer links their bank account (Allo-like rail) by
//! proving it with an OTP sent to their phone and their PIN, on bayar's hosted page.
//!
//! otp -> pin -> active, or failed (three wrong answers, or an expired OTP); active -> unbound.
//! An active binding yields an auth code, exchanged for customer tokens that let the merchant
//! debit the account and read its balance until the binding is unbound.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::ids::{BindingId, CustomerId, MerchantId};
use crate::secret::Secret;

/// Wrong OTPs or PINs allowed before the binding fails.
pub const MAX_FAILURES: u32 = 3;

/// How long an OTP stays valid, in seconds.
pub const OTP_TTL_SECS: i64 = 300;

/// How long a one-time token (DANA's apply OTT) stays valid, in seconds: long enough to open
/// the wallet page it was issued for, short enough that a leaked link soon stops working.
pub const ONE_TIME_TOKEN_TTL_SECS: i64 = 300;

/// Where a binding stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingStatus {
    /// Waiting for the OTP.
    Otp,
    /// OTP accepted, waiting for the PIN.
    Pin,
    /// Bound: the merchant may debit the account.
    Active,
    /// Too many wrong answers, or the OTP expired: final.
    Failed,
    /// Unbound by the merchant: final.
    Unbound,
}

impl BindingStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Otp => "otp",
            Self::Pin => "pin",
            Self::Active => "active",
            Self::Failed => "failed",
            Self::Unbound => "unbound",
        }
    }
}

impl FromStr for BindingStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "otp" => Self::Otp,
            "pin" => Self::Pin,
            "active" => Self::Active,
            "failed" => Self::Failed,
            "unbound" => Self::Unbound,
            other => return Err(format!("unknown binding status {other:?}")),
        })
    }
}

impl fmt::Display for BindingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A binding.
#[derive(Clone, Debug)]
pub struct Binding {
    /// bayar's id (the SNAP `referenceNo`).
    pub id: BindingId,
    /// The merchant it is for.
    pub merchant_id: MerchantId,
    /// The bank customer whose account it binds.
    pub customer_id: CustomerId,
    /// The merchant's id of its customer (`custIdMerchant`).
    pub cust_id_merchant: String,
    /// Where it stands.
    pub status: BindingStatus,
    /// The OTP sent to the customer's phone (sandbox: also shown on the page and by the CLI).
    pub otp: Secret<String>,
    /// When the OTP stops being valid.
    pub otp_expires_at: DateTime<Utc>,
    /// Wrong OTPs and PINs so far.
    pub failures: u32,
    /// Where the browser goes when binding succeeds.
    pub success_url: String,
    /// Where the browser goes when binding fails.
    pub failed_url: String,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
    /// When it last changed state.
    pub updated_at: DateTime<Utc>,
}

impl Binding {
    /// Whether a correct PIN may still (re)issue its auth code: at the PIN step, or just
    /// activated. The grace period covers a double-clicked submit, whose first answer (with
    /// the first code) the browser drops: the second answer carries a fresh code instead.
    pub fn takes_pin(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            BindingStatus::Pin => true,
            BindingStatus::Active => {
                now - self.updated_at < chrono::Duration::seconds(REISSUE_SECS)
            }
            _ => false,
        }
    }
}

/// How long after activation a correct PIN re-issues the auth code, in seconds.
pub const REISSUE_SECS: i64 = 60;

/// A fresh six-digit OTP.
pub fn generate_otp() -> Secret<String> {
    let n: u32 = rand::thread_rng().gen_range(0..1_000_000);
    Secret::new(format!("{n:06}"))
}

/// A fresh auth code (shown to the merchant once, stored only as a hash).
pub fn generate_auth_code() -> Secret<String> {
    Secret::new(
        rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect(),
    )
}

/// The stored form of an auth code: its SHA-256, hex.
pub fn auth_code_hash(code: &str) -> String {
    let hash = digest::digest(&digest::SHA256, code.as_bytes());
    hash.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otps_and_codes() {
        let otp = generate_otp();
        assert_eq!(otp.expose().len(), 6);
        assert!(otp.expose().bytes().all(|b| b.is_ascii_digit()));
        let code = generate_auth_code();
        assert_eq!(code.expose().len(), 32);
        assert_eq!(auth_code_hash(code.expose()).len(), 64);
        assert_ne!(auth_code_hash("a"), auth_code_hash("b"));
    }
}
