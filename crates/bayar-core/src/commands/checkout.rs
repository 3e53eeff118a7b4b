//! Checkout session commands: create (with the intent that pays it, in one savepoint), pay
//! (the customer picked DANA on the hosted checkout page: the intent is confirmed), expire
//! (the intent is cancelled unless it was paid).

use futures_util::future::BoxFuture;

use super::intents::{Confirmation, IntentView, cancel, confirm, latest_payment};
use crate::checkout::{CheckoutSession, SessionStage, SessionState};
use crate::error::CoreError;
use crate::ids::{CheckoutSessionId, MerchantId};
use crate::intent::{IntentState, PaymentIntent};
use crate::outbox::EventKind;
use crate::payment::Channel;
use crate::store::Tx;
use crate::writer::{Command, Context};

/// A session with its intent as they now stand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionView {
    /// The session.
    pub session: CheckoutSession,
    /// Its intent and the intent's latest payment.
    pub intent: IntentView,
}

impl SessionView {
    /// The state the merchant sees at `now`.
    pub fn state(&self, now: chrono::DateTime<chrono::Utc>) -> SessionState {
        self.session.state(self.intent.state(), now)
    }
}

/// Creates a session and the (unconfirmed) intent that pays it.
#[derive(Clone, Debug)]
pub struct CreateCheckoutSession {
    /// The session; its `intent_id` is `intent.id`.
    pub session: CheckoutSession,
    /// Its intent, for `session.amount_total`, with the DANA payment method and the
    /// session's `success_url` as return URL.
    pub intent: PaymentIntent,
}

impl Command for CreateCheckoutSession {
    type Output = SessionView;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        _ctx: &'t Context,
    ) -> BoxFuture<'t, Result<SessionView, CoreError>> {
        Box::pin(async move {
            let (min, max) = Channel::DanaWallet.limits();
            let total = self.session.amount_total;
            if total < min || total > max || self.intent.amount != total {
                return Err(CoreError::AmountOutOfRange { min, max });
            }
            tx.insert_intent(&self.intent).await?;
            tx.insert_checkout_session(&self.session).await?;
            Ok(SessionView {
                session: self.session.clone(),
                intent: IntentView {
                    intent: self.intent.clone(),
                    payment: None,
                },
            })
        })
    }
}

/// The customer chose DANA on the checkout page: the session's intent is confirmed, and the
/// customer continues on the wallet page. Confirming again after a failed attempt makes a new
/// attempt; a session that is no longer open is refused.
#[derive(Clone, Debug)]
pub struct PayCheckoutSession {
    /// The session.
    pub session_id: CheckoutSessionId,
    /// Where the wallet page sends the browser when the customer is done.
    pub wallet_return_url: String,
}

impl Command for PayCheckoutSession {
    type Output = SessionView;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<SessionView, CoreError>> {
        Box::pin(async move {
            let (session, view) = load(tx, None, &self.session_id).await?;
            if session.state(view.state(), ctx.now()) != SessionState::Open {
                return Err(CoreError::SessionNotOpen);
            }
            let intent = confirm(
                tx,
                ctx,
                view.intent,
                &Confirmation {
                    payment_method: None,
                    return_url: None,
                    wallet_return_url: self.wallet_return_url.clone(),
                },
            )
            .await?;
            Ok(SessionView { session, intent })
        })
    }
}

/// Expires an open session; its intent is cancelled (a waiting payment with it).
#[derive(Clone, Debug)]
pub struct ExpireCheckoutSession {
    /// Whose session.
    pub merchant_id: MerchantId,
    /// Which.
    pub session_id: CheckoutSessionId,
}

impl Command for ExpireCheckoutSession {
    type Output = SessionView;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<SessionView, CoreError>> {
        Box::pin(async move {
            let (session, view) = load(tx, Some(&self.merchant_id), &self.session_id).await?;
            if session.state(view.state(), ctx.now()) == SessionState::Complete
                || session.stage == SessionStage::Expired
            {
                return Err(CoreError::SessionNotOpen);
            }
            expire(tx, ctx, session, view).await
        })
    }
}

/// Expires the sessions whose 24 hours ran out unpaid (the sweeper runs it), as
/// [`ExpireCheckoutSession`] would, so the merchant hears `checkout.session.expired` for them
/// too. Returns the sessions expired, at most `limit`.
#[derive(Clone, Debug)]
pub struct ExpireOverdueSessions {
    /// Most sessions expired by one command.
    pub limit: i64,
}

impl Command for ExpireOverdueSessions {
    type Output = Vec<CheckoutSessionId>;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Vec<CheckoutSessionId>, CoreError>> {
        Box::pin(async move {
            let overdue = tx.overdue_sessions(ctx.now(), self.limit).await?;
            for id in &overdue {
                let (session, view) = load(tx, None, id).await?;
                expire(tx, ctx, session, view).await?;
            }
            Ok(overdue)
        })
    }
}

/// Ends an unpaid session: its intent is cancelled (with a waiting payment) unless it already
/// was, the session is stored expired, and the merchant is told.
async fn expire(
    tx: &mut Tx,
    ctx: &Context,
    mut session: CheckoutSession,
    view: IntentView,
) -> Result<SessionView, CoreError> {
    let intent = if view.state() == IntentState::Canceled {
        view
    } else {
        cancel(tx, ctx, view.intent).await?
    };
    session.stage = SessionStage::Expired;
    tx.set_session_stage(&session).await?;
    let event = super::checkout_event(EventKind::CheckoutExpired, session.merchant_id, &session.id);
    tx.insert_event(&event, ctx.now());
    Ok(SessionView { session, intent })
}

async fn load(
    tx: &mut Tx,
    merchant: Option<&MerchantId>,
    id: &CheckoutSessionId,
) -> Result<(CheckoutSession, IntentView), CoreError> {
    let session = tx
        .session(merchant, id)
        .await?
        .ok_or(CoreError::SessionNotFound)?;
    let intent = tx
        .intent(&session.merchant_id, &session.intent_id)
        .await?
        .ok_or(CoreError::IntentNotFound)?;
    let payment = latest_payment(tx, &intent).await?;
    Ok((session, IntentView { intent, payment }))
}
