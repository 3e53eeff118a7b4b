//! Payment commands and the payment state machine:
//! created -> paying -> succeeded, with failed, cancelled and expired as the other ends.
//!
//! Money moves only through the ledger: authorising holds the customer's money (a pending
//! transfer to the merchant and the gateway's fee), capturing posts the hold, cancelling or
//! expiring voids it. A direct debit (host-to-host) posts at once.

use bayar_snap::Money;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::{fingerprint, payment_event};
use crate::customer::CustomerStatus;
use crate::error::CoreError;
use crate::ids::{CustomerId, MerchantId, PaymentId};
use crate::ledger::{AccountId, Leg, Transfer, TransferId, TransferKind};
use crate::outbox::EventKind;
use crate::payment::{Channel, Face, FailureReason, PartnerReference, Payment, PaymentStatus};
use crate::store::{Inserted, Transition, Tx};
use crate::writer::{Command, Context};

/// A payment after a command, and whether the command only replayed an earlier request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentOutcome {
    /// The payment as it now stands.
    pub payment: Payment,
    /// True when the same request had been made before and nothing new happened.
    pub replayed: bool,
}

/// Creates a payment that waits for the customer (e.g. on the hosted wallet page).
#[derive(Clone, Debug)]
pub struct CreatePayment {
    /// Whose payment.
    pub merchant_id: MerchantId,
    /// The merchant's reference.
    pub partner_reference_no: PartnerReference,
    /// The request's `X-EXTERNAL-ID` (or equivalent).
    pub external_id: String,
    /// The channel.
    pub channel: Channel,
    /// The API the payment is made through.
    pub face: Face,
    /// What the customer pays.
    pub amount: Money,
    /// The customer's deadline.
    pub valid_until: Option<DateTime<Utc>>,
    /// What the customer sees on the hosted page.
    pub title: Option<String>,
    /// Where the customer's browser goes after the hosted page.
    pub return_url: Option<String>,
    /// Where this payment's notifications go, when not to the merchant's notify URL.
    pub notify_url: Option<String>,
}

impl CreatePayment {
    fn fingerprint(&self, customer: Option<&CustomerId>) -> String {
        let customer = customer.map(ToString::to_string).unwrap_or_default();
        fingerprint(&[
            self.channel.as_str(),
            &self.amount.minor().to_string(),
            &customer,
        ])
    }

    /// The new payment this request makes, in state `created` (amount checked against the
    /// channel's limits).
    fn new_payment(
        &self,
        ctx: &Context,
        customer: Option<CustomerId>,
    ) -> Result<Payment, CoreError> {
        let (min, max) = self.channel.limits();
        if self.amount < min || self.amount > max {
            return Err(CoreError::AmountOutOfRange { min, max });
        }
        let now = ctx.now();
        Ok(Payment {
            id: PaymentId::created_at(now),
            merchant_id: self.merchant_id,
            partner_reference_no: self.partner_reference_no.as_str().to_string(),
            external_id: self.external_id.clone(),
            channel: self.channel,
            face: self.face,
            amount: self.amount,
            fee: ctx.fees.payment(self.channel, self.amount),
            refunded: Money::ZERO,
            refund_count: 0,
            status: PaymentStatus::Created,
            customer_id: customer,
            title: self.title.clone(),
            return_url: self.return_url.clone(),
            notify_url: self.notify_url.clone(),
            pin_failures: 0,
            valid_until: self.valid_until,
            failure: None,
            created_at: now,
            updated_at: now,
            paid_at: None,
        })
    }

    /// Inserts the payment (or finds the earlier one with the same reference).
    pub(super) async fn insert(
        &self,
        tx: &mut Tx,
        ctx: &Context,
        customer: Option<CustomerId>,
    ) -> Result<PaymentOutcome, CoreError> {
        let payment = self.new_payment(ctx, customer)?;
        let fingerprint = self.fingerprint(customer.as_ref());
        match tx.insert_payment(&payment, &fingerprint).await? {
            Inserted::New => Ok(PaymentOutcome {
                payment,
                replayed: false,
            }),
            Inserted::Existing(existing, theirs) => replay(*existing, &theirs, &fingerprint),
        }
    }
}

/// The answer to a request whose reference already holds `existing`: the same payment again
/// when the request is the same (by fingerprint), a refusal when it differs.
fn replay(existing: Payment, theirs: &str, fingerprint: &str) -> Result<PaymentOutcome, CoreError> {
    if theirs != fingerprint {
        return Err(CoreError::InconsistentRequest);
    }
    Ok(PaymentOutcome {
        payment: existing,
        replayed: true,
    })
}

impl Command for CreatePayment {
    type Output = PaymentOutcome;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<PaymentOutcome, CoreError>> {
        Box::pin(self.insert(tx, ctx, None))
    }
}

/// A direct debit (host-to-host): creates the payment and debits the customer's bound
/// account at once. Refusals by the rail (funds, frozen account) are recorded as a failed
/// payment, so a status inquiry tells the same story as the answer did.
#[derive(Clone, Debug)]
pub struct DebitNow {
    /// The payment to create.
    pub payment: CreatePayment,
    /// The customer whose account is debited.
    pub customer_id: CustomerId,
    /// The merchant's own id for that customer (the binding's `custIdMerchant`) when the
    /// debit comes through a binding: the payment's notifications report it as it was when
    /// the customer paid. Without it they look up the customer's binding at delivery.
    pub cust_id_merchant: Option<String>,
}

impl Command for DebitNow {
    type Output = PaymentOutcome;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<PaymentOutcome, CoreError>> {
        Box::pin(async move {
            let request = &self.payment;
            let customer = Some(self.customer_id);
            let fingerprint = request.fingerprint(customer.as_ref());
            // Written once, already succeeded: the reference's unique index is the check for a
            // repeated request (which answers with the payment it made; money moves once), and
            // a success, the usual end, needs no second write of the row and its indexes.
            // Another process inserting the same reference makes this insert wait for its
            // commit and then find its payment.
            let mut payment = request.new_payment(ctx, customer)?;
            payment.status = PaymentStatus::Succeeded;
            payment.paid_at = Some(payment.created_at);
            if let Inserted::Existing(existing, theirs) =
                tx.insert_payment(&payment, &fingerprint).await?
            {
                return replay(*existing, &theirs, &fingerprint);
            }
            let kind = match charge(tx, ctx, &payment, &self.customer_id, Charge::Post).await? {
                Ok(()) => EventKind::PaymentSucceeded,
                Err(reason) => {
                    payment = tx.refuse_debit(&payment.id, reason).await?;
                    EventKind::PaymentFailed
                }
            };
            let payer = self.cust_id_merchant.as_deref();
            payment_event(tx, kind, &payment, payer, payment.created_at).await?;
            Ok(PaymentOutcome {
                payment,
                replayed: false,
            })
        })
    }
}

/// The customer authorised a waiting payment: their money is held (created -> paying).
#[derive(Clone, Debug)]
pub struct Authorize {
    /// The payment.
    pub payment_id: PaymentId,
    /// Who pays.
    pub customer_id: CustomerId,
}

impl Command for Authorize {
    type Output = Payment;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Payment, CoreError>> {
        Box::pin(authorize(tx, ctx, self.payment_id, self.customer_id))
    }
}

/// Moves the held money (paying -> succeeded).
#[derive(Clone, Debug)]
pub struct Capture {
    /// The payment.
    pub payment_id: PaymentId,
}

impl Command for Capture {
    type Output = Payment;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Payment, CoreError>> {
        Box::pin(capture(tx, ctx, self.payment_id))
    }
}

/// Authorise and capture in one step: what the hosted pages do for automatic capture.
#[derive(Clone, Debug)]
pub struct Pay {
    /// The payment.
    pub payment_id: PaymentId,
    /// Who pays.
    pub customer_id: CustomerId,
}

impl Command for Pay {
    type Output = Payment;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Payment, CoreError>> {
        Box::pin(async move {
            let authorized = authorize(tx, ctx, self.payment_id, self.customer_id).await?;
            if authorized.status != PaymentStatus::Paying {
                return Ok(authorized);
            }
            capture(tx, ctx, self.payment_id).await
        })
    }
}

/// What a PIN typed on the hosted wallet page came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WalletOutcome {
    /// The PIN was right and the payment ran: it is now succeeded, failed or expired.
    Done(Payment),
    /// Wrong PIN; this many tries are left.
    WrongPin {
        /// Tries left before the payment fails.
        remaining: u32,
    },
    /// The third wrong PIN: the payment failed.
    Locked(Payment),
}

/// Wrong PINs allowed for one payment before it fails.
pub const MAX_PIN_FAILURES: u32 = 3;

/// The customer logged in on the hosted wallet page and typed their PIN (checked with argon2
/// by [`crate::Core`] before this command, off the writer).
#[derive(Clone, Debug)]
pub struct PayWithWallet {
    /// The payment.
    pub payment_id: PaymentId,
    /// The wallet user.
    pub customer_id: CustomerId,
    /// Whether the PIN matched.
    pub pin_correct: bool,
}

impl Command for PayWithWallet {
    type Output = WalletOutcome;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<WalletOutcome, CoreError>> {
        Box::pin(async move {
            let payment = tx
                .payment(&self.payment_id)
                .await?
                .ok_or(CoreError::PaymentNotFound)?;
            if payment.status != PaymentStatus::Created {
                return Err(CoreError::InvalidPaymentState {
                    status: payment.status,
                });
            }
            // Past its deadline nothing the customer types matters: the payment expires.
            if payment
                .valid_until
                .is_some_and(|deadline| deadline <= ctx.now())
            {
                let expired = close_payment(
                    tx,
                    ctx,
                    &payment,
                    PaymentStatus::Expired,
                    EventKind::PaymentExpired,
                )
                .await?;
                return Ok(WalletOutcome::Done(expired));
            }
            if self.pin_correct {
                let authorized = authorize(tx, ctx, self.payment_id, self.customer_id).await?;
                let done = if authorized.status == PaymentStatus::Paying {
                    capture(tx, ctx, self.payment_id).await?
                } else {
                    authorized
                };
                return Ok(WalletOutcome::Done(done));
            }
            let failures = tx.count_pin_failure(&payment.id).await?;
            if failures >= MAX_PIN_FAILURES {
                let failed = fail(
                    tx,
                    ctx,
                    &payment,
                    PaymentStatus::Created,
                    FailureReason::PinLocked,
                )
                .await?;
                return Ok(WalletOutcome::Locked(failed));
            }
            Ok(WalletOutcome::WrongPin {
                remaining: MAX_PIN_FAILURES - failures,
            })
        })
    }
}

/// Cancels a payment that has not succeeded, releasing any hold.
#[derive(Clone, Debug)]
pub struct Cancel {
    /// The merchant cancelling its own payment, or `None` for the customer on the hosted page.
    pub merchant_id: Option<MerchantId>,
    /// The payment.
    pub payment_id: PaymentId,
}

impl Command for Cancel {
    type Output = Payment;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Payment, CoreError>> {
        Box::pin(async move {
            let payment = tx
                .payment(&self.payment_id)
                .await?
                .filter(|p| self.merchant_id.is_none_or(|m| p.merchant_id == m))
                .ok_or(CoreError::PaymentNotFound)?;
            close_payment(
                tx,
                ctx,
                &payment,
                PaymentStatus::Cancelled,
                EventKind::PaymentCancelled,
            )
            .await
        })
    }
}

/// Expires open payments past their deadline, releasing their holds.
#[derive(Clone, Debug)]
pub struct ExpireOverdue {
    /// Most payments to expire in one go.
    pub limit: i64,
}

impl Command for ExpireOverdue {
    /// The payments that expired.
    type Output = Vec<Payment>;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Vec<Payment>, CoreError>> {
        Box::pin(async move {
            let mut expired = Vec::new();
            for id in tx.overdue_payments(ctx.now(), self.limit).await? {
                if let Some(payment) = tx.payment(&id).await? {
                    expired.push(
                        close_payment(
                            tx,
                            ctx,
                            &payment,
                            PaymentStatus::Expired,
                            EventKind::PaymentExpired,
                        )
                        .await?,
                    );
                }
            }
            Ok(expired)
        })
    }
}

async fn authorize(
    tx: &mut Tx,
    ctx: &Context,
    payment_id: PaymentId,
    customer_id: CustomerId,
) -> Result<Payment, CoreError> {
    let payment = tx
        .payment(&payment_id)
        .await?
        .ok_or(CoreError::PaymentNotFound)?;
    if payment.status != PaymentStatus::Created {
        return Err(CoreError::InvalidPaymentState {
            status: payment.status,
        });
    }
    if payment
        .valid_until
        .is_some_and(|deadline| deadline <= ctx.now())
    {
        return close_payment(
            tx,
            ctx,
            &payment,
            PaymentStatus::Expired,
            EventKind::PaymentExpired,
        )
        .await;
    }
    match charge(tx, ctx, &payment, &customer_id, Charge::Hold).await? {
        Ok(()) => {
            let moved = tx
                .transition_payment(Transition {
                    id: &payment.id,
                    from: PaymentStatus::Created,
                    to: PaymentStatus::Paying,
                    customer: Some(&customer_id),
                    failure: None,
                    now: ctx.now(),
                })
                .await?;
            reload(tx, &payment.id, moved).await
        }
        Err(reason) => fail(tx, ctx, &payment, PaymentStatus::Created, reason).await,
    }
}

async fn capture(tx: &mut Tx, ctx: &Context, payment_id: PaymentId) -> Result<Payment, CoreError> {
    let payment = tx
        .payment(&payment_id)
        .await?
        .ok_or(CoreError::PaymentNotFound)?;
    if payment.status != PaymentStatus::Paying {
        return Err(CoreError::InvalidPaymentState {
            status: payment.status,
        });
    }
    let post = Transfer {
        id: TransferId::for_subject(&payment.id, "capture"),
        kind: TransferKind::PostPending(TransferId::for_subject(&payment.id, "hold")),
        memo: format!("capture of {}", payment.id),
    };
    tx.apply_transfer(&post, ctx.now()).await?;
    succeed(tx, ctx, &payment, PaymentStatus::Paying).await
}

/// How a charge moves the customer's money.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Charge {
    /// Posted now (direct debit, of a payment inserted in the same transaction).
    Post,
    /// Held until captured.
    Hold,
}

/// Debits (or holds) the payment's amount from the customer to the merchant and the fee to the
/// gateway. The inner `Err` is the rail's refusal, to be recorded on the payment.
async fn charge(
    tx: &mut Tx,
    ctx: &Context,
    payment: &Payment,
    customer_id: &CustomerId,
    how: Charge,
) -> Result<Result<(), FailureReason>, CoreError> {
    let customer = tx
        .customer(customer_id)
        .await?
        .ok_or(CoreError::CustomerNotFound)?;
    if customer.rail != payment.channel.rail() {
        return Err(CoreError::CustomerNotFound);
    }
    if customer.status == CustomerStatus::Frozen {
        return Ok(Err(FailureReason::AccountFrozen));
    }
    let net = payment
        .amount
        .checked_sub(payment.fee)
        .unwrap_or(Money::ZERO);
    let legs = vec![
        Leg {
            debit: customer.account.clone(),
            credit: AccountId::merchant_available(&payment.merchant_id),
            amount: net,
        },
        Leg {
            debit: customer.account.clone(),
            credit: AccountId::gateway_fees(),
            amount: payment.fee,
        },
    ];
    let memo = format!("payment {}", payment.id);
    let transfer = match how {
        Charge::Post => Transfer::posted(TransferId::for_subject(&payment.id, "debit"), memo, legs),
        Charge::Hold => Transfer::pending(TransferId::for_subject(&payment.id, "hold"), memo, legs),
    };
    let applied = match how {
        // The payment was inserted by this transaction: its debit's id is new.
        Charge::Post => tx.apply_new_transfer(&transfer, ctx.now()).await,
        Charge::Hold => tx.apply_transfer(&transfer, ctx.now()).await.map(|_| ()),
    };
    match applied {
        Ok(()) => Ok(Ok(())),
        Err(CoreError::InsufficientFunds) => Ok(Err(FailureReason::InsufficientFunds)),
        Err(e) => Err(e),
    }
}

async fn succeed(
    tx: &mut Tx,
    ctx: &Context,
    payment: &Payment,
    from: PaymentStatus,
) -> Result<Payment, CoreError> {
    let to = (PaymentStatus::Succeeded, None);
    finish(tx, ctx, payment, from, to, EventKind::PaymentSucceeded).await
}

async fn fail(
    tx: &mut Tx,
    ctx: &Context,
    payment: &Payment,
    from: PaymentStatus,
    reason: FailureReason,
) -> Result<Payment, CoreError> {
    let to = (PaymentStatus::Failed, Some(reason));
    finish(tx, ctx, payment, from, to, EventKind::PaymentFailed).await
}

/// Ends an open payment as cancelled or expired, voiding its hold if it had one.
pub(super) async fn close_payment(
    tx: &mut Tx,
    ctx: &Context,
    payment: &Payment,
    to: PaymentStatus,
    kind: EventKind,
) -> Result<Payment, CoreError> {
    if payment.status.is_final() {
        return Err(CoreError::InvalidPaymentState {
            status: payment.status,
        });
    }
    if payment.status == PaymentStatus::Paying {
        let void = Transfer {
            id: TransferId::for_subject(&payment.id, "void"),
            kind: TransferKind::VoidPending(TransferId::for_subject(&payment.id, "hold")),
            memo: format!("release of {}", payment.id),
        };
        tx.apply_transfer(&void, ctx.now()).await?;
    }
    finish(tx, ctx, payment, payment.status, (to, None), kind).await
}

/// Moves a payment from `from` to a final state and writes the event that tells the merchant.
async fn finish(
    tx: &mut Tx,
    ctx: &Context,
    payment: &Payment,
    from: PaymentStatus,
    (to, failure): (PaymentStatus, Option<FailureReason>),
    kind: EventKind,
) -> Result<Payment, CoreError> {
    let moved = tx
        .transition_payment(Transition {
            id: &payment.id,
            from,
            to,
            customer: None,
            failure,
            now: ctx.now(),
        })
        .await?;
    let payment = reload(tx, &payment.id, moved).await?;
    payment_event(tx, kind, &payment, None, ctx.now()).await?;
    Ok(payment)
}

/// The payment after a transition; a transition that did not apply means another writer
/// changed the payment first, which the caller sees as an invalid state.
async fn reload(tx: &mut Tx, id: &PaymentId, moved: Option<Payment>) -> Result<Payment, CoreError> {
    if let Some(payment) = moved {
        return Ok(payment);
    }
    let payment = tx.payment(id).await?.ok_or(CoreError::PaymentNotFound)?;
    Err(CoreError::InvalidPaymentState {
        status: payment.status,
    })
}
