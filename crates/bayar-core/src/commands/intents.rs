//! Payment intent commands: create, confirm (which creates the intent's payment on the
//! DANA-like wallet), cancel. Confirming writes the payment and the intent's new stage in one
//! savepoint, so an intent never points at a payment that was not made, nor the reverse.

use futures_util::future::BoxFuture;

use super::CreatePayment;
use super::payments::close_payment;
use crate::error::CoreError;
use crate::ids::{IntentId, MerchantId};
use crate::intent::{IntentStage, IntentState, PaymentIntent};
use crate::outbox::EventKind;
use crate::payment::{Channel, Face, PartnerReference, Payment, PaymentStatus};
use crate::store::{StoreError, Tx};
use crate::writer::{Command, Context};

/// An intent with its latest payment, as a command left them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntentView {
    /// The intent.
    pub intent: PaymentIntent,
    /// Its latest payment, once confirmed.
    pub payment: Option<Payment>,
}

impl IntentView {
    /// The state the merchant sees.
    pub fn state(&self) -> IntentState {
        self.intent.state(self.payment.as_ref())
    }
}

/// How to confirm an intent.
#[derive(Clone, Debug)]
pub struct Confirmation {
    /// A payment method given with the confirmation (replaces the intent's).
    pub payment_method: Option<String>,
    /// A return URL given with the confirmation (replaces the intent's).
    pub return_url: Option<String>,
    /// Where the wallet page sends the browser when the customer is done; the face routes it
    /// on to the intent's return URL in its own dialect.
    pub wallet_return_url: String,
}

/// Creates an intent, and confirms it at once when asked.
#[derive(Clone, Debug)]
pub struct CreateIntent {
    /// The intent (see [`PaymentIntent::new`]).
    pub intent: PaymentIntent,
    /// Confirm it in the same step.
    pub confirm: Option<Confirmation>,
}

impl Command for CreateIntent {
    type Output = IntentView;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<IntentView, CoreError>> {
        Box::pin(async move {
            let (min, max) = Channel::DanaWallet.limits();
            if self.intent.amount < min || self.intent.amount > max {
                return Err(CoreError::AmountOutOfRange { min, max });
            }
            tx.insert_intent(&self.intent).await?;
            match &self.confirm {
                Some(how) => confirm(tx, ctx, self.intent.clone(), how).await,
                None => Ok(IntentView {
                    intent: self.intent.clone(),
                    payment: None,
                }),
            }
        })
    }
}

/// Confirms an intent: creates its payment, which the customer then pays on the wallet page.
#[derive(Clone, Debug)]
pub struct ConfirmIntent {
    /// Whose intent.
    pub merchant_id: MerchantId,
    /// Which.
    pub intent_id: IntentId,
    /// How.
    pub confirmation: Confirmation,
}

impl Command for ConfirmIntent {
    type Output = IntentView;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<IntentView, CoreError>> {
        Box::pin(async move {
            let intent = tx
                .intent(&self.merchant_id, &self.intent_id)
                .await?
                .ok_or(CoreError::IntentNotFound)?;
            confirm(tx, ctx, intent, &self.confirmation).await
        })
    }
}

/// Cancels an intent that has not succeeded: before confirmation only the intent changes;
/// afterwards its waiting payment is cancelled (and the merchant told).
#[derive(Clone, Debug)]
pub struct CancelIntent {
    /// Whose intent.
    pub merchant_id: MerchantId,
    /// Which.
    pub intent_id: IntentId,
}

impl Command for CancelIntent {
    type Output = IntentView;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<IntentView, CoreError>> {
        Box::pin(async move {
            let intent = tx
                .intent(&self.merchant_id, &self.intent_id)
                .await?
                .ok_or(CoreError::IntentNotFound)?;
            cancel(tx, ctx, intent).await
        })
    }
}

/// Cancels `intent` (see [`CancelIntent`]).
pub(super) async fn cancel(
    tx: &mut Tx,
    ctx: &Context,
    mut intent: PaymentIntent,
) -> Result<IntentView, CoreError> {
    let payment = latest_payment(tx, &intent).await?;
    let state = intent.state(payment.as_ref());
    match (state, payment) {
        (IntentState::RequiresAction | IntentState::Processing, Some(payment)) => {
            let payment = close_payment(
                tx,
                ctx,
                &payment,
                PaymentStatus::Cancelled,
                EventKind::PaymentCancelled,
            )
            .await?;
            Ok(IntentView {
                intent,
                payment: Some(payment),
            })
        }
        (IntentState::RequiresPaymentMethod | IntentState::RequiresConfirmation, p) => {
            intent.stage = IntentStage::Canceled;
            intent.updated_at = ctx.now();
            tx.update_intent(&intent).await?;
            Ok(IntentView { intent, payment: p })
        }
        (status, _) => Err(CoreError::InvalidIntentState { status }),
    }
}

/// The intent's latest payment, if it was confirmed.
pub(super) async fn latest_payment(
    tx: &mut Tx,
    intent: &PaymentIntent,
) -> Result<Option<Payment>, CoreError> {
    match &intent.payment_id {
        Some(id) => Ok(Some(
            tx.payment(id).await?.ok_or(CoreError::PaymentNotFound)?,
        )),
        None => Ok(None),
    }
}

/// Confirms `intent` (see [`ConfirmIntent`]).
pub(super) async fn confirm(
    tx: &mut Tx,
    ctx: &Context,
    mut intent: PaymentIntent,
    how: &Confirmation,
) -> Result<IntentView, CoreError> {
    let previous = latest_payment(tx, &intent).await?;
    let state = intent.state(previous.as_ref());
    if !matches!(
        state,
        IntentState::RequiresPaymentMethod | IntentState::RequiresConfirmation
    ) {
        return Err(CoreError::InvalidIntentState { status: state });
    }
    if let Some(method) = &how.payment_method {
        intent.payment_method = Some(method.clone());
    }
    if let Some(url) = &how.return_url {
        intent.return_url = Some(url.clone());
    }
    if intent.payment_method.is_none() {
        return Err(CoreError::PaymentMethodRequired);
    }
    if intent.return_url.is_none() {
        return Err(CoreError::ReturnUrlRequired);
    }
    intent.attempts += 1;
    // Each confirmation is its own payment, so a failed attempt stays on record as it was.
    let reference = PartnerReference::parse(&format!("{}-{}", intent.id, intent.attempts))
        .map_err(|e| StoreError::Corrupt {
            table: "payment_intents",
            reason: format!("{}: {e}", intent.id),
        })?;
    let created = CreatePayment {
        merchant_id: intent.merchant_id,
        partner_reference_no: reference,
        external_id: intent.id.to_string(),
        channel: Channel::DanaWallet,
        face: Face::Stripe,
        amount: intent.amount,
        valid_until: None,
        title: intent.description.clone(),
        return_url: Some(how.wallet_return_url.clone()),
        notify_url: None,
    }
    .insert(tx, ctx, None)
    .await?;
    intent.stage = IntentStage::Confirmed;
    intent.payment_id = Some(created.payment.id);
    intent.updated_at = ctx.now();
    tx.update_intent(&intent).await?;
    Ok(IntentView {
        intent,
        payment: Some(created.payment),
    })
}
