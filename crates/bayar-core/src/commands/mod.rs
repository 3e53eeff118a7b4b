//! Commands: every state change bayar makes, as plain data the writer runs in a transaction.
//!
//! A face builds a command from a request and hands it to [`crate::Core::run`]; the command
//! checks the domain rules, writes its rows, its ledger transfers and its outbox events
//! through the [`crate::store::Tx`], and they commit together or not at all.

mod bindings;
mod checkout;
mod customers;
mod disbursements;
mod intents;
mod merchants;
mod outbox;
mod payments;
mod portal;
mod refunds;
mod replay;
mod webhooks;

use aws_lc_rs::digest;
use chrono::{DateTime, Utc};

pub use bindings::{
    Answer, BeginBinding, IssueOneTimeToken, RecordPin, RedeemAuthCode, RedeemOneTimeToken,
    SubmitOtp, Unbind,
};
pub use checkout::{
    CreateCheckoutSession, ExpireCheckoutSession, ExpireOverdueSessions, PayCheckoutSession,
    SessionView,
};
pub use customers::{CreateCustomer, SetCustomerStatus};
pub use disbursements::{Disburse, DisburseToBank, DisbursementOutcome};
pub use intents::{CancelIntent, ConfirmIntent, Confirmation, CreateIntent, IntentView};
pub use merchants::{CreateMerchant, FundDeposit};
pub use outbox::{ClaimDueEvents, FanOutEvent, RecordAttempts};
pub use payments::{
    Authorize, Cancel, Capture, CreatePayment, DebitNow, ExpireOverdue, MAX_PIN_FAILURES, Pay,
    PayWithWallet, PaymentOutcome, WalletOutcome,
};
pub use portal::{
    CreateUser, DeleteSession, RecordApiCalls, RecordLogin, ResendEvent, RollApiKey, RotateSecret,
    SendTestNotification, SetMerchantUrls, SetPublicKey, SignUp,
};
pub use refunds::{RefundOutcome, RefundPayment};
pub use replay::{ClaimExternalId, Claimed};
pub use webhooks::{CreateWebhookEndpoint, DeleteWebhookEndpoint};

use crate::error::CoreError;
use crate::ids::{CheckoutSessionId, MerchantId, PaymentId};
use crate::outbox::{EventKind, NewEvent};
use crate::payment::{Face, PartnerReference, Payment};
use crate::store::Tx;

/// How a merchant names one of its payments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentLookup {
    /// By bayar's reference.
    Id(PaymentId),
    /// By the merchant's own reference.
    PartnerReference(PartnerReference),
}

/// The fingerprint of a request's defining fields, to tell a retry from a clash.
fn fingerprint(parts: &[&str]) -> String {
    let hash = digest::digest(&digest::SHA256, parts.join("\u{1f}").as_bytes());
    hash.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the outbox event that tells the merchant about `payment`'s new state; `payer` is
/// the merchant's own id for the paying customer, when known.
async fn payment_event(
    tx: &mut Tx,
    kind: EventKind,
    payment: &Payment,
    payer: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let mut payload = serde_json::json!({
        "payment_id": payment.id.to_string(),
        "partner_reference_no": payment.partner_reference_no,
        "external_id": payment.external_id,
        "channel": payment.channel.as_str(),
        "face": payment.face.as_str(),
        "amount": payment.amount,
        "fee": payment.fee,
        "status": payment.status.as_str(),
        "failure": payment.failure.map(|f| f.as_str()),
        "customer_id": payment.customer_id.map(|c| c.to_string()),
        "paid_at": payment.paid_at.map(bayar_snap::time::format_jakarta),
        // A per-payment notification URL (DANA's `urlParams[type=NOTIFICATION]`) overrides
        // the merchant's; the dialect that honours it reads it from here.
        "notify_url": payment.notify_url,
    });
    if let Some(payer) = payer {
        payload["cust_id_merchant"] = payer.into();
    }
    tx.insert_event(
        &NewEvent {
            merchant_id: payment.merchant_id,
            kind,
            subject_id: payment.id.to_string(),
            payload,
        },
        now,
    );
    // A Stripe-style checkout session completes with its payment, and says so itself
    // (`checkout.session.completed`), in the same commit.
    if kind == EventKind::PaymentSucceeded
        && payment.face == Face::Stripe
        && let Some(session) = tx.session_of_payment(&payment.id).await?
    {
        tx.insert_event(
            &checkout_event(EventKind::CheckoutCompleted, payment.merchant_id, &session),
            now,
        );
    }
    Ok(())
}

/// The outbox event of a checkout session's end.
fn checkout_event(
    kind: EventKind,
    merchant_id: MerchantId,
    session: &CheckoutSessionId,
) -> NewEvent {
    NewEvent {
        merchant_id,
        kind,
        subject_id: session.to_string(),
        payload: serde_json::json!({
            "face": Face::Stripe.as_str(),
            "session_id": session.to_string(),
        }),
    }
}
