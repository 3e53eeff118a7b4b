//! Many callers at once on one payment, one deposit, one wallet: the totals hold. On
//! PostgreSQL the callers are spread over two cores on separate pools, as two bayar processes.

mod common;

use bayar_core::commands::{DebitNow, Disburse, FundDeposit, Pay, PaymentLookup, RefundPayment};
use bayar_core::customer::{PhoneNumber, Rail};
use bayar_core::payment::{Channel, DisbursementStatus, PartnerReference, PaymentStatus};
use bayar_core::{Core, CoreConfig, CoreError, testing};
use common::{Fixture, idr};

/// The fixture's core, plus a second core on its own pool when the engine allows it.
async fn cores(f: &Fixture) -> Vec<Core> {
    let mut cores = vec![f.core.clone()];
    if let Some(other) = testing::another_postgres_handle(&f.store.store).await {
        cores.push(Core::start(other, CoreConfig::default()).await.unwrap());
    }
    cores
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refunds_never_exceed_the_paid_amount() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let bank = f.customer(Rail::Bank, "081300000001", "100000.00").await;
        let paid = f
            .core
            .run(DebitNow {
                payment: f.payment("INV-C", Channel::AlloDirectDebit, "100000.00"),
                customer_id: bank.id,
                cust_id_merchant: None,
            })
            .await
            .unwrap()
            .payment;
        assert_eq!(paid.status, PaymentStatus::Succeeded);
        let cores = cores(&f).await;
        let mut tasks = Vec::new();
        for i in 0..200 {
            let core = cores[i % cores.len()].clone();
            let command = RefundPayment {
                merchant_id: f.merchant.id,
                payment: PaymentLookup::Id(paid.id),
                partner_refund_no: PartnerReference::parse(&format!("R{i}")).unwrap(),
                amount: idr("1000.00"),
                reason: None,
            };
            tasks.push(tokio::spawn(async move { core.run(command).await }));
        }
        let (mut ok, mut refused) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(CoreError::RefundExceedsPayment { .. }) => refused += 1,
                Err(e) => panic!("{}: unexpected {e}", f.engine),
            }
        }
        assert_eq!((ok, refused), (100, 100), "{}", f.engine);
        let payment = f.core.store().payment(&paid.id).await.unwrap().unwrap();
        assert_eq!(payment.refunded, payment.amount, "{}", f.engine);
        assert_eq!(
            f.posted(&bank.account).await,
            10_000_000,
            "{}: all money back",
            f.engine
        );
        f.assert_ledger_sound().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_disbursements_never_overdraw_the_deposit() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        f.customer(Rail::Wallet, "081300000002", "0.00").await;
        // Room for exactly 15 disbursements of 1,000 plus the 2,500 fee.
        f.core
            .run(FundDeposit {
                merchant_id: f.merchant.id,
                amount: idr("52500.00"),
                reference: "c".into(),
            })
            .await
            .unwrap();
        let cores = cores(&f).await;
        let mut tasks = Vec::new();
        for i in 0..200 {
            let core = cores[i % cores.len()].clone();
            let command = Disburse {
                merchant_id: f.merchant.id,
                partner_reference_no: PartnerReference::parse(&format!("D{i}")).unwrap(),
                phone: PhoneNumber::parse("081300000002").unwrap(),
                amount: idr("1000.00"),
            };
            tasks.push(tokio::spawn(
                async move { core.run(command).await.unwrap() },
            ));
        }
        let mut succeeded = 0;
        for task in tasks {
            if task.await.unwrap().disbursement.status == DisbursementStatus::Succeeded {
                succeeded += 1;
            }
        }
        assert_eq!(succeeded, 15, "{}", f.engine);
        assert_eq!(f.posted(&f.deposit_account()).await, 0, "{}", f.engine);
        assert_eq!(
            f.store.rows("disbursements").await,
            200,
            "{}: refusals are recorded",
            f.engine
        );
        f.assert_ledger_sound().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_payments_from_one_wallet_never_overdraw_it() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let wallet = f.customer(Rail::Wallet, "081300000003", "50000.00").await;
        let mut payments = Vec::new();
        for i in 0..200 {
            payments.push(
                f.core
                    .run(f.payment(&format!("P{i}"), Channel::DanaWallet, "1000.00"))
                    .await
                    .unwrap()
                    .payment
                    .id,
            );
        }
        let cores = cores(&f).await;
        let mut tasks = Vec::new();
        for (i, id) in payments.into_iter().enumerate() {
            let core = cores[i % cores.len()].clone();
            let customer_id = wallet.id;
            tasks.push(tokio::spawn(async move {
                core.run(Pay {
                    payment_id: id,
                    customer_id,
                })
                .await
                .unwrap()
            }));
        }
        let mut succeeded = 0;
        for task in tasks {
            if task.await.unwrap().status == PaymentStatus::Succeeded {
                succeeded += 1;
            }
        }
        assert_eq!(succeeded, 50, "{}", f.engine);
        assert_eq!(f.posted(&wallet.account).await, 0, "{}", f.engine);
        f.assert_ledger_sound().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crossing_payments_all_complete_despite_lock_races() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let mut wallets = Vec::new();
        for i in 0..8 {
            wallets.push(
                f.customer(Rail::Wallet, &format!("08130000010{i}"), "1000000.00")
                    .await,
            );
        }
        let cores = cores(&f).await;
        let mut tasks = Vec::new();
        for i in 0..400usize {
            let core = cores[i % cores.len()].clone();
            // Payments and refunds touch customer, merchant and fee accounts in varying
            // combinations, so concurrent batches contend for the same rows.
            let create = f.payment(&format!("X{i}"), Channel::DanaWallet, "1000.00");
            let customer_id = wallets[(i * 7) % wallets.len()].id;
            let merchant_id = f.merchant.id;
            tasks.push(tokio::spawn(async move {
                let payment = core.run(create).await?.payment;
                let paid = core
                    .run(Pay {
                        payment_id: payment.id,
                        customer_id,
                    })
                    .await?;
                assert_eq!(paid.status, PaymentStatus::Succeeded);
                core.run(RefundPayment {
                    merchant_id,
                    payment: PaymentLookup::Id(payment.id),
                    partner_refund_no: PartnerReference::parse(&format!("XR{i}")).unwrap(),
                    amount: idr("500.00"),
                    reason: None,
                })
                .await?;
                Ok::<_, CoreError>(())
            }));
        }
        for task in tasks {
            task.await
                .unwrap()
                .unwrap_or_else(|e| panic!("{}: {e}", f.engine));
        }
        f.assert_ledger_sound().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_direct_debit_sent_to_two_processes_at_once_charges_once() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let bank = f.customer(Rail::Bank, "081300000009", "100000.00").await;
        let cores = cores(&f).await;
        // Each round, the same request goes out many times at once, over both processes on
        // PostgreSQL: the direct debit inserts the payment before it charges, so a process
        // racing another to the insert must wait for it and answer with its payment instead of
        // charging again.
        for round in 0..20 {
            let reference = format!("INV-RACE-{round}");
            let mut tasks = Vec::new();
            for i in 0..8 {
                let core = cores[i % cores.len()].clone();
                let command = DebitNow {
                    payment: f.payment(&reference, Channel::AlloDirectDebit, "1000.00"),
                    customer_id: bank.id,
                    cust_id_merchant: None,
                };
                tasks.push(tokio::spawn(async move { core.run(command).await }));
            }
            let mut ids = std::collections::BTreeSet::new();
            let mut fresh = 0;
            for task in tasks {
                let outcome = task.await.unwrap().unwrap();
                assert_eq!(outcome.payment.status, PaymentStatus::Succeeded);
                ids.insert(outcome.payment.id);
                fresh += usize::from(!outcome.replayed);
            }
            assert_eq!((ids.len(), fresh), (1, 1), "{}: round {round}", f.engine);
        }
        assert_eq!(
            f.posted(&bank.account).await,
            10_000_000 - 20 * 100_000,
            "{}: charged once per reference",
            f.engine
        );
        f.assert_ledger_sound().await;
    }
}
