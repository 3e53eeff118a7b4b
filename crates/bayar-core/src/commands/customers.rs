//! Customer commands: opening an account at a built-in rail, freezing it.

use bayar_snap::Money;
use futures_util::future::BoxFuture;

use crate::customer::Rail;
use crate::customer::{Customer, CustomerStatus};
use crate::error::CoreError;
use crate::ids::CustomerId;
use crate::ledger::{AccountCode, AccountId, Leg, Transfer, TransferId};
use crate::store::Tx;
use crate::writer::{Command, Context};

/// Creates a customer at a rail and funds their account from the outside world.
#[derive(Clone, Debug)]
pub struct CreateCustomer {
    /// The customer (PIN already hashed: hashing is slow and must not hold up the writer).
    pub customer: Customer,
    /// Their opening balance.
    pub opening_balance: Money,
}

impl Command for CreateCustomer {
    type Output = Customer;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Customer, CoreError>> {
        Box::pin(async move {
            let c = &self.customer;
            let code = match c.rail {
                Rail::Wallet => AccountCode::CustomerWallet,
                Rail::Bank => AccountCode::CustomerBank,
            };
            tx.open_account(&c.account, code, &c.id.to_string(), ctx.now())
                .await?;
            if !tx.insert_customer(c).await? {
                return Err(CoreError::CustomerExists);
            }
            let funding = Transfer::posted(
                TransferId::for_subject(&c.id, "opening_balance"),
                "opening balance",
                vec![Leg {
                    debit: AccountId::world(),
                    credit: c.account.clone(),
                    amount: self.opening_balance,
                }],
            );
            if self.opening_balance > Money::ZERO {
                tx.apply_transfer(&funding, ctx.now()).await?;
            }
            Ok(c.clone())
        })
    }
}

/// Freezes or unfreezes a customer's account.
#[derive(Clone, Debug)]
pub struct SetCustomerStatus {
    /// Whom.
    pub customer_id: CustomerId,
    /// The new status.
    pub status: CustomerStatus,
}

impl Command for SetCustomerStatus {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        _ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            if tx
                .set_customer_status(&self.customer_id, self.status)
                .await?
            {
                Ok(())
            } else {
                Err(CoreError::CustomerNotFound)
            }
        })
    }
}
