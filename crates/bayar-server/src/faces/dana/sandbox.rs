//! DANA's sandbox "magic values" (reference/dana.md 8.2): request values that force one of the
//! outcomes a merchant must rehearse before going live (DANA's UAT checklist), reproduced so
//! the same scenarios run against bayar. Honoured only while [`super::DanaConfig::sandbox`]
//! is on (the default; `bayar serve --no-sandbox` or `BAYAR_SANDBOX=false` turns it off).
//!
//! Phone numbers (`customerNumber`, normalised to `62...`):
//!
//! | number         | account inquiry (37)                | top-up (38)                                  |
//! |----------------|-------------------------------------|----------------------------------------------|
//! | `628123456667` | `4033705` PAYEE_USER_STATUS_DISABLE | as any number                                |
//! | `628152768647` | `4033705` PAYEE_USER_NOT_EXIST      | as any number                                |
//! | `628996647679` | as any number                       | `4033805` Do Not Honor (frozen), no effect   |
//! | `628121111111` | as any number                       | `5003800` General Error, no effect           |
//! | `628551008794` | as any number                       | `5003801`: the top-up IS made, the answer is lost |
//! | `628551005454` | as any number                       | the top-up IS made, the answer is held 30 s (a timeout) |
//!
//! The last two rehearse DANA's rule for merchants (seed "Disbursement to Balance", step 6):
//! on `5003801` or a timeout, retry with the same `partnerReferenceNo` (which replays the
//! stored outcome) or query the top-up status, which shows what really happened. They need a
//! wallet customer with that number (`bayar customer create --rail wallet --phone ...`),
//! since the money really moves.
//!
//! Amounts: a top-up that would leave the wallet above [`WALLET_BALANCE_CAP`] is refused with
//! `4033802` (DANA's `balance + amount > 21,000,000` rule; checked before the command, so it
//! is a sandbox approximation, not a guarantee under concurrent top-ups). The amount
//! `1000000000000.00` skips the per-transaction maximum, as DANA's sandbox does, so that it
//! reaches the deposit and fails there with `4033814` Insufficient Fund.
//!
//! Payment-gateway refunds: the refund amount encodes the answer, as in DANA's UAT fixtures
//! (the response code without the middle `0` of its HTTP part, then `.00`): `435815.00` ->
//! `4035815`, `435814.00` -> `4035814`, `445808.00` -> `4045808`, `505801.00` -> `5005801`,
//! `225800.00` -> `2025800` Request In Progress (HTTP 202, with the refund's fields, so the
//! merchant rehearses "accepted, not done yet: query later"). Nothing is refunded.
//!
//! Widget payments: the amount encodes the refusal the same way, nothing recorded:
//! `505401.00` -> `5005401`, `505400.00` -> `5005400`, `435415.00` -> `4035415`, `445408.00`
//! -> `4045408`, and `21000000.00` -> `4035402` (over the limit). (`205502.00`, DANA's order
//! left "paying", is not reproduced.)
//!
//! Payment-gateway cancels: an `originalPartnerReferenceNo` that is one of DANA's cancel codes
//! gets that answer (UAT fixtures): `2025700` (in progress, HTTP 202), `4035700`, `4035705`,
//! `4035714`, `4035715`, `4045701`, `4045708`, `5005701`. No order is looked up or changed.
//!
//! Bank transfers (service 43, and its inquiry 42): by beneficiary account number, as DANA's
//! sandbox has them ([`bank`]): `81298055132` / `81398055100` inactive (`403xx18`),
//! `815919191` invalid account (`404xx11`), `855100800` invalid merchant (`404xx08`), and for
//! the transfer only `82298055100` suspected fraud (`4034303`), `8121111111` General Error
//! (`5004300`, nothing recorded), `8551008794` made but answered `5004301` (then the status
//! query shows it). An inquiry for `50000000000.00` is `4034214` Insufficient Fund; a transfer
//! for `1000000000000.00` passes the maximum and fails at the deposit, `4034314`.
//!
//! DANA's finish-notify amounts (`11011.00` success, `11012.00` the merchant answering an
//! error, `11013.00` with a short `validUpTo` expiring) need no magic here: every order is
//! notified when it ends (paid `00`, cancelled or expired `05`), and a merchant's error answer
//! is retried by the notification worker, whatever the amount.
//!
//! Wallets that are really frozen (`bayar customer freeze`) or really unknown behave the same
//! with the sandbox off; the magic numbers only spare the operator the set-up.

use std::time::Duration;

use bayar_core::customer::PhoneNumber;
use bayar_snap::{Case, Money};

/// What DANA's sandbox does with an account inquiry for a magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InquiryMagic {
    /// The account is frozen: `4033705`, `PAYEE_USER_STATUS_DISABLE`.
    Frozen,
    /// No DANA account has this number: `4033705`, `PAYEE_USER_NOT_EXIST`.
    Unregistered,
}

/// What DANA's sandbox does with a top-up to a magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopupMagic {
    /// Refused as frozen (`4033805`) before anything is recorded.
    Frozen,
    /// `5003800` General Error before anything is recorded.
    GeneralError,
    /// The top-up is made, then answered with `5003801` as if the answer were lost.
    LostAnswer,
    /// The top-up is made, then the answer is held for [`TIMEOUT_HOLD`].
    Timeout,
}

/// What DANA's sandbox does with a bank account inquiry or transfer to a magic account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BankMagic {
    /// The account is inactive: `403xx18`.
    Inactive,
    /// No such account: `404xx11`.
    InvalidAccount,
    /// The merchant may not send there: `404xx08`.
    InvalidMerchant,
    /// Transfer only: `4034303` Suspected Fraud.
    SuspectedFraud,
    /// Transfer only: `5004300` General Error before anything is recorded.
    GeneralError,
    /// Transfer only: made, then answered `5004301` as if the answer were lost.
    LostAnswer,
}

impl BankMagic {
    /// The inquiry's refusal; the transfer-only magic inquires as any account.
    pub fn inquiry_refusal(self) -> Option<Case> {
        match self {
            BankMagic::Inactive => Some(Case::InactiveCardAccountCustomer),
            BankMagic::InvalidAccount => Some(Case::InvalidCardAccountCustomer),
            BankMagic::InvalidMerchant => Some(Case::InvalidMerchant),
            BankMagic::SuspectedFraud | BankMagic::GeneralError | BankMagic::LostAnswer => None,
        }
    }

    /// The transfer's refusal before anything is recorded; `None` for
    /// [`BankMagic::LostAnswer`], which is made first.
    pub fn transfer_refusal(self) -> Option<Case> {
        match self {
            BankMagic::SuspectedFraud => Some(Case::SuspectedFraud),
            BankMagic::GeneralError => Some(Case::GeneralError),
            BankMagic::LostAnswer => None,
            other => other.inquiry_refusal(),
        }
    }
}

/// The bank magic of a beneficiary account number, if any.
pub fn bank(account_number: &str) -> Option<BankMagic> {
    match account_number {
        "81298055132" | "81398055100" => Some(BankMagic::Inactive),
        "815919191" => Some(BankMagic::InvalidAccount),
        "855100800" => Some(BankMagic::InvalidMerchant),
        "82298055100" => Some(BankMagic::SuspectedFraud),
        "8121111111" => Some(BankMagic::GeneralError),
        "8551008794" => Some(BankMagic::LostAnswer),
        _ => None,
    }
}

/// The account-inquiry magic of `phone`, if any.
pub fn inquiry(phone: &PhoneNumber) -> Option<InquiryMagic> {
    match phone.as_str() {
        "628123456667" => Some(InquiryMagic::Frozen),
        "628152768647" => Some(InquiryMagic::Unregistered),
        _ => None,
    }
}

/// The top-up magic of `phone`, if any.
pub fn topup(phone: &PhoneNumber) -> Option<TopupMagic> {
    match phone.as_str() {
        "628996647679" => Some(TopupMagic::Frozen),
        "628121111111" => Some(TopupMagic::GeneralError),
        "628551008794" => Some(TopupMagic::LostAnswer),
        "628551005454" => Some(TopupMagic::Timeout),
        _ => None,
    }
}

/// The refusal a magic payment-gateway refund amount forces, if `amount` is one.
pub fn refund(amount: Money) -> Option<Case> {
    match amount.minor() {
        43_581_500 => Some(Case::TransactionNotPermitted),
        43_581_400 => Some(Case::InsufficientFunds),
        44_580_800 => Some(Case::InvalidMerchant),
        50_580_100 => Some(Case::InternalServerError),
        22_580_000 => Some(Case::InProgress),
        _ => None,
    }
}

/// The refusal a magic widget payment amount forces, if `amount` is one (nothing recorded).
pub fn widget_payment(amount: Money) -> Option<Case> {
    match amount.minor() {
        50_540_100 => Some(Case::InternalServerError),
        50_540_000 => Some(Case::GeneralError),
        43_541_500 => Some(Case::TransactionNotPermitted),
        44_540_800 => Some(Case::InvalidMerchant),
        2_100_000_000 => Some(Case::ExceedsTransactionAmountLimit),
        _ => None,
    }
}

/// The answer a magic payment-gateway cancel reference forces, if `reference` is one.
pub fn cancel(reference: &str) -> Option<Case> {
    match reference {
        "2025700" => Some(Case::InProgress),
        "4035700" => Some(Case::TransactionExpired),
        "4035705" => Some(Case::DoNotHonor),
        "4035714" => Some(Case::InsufficientFunds),
        "4035715" => Some(Case::TransactionNotPermitted),
        "4045701" => Some(Case::TransactionNotFound),
        "4045708" => Some(Case::InvalidMerchant),
        "5005701" => Some(Case::InternalServerError),
        _ => None,
    }
}

/// How long a "timeout" top-up holds its answer: longer than the SDKs' usual client
/// timeouts, so the merchant's client gives up first.
pub const TIMEOUT_HOLD: Duration = Duration::from_secs(30);

/// The most a sandbox wallet may hold after a top-up (DANA: 21,000,000.00).
pub const WALLET_BALANCE_CAP: Money = idr(21_000_000);

/// The amount DANA's sandbox answers with `4033814` Insufficient Fund.
pub const INSUFFICIENT_FUND_AMOUNT: Money = idr(1_000_000_000_000);

/// The amount DANA's sandbox answers a bank account inquiry with `4034214` Insufficient Fund.
pub const BANK_INQUIRY_INSUFFICIENT_AMOUNT: Money = idr(50_000_000_000);

const fn idr(rupiah: i64) -> Money {
    match Money::from_minor(rupiah * 100) {
        Ok(m) => m,
        Err(_) => panic!("constant out of range"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).unwrap()
    }

    #[test]
    fn magic_numbers_match_in_any_spelling() {
        assert_eq!(inquiry(&phone("08123456667")), Some(InquiryMagic::Frozen));
        assert_eq!(
            topup(&phone("+62 855 1008 794")),
            Some(TopupMagic::LostAnswer)
        );
        assert_eq!(topup(&phone("62811742234")), None);
        assert_eq!(WALLET_BALANCE_CAP.to_string(), "21000000.00");
        assert_eq!(INSUFFICIENT_FUND_AMOUNT.to_string(), "1000000000000.00");
        assert_eq!(
            refund(Money::parse("435815.00").unwrap()),
            Some(Case::TransactionNotPermitted)
        );
        assert_eq!(refund(Money::parse("435815.01").unwrap()), None);
        assert_eq!(
            refund(Money::parse("225800.00").unwrap()),
            Some(Case::InProgress)
        );
        // Each cancel reference answers the code it spells.
        for reference in [
            "2025700", "4035700", "4035705", "4035714", "4035715", "4045701", "4045708", "5005701",
        ] {
            let case = cancel(reference).unwrap();
            let code = bayar_snap::ResponseCode::new(bayar_snap::ServiceCode::DEBIT_CANCEL, case);
            assert_eq!(code.to_string(), reference);
        }
        assert_eq!(cancel("4035701"), None);
        assert_eq!(
            bank("82298055100").and_then(BankMagic::transfer_refusal),
            Some(Case::SuspectedFraud)
        );
        assert_eq!(
            bank("82298055100").and_then(BankMagic::inquiry_refusal),
            None
        );
        assert_eq!(
            bank("8551008794").and_then(BankMagic::transfer_refusal),
            None
        );
        assert_eq!(bank("2460888509"), None);
        for (value, code) in [
            ("505401.00", "5005401"),
            ("505400.00", "5005400"),
            ("435415.00", "4035415"),
            ("445408.00", "4045408"),
            ("21000000.00", "4035402"),
        ] {
            let case = widget_payment(Money::parse(value).unwrap()).unwrap();
            let service = bayar_snap::ServiceCode::DEBIT_PAYMENT;
            assert_eq!(
                bayar_snap::ResponseCode::new(service, case).to_string(),
                code
            );
        }
        assert_eq!(widget_payment(Money::parse("505401.01").unwrap()), None);
    }
}
