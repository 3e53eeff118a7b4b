//! Claiming a SNAP `X-EXTERNAL-ID` for the day.

use chrono::NaiveDate;
use futures_util::future::BoxFuture;

use crate::error::CoreError;
use crate::ids::MerchantId;
use crate::store::Tx;
use crate::writer::{Command, Context};

/// Records that a merchant used an `X-EXTERNAL-ID` on a Jakarta day; refuses a second use.
#[derive(Clone, Debug)]
pub struct ClaimExternalId {
    /// Whose id.
    pub merchant_id: MerchantId,
    /// The Jakarta calendar day.
    pub day: NaiveDate,
    /// The id.
    pub external_id: String,
    /// The path it was used on (for the record).
    pub path: String,
}

impl Command for ClaimExternalId {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            let fresh = tx
                .claim_external_id(
                    &self.merchant_id,
                    self.day,
                    &self.external_id,
                    &self.path,
                    ctx.now(),
                )
                .await?;
            if fresh {
                Ok(())
            } else {
                Err(CoreError::DuplicateExternalId)
            }
        })
    }
}

/// Runs `command` with its request's `X-EXTERNAL-ID` claimed in the same transaction: the claim
/// stands exactly when the command's change does, and a payment costs one commit, not two.
#[derive(Clone, Debug)]
pub struct Claimed<C> {
    /// The claim.
    pub claim: ClaimExternalId,
    /// The business command.
    pub command: C,
}

impl<C: Command> Command for Claimed<C> {
    type Output = C::Output;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<C::Output, CoreError>> {
        Box::pin(async move {
            self.claim.execute(tx, ctx).await?;
            self.command.execute(tx, ctx).await
        })
    }
}
