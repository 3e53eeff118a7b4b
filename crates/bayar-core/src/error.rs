//! The core's error enum: what a face must map into its own dialect.

use bayar_snap::Money;
use thiserror::Error;

use crate::ledger::LedgerError;
use crate::payment::PaymentStatus;
use crate::store::StoreError;

/// Everything a core call can refuse or fail with. All but `Store`, `Key`, `Ledger` and the
/// hashing failures are business outcomes a face answers with a 4xx-style code; those mean
/// bayar failed and the request had no effect. `Overloaded` is neither: a refusal for now,
/// to be retried (HTTP 429).
#[derive(Debug, Error)]
pub enum CoreError {
    /// The merchant already used this `X-EXTERNAL-ID` today (Jakarta time).
    #[error("X-EXTERNAL-ID already used today")]
    DuplicateExternalId,
    /// A reference (partnerReferenceNo, partnerRefundNo, idempotency key) was used before
    /// with other content.
    #[error("the reference was already used with other content")]
    InconsistentRequest,
    /// The amount is outside the channel's limits.
    #[error("amount must be between {min} and {max}")]
    AmountOutOfRange {
        /// Smallest allowed.
        min: Money,
        /// Largest allowed.
        max: Money,
    },
    /// The paying (or debited) account has too little money.
    #[error("insufficient funds")]
    InsufficientFunds,
    /// No such payment for this merchant.
    #[error("payment not found")]
    PaymentNotFound,
    /// No such customer at the rail.
    #[error("customer not found")]
    CustomerNotFound,
    /// No such merchant.
    #[error("merchant not found")]
    MerchantNotFound,
    /// The customer's account is frozen.
    #[error("the customer's account is frozen")]
    AccountFrozen,
    /// The customer already exists at that rail.
    #[error("a customer with this phone number already exists at this rail")]
    CustomerExists,
    /// The payment is not in a state that allows this.
    #[error("payment is {status}, which does not allow this")]
    InvalidPaymentState {
        /// Its current status.
        status: PaymentStatus,
    },
    /// The payment's deadline has passed.
    #[error("payment expired")]
    PaymentExpired,
    /// The refund would take the refunded total beyond the paid amount.
    #[error("refund exceeds the refundable amount {refundable}")]
    RefundExceedsPayment {
        /// What can still be refunded.
        refundable: Money,
    },
    /// The channel allows no further refund of this payment.
    #[error("this channel allows only one refund per payment")]
    RefundNotAllowed,
    /// The bank account is already bound to another customer of this merchant.
    #[error("this account is already bound to another customer of the merchant")]
    AlreadyBound,
    /// No such binding for this merchant.
    #[error("binding not found")]
    BindingNotFound,
    /// The binding is not in a state that allows this (not active, or past this step).
    #[error("the binding does not allow this in its current state")]
    BindingNotActive,
    /// The auth code or refresh token is unknown, expired, or its binding is gone.
    #[error("auth code or refresh token is invalid")]
    InvalidAuthCode,
    /// The customer token is unknown, expired, or its binding was unbound.
    #[error("customer token is invalid")]
    InvalidCustomerToken,
    /// No such payment intent for this merchant.
    #[error("payment intent not found")]
    IntentNotFound,
    /// The payment intent is not in a state that allows this.
    #[error("payment intent is {status}, which does not allow this")]
    InvalidIntentState {
        /// Its current state.
        status: crate::intent::IntentState,
    },
    /// Confirming needs a payment method and the intent has none.
    #[error("a payment method is required to confirm")]
    PaymentMethodRequired,
    /// Confirming needs a return URL (the wallet sends the customer back there) and there is none.
    #[error("a return URL is required to confirm")]
    ReturnUrlRequired,
    /// No such checkout session for this merchant.
    #[error("checkout session not found")]
    SessionNotFound,
    /// The checkout session is complete or expired.
    #[error("the checkout session is no longer open")]
    SessionNotOpen,
    /// No such live webhook endpoint for this merchant.
    #[error("webhook endpoint not found")]
    WebhookEndpointNotFound,
    /// A portal user with this email already exists.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// The email and password do not match a portal user (which of the two is wrong is not
    /// said).
    #[error("email or password is wrong")]
    LoginRefused,
    /// Too many failed logins in a row: the portal account is locked for a while.
    #[error("too many failed logins; the account is locked for a while")]
    LockedOut,
    /// No such outbox event for this merchant.
    #[error("notification not found")]
    EventNotFound,
    /// The ledger refused a transfer for a reason that is bayar's own error.
    #[error("ledger: {0}")]
    Ledger(LedgerError),
    /// A key could not be parsed or generated.
    #[error("key error: {0}")]
    Key(#[from] bayar_snap::KeyError),
    /// Hashing a PIN failed.
    #[error("PIN hashing failed")]
    PinHash,
    /// Hashing or checking a portal password failed.
    #[error("password hashing failed")]
    PasswordHash,
    /// The store failed; the request had no effect.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// bayar has more writes queued than it takes on; this one was refused before it did
    /// anything, so the same request may simply be sent again a little later.
    #[error("too many requests in progress; nothing was done, try again shortly")]
    Overloaded,
}

impl From<sqlx::Error> for CoreError {
    fn from(err: sqlx::Error) -> Self {
        CoreError::Store(StoreError::Database(err))
    }
}

impl From<LedgerError> for CoreError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::InsufficientFunds(_) => CoreError::InsufficientFunds,
            other => CoreError::Ledger(other),
        }
    }
}

impl CoreError {
    /// Whether this is bayar's own failure (answer 5xx, log it) rather than a business refusal.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            CoreError::Store(_)
                | CoreError::Key(_)
                | CoreError::Ledger(_)
                | CoreError::PinHash
                | CoreError::PasswordHash
        )
    }
}
