//! Refunds: money back from the merchant to the customer, within the paid amount and the
//! channel's rule on how many refunds a payment may have.

use bayar_snap::Money;
use futures_util::future::BoxFuture;

use super::{PaymentLookup, fingerprint};
use crate::error::CoreError;
use crate::ids::{MerchantId, RefundId};
use crate::ledger::{AccountId, Leg, Transfer, TransferId};
use crate::outbox::{EventKind, NewEvent};
use crate::payment::{PartnerReference, Payment, PaymentStatus, Refund, RefundPolicy};
use crate::store::Tx;
use crate::writer::{Command, Context};

/// A refund after the command, with the payment it refunds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundOutcome {
    /// The refund.
    pub refund: Refund,
    /// The refunded payment as it now stands.
    pub payment: Payment,
    /// True when the same refund had been requested before and nothing new happened.
    pub replayed: bool,
}

/// Refunds (part of) a succeeded payment. Idempotent by `partner_refund_no`.
#[derive(Clone, Debug)]
pub struct RefundPayment {
    /// Whose payment.
    pub merchant_id: MerchantId,
    /// Which payment.
    pub payment: PaymentLookup,
    /// The merchant's reference for this refund.
    pub partner_refund_no: PartnerReference,
    /// How much goes back.
    pub amount: Money,
    /// Why.
    pub reason: Option<String>,
}

impl Command for RefundPayment {
    type Output = RefundOutcome;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<RefundOutcome, CoreError>> {
        Box::pin(async move {
            let now = ctx.now();
            if self.amount == Money::ZERO {
                return Err(CoreError::AmountOutOfRange {
                    min: Money::from_minor(1).unwrap_or(Money::ZERO),
                    max: Money::MAX,
                });
            }
            let payment = tx
                .find_payment(&self.merchant_id, &self.payment)
                .await?
                .ok_or(CoreError::PaymentNotFound)?;
            let refund = Refund {
                id: RefundId::generate(),
                payment_id: payment.id,
                merchant_id: self.merchant_id,
                partner_refund_no: self.partner_refund_no.as_str().to_string(),
                amount: self.amount,
                reason: self.reason.clone(),
                created_at: now,
            };
            let ours = fingerprint(&[&payment.id.to_string(), &self.amount.minor().to_string()]);
            if let Some((earlier, theirs)) = tx.insert_refund(&refund, &ours).await? {
                return if theirs == ours {
                    Ok(RefundOutcome {
                        refund: earlier,
                        payment,
                        replayed: true,
                    })
                } else {
                    Err(CoreError::InconsistentRequest)
                };
            }
            let policy = payment.channel.refund_policy();
            let Some(payment) = tx
                .add_refund_to_payment(&payment.id, self.amount.minor(), policy, now)
                .await?
            else {
                // Re-read: a concurrent refund may have changed the payment since we looked.
                let current = tx
                    .payment(&payment.id)
                    .await?
                    .ok_or(CoreError::PaymentNotFound)?;
                return Err(refusal(&current, policy));
            };
            let customer = payment.customer_id.ok_or(CoreError::PaymentNotFound)?;
            let fee_back = fee_share(&payment, self.amount);
            let customer_account = AccountId::customer(&customer);
            let transfer = Transfer::posted(
                TransferId::for_subject(&refund.id, "refund"),
                format!("refund {} of {}", refund.id, payment.id),
                vec![
                    Leg {
                        debit: AccountId::merchant_available(&payment.merchant_id),
                        credit: customer_account.clone(),
                        amount: self.amount.checked_sub(fee_back).unwrap_or(Money::ZERO),
                    },
                    Leg {
                        debit: AccountId::gateway_fees(),
                        credit: customer_account,
                        amount: fee_back,
                    },
                ],
            );
            tx.apply_transfer(&transfer, now).await?;
            tx.insert_event(
                &NewEvent {
                    merchant_id: self.merchant_id,
                    kind: EventKind::RefundSucceeded,
                    subject_id: refund.id.to_string(),
                    payload: serde_json::json!({
                        "refund_id": refund.id.to_string(),
                        "partner_refund_no": refund.partner_refund_no,
                        "payment_id": payment.id.to_string(),
                        "partner_reference_no": payment.partner_reference_no,
                        "channel": payment.channel.as_str(),
                        "face": payment.face.as_str(),
                        "external_id": payment.external_id,
                        "customer_id": payment.customer_id.map(|c| c.to_string()),
                        "amount": refund.amount,
                        "refunded_total": payment.refunded,
                        "reason": refund.reason,
                    }),
                },
                now,
            );
            Ok(RefundOutcome {
                refund,
                payment,
                replayed: false,
            })
        })
    }
}

/// The part of the payment's fee the gateway gives back with a refund of `amount`, given
/// `payment.refunded` already includes it. The merchant was credited net of the fee, so the
/// gateway returns its fee in proportion; computed on the running total so that a payment
/// refunded in full returns exactly its whole fee, whatever the rounding of each part.
fn fee_share(payment: &Payment, amount: Money) -> Money {
    let fee = i128::from(payment.fee.minor());
    let total = i128::from(payment.amount.minor()).max(1);
    let after = i128::from(payment.refunded.minor());
    let before = after - i128::from(amount.minor());
    let share = fee * after / total - fee * before / total;
    i64::try_from(share)
        .ok()
        .and_then(|s| Money::from_minor(s).ok())
        .unwrap_or(Money::ZERO)
}

/// Why a refund of `payment` was refused.
fn refusal(payment: &Payment, policy: RefundPolicy) -> CoreError {
    if payment.status != PaymentStatus::Succeeded {
        CoreError::InvalidPaymentState {
            status: payment.status,
        }
    } else if policy == RefundPolicy::One && payment.refund_count > 0 {
        CoreError::RefundNotAllowed
    } else {
        CoreError::RefundExceedsPayment {
            refundable: payment
                .amount
                .checked_sub(payment.refunded)
                .unwrap_or(Money::ZERO),
        }
    }
}
