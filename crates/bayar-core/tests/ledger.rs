//! The ledger's own rules, on every engine: idempotent transfers, holds, the no-negative
//! check, and `verify` finding breaches.

mod common;

use bayar_core::CoreError;
use bayar_core::ledger::{AccountId, Breach, LedgerError, Leg, Transfer, TransferId, TransferKind};
use bayar_core::store::Applied;
use bayar_core::testing::{self, ApplyTransfer};
use common::{Fixture, idr};

fn leg(debit: &AccountId, credit: &AccountId, amount: &str) -> Leg {
    Leg {
        debit: debit.clone(),
        credit: credit.clone(),
        amount: idr(amount),
    }
}

/// Funds the merchant's deposit account from the world: transfer "fund".
async fn fund_deposit(f: &Fixture, amount: &str) {
    let fund = Transfer::posted(
        TransferId::for_subject(&"t", "fund"),
        "fund",
        vec![leg(&AccountId::world(), &f.deposit_account(), amount)],
    );
    f.core.run(ApplyTransfer(fund)).await.unwrap();
}

#[tokio::test]
async fn transfers_are_idempotent_by_id() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let deposit = f.deposit_account();
        let id = TransferId::for_subject(&"test", "one");
        let transfer = Transfer::posted(
            id.clone(),
            "top-up",
            vec![leg(&AccountId::world(), &deposit, "100.00")],
        );
        assert_eq!(
            f.core.run(ApplyTransfer(transfer.clone())).await.unwrap(),
            Applied::Created
        );
        assert_eq!(
            f.core.run(ApplyTransfer(transfer)).await.unwrap(),
            Applied::AlreadyApplied
        );
        assert_eq!(
            f.posted(&deposit).await,
            10_000,
            "{}: applied once",
            f.engine
        );
        let other = Transfer::posted(
            id.clone(),
            "top-up",
            vec![leg(&AccountId::world(), &deposit, "200.00")],
        );
        assert!(matches!(
            f.core.run(ApplyTransfer(other)).await,
            Err(CoreError::Ledger(LedgerError::IdReused(i))) if i == id
        ));
        f.assert_ledger_sound().await;
    }
}

#[tokio::test]
async fn no_negative_accounts_refuse_overdrafts_and_multi_leg_transfers_are_atomic() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let deposit = f.deposit_account();
        let available = f.available_account();
        fund_deposit(&f, "100.00").await;
        // The first leg alone would fit; the second overdraws: neither may stand.
        let split = Transfer::posted(
            TransferId::for_subject(&"t", "split"),
            "split",
            vec![
                leg(&deposit, &available, "60.00"),
                leg(&deposit, &AccountId::gateway_fees(), "60.00"),
            ],
        );
        assert!(matches!(
            f.core.run(ApplyTransfer(split)).await,
            Err(CoreError::InsufficientFunds)
        ));
        assert_eq!(f.posted(&deposit).await, 10_000, "{}", f.engine);
        assert_eq!(f.posted(&available).await, 0, "{}", f.engine);
        // The world may go negative; unknown accounts are refused.
        assert_eq!(f.posted(&AccountId::world()).await, -10_000);
        let ghost = Transfer::posted(
            TransferId::for_subject(&"t", "ghost"),
            "ghost",
            vec![leg(
                &AccountId::world(),
                &AccountId::merchant_available(&bayar_core::ids::MerchantId::generate()),
                "1.00",
            )],
        );
        assert!(matches!(
            f.core.run(ApplyTransfer(ghost)).await,
            Err(CoreError::Ledger(LedgerError::NoSuchAccount(_)))
        ));
        f.assert_ledger_sound().await;
    }
}

#[tokio::test]
async fn holds_reduce_availability_until_posted_or_voided() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let deposit = f.deposit_account();
        let available = f.available_account();
        fund_deposit(&f, "100.00").await;

        let hold = TransferId::for_subject(&"t", "hold");
        f.core
            .run(ApplyTransfer(Transfer::pending(
                hold.clone(),
                "hold",
                vec![leg(&deposit, &available, "70.00")],
            )))
            .await
            .unwrap();
        assert_eq!(f.posted(&deposit).await, 10_000);
        assert_eq!(
            f.available(&deposit).await,
            3_000,
            "{}: held money is not available",
            f.engine
        );
        // A second hold beyond what is available is refused.
        let greedy = Transfer::pending(
            TransferId::for_subject(&"t", "greedy"),
            "hold",
            vec![leg(&deposit, &available, "40.00")],
        );
        assert!(matches!(
            f.core.run(ApplyTransfer(greedy)).await,
            Err(CoreError::InsufficientFunds)
        ));
        f.assert_ledger_sound().await;

        let post = Transfer {
            id: TransferId::for_subject(&"t", "post"),
            kind: TransferKind::PostPending(hold.clone()),
            memo: "post".into(),
        };
        f.core.run(ApplyTransfer(post)).await.unwrap();
        assert_eq!(f.posted(&deposit).await, 3_000);
        assert_eq!(f.available(&deposit).await, 3_000);
        assert_eq!(f.posted(&available).await, 7_000);
        // A hold resolves once.
        let void = Transfer {
            id: TransferId::for_subject(&"t", "void"),
            kind: TransferKind::VoidPending(hold.clone()),
            memo: "void".into(),
        };
        assert!(matches!(
            f.core.run(ApplyTransfer(void)).await,
            Err(CoreError::Ledger(LedgerError::AlreadyResolved(_)))
        ));
        // Only pending transfers can be resolved.
        let bad = Transfer {
            id: TransferId::for_subject(&"t", "bad"),
            kind: TransferKind::PostPending(TransferId::for_subject(&"t", "fund")),
            memo: "x".into(),
        };
        assert!(matches!(
            f.core.run(ApplyTransfer(bad)).await,
            Err(CoreError::Ledger(LedgerError::NotPending(_)))
        ));

        let hold2 = TransferId::for_subject(&"t", "hold2");
        f.core
            .run(ApplyTransfer(Transfer::pending(
                hold2.clone(),
                "hold",
                vec![leg(&deposit, &available, "30.00")],
            )))
            .await
            .unwrap();
        assert_eq!(f.available(&deposit).await, 0);
        let void2 = Transfer {
            id: TransferId::for_subject(&"t", "void2"),
            kind: TransferKind::VoidPending(hold2),
            memo: "void".into(),
        };
        f.core.run(ApplyTransfer(void2)).await.unwrap();
        assert_eq!(
            f.available(&deposit).await,
            3_000,
            "{}: a void releases the hold",
            f.engine
        );
        f.assert_ledger_sound().await;
    }
}

#[tokio::test]
async fn verify_names_the_breach() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let deposit = f.deposit_account();
        fund_deposit(&f, "100.00").await;
        f.assert_ledger_sound().await;
        // Corrupt a balance behind the ledger's back.
        f.execute(
            "UPDATE accounts SET balance = balance + 5 WHERE id = $1",
            deposit.as_str(),
        )
        .await;
        let breaches = f.core.verify_ledger().await.unwrap();
        assert!(
            breaches.contains(&Breach::BalancesDoNotSumToZero(5)),
            "{breaches:?}"
        );
        assert!(
            breaches.contains(&Breach::BalanceNotSumOfEntries {
                account: deposit,
                balance: 10_005,
                entries: 10_000
            }),
            "{breaches:?}"
        );
    }
}

#[tokio::test]
async fn verify_names_pending_debits_that_are_not_the_live_holds() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let deposit = f.deposit_account();
        let available = f.available_account();
        fund_deposit(&f, "100.00").await;
        for (name, amount) in [("live", "30.00"), ("posted", "20.00")] {
            f.core
                .run(ApplyTransfer(Transfer::pending(
                    TransferId::for_subject(&"t", name),
                    "hold",
                    vec![leg(&deposit, &available, amount)],
                )))
                .await
                .unwrap();
        }
        let post = Transfer {
            id: TransferId::for_subject(&"t", "post"),
            kind: TransferKind::PostPending(TransferId::for_subject(&"t", "posted")),
            memo: "post".into(),
        };
        f.core.run(ApplyTransfer(post)).await.unwrap();
        f.assert_ledger_sound().await;
        // Claim 7.00 more on hold than the one live hold behind the ledger's back.
        f.execute(
            "UPDATE accounts SET pending_debits = pending_debits + 700 WHERE id = $1",
            deposit.as_str(),
        )
        .await;
        let breaches = f.core.verify_ledger().await.unwrap();
        assert_eq!(
            breaches,
            [
                Breach::PendingDoNotMatch {
                    debits: 3_700,
                    credits: 3_000
                },
                Breach::PendingNotSumOfHolds {
                    account: deposit,
                    pending_debits: 3_700,
                    holds: 3_000
                }
            ],
            "{}: only the live hold counts, the posted one does not",
            f.engine
        );
    }
}
