//! Amounts at the edge: the Stripe-style API counts IDR in whole rupiah (a zero-decimal
//! currency: `"amount": 100` is Rp 100, as WooshPay's DANA page shows), the core counts minor
//! units (sen). Converted here, in integers, and nowhere else.

use bayar_core::payment::Channel;
use bayar_snap::Money;

use super::error::StripeError;

/// The one currency DANA processes.
pub const CURRENCY: &str = "IDR";

/// A payment amount in whole rupiah, within DANA's limits (100 to 300,000,000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentAmount(Money);

impl PaymentAmount {
    /// Parses `units` (whole rupiah) given as `param`.
    pub fn parse(units: i64, param: &str) -> Result<PaymentAmount, StripeError> {
        let (min, max) = Channel::DanaWallet.limits();
        let money = to_money(units, param)?;
        if money < min {
            return Err(StripeError::invalid_request(
                &format!("Amount must be at least {} IDR.", to_units(min)),
                Some(param),
            )
            .with_code("amount_too_small"));
        }
        if money > max {
            return Err(StripeError::invalid_request(
                &format!("Amount must be no more than {} IDR.", to_units(max)),
                Some(param),
            )
            .with_code("amount_too_large"));
        }
        Ok(PaymentAmount(money))
    }

    /// The amount in minor units, for the core.
    pub fn money(self) -> Money {
        self.0
    }
}

/// A positive amount in whole rupiah (a refund, a unit price): at least Rp 1; a refund is
/// checked by the core against what is refundable.
pub fn positive_amount(units: i64, param: &str) -> Result<Money, StripeError> {
    if units < 1 {
        return Err(StripeError::invalid_request(
            "Refund amount must be a positive whole number of IDR.",
            Some(param),
        )
        .with_code("amount_too_small"));
    }
    to_money(units, param)
}

fn to_money(units: i64, param: &str) -> Result<Money, StripeError> {
    units
        .checked_mul(100)
        .and_then(|minor| Money::from_minor(minor).ok())
        .ok_or_else(|| {
            StripeError::invalid_request("Invalid amount.", Some(param))
                .with_code("amount_too_large")
        })
}

/// Whole rupiah of a core amount (sen below a rupiah, which this face never creates, are
/// dropped).
pub fn to_units(money: Money) -> i64 {
    money.minor() / 100
}

/// Parses a currency: IDR in any case.
pub fn currency(text: &str, param: &str) -> Result<(), StripeError> {
    if text.eq_ignore_ascii_case(CURRENCY) {
        Ok(())
    } else {
        Err(StripeError::invalid_request(
            &format!("Invalid currency: {text}. DANA processes IDR only."),
            Some(param),
        )
        .with_code("invalid_currency"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_conversion() {
        assert_eq!(
            PaymentAmount::parse(100, "amount").unwrap().money().minor(),
            10_000
        );
        assert!(PaymentAmount::parse(300_000_000, "amount").is_ok());
        let small = PaymentAmount::parse(99, "amount").unwrap_err();
        assert_eq!(small.param(), Some("amount"));
        assert!(PaymentAmount::parse(300_000_001, "amount").is_err());
        assert!(PaymentAmount::parse(i64::MAX, "amount").is_err());
        assert!(positive_amount(0, "amount").is_err());
        assert_eq!(to_units(positive_amount(5, "amount").unwrap()), 5);
        assert!(currency("idr", "currency").is_ok());
        assert!(currency("usd", "currency").is_err());
    }
}
