//! Payments, refunds and disbursements through the core, on every engine: the state machines,
//! their ledger postings, their outbox events and the per-channel rules.

mod common;

use bayar_core::CoreError;
use bayar_core::commands::{
    Authorize, Cancel, Capture, ClaimExternalId, Claimed, DebitNow, Disburse, ExpireOverdue,
    FundDeposit, Pay, PaymentLookup, PaymentOutcome, RefundPayment,
};
use bayar_core::customer::{Customer, CustomerStatus, PhoneNumber, Rail};
use bayar_core::idempotency::{IdempotencyKey, Idempotent, StoredResponse};
use bayar_core::ledger::AccountId;
use bayar_core::payment::{
    Channel, DisbursementStatus, FailureReason, PartnerReference, PaymentStatus,
};
use bayar_core::testing;
use bayar_core::writer::Command;
use chrono::{Duration, Utc};
use common::{Fixture, idr};

#[tokio::test]
async fn wallet_payment_holds_then_captures_with_fee_and_event() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let wallet = f.customer(Rail::Wallet, "081200000001", "500000.00").await;
        let created = f
            .core
            .run(f.payment("INV-1", Channel::DanaWallet, "10000.00"))
            .await
            .unwrap();
        assert!(!created.replayed);
        let p = created.payment;
        assert_eq!(
            (p.status, p.fee.to_string()),
            (PaymentStatus::Created, "150.00".into())
        );

        let held = f
            .core
            .run(Authorize {
                payment_id: p.id,
                customer_id: wallet.id,
            })
            .await
            .unwrap();
        assert_eq!(held.status, PaymentStatus::Paying, "{}", f.engine);
        assert_eq!(f.available(&wallet.account).await, 49_000_000);
        assert_eq!(
            f.posted(&wallet.account).await,
            50_000_000,
            "held, not yet moved"
        );
        f.assert_ledger_sound().await;

        let paid = f.core.run(Capture { payment_id: p.id }).await.unwrap();
        assert_eq!(paid.status, PaymentStatus::Succeeded);
        assert!(paid.paid_at.is_some());
        assert_eq!(paid.customer_id, Some(wallet.id));
        assert_eq!(f.posted(&wallet.account).await, 49_000_000);
        assert_eq!(f.posted(&f.available_account()).await, 985_000);
        assert_eq!(f.posted(&AccountId::gateway_fees()).await, 15_000);
        assert_eq!(f.events("payment.succeeded").await, 1, "{}", f.engine);
        // Capturing twice is refused and changes nothing.
        assert!(matches!(
            f.core.run(Capture { payment_id: p.id }).await,
            Err(CoreError::InvalidPaymentState {
                status: PaymentStatus::Succeeded
            })
        ));
        f.assert_ledger_sound().await;
    }
}

#[tokio::test]
async fn refusals_by_the_rail_are_recorded_as_failed_payments() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let poor = f.customer(Rail::Wallet, "081200000002", "50.00").await;
        let frozen = f.customer(Rail::Wallet, "081200000003", "500000.00").await;
        f.core
            .run(bayar_core::commands::SetCustomerStatus {
                customer_id: frozen.id,
                status: CustomerStatus::Frozen,
            })
            .await
            .unwrap();

        let p = f
            .core
            .run(f.payment("INV-2", Channel::DanaWallet, "100.00"))
            .await
            .unwrap()
            .payment;
        let failed = f
            .core
            .run(Pay {
                payment_id: p.id,
                customer_id: poor.id,
            })
            .await
            .unwrap();
        assert_eq!(
            (failed.status, failed.failure),
            (
                PaymentStatus::Failed,
                Some(FailureReason::InsufficientFunds)
            ),
            "{}",
            f.engine
        );
        assert_eq!(f.posted(&poor.account).await, 5_000, "nothing moved");

        let p = f
            .core
            .run(f.payment("INV-3", Channel::DanaWallet, "100.00"))
            .await
            .unwrap()
            .payment;
        let failed = f
            .core
            .run(Pay {
                payment_id: p.id,
                customer_id: frozen.id,
            })
            .await
            .unwrap();
        assert_eq!(failed.failure, Some(FailureReason::AccountFrozen));
        assert_eq!(f.events("payment.failed").await, 2);

        // A bank customer cannot pay a wallet payment.
        let bank = f.customer(Rail::Bank, "081200000004", "500000.00").await;
        let p = f
            .core
            .run(f.payment("INV-4", Channel::DanaWallet, "100.00"))
            .await
            .unwrap()
            .payment;
        assert!(matches!(
            f.core
                .run(Pay {
                    payment_id: p.id,
                    customer_id: bank.id
                })
                .await,
            Err(CoreError::CustomerNotFound)
        ));
        f.assert_ledger_sound().await;
    }
}

#[tokio::test]
async fn limits_replays_and_inconsistent_repeats() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        for amount in ["99.99", "300000000.01"] {
            assert!(
                matches!(
                    f.core
                        .run(f.payment("INV-L", Channel::DanaWallet, amount))
                        .await,
                    Err(CoreError::AmountOutOfRange { .. })
                ),
                "{amount}"
            );
        }
        let first = f
            .core
            .run(f.payment("INV-R", Channel::DanaWallet, "100.00"))
            .await
            .unwrap();
        let again = f
            .core
            .run(f.payment("INV-R", Channel::DanaWallet, "100.00"))
            .await
            .unwrap();
        assert!(again.replayed, "{}", f.engine);
        assert_eq!(again.payment.id, first.payment.id);
        assert!(matches!(
            f.core
                .run(f.payment("INV-R", Channel::DanaWallet, "200.00"))
                .await,
            Err(CoreError::InconsistentRequest)
        ));
    }
}

#[tokio::test]
async fn cancel_and_expiry_release_holds() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let wallet = f.customer(Rail::Wallet, "081200000005", "1000.00").await;
        let p = f
            .core
            .run(f.payment("INV-C", Channel::DanaWallet, "600.00"))
            .await
            .unwrap()
            .payment;
        f.core
            .run(Authorize {
                payment_id: p.id,
                customer_id: wallet.id,
            })
            .await
            .unwrap();
        assert_eq!(f.available(&wallet.account).await, 40_000);
        let cancelled = f
            .core
            .run(Cancel {
                merchant_id: Some(f.merchant.id),
                payment_id: p.id,
            })
            .await
            .unwrap();
        assert_eq!(cancelled.status, PaymentStatus::Cancelled, "{}", f.engine);
        assert_eq!(f.available(&wallet.account).await, 100_000);
        assert_eq!(f.events("payment.cancelled").await, 1);

        // Past its deadline a payment cannot be paid; the sweep expires open ones.
        let mut late = f.payment("INV-E1", Channel::DanaWallet, "100.00");
        late.valid_until = Some(Utc::now() - Duration::seconds(1));
        let late = f.core.run(late).await.unwrap().payment;
        let expired = f
            .core
            .run(Pay {
                payment_id: late.id,
                customer_id: wallet.id,
            })
            .await
            .unwrap();
        assert_eq!(expired.status, PaymentStatus::Expired);

        let mut held = f.payment("INV-E2", Channel::DanaWallet, "100.00");
        held.valid_until = Some(Utc::now() + Duration::milliseconds(300));
        let held = f.core.run(held).await.unwrap().payment;
        f.core
            .run(Authorize {
                payment_id: held.id,
                customer_id: wallet.id,
            })
            .await
            .unwrap();
        assert_eq!(f.available(&wallet.account).await, 90_000);
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let swept = f.core.run(ExpireOverdue { limit: 100 }).await.unwrap();
        assert_eq!(
            swept.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![held.id],
            "{}",
            f.engine
        );
        assert_eq!(
            f.available(&wallet.account).await,
            100_000,
            "the hold was released"
        );
        assert_eq!(f.events("payment.expired").await, 2);
        f.assert_ledger_sound().await;
    }
}

#[tokio::test]
async fn direct_debit_then_several_partial_refunds_never_beyond_the_amount() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let bank = f.customer(Rail::Bank, "081200000006", "100000.00").await;
        let paid = f
            .core
            .run(DebitNow {
                payment: f.payment("INV-D", Channel::AlloDirectDebit, "30000.00"),
                customer_id: bank.id,
                cust_id_merchant: None,
            })
            .await
            .unwrap()
            .payment;
        assert_eq!(paid.status, PaymentStatus::Succeeded, "{}", f.engine);
        assert_eq!(f.posted(&bank.account).await, 7_000_000);

        let refund = |n: &str, amount: &str| RefundPayment {
            merchant_id: f.merchant.id,
            payment: PaymentLookup::PartnerReference(PartnerReference::parse("INV-D").unwrap()),
            partner_refund_no: PartnerReference::parse(n).unwrap(),
            amount: idr(amount),
            reason: Some("customer request".into()),
        };
        f.core.run(refund("R1", "10000.00")).await.unwrap();
        let second = f.core.run(refund("R2", "10000.00")).await.unwrap();
        assert_eq!(second.payment.refunded.to_string(), "20000.00");
        assert!(matches!(
            f.core.run(refund("R3", "10000.01")).await,
            Err(CoreError::RefundExceedsPayment { refundable }) if refundable.to_string() == "10000.00"
        ));
        // The same refund again is a replay; other content under its number is inconsistent.
        assert!(f.core.run(refund("R2", "10000.00")).await.unwrap().replayed);
        assert!(matches!(
            f.core.run(refund("R2", "5.00")).await,
            Err(CoreError::InconsistentRequest)
        ));
        f.core.run(refund("R3", "10000.00")).await.unwrap();
        assert_eq!(
            f.posted(&bank.account).await,
            10_000_000,
            "{}: all back",
            f.engine
        );
        assert_eq!(f.events("refund.succeeded").await, 3);
        f.assert_ledger_sound().await;
    }
}

#[tokio::test]
async fn dana_allows_one_refund_and_failed_payments_none() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let wallet = f.customer(Rail::Wallet, "081200000007", "100000.00").await;
        let p = f
            .core
            .run(f.payment("INV-W", Channel::DanaWallet, "1000.00"))
            .await
            .unwrap()
            .payment;
        f.core
            .run(Pay {
                payment_id: p.id,
                customer_id: wallet.id,
            })
            .await
            .unwrap();
        let refund = |n: &str, amount: &str| RefundPayment {
            merchant_id: f.merchant.id,
            payment: PaymentLookup::Id(p.id),
            partner_refund_no: PartnerReference::parse(n).unwrap(),
            amount: idr(amount),
            reason: None,
        };
        f.core.run(refund("W1", "400.00")).await.unwrap();
        assert!(
            matches!(
                f.core.run(refund("W2", "100.00")).await,
                Err(CoreError::RefundNotAllowed)
            ),
            "{}",
            f.engine
        );

        let other = f
            .core
            .run(f.payment("INV-W2", Channel::DanaWallet, "1000.00"))
            .await
            .unwrap()
            .payment;
        let refund_other = RefundPayment {
            payment: PaymentLookup::Id(other.id),
            ..refund("W3", "100.00")
        };
        assert!(matches!(
            f.core.run(refund_other).await,
            Err(CoreError::InvalidPaymentState {
                status: PaymentStatus::Created
            })
        ));
        let stranger = RefundPayment {
            merchant_id: bayar_core::ids::MerchantId::generate(),
            ..refund("W4", "1.00")
        };
        assert!(matches!(
            f.core.run(stranger).await,
            Err(CoreError::PaymentNotFound)
        ));
        f.assert_ledger_sound().await;
    }
}

#[tokio::test]
async fn disbursements_move_deposit_to_wallet_and_record_refusals() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let wallet = f.customer(Rail::Wallet, "081200000008", "0.00").await;
        let frozen = f.customer(Rail::Wallet, "081200000009", "0.00").await;
        f.core
            .run(bayar_core::commands::SetCustomerStatus {
                customer_id: frozen.id,
                status: CustomerStatus::Frozen,
            })
            .await
            .unwrap();
        f.core
            .run(FundDeposit {
                merchant_id: f.merchant.id,
                amount: idr("100000.00"),
                reference: "t1".into(),
            })
            .await
            .unwrap();
        let disburse = |n: &str, phone: &str, amount: &str| Disburse {
            merchant_id: f.merchant.id,
            partner_reference_no: PartnerReference::parse(n).unwrap(),
            phone: PhoneNumber::parse(phone).unwrap(),
            amount: idr(amount),
        };
        let ok = f
            .core
            .run(disburse("D1", "081200000008", "50000.00"))
            .await
            .unwrap();
        assert_eq!(
            ok.disbursement.status,
            DisbursementStatus::Succeeded,
            "{}",
            f.engine
        );
        assert_eq!(f.posted(&wallet.account).await, 5_000_000);
        assert_eq!(
            f.posted(&f.deposit_account()).await,
            10_000_000 - 5_000_000 - 250_000
        );

        let short = f
            .core
            .run(disburse("D2", "081200000008", "50000.00"))
            .await
            .unwrap();
        assert_eq!(
            (short.disbursement.status, short.disbursement.failure),
            (
                DisbursementStatus::Failed,
                Some(FailureReason::InsufficientFunds)
            )
        );
        // A repeat returns the original outcome even though the deposit could now pay.
        f.core
            .run(FundDeposit {
                merchant_id: f.merchant.id,
                amount: idr("100000.00"),
                reference: "t2".into(),
            })
            .await
            .unwrap();
        let again = f
            .core
            .run(disburse("D2", "081200000008", "50000.00"))
            .await
            .unwrap();
        assert!(again.replayed);
        assert_eq!(
            again.disbursement.status,
            DisbursementStatus::Failed,
            "{}",
            f.engine
        );
        assert!(matches!(
            f.core.run(disburse("D2", "081200000008", "1.00")).await,
            Err(CoreError::InconsistentRequest)
        ));

        let to_frozen = f
            .core
            .run(disburse("D3", "081200000009", "10.00"))
            .await
            .unwrap();
        assert_eq!(
            to_frozen.disbursement.failure,
            Some(FailureReason::AccountFrozen)
        );
        assert!(matches!(
            f.core.run(disburse("D4", "081299999999", "10.00")).await,
            Err(CoreError::CustomerNotFound)
        ));
        assert_eq!(f.events("disbursement.succeeded").await, 1);
        assert_eq!(f.events("disbursement.failed").await, 2);
        f.assert_ledger_sound().await;
    }
}

#[tokio::test]
async fn one_idempotency_key_runs_once_under_concurrency() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let render = |o: &bayar_core::commands::PaymentOutcome| StoredResponse {
            status: 200,
            body: format!("{{\"id\":\"{}\"}}", o.payment.id),
        };
        let mut tasks = Vec::new();
        for i in 0..100 {
            let core = f.core.clone();
            // Each command alone would create its own payment: only the key makes them one.
            let command = f.payment(&format!("INV-K{i}"), Channel::DanaWallet, "100.00");
            let key = IdempotencyKey::new(f.merchant.id, "test", "key-1".into(), b"same request");
            tasks.push(tokio::spawn(async move {
                core.run_idempotent(key, command, render).await.unwrap()
            }));
        }
        let mut bodies = Vec::new();
        let mut fresh = 0;
        for task in tasks {
            match task.await.unwrap() {
                Idempotent::Fresh(_, response) => {
                    fresh += 1;
                    bodies.push(response.body);
                }
                Idempotent::Replayed(response) => bodies.push(response.body),
            }
        }
        assert_eq!(fresh, 1, "{}: exactly one request ran", f.engine);
        assert_eq!(
            f.store.rows("payments").await,
            1,
            "{}: exactly one payment",
            f.engine
        );
        bodies.dedup();
        assert_eq!(
            bodies.len(),
            1,
            "{}: every caller got the same answer",
            f.engine
        );
        let other = IdempotencyKey::new(f.merchant.id, "test", "key-1".into(), b"other request");
        assert!(matches!(
            f.core
                .run_idempotent(
                    other,
                    f.payment("INV-KX", Channel::DanaWallet, "100.00"),
                    render
                )
                .await,
            Err(CoreError::InconsistentRequest)
        ));
    }
}

#[tokio::test]
async fn a_payment_is_found_by_its_reference_its_id_or_both() {
    for store in testing::all().await {
        let f = Fixture::new(store).await;
        let created = f
            .core
            .run(f.payment("FIND-1", Channel::DanaWallet, "15000.00"))
            .await
            .unwrap()
            .payment;
        f.core
            .run(f.payment("FIND-2", Channel::DanaWallet, "16000.00"))
            .await
            .unwrap();
        let id = created.id.to_string();
        let store = f.core.store();
        let find = |reference: Option<&'static str>, id: Option<String>| {
            let merchant = f.merchant.id;
            async move {
                store
                    .find_payment(&merchant, reference, id.as_deref())
                    .await
                    .unwrap()
                    .map(|p| p.partner_reference_no)
            }
        };
        let found = Some("FIND-1".to_string());
        assert_eq!(find(Some("FIND-1"), None).await, found, "{}", f.engine);
        assert_eq!(find(None, Some(id.clone())).await, found);
        assert_eq!(find(Some("FIND-1"), Some(id.clone())).await, found);
        assert_eq!(
            find(Some("FIND-2"), Some(id.clone())).await,
            None,
            "both must match"
        );
        assert_eq!(find(Some("FIND-3"), None).await, None);
        assert_eq!(find(None, None).await, None);
        let other = bayar_core::ids::MerchantId::generate();
        assert!(
            store
                .find_payment(&other, Some("FIND-1"), None)
                .await
                .unwrap()
                .is_none()
        );
    }
}

/// Runs `debits` as one batch and checks each answer, told in terms that do not depend on
/// ids or times.
async fn assert_batch_answers<C>(f: &Fixture, debits: Vec<C>, expected: &[&str])
where
    C: Command<Output = PaymentOutcome>,
{
    let answers: Vec<String> = testing::run_as_one_batch(&f.store.store, debits)
        .await
        .iter()
        .map(|answer| match answer {
            Ok(o) => format!(
                "{} {:?} {:?} replayed={}",
                o.payment.partner_reference_no, o.payment.status, o.payment.failure, o.replayed
            ),
            Err(e) => format!("refused: {e}"),
        })
        .collect();
    assert_eq!(answers, expected, "{}", f.engine);
}

#[tokio::test]
async fn direct_debits_in_one_batch_end_as_they_would_one_by_one() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let ana = f.customer(Rail::Bank, "081400000001", "100000.00").await;
        let budi = f.customer(Rail::Bank, "081400000002", "100000.00").await;
        let poor = f.customer(Rail::Bank, "081400000003", "10.00").await;
        let frozen = f.customer(Rail::Bank, "081400000004", "100000.00").await;
        let wallet = f.customer(Rail::Wallet, "081400000005", "100000.00").await;
        f.core
            .run(bayar_core::commands::SetCustomerStatus {
                customer_id: frozen.id,
                status: CustomerStatus::Frozen,
            })
            .await
            .unwrap();
        let debit =
            |reference: &str, amount: &str, customer: &bayar_core::customer::Customer| DebitNow {
                payment: f.payment(reference, Channel::AlloDirectDebit, amount),
                customer_id: customer.id,
                cust_id_merchant: None,
            };

        // Everything that can happen to a direct debit, in one batch: the usual, a repeat
        // of a request made earlier in the batch, the same reference for another amount, a
        // frozen account, an amount out of range, a customer of another rail.
        assert_batch_answers(
            &f,
            vec![
                debit("INV-B1", "1000.00", &ana),
                debit("INV-B2", "2000.00", &budi),
                debit("INV-B1", "1000.00", &ana),
                debit("INV-B3", "500.00", &frozen),
                debit("INV-B1", "999.00", &ana),
                debit("INV-B4", "0.01", &budi),
                debit("INV-B5", "500.00", &wallet),
                debit("INV-B6", "3000.00", &ana),
            ],
            &[
                "INV-B1 Succeeded None replayed=false",
                "INV-B2 Succeeded None replayed=false",
                "INV-B1 Succeeded None replayed=true",
                "INV-B3 Failed Some(AccountFrozen) replayed=false",
                "refused: the reference was already used with other content",
                "refused: amount must be between 1.00 and 300000000.00",
                "refused: customer not found",
                "INV-B6 Succeeded None replayed=false",
            ],
        )
        .await;
        assert_eq!(f.posted(&ana.account).await, 10_000_000 - 400_000);
        assert_eq!(f.posted(&budi.account).await, 10_000_000 - 200_000);
        assert_eq!(f.store.rows("payments").await, 4, "{}", f.engine);
        assert_eq!(f.events("payment.succeeded").await, 3, "{}", f.engine);
        assert_eq!(f.events("payment.failed").await, 1, "{}", f.engine);

        // A customer short of funds among others: the batch still ends as one by one would,
        // the others paid, the short one's payment failed, nothing of it moved.
        assert_batch_answers(
            &f,
            vec![
                debit("INV-B7", "1000.00", &ana),
                debit("INV-B8", "100.00", &poor),
                debit("INV-B9", "1000.00", &budi),
                debit("INV-B10", "1.00", &poor),
            ],
            &[
                "INV-B7 Succeeded None replayed=false",
                "INV-B8 Failed Some(InsufficientFunds) replayed=false",
                "INV-B9 Succeeded None replayed=false",
                "INV-B10 Succeeded None replayed=false",
            ],
        )
        .await;
        assert_eq!(f.posted(&ana.account).await, 10_000_000 - 500_000);
        assert_eq!(f.posted(&budi.account).await, 10_000_000 - 300_000);
        assert_eq!(f.posted(&poor.account).await, 1_000 - 100);
        f.assert_ledger_sound().await;
    }
}

/// A batch without refusals runs without savepoints and writes its payments and X-EXTERNAL-ID
/// claims behind, checking their keys only at the flush. A repeated request among them (its
/// reference or its id already taken, earlier or in the same batch) is still answered as one
/// by one: the replay with the first payment, the id refused, money moved once.
#[tokio::test]
async fn repeated_requests_in_a_batch_that_checks_keys_late_end_as_one_by_one() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let ana = f.customer(Rail::Bank, "081400000011", "100000.00").await;
        let budi = f.customer(Rail::Bank, "081400000012", "100000.00").await;
        let debit = |reference: &str, external_id: &str, customer: &Customer| {
            let mut payment = f.payment(reference, Channel::AlloDirectDebit, "1000.00");
            payment.external_id = external_id.to_string();
            Claimed {
                claim: ClaimExternalId {
                    merchant_id: f.merchant.id,
                    day: Utc::now().date_naive(),
                    external_id: external_id.to_string(),
                    path: "/debit/payment-host-to-host".to_string(),
                },
                command: DebitNow {
                    payment,
                    customer_id: customer.id,
                    cust_id_merchant: None,
                },
            }
        };
        assert_batch_answers(
            &f,
            vec![debit("INV-R1", "1", &ana)],
            &["INV-R1 Succeeded None replayed=false"],
        )
        .await;

        // Only replays: no command is refused, so only the keys can send the batch round again.
        assert_batch_answers(
            &f,
            vec![
                debit("INV-R2", "2", &ana),
                debit("INV-R1", "3", &ana),
                debit("INV-R3", "4", &budi),
                debit("INV-R3", "5", &budi),
            ],
            &[
                "INV-R2 Succeeded None replayed=false",
                "INV-R1 Succeeded None replayed=true",
                "INV-R3 Succeeded None replayed=false",
                "INV-R3 Succeeded None replayed=true",
            ],
        )
        .await;

        // X-EXTERNAL-IDs used before, earlier in the batch, and fresh.
        assert_batch_answers(
            &f,
            vec![
                debit("INV-R4", "6", &ana),
                debit("INV-R5", "2", &budi),
                debit("INV-R6", "6", &budi),
                debit("INV-R7", "7", &budi),
            ],
            &[
                "INV-R4 Succeeded None replayed=false",
                "refused: X-EXTERNAL-ID already used today",
                "refused: X-EXTERNAL-ID already used today",
                "INV-R7 Succeeded None replayed=false",
            ],
        )
        .await;
        assert_eq!(f.store.rows("payments").await, 5, "{}", f.engine);
        assert_eq!(f.store.rows("external_ids").await, 7, "{}", f.engine);
        assert_eq!(f.posted(&ana.account).await, 10_000_000 - 300_000);
        assert_eq!(f.posted(&budi.account).await, 10_000_000 - 200_000);
        assert_eq!(f.events("payment.succeeded").await, 5, "{}", f.engine);
        f.assert_ledger_sound().await;
    }
}

/// On PostgreSQL, bookkeeping (here the API log) commits on a writer of its own: it is not
/// queued behind a payment that waits for a row lock, and the payment completes once the
/// lock is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookkeeping_does_not_wait_for_the_payment_loop_on_postgres() {
    let Some(store) = testing::postgres().await else {
        return;
    };
    let f = Fixture::new(store).await;
    let ana = f.customer(Rail::Bank, "081200000071", "100000.00").await;
    let bayar_core::store::Store::Postgres(pool) = &f.store.store else {
        unreachable!("a PostgreSQL test store");
    };

    // Another session holds Ana's account row: her debit waits for it inside the writer.
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
        .bind(ana.account.to_string())
        .execute(&mut *holder)
        .await
        .unwrap();
    let core = f.core.clone();
    let payment = f.payment("INV-HELD", Channel::AlloDirectDebit, "1000.00");
    let mut debit = tokio::spawn(async move {
        core.run(DebitNow {
            payment,
            customer_id: ana.id,
            cust_id_merchant: None,
        })
        .await
    });

    let call = bayar_core::portal::ApiCall {
        id: ulid::Ulid::new().to_string(),
        merchant_id: f.merchant.id,
        at: Utc::now(),
        method: "POST".into(),
        path: "/while-a-payment-waits".into(),
        http_status: 200,
        response_code: Some("2005400".into()),
        message: None,
        latency_ms: 1,
    };
    f.core.record_api_call(call).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while f
        .core
        .api_log(&f.merchant.id, None, 10)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the API log waited for the payment loop"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(50), &mut debit)
            .await
            .is_err(),
        "the debit went through while its account row was held"
    );

    holder.commit().await.unwrap();
    let paid = debit.await.unwrap().unwrap().payment;
    assert_eq!(paid.status, PaymentStatus::Succeeded);
    f.assert_ledger_sound().await;
}
