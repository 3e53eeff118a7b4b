//! Checkout sessions (the Stripe-style API's `cs_...`): line items shown on a hosted checkout
//! page, paid through the session's own payment intent on the DANA-like wallet. A session is
//! open for 24 hours, until it is paid ("complete", read from its intent) or expired.

use bayar_snap::Money;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CheckoutSessionId, IntentId, MerchantId};
use crate::intent::IntentState;

/// How long a session stays open.
pub const LIFETIME: TimeDelta = TimeDelta::hours(24);

/// One line of a session: a product at a unit price, times a quantity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// The line's id (`li_...`).
    pub id: String,
    /// The price's id (`price_...`).
    pub price_id: String,
    /// The product's id (`prod_...`).
    pub product_id: String,
    /// The product's name.
    pub name: String,
    /// The price's nickname.
    pub nickname: Option<String>,
    /// The price's lookup key.
    pub lookup_key: Option<String>,
    /// Price of one, in minor units.
    pub unit_amount: Money,
    /// How many.
    pub quantity: u32,
}

impl LineItem {
    /// Unit price times quantity; `None` on overflow.
    pub fn total(&self) -> Option<Money> {
        let minor = self
            .unit_amount
            .minor()
            .checked_mul(i64::from(self.quantity))?;
        Money::from_minor(minor).ok()
    }
}

/// Whether a session still takes a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStage {
    /// Open (unless past its `expires_at`).
    Open,
    /// Expired by the merchant or by time.
    Expired,
}

impl SessionStage {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Expired => "expired",
        }
    }
}

impl std::str::FromStr for SessionStage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(Self::Open),
            "expired" => Ok(Self::Expired),
            other => Err(format!("unknown session stage {other:?}")),
        }
    }
}

/// A session's state as the merchant sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// Waiting for the customer.
    Open,
    /// Paid.
    Complete,
    /// No longer payable.
    Expired,
}

impl SessionState {
    /// The state's name (Stripe's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Complete => "complete",
            Self::Expired => "expired",
        }
    }
}

/// A checkout session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutSession {
    /// bayar's id (`cs_...`).
    pub id: CheckoutSessionId,
    /// Whose session.
    pub merchant_id: MerchantId,
    /// The intent that pays it.
    pub intent_id: IntentId,
    /// Its own stage.
    pub stage: SessionStage,
    /// Where the customer goes after paying.
    pub success_url: String,
    /// Where the customer goes on giving up.
    pub cancel_url: Option<String>,
    /// What is bought.
    pub line_items: Vec<LineItem>,
    /// The sum of the lines.
    pub amount_total: Money,
    /// When it stops taking payments.
    pub expires_at: DateTime<Utc>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl CheckoutSession {
    /// The state the merchant sees, given its intent's state and the time.
    pub fn state(&self, intent: IntentState, now: DateTime<Utc>) -> SessionState {
        match (intent, self.stage) {
            (IntentState::Succeeded | IntentState::Processing, _) => SessionState::Complete,
            (_, SessionStage::Expired) | (IntentState::Canceled, _) => SessionState::Expired,
            _ if now >= self.expires_at => SessionState::Expired,
            _ => SessionState::Open,
        }
    }
}
