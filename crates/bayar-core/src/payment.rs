//! Payments, refunds and disbursements: their states, channels and the rules of each channel.

use std::fmt;
use std::str::FromStr;

use bayar_snap::Money;
use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::customer::Rail;
use crate::ids::{CustomerId, DisbursementId, MerchantId, PaymentId, RefundId};

/// How a payment reaches the customer's money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Allo-like bank direct debit from a bound account.
    AlloDirectDebit,
    /// DANA-like wallet, paid on the hosted wallet page.
    DanaWallet,
}

/// The API dialect a payment was made through; its notifications go out in the same dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Face {
    /// DOKU's SNAP API.
    Doku,
    /// DANA's own SNAP API.
    Dana,
    /// The Stripe-style API.
    Stripe,
}

impl Face {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Doku => "doku",
            Self::Dana => "dana",
            Self::Stripe => "stripe",
        }
    }
}

impl FromStr for Face {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "doku" => Ok(Self::Doku),
            "dana" => Ok(Self::Dana),
            "stripe" => Ok(Self::Stripe),
            other => Err(format!("unknown face {other:?}")),
        }
    }
}

/// How many refunds a channel allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundPolicy {
    /// Any number of refunds while their sum stays within the paid amount.
    Many,
    /// One refund only, full or partial (DANA via the gateway: no multiple partial refunds).
    One,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AlloDirectDebit => "allo_direct_debit",
            Self::DanaWallet => "dana_wallet",
        }
    }

    /// The rail holding the customer's money.
    pub fn rail(self) -> Rail {
        match self {
            Self::AlloDirectDebit => Rail::Bank,
            Self::DanaWallet => Rail::Wallet,
        }
    }

    /// Smallest and largest amount one payment may have.
    pub fn limits(self) -> (Money, Money) {
        match self {
            // DANA: 100 to 300,000,000 IDR (WooshPay's DANA page).
            Self::DanaWallet => (idr(100), idr(300_000_000)),
            Self::AlloDirectDebit => (idr(1), idr(300_000_000)),
        }
    }

    /// How many refunds a payment on this channel may have.
    pub fn refund_policy(self) -> RefundPolicy {
        match self {
            Self::AlloDirectDebit => RefundPolicy::Many,
            Self::DanaWallet => RefundPolicy::One,
        }
    }
}

const fn idr(units: i64) -> Money {
    match Money::from_minor(units * 100) {
        Ok(m) => m,
        Err(_) => Money::ZERO,
    }
}

impl FromStr for Channel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "allo_direct_debit" => Ok(Self::AlloDirectDebit),
            "dana_wallet" => Ok(Self::DanaWallet),
            other => Err(format!("unknown channel {other:?}")),
        }
    }
}

/// Fees the gateway keeps, per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fee {
    /// Proportional part, in basis points (1/100 of a percent).
    pub basis_points: u32,
    /// Fixed part.
    pub fixed: Money,
}

impl Fee {
    /// The fee on `amount`, rounded down to the sen; `None` on overflow.
    pub fn on(self, amount: Money) -> Option<Money> {
        let proportional = i128::from(amount.minor()) * i128::from(self.basis_points) / 10_000;
        let total = proportional + i128::from(self.fixed.minor());
        Money::from_minor(i64::try_from(total).ok()?).ok()
    }
}

/// Fee schedule of the gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fees {
    /// On DANA wallet payments.
    pub dana_wallet: Fee,
    /// On Allo direct-debit payments.
    pub allo_direct_debit: Fee,
    /// On each disbursement, charged to the merchant's deposit on top of the amount.
    pub disbursement: Fee,
}

impl Fees {
    /// The fee on a payment of `amount` on `channel`: never more than the amount itself.
    pub fn payment(&self, channel: Channel, amount: Money) -> Money {
        let fee = match channel {
            Channel::DanaWallet => self.dana_wallet,
            Channel::AlloDirectDebit => self.allo_direct_debit,
        };
        fee.on(amount).map_or(amount, |f| f.min(amount))
    }
}

impl Default for Fees {
    /// Sandbox defaults: 1.5% on payments, Rp 2,500 per disbursement.
    fn default() -> Self {
        Self {
            dana_wallet: Fee {
                basis_points: 150,
                fixed: Money::ZERO,
            },
            allo_direct_debit: Fee {
                basis_points: 150,
                fixed: Money::ZERO,
            },
            disbursement: Fee {
                basis_points: 0,
                fixed: idr(2_500),
            },
        }
    }
}

/// Where a payment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Accepted, waiting for the customer.
    Created,
    /// The customer authorised it; the money is held.
    Paying,
    /// Money moved: final (refunds may follow).
    Succeeded,
    /// Refused (funds, account, PIN): final.
    Failed,
    /// Cancelled by the customer or merchant: final.
    Cancelled,
    /// Not paid before its deadline: final.
    Expired,
}

impl PaymentStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Paying => "paying",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    /// Whether no further state change can happen (refunds aside).
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Created | Self::Paying)
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PaymentStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "created" => Self::Created,
            "paying" => Self::Paying,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            "expired" => Self::Expired,
            other => return Err(format!("unknown payment status {other:?}")),
        })
    }
}

/// Why a payment failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureReason {
    /// The customer's balance was too low.
    InsufficientFunds,
    /// The customer's account is frozen.
    AccountFrozen,
    /// Too many wrong PINs.
    PinLocked,
}

impl FailureReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InsufficientFunds => "insufficient_funds",
            Self::AccountFrozen => "account_frozen",
            Self::PinLocked => "pin_locked",
        }
    }
}

impl FromStr for FailureReason {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "insufficient_funds" => Ok(Self::InsufficientFunds),
            "account_frozen" => Ok(Self::AccountFrozen),
            "pin_locked" => Ok(Self::PinLocked),
            other => Err(format!("unknown failure reason {other:?}")),
        }
    }
}

/// A merchant's reference for a payment, refund or disbursement: 1 to 64 visible ASCII.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PartnerReference(String);

/// A partner reference that is empty, too long or not visible ASCII.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("reference must be 1 to 64 visible ASCII characters")]
pub struct PartnerReferenceError;

impl PartnerReference {
    /// Parses a reference.
    pub fn parse(s: &str) -> Result<Self, PartnerReferenceError> {
        if !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(s.to_string()))
        } else {
            Err(PartnerReferenceError)
        }
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PartnerReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PartnerReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    /// bayar's id (the SNAP `referenceNo`).
    pub id: PaymentId,
    /// Whose payment it is.
    pub merchant_id: MerchantId,
    /// The merchant's reference (`partnerReferenceNo`).
    pub partner_reference_no: String,
    /// The `X-EXTERNAL-ID` (or equivalent) of the request that created it.
    pub external_id: String,
    /// The channel it runs on.
    pub channel: Channel,
    /// The API it was made through.
    pub face: Face,
    /// What the customer pays.
    pub amount: Money,
    /// What the gateway keeps.
    pub fee: Money,
    /// How much has been refunded.
    pub refunded: Money,
    /// How many refunds it has had.
    pub refund_count: u32,
    /// Where it stands.
    pub status: PaymentStatus,
    /// Who pays, once known.
    pub customer_id: Option<CustomerId>,
    /// What the customer sees on the hosted page (e.g. DOKU's `orderTitle`).
    pub title: Option<String>,
    /// Where the customer's browser goes after the hosted page (e.g. DOKU's `PAY_RETURN`).
    pub return_url: Option<String>,
    /// Where this payment's notifications go instead of the merchant's notify URL (DANA's
    /// per-order `urlParams[type=NOTIFICATION]`); `None` means the merchant's.
    pub notify_url: Option<String>,
    /// Wrong PINs typed on the hosted page for this payment.
    pub pin_failures: u32,
    /// Deadline for the customer.
    pub valid_until: Option<DateTime<Utc>>,
    /// Why it failed, if it did.
    pub failure: Option<FailureReason>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was paid, if it was.
    pub paid_at: Option<DateTime<Utc>>,
}

/// A refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    /// bayar's id (`refundNo`).
    pub id: RefundId,
    /// The refunded payment.
    pub payment_id: PaymentId,
    /// Whose refund it is.
    pub merchant_id: MerchantId,
    /// The merchant's reference (`partnerRefundNo`).
    pub partner_refund_no: String,
    /// How much goes back to the customer.
    pub amount: Money,
    /// Why, as the merchant said.
    pub reason: Option<String>,
    /// When it was made (refunds on the built-in rails complete at once).
    pub created_at: DateTime<Utc>,
}

/// Where a disbursement stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisbursementStatus {
    /// The money reached the customer's wallet.
    Succeeded,
    /// Refused; nothing moved.
    Failed,
}

impl DisbursementStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

impl FromStr for DisbursementStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            other => Err(format!("unknown disbursement status {other:?}")),
        }
    }
}

/// A disbursement: merchant deposit -> customer wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disbursement {
    /// bayar's id.
    pub id: DisbursementId,
    /// Whose deposit pays.
    pub merchant_id: MerchantId,
    /// The merchant's reference (`partnerReferenceNo`).
    pub partner_reference_no: String,
    /// The receiving customer, when found.
    pub customer_id: Option<CustomerId>,
    /// What the customer receives.
    pub amount: Money,
    /// What the merchant pays on top.
    pub fee: Money,
    /// Outcome.
    pub status: DisbursementStatus,
    /// Why it failed, if it did.
    pub failure: Option<FailureReason>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// An account at an Indonesian bank, as a disbursement to a bank names it: the bank's
/// three-digit code and the account number (5 to 34 digits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankAccount {
    bank_code: String,
    number: String,
}

/// Why a bank account was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum BankAccountError {
    /// The bank code is not three digits.
    #[error("the bank code must be three digits")]
    BankCode,
    /// The account number is not 5 to 34 digits.
    #[error("the account number must be 5 to 34 digits")]
    Number,
}

impl BankAccount {
    /// Parses a bank code and an account number.
    pub fn parse(bank_code: &str, number: &str) -> Result<Self, BankAccountError> {
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if bank_code.len() != 3 || !digits(bank_code) {
            return Err(BankAccountError::BankCode);
        }
        if !(5..=34).contains(&number.len()) || !digits(number) {
            return Err(BankAccountError::Number);
        }
        Ok(Self {
            bank_code: bank_code.to_string(),
            number: number.to_string(),
        })
    }

    /// The bank's code (e.g. `014`).
    pub fn bank_code(&self) -> &str {
        &self.bank_code
    }

    /// The account number.
    pub fn number(&self) -> &str {
        &self.number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_down_and_payment_fees_never_exceed_the_amount() {
        let fee = Fee {
            basis_points: 150,
            fixed: Money::ZERO,
        };
        let on = |f: Fee, a: &str| f.on(Money::parse(a).unwrap()).unwrap().to_string();
        assert_eq!(on(fee, "10000.00"), "150.00");
        assert_eq!(on(fee, "0.99"), "0.01");
        assert_eq!(on(fee, "0.50"), "0.00");
        let fees = Fees {
            allo_direct_debit: Fee {
                basis_points: 0,
                fixed: Money::parse("2500.00").unwrap(),
            },
            ..Fees::default()
        };
        let small = Money::parse("1000.00").unwrap();
        assert_eq!(fees.payment(Channel::AlloDirectDebit, small), small);
        assert_eq!(on(fees.disbursement, "1000.00"), "2500.00");
    }

    #[test]
    fn channel_limits() {
        let (min, max) = Channel::DanaWallet.limits();
        assert_eq!(
            (min.to_string(), max.to_string()),
            ("100.00".into(), "300000000.00".into())
        );
    }

    #[test]
    fn references() {
        assert!(PartnerReference::parse("INV-0001").is_ok());
        assert!(PartnerReference::parse("").is_err());
        assert!(PartnerReference::parse("a b").is_err());
        assert!(PartnerReference::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn bank_accounts_are_a_code_and_digits() {
        let ok = BankAccount::parse("014", "2460888509").unwrap();
        assert_eq!((ok.bank_code(), ok.number()), ("014", "2460888509"));
        assert_eq!(
            BankAccount::parse("14", "2460888509"),
            Err(BankAccountError::BankCode)
        );
        assert_eq!(
            BankAccount::parse("01a", "2460888509"),
            Err(BankAccountError::BankCode)
        );
        assert_eq!(
            BankAccount::parse("014", "1234"),
            Err(BankAccountError::Number)
        );
        assert_eq!(
            BankAccount::parse("014", "24608-8509"),
            Err(BankAccountError::Number)
        );
        assert_eq!(
            BankAccount::parse("014", &"9".repeat(35)),
            Err(BankAccountError::Number)
        );
    }
}
