//! Merchant commands: creation with its ledger accounts, deposit top-ups.

use bayar_snap::Money;
use futures_util::future::BoxFuture;

use crate::api_key::StoredApiKey;
use crate::error::CoreError;
use crate::ids::MerchantId;
use crate::ledger::{AccountCode, AccountId, Leg, Transfer, TransferId};
use crate::merchant::Merchant;
use crate::store::Tx;
use crate::writer::{Command, Context};

/// Creates a merchant with its secret API key and opens its ledger accounts (available,
/// deposit).
#[derive(Clone, Debug)]
pub struct CreateMerchant {
    /// The merchant, credentials included.
    pub merchant: Merchant,
    /// What the store keeps of the merchant's first secret API key.
    pub api_key: StoredApiKey,
}

impl Command for CreateMerchant {
    /// False when the client id was taken (draw another and retry).
    type Output = bool;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<bool, CoreError>> {
        Box::pin(async move {
            let m = &self.merchant;
            if !tx.insert_merchant(m).await? {
                return Ok(false);
            }
            tx.insert_api_key(&m.id, &self.api_key, ctx.now()).await?;
            let owner = m.id.to_string();
            tx.open_account(
                &AccountId::merchant_available(&m.id),
                AccountCode::MerchantAvailable,
                &owner,
                ctx.now(),
            )
            .await?;
            tx.open_account(
                &AccountId::merchant_deposit(&m.id),
                AccountCode::MerchantDeposit,
                &owner,
                ctx.now(),
            )
            .await?;
            Ok(true)
        })
    }
}

/// Tops up a merchant's disbursement deposit from the outside world (the sandbox stand-in for
/// a bank transfer into the deposit). Idempotent by `reference`.
#[derive(Clone, Debug)]
pub struct FundDeposit {
    /// Whose deposit.
    pub merchant_id: MerchantId,
    /// How much.
    pub amount: Money,
    /// The top-up's own reference.
    pub reference: String,
}

impl Command for FundDeposit {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            let deposit = AccountId::merchant_deposit(&self.merchant_id);
            let transfer = Transfer::posted(
                TransferId::for_subject(&deposit, &format!("topup_{}", self.reference)),
                "deposit top-up",
                vec![Leg {
                    debit: AccountId::world(),
                    credit: deposit,
                    amount: self.amount,
                }],
            );
            tx.apply_transfer(&transfer, ctx.now()).await?;
            Ok(())
        })
    }
}
