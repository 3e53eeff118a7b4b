//! The double-entry ledger's rules (TigerBeetle-like semantics on SQL).
//!
//! Accounts hold integer minor units. A [`Transfer`] moves money in one or more legs, each from
//! a debit account to a credit account, so every transfer balances by construction. Transfers
//! are immutable and idempotent by id: the same id with the same content is a no-op; with other
//! content it is refused. A pending transfer holds money (the debit side's available balance
//! drops) until a later transfer posts or voids it. Accounts flagged `no_negative` can never
//! see `balance - pending_debits` fall below zero; the check is made by the very UPDATE that
//! moves the money (store/ledger.rs), so concurrent debits cannot overdraw.

use std::fmt;

use aws_lc_rs::digest;
use bayar_snap::Money;
use thiserror::Error;

use crate::ids::{CustomerId, MerchantId};

/// What an account is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountCode {
    /// The outside world: where funding comes from (may go negative).
    World,
    /// bayar's fee revenue.
    GatewayFees,
    /// A DANA-like wallet user's balance.
    CustomerWallet,
    /// An Allo-like bank account's balance.
    CustomerBank,
    /// What a merchant has collected.
    MerchantAvailable,
    /// A merchant's disbursement deposit (MDA), which funds disbursements.
    MerchantDeposit,
}

impl AccountCode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::World => "world",
            Self::GatewayFees => "gateway_fees",
            Self::CustomerWallet => "customer_wallet",
            Self::CustomerBank => "customer_bank",
            Self::MerchantAvailable => "merchant_available",
            Self::MerchantDeposit => "merchant_deposit",
        }
    }

    /// Whether accounts of this code may never go below zero (all but the world).
    pub fn no_negative(self) -> bool {
        !matches!(self, Self::World)
    }
}

/// A ledger account id. Owned accounts derive their id from the owner, so no lookup is needed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    /// The outside world.
    pub fn world() -> Self {
        Self("acc_world".into())
    }

    /// bayar's fee revenue.
    pub fn gateway_fees() -> Self {
        Self("acc_gateway_fees".into())
    }

    /// What `merchant` has collected.
    pub fn merchant_available(merchant: &MerchantId) -> Self {
        Self(format!("acc_{merchant}_available"))
    }

    /// `merchant`'s disbursement deposit.
    pub fn merchant_deposit(merchant: &MerchantId) -> Self {
        Self(format!("acc_{merchant}_deposit"))
    }

    /// `customer`'s balance at their rail.
    pub fn customer(customer: &CustomerId) -> Self {
        Self(format!("acc_{customer}"))
    }

    /// Wraps a stored id.
    pub(crate) fn from_stored(id: String) -> Self {
        Self(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A transfer id: derived from what the transfer is for, which makes retries idempotent.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId(String);

impl TransferId {
    /// The transfer that does `purpose` for `subject` (e.g. `capture` for a payment id).
    pub fn for_subject(subject: &impl fmt::Display, purpose: &str) -> Self {
        Self(format!("trf_{subject}_{purpose}"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One movement: `amount` from `debit` to `credit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leg {
    /// The account money leaves.
    pub debit: AccountId,
    /// The account money enters.
    pub credit: AccountId,
    /// How much (always positive).
    pub amount: Money,
}

/// What a transfer does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferKind {
    /// Moves money now.
    Posted(Vec<Leg>),
    /// Holds money: the debit side's available balance drops until posted or voided.
    Pending(Vec<Leg>),
    /// Moves the money a pending transfer held.
    PostPending(TransferId),
    /// Releases the money a pending transfer held.
    VoidPending(TransferId),
}

impl TransferKind {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Posted(_) => "posted",
            Self::Pending(_) => "pending",
            Self::PostPending(_) => "post_pending",
            Self::VoidPending(_) => "void_pending",
        }
    }
}

/// A transfer to apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// Its id; applying the same transfer twice is a no-op.
    pub id: TransferId,
    /// What it does.
    pub kind: TransferKind,
    /// Why (shown in statements).
    pub memo: String,
}

impl Transfer {
    /// A posted transfer, legs with a zero amount dropped (a zero fee moves nothing).
    pub fn posted(id: TransferId, memo: impl Into<String>, legs: Vec<Leg>) -> Self {
        Self {
            id,
            kind: TransferKind::Posted(non_zero(legs)),
            memo: memo.into(),
        }
    }

    /// A pending transfer (a hold), legs with a zero amount dropped.
    pub fn pending(id: TransferId, memo: impl Into<String>, legs: Vec<Leg>) -> Self {
        Self {
            id,
            kind: TransferKind::Pending(non_zero(legs)),
            memo: memo.into(),
        }
    }

    /// A digest of the content, to tell a retry (same content) from a clash (other content).
    pub fn fingerprint(&self) -> String {
        let mut text = format!("{}|{}|", self.kind.as_str(), self.memo);
        match &self.kind {
            TransferKind::Posted(legs) | TransferKind::Pending(legs) => {
                for leg in legs {
                    text.push_str(&format!(
                        "{}>{}:{};",
                        leg.debit,
                        leg.credit,
                        leg.amount.minor()
                    ));
                }
            }
            TransferKind::PostPending(id) | TransferKind::VoidPending(id) => {
                text.push_str(id.as_str())
            }
        }
        let hash = digest::digest(&digest::SHA256, text.as_bytes());
        hash.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn non_zero(legs: Vec<Leg>) -> Vec<Leg> {
    legs.into_iter()
        .filter(|l| l.amount > Money::ZERO)
        .collect()
}

/// Why the ledger refused a transfer. Nothing of a refused transfer is written.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LedgerError {
    /// The transfer has no legs.
    #[error("transfer {0} moves nothing")]
    Empty(TransferId),
    /// A leg debits and credits the same account.
    #[error("transfer {0} debits and credits the same account")]
    SameAccount(TransferId),
    /// The id was used before for a transfer with other content.
    #[error("transfer id {0} was already used for another transfer")]
    IdReused(TransferId),
    /// An account of the transfer does not exist.
    #[error("account {0} does not exist")]
    NoSuchAccount(AccountId),
    /// The debit would take a no-negative account below zero.
    #[error("insufficient funds in {0}")]
    InsufficientFunds(AccountId),
    /// Posting or voiding names a transfer that is not a pending one.
    #[error("transfer {0} is not a pending transfer")]
    NotPending(TransferId),
    /// The pending transfer was already posted or voided.
    #[error("pending transfer {0} was already resolved")]
    AlreadyResolved(TransferId),
    /// An amount overflowed.
    #[error("amount overflow in transfer {0}")]
    Overflow(TransferId),
}

/// A breach of a ledger invariant found by `bayar ledger verify`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Breach {
    /// The balances of all accounts do not sum to zero.
    BalancesDoNotSumToZero(i64),
    /// Pending debits and pending credits differ in total.
    PendingDoNotMatch {
        /// Sum of pending debits.
        debits: i64,
        /// Sum of pending credits.
        credits: i64,
    },
    /// An account's balance differs from the sum of its entries.
    BalanceNotSumOfEntries {
        /// The account.
        account: AccountId,
        /// Its stored balance.
        balance: i64,
        /// The sum of its entries.
        entries: i64,
    },
    /// An account's pending debits differ from its open holds.
    PendingNotSumOfHolds {
        /// The account.
        account: AccountId,
        /// Its stored pending debits.
        pending_debits: i64,
        /// The sum of its open holds.
        holds: i64,
    },
    /// A no-negative account is below zero.
    Negative {
        /// The account.
        account: AccountId,
        /// Its balance minus pending debits.
        available: i64,
    },
    /// A transfer's entries do not sum to zero.
    UnbalancedTransfer {
        /// The transfer.
        transfer: String,
        /// The sum of its entries.
        sum: i64,
    },
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BalancesDoNotSumToZero(sum) => write!(f, "balances sum to {sum}, not 0"),
            Self::PendingDoNotMatch { debits, credits } => {
                write!(f, "pending debits {debits} != pending credits {credits}")
            }
            Self::BalanceNotSumOfEntries {
                account,
                balance,
                entries,
            } => {
                write!(
                    f,
                    "{account}: balance {balance} != sum of entries {entries}"
                )
            }
            Self::PendingNotSumOfHolds {
                account,
                pending_debits,
                holds,
            } => {
                write!(
                    f,
                    "{account}: pending debits {pending_debits} != open holds {holds}"
                )
            }
            Self::Negative { account, available } => {
                write!(f, "{account}: no-negative account at {available}")
            }
            Self::UnbalancedTransfer { transfer, sum } => {
                write!(f, "transfer {transfer}: entries sum to {sum}, not 0")
            }
        }
    }
}

/// An account's balances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    /// Posted credits minus posted debits.
    pub posted: i64,
    /// Held for pending debits.
    pub pending_debits: i64,
    /// Expected from pending credits.
    pub pending_credits: i64,
}

impl Balance {
    /// What can be spent: posted minus held.
    pub fn available(&self) -> i64 {
        self.posted - self.pending_debits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(d: &str, c: &str, amount: i64) -> Leg {
        Leg {
            debit: AccountId(d.into()),
            credit: AccountId(c.into()),
            amount: Money::from_minor(amount).unwrap(),
        }
    }

    #[test]
    fn zero_legs_are_dropped_and_fingerprints_tell_content_apart() {
        let id = TransferId::for_subject(&"pay_1", "capture");
        let a = Transfer::posted(id.clone(), "m", vec![leg("a", "b", 5), leg("a", "c", 0)]);
        let b = Transfer::posted(id.clone(), "m", vec![leg("a", "b", 5)]);
        let c = Transfer::posted(id, "m", vec![leg("a", "b", 6)]);
        assert_eq!(a, b);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }
}
