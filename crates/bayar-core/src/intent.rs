//! Payment intents (the Stripe-style API's `pi_...`): what a merchant means to collect.
//!
//! An intent is created, optionally given a payment method, and confirmed; confirming creates
//! a payment on the DANA-like wallet (a fresh one after a failed attempt). Until then no money
//! and no payment exist; afterwards the payment's state decides the intent's, so the intent
//! never holds a second copy of what the payment knows.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use bayar_snap::Money;
use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::ids::{IntentId, MerchantId, PaymentId};
use crate::payment::{Payment, PaymentStatus};
use crate::secret::Secret;

/// Where an intent is in its own life, before its payment takes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntentStage {
    /// Not confirmed yet.
    Unconfirmed,
    /// Confirmed: its payment decides the state.
    Confirmed,
    /// Cancelled before it was confirmed.
    Canceled,
}

impl IntentStage {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unconfirmed => "unconfirmed",
            Self::Confirmed => "confirmed",
            Self::Canceled => "canceled",
        }
    }
}

impl FromStr for IntentStage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "unconfirmed" => Ok(Self::Unconfirmed),
            "confirmed" => Ok(Self::Confirmed),
            "canceled" => Ok(Self::Canceled),
            other => Err(format!("unknown intent stage {other:?}")),
        }
    }
}

/// An intent's state as its merchant sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntentState {
    /// It needs a payment method (none given yet, or the last attempt failed).
    RequiresPaymentMethod,
    /// It has a payment method and waits to be confirmed.
    RequiresConfirmation,
    /// Confirmed: the customer must act (pay on the wallet page).
    RequiresAction,
    /// The customer authorised it; the money is held.
    Processing,
    /// Paid.
    Succeeded,
    /// Cancelled by the merchant or the customer, or it expired.
    Canceled,
}

impl IntentState {
    /// The state's name (Stripe's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequiresPaymentMethod => "requires_payment_method",
            Self::RequiresConfirmation => "requires_confirmation",
            Self::RequiresAction => "requires_action",
            Self::Processing => "processing",
            Self::Succeeded => "succeeded",
            Self::Canceled => "canceled",
        }
    }
}

impl fmt::Display for IntentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payment intent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentIntent {
    /// bayar's id (`pi_...`).
    pub id: IntentId,
    /// Whose intent.
    pub merchant_id: MerchantId,
    /// What the customer is to pay.
    pub amount: Money,
    /// Its own stage; see [`PaymentIntent::state`] for what the merchant sees.
    pub stage: IntentStage,
    /// The payment method (`pm_...`), once given; only the DANA wallet exists.
    pub payment_method: Option<String>,
    /// The payment of the latest confirmation.
    pub payment_id: Option<PaymentId>,
    /// How many times it was confirmed.
    pub attempts: u32,
    /// Shown to the merchant, who may hand it to its own front end.
    pub client_secret: Secret<String>,
    /// Where the customer's browser goes after paying.
    pub return_url: Option<String>,
    /// The merchant's description, shown on the wallet page.
    pub description: Option<String>,
    /// The merchant's own key-value pairs.
    pub metadata: BTreeMap<String, String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl PaymentIntent {
    /// A new, unconfirmed intent with a fresh id and client secret.
    pub fn new(merchant_id: MerchantId, amount: Money, now: DateTime<Utc>) -> PaymentIntent {
        let id = IntentId::generate();
        let random: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        PaymentIntent {
            id,
            merchant_id,
            amount,
            stage: IntentStage::Unconfirmed,
            payment_method: None,
            payment_id: None,
            attempts: 0,
            client_secret: Secret::new(format!("{id}_secret_{random}")),
            return_url: None,
            description: None,
            metadata: BTreeMap::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// The state the merchant sees, given the intent's latest payment (if it has one).
    pub fn state(&self, payment: Option<&Payment>) -> IntentState {
        match (self.stage, payment) {
            (IntentStage::Canceled, _) => IntentState::Canceled,
            (IntentStage::Unconfirmed, _) | (IntentStage::Confirmed, None) => {
                if self.payment_method.is_some() {
                    IntentState::RequiresConfirmation
                } else {
                    IntentState::RequiresPaymentMethod
                }
            }
            (IntentStage::Confirmed, Some(p)) => match p.status {
                PaymentStatus::Created => IntentState::RequiresAction,
                PaymentStatus::Paying => IntentState::Processing,
                PaymentStatus::Succeeded => IntentState::Succeeded,
                PaymentStatus::Failed => IntentState::RequiresPaymentMethod,
                PaymentStatus::Cancelled | PaymentStatus::Expired => IntentState::Canceled,
            },
        }
    }
}

/// A new payment method id (`pm_...`) for the DANA wallet given with an intent.
pub fn new_payment_method_id() -> String {
    format!("pm_{}", ulid::Ulid::new())
}

/// A page of a cursor-paginated list, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items at most (1 to 100).
    pub limit: u32,
    /// Where the page starts.
    pub cursor: Cursor,
}

/// Where a page of a newest-first list starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// The newest items.
    First,
    /// Items older than this id.
    After(String),
    /// Items newer than this id.
    Before(String),
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPage<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Whether more items lie beyond the page in the direction it was read.
    pub has_more: bool,
}
