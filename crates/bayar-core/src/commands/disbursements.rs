//! Disbursements: money from a merchant's deposit to a customer's wallet ([`Disburse`]) or to
//! an account at another bank ([`DisburseToBank`]), with the gateway's fee on top. A refusal
//! by the rail (frozen wallet, short deposit) is recorded as a failed disbursement, so a
//! repeat of the request returns the original outcome.

use bayar_snap::Money;
use futures_util::future::BoxFuture;

use super::fingerprint;
use crate::customer::{CustomerStatus, PhoneNumber, Rail};
use crate::error::CoreError;
use crate::ids::{DisbursementId, MerchantId};
use crate::ledger::{AccountId, Leg, Transfer, TransferId};
use crate::outbox::{EventKind, NewEvent};
use crate::payment::{
    BankAccount, Disbursement, DisbursementStatus, FailureReason, PartnerReference,
};
use crate::store::Tx;
use crate::writer::{Command, Context};

/// A disbursement after the command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisbursementOutcome {
    /// The disbursement, succeeded or failed.
    pub disbursement: Disbursement,
    /// True when the same request had been made before and nothing new happened.
    pub replayed: bool,
}

/// Sends money from a merchant's deposit to the wallet registered to `phone`.
#[derive(Clone, Debug)]
pub struct Disburse {
    /// Whose deposit pays.
    pub merchant_id: MerchantId,
    /// The merchant's reference.
    pub partner_reference_no: PartnerReference,
    /// The receiving wallet.
    pub phone: PhoneNumber,
    /// What the customer receives.
    pub amount: Money,
}

impl Command for Disburse {
    type Output = DisbursementOutcome;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<DisbursementOutcome, CoreError>> {
        Box::pin(async move {
            let command = Disbursal {
                merchant_id: self.merchant_id,
                partner_reference_no: &self.partner_reference_no,
                payee: Payee::Wallet(self.phone.clone()),
                amount: self.amount,
            };
            disburse(tx, ctx, &command).await
        })
    }
}

/// Sends money from a merchant's deposit to an account at another bank. The money leaves
/// bayar through the world account (bayar does not model interbank clearing), so nothing at
/// bayar can refuse it but the deposit.
#[derive(Clone, Debug)]
pub struct DisburseToBank {
    /// Whose deposit pays.
    pub merchant_id: MerchantId,
    /// The merchant's reference.
    pub partner_reference_no: PartnerReference,
    /// The receiving account.
    pub account: BankAccount,
    /// What the account receives.
    pub amount: Money,
}

impl Command for DisburseToBank {
    type Output = DisbursementOutcome;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<DisbursementOutcome, CoreError>> {
        Box::pin(async move {
            let command = Disbursal {
                merchant_id: self.merchant_id,
                partner_reference_no: &self.partner_reference_no,
                payee: Payee::BankAccount(self.account.clone()),
                amount: self.amount,
            };
            disburse(tx, ctx, &command).await
        })
    }
}

/// Where a disbursement's money goes.
enum Payee {
    /// The wallet registered to this number.
    Wallet(PhoneNumber),
    /// An account at another bank.
    BankAccount(BankAccount),
}

/// What [`disburse`] needs of either command.
struct Disbursal<'c> {
    merchant_id: MerchantId,
    partner_reference_no: &'c PartnerReference,
    payee: Payee,
    amount: Money,
}

/// One disbursement: its row (a repeat is recognised before any money moves), the transfer
/// from the deposit with the fee, or the recorded failure, and the merchant's event.
async fn disburse(
    tx: &mut Tx,
    ctx: &Context,
    command: &Disbursal<'_>,
) -> Result<DisbursementOutcome, CoreError> {
    let now = ctx.now();
    if command.amount == Money::ZERO {
        return Err(CoreError::AmountOutOfRange {
            min: Money::from_minor(1).unwrap_or(Money::ZERO),
            max: Money::MAX,
        });
    }
    let customer = match &command.payee {
        Payee::Wallet(phone) => Some(
            tx.customer_by_phone(Rail::Wallet, phone)
                .await?
                .ok_or(CoreError::CustomerNotFound)?,
        ),
        Payee::BankAccount(_) => None,
    };
    let fee = ctx
        .fees
        .disbursement
        .on(command.amount)
        .ok_or(CoreError::AmountOutOfRange {
            min: Money::ZERO,
            max: Money::MAX,
        })?;
    let mut disbursement = Disbursement {
        id: DisbursementId::generate(),
        merchant_id: command.merchant_id,
        partner_reference_no: command.partner_reference_no.as_str().to_string(),
        customer_id: customer.as_ref().map(|c| c.id),
        amount: command.amount,
        fee,
        status: DisbursementStatus::Succeeded,
        failure: None,
        created_at: now,
    };
    let amount = command.amount.minor().to_string();
    let ours = match &command.payee {
        Payee::Wallet(phone) => fingerprint(&[phone.as_str(), &amount]),
        Payee::BankAccount(account) => {
            fingerprint(&["bank", account.bank_code(), account.number(), &amount])
        }
    };
    // The row goes in first: a repeat is recognised before any money moves.
    if let Some((earlier, theirs)) = tx.insert_disbursement(&disbursement, &ours).await? {
        return if theirs == ours {
            Ok(DisbursementOutcome {
                disbursement: earlier,
                replayed: true,
            })
        } else {
            Err(CoreError::InconsistentRequest)
        };
    }
    let frozen = customer
        .as_ref()
        .is_some_and(|c| c.status == CustomerStatus::Frozen);
    let failure = if frozen {
        Some(FailureReason::AccountFrozen)
    } else {
        // Nothing at bayar receives for another bank: the money leaves to the world.
        let credit = customer
            .as_ref()
            .map_or_else(AccountId::world, |c| c.account.clone());
        let deposit = AccountId::merchant_deposit(&command.merchant_id);
        let transfer = Transfer::posted(
            TransferId::for_subject(&disbursement.id, "disburse"),
            format!("disbursement {}", disbursement.id),
            vec![
                Leg {
                    debit: deposit.clone(),
                    credit,
                    amount: command.amount,
                },
                Leg {
                    debit: deposit,
                    credit: AccountId::gateway_fees(),
                    amount: fee,
                },
            ],
        );
        match tx.apply_transfer(&transfer, now).await {
            Ok(_) => None,
            Err(CoreError::InsufficientFunds) => Some(FailureReason::InsufficientFunds),
            Err(e) => return Err(e),
        }
    };
    if let Some(reason) = failure {
        tx.fail_disbursement(&disbursement.id, reason).await?;
        disbursement.status = DisbursementStatus::Failed;
        disbursement.failure = Some(reason);
    }
    let kind = match disbursement.status {
        DisbursementStatus::Succeeded => EventKind::DisbursementSucceeded,
        DisbursementStatus::Failed => EventKind::DisbursementFailed,
    };
    tx.insert_event(
        &NewEvent {
            merchant_id: command.merchant_id,
            kind,
            subject_id: disbursement.id.to_string(),
            payload: serde_json::json!({
                "disbursement_id": disbursement.id.to_string(),
                "face": "dana",
                "partner_reference_no": disbursement.partner_reference_no,
                "phone": match &command.payee {
                    Payee::Wallet(phone) => Some(phone.as_str()),
                    Payee::BankAccount(_) => None,
                },
                "bank_account": match &command.payee {
                    Payee::Wallet(_) => None,
                    Payee::BankAccount(a) => Some(serde_json::json!({
                        "bank_code": a.bank_code(),
                        "number": a.number(),
                    })),
                },
                "amount": disbursement.amount,
                "fee": disbursement.fee,
                "status": disbursement.status.as_str(),
                "failure": disbursement.failure.map(|f| f.as_str()),
            }),
        },
        now,
    );
    Ok(DisbursementOutcome {
        disbursement,
        replayed: false,
    })
}
