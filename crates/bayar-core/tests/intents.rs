//! Payment intents and checkout sessions in the core, on every engine: confirming creates a
//! DANA payment (a new one after a failed attempt), refusals write nothing, cancelling and
//! expiring follow the payment, and the ledger stays sound.

mod common;

use bayar_core::CoreError;
use bayar_core::checkout::{CheckoutSession, LIFETIME, SessionStage, SessionState};
use bayar_core::commands::{
    CancelIntent, ConfirmIntent, Confirmation, CreateCheckoutSession, CreateIntent,
    ExpireCheckoutSession, PayCheckoutSession, WalletOutcome,
};
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::ids::CheckoutSessionId;
use bayar_core::intent::{IntentState, PaymentIntent};
use bayar_core::payment::{Face, PaymentStatus};
use bayar_core::testing;
use chrono::Utc;
use common::{Fixture, idr};

const PHONE: &str = "081299990001";

fn confirmation(method: Option<&str>, return_url: Option<&str>) -> Confirmation {
    Confirmation {
        payment_method: method.map(str::to_string),
        return_url: return_url.map(str::to_string),
        wallet_return_url: "http://127.0.0.1:8080/pages/stripe/return".into(),
    }
}

#[tokio::test]
async fn an_intent_confirms_into_payments_until_one_succeeds() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let engine = f.engine;
        f.customer(Rail::Wallet, PHONE, "100000.00").await;
        let phone = PhoneNumber::parse(PHONE).unwrap();

        let too_small = PaymentIntent::new(f.merchant.id, idr("99.00"), Utc::now());
        let refused = f
            .core
            .run(CreateIntent {
                intent: too_small,
                confirm: None,
            })
            .await;
        assert!(
            matches!(refused, Err(CoreError::AmountOutOfRange { .. })),
            "{engine}"
        );

        let intent = PaymentIntent::new(f.merchant.id, idr("25000.00"), Utc::now());
        let id = intent.id;
        let view = f
            .core
            .run(CreateIntent {
                intent,
                confirm: None,
            })
            .await
            .unwrap();
        assert_eq!(view.state(), IntentState::RequiresPaymentMethod, "{engine}");
        let confirm = |method, url| ConfirmIntent {
            merchant_id: f.merchant.id,
            intent_id: id,
            confirmation: confirmation(method, url),
        };
        assert!(matches!(
            f.core.run(confirm(None, None)).await,
            Err(CoreError::PaymentMethodRequired)
        ));
        assert!(matches!(
            f.core.run(confirm(Some("pm_1"), None)).await,
            Err(CoreError::ReturnUrlRequired)
        ));
        assert_eq!(
            f.store.rows("payments").await,
            0,
            "{engine}: refusals write nothing"
        );

        // The first attempt fails (three wrong PINs): the intent wants a payment method again.
        let first = f
            .core
            .run(confirm(Some("pm_1"), Some("https://shop.example/back")))
            .await
            .unwrap();
        assert_eq!(first.state(), IntentState::RequiresAction, "{engine}");
        let payment = first.payment.clone().unwrap();
        assert_eq!(payment.face, Face::Stripe);
        assert_eq!(payment.partner_reference_no, format!("{id}-1"));
        assert_eq!(payment.amount, idr("25000.00"));
        for _ in 0..3 {
            f.core
                .pay_with_wallet(payment.id, &phone, Pin::parse("000000").unwrap())
                .await
                .unwrap();
        }
        let failed = f.core.store().payment(&payment.id).await.unwrap().unwrap();
        assert_eq!(failed.status, PaymentStatus::Failed, "{engine}");
        let intent = f
            .core
            .store()
            .intent(&f.merchant.id, &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            intent.state(Some(&failed)),
            IntentState::RequiresPaymentMethod
        );

        // The second attempt is a new payment, and it is paid.
        let second = f.core.run(confirm(None, None)).await.unwrap();
        let retry = second.payment.unwrap();
        assert_ne!(retry.id, payment.id);
        assert_eq!(retry.partner_reference_no, format!("{id}-2"));
        let paid = f
            .core
            .pay_with_wallet(retry.id, &phone, Pin::parse("123456").unwrap())
            .await
            .unwrap();
        let WalletOutcome::Done(paid) = paid else {
            panic!("{engine}: the right PIN pays")
        };
        assert_eq!(paid.status, PaymentStatus::Succeeded);
        let cancel = f
            .core
            .run(CancelIntent {
                merchant_id: f.merchant.id,
                intent_id: id,
            })
            .await;
        assert!(
            matches!(
                cancel,
                Err(CoreError::InvalidIntentState {
                    status: IntentState::Succeeded
                })
            ),
            "{engine}"
        );
        assert_eq!(f.events("payment.succeeded").await, 1, "{engine}");
        f.assert_ledger_sound().await;
    }
}

#[tokio::test]
async fn a_checkout_session_pays_through_its_intent_or_expires_with_it() {
    for t in testing::all().await {
        let f = Fixture::new(t).await;
        let engine = f.engine;
        let now = Utc::now();
        let session = |amount: &str| {
            let mut intent = PaymentIntent::new(f.merchant.id, idr("40000.00"), now);
            intent.payment_method = Some("pm_x".into());
            intent.return_url = Some("https://shop.example/ok".into());
            let session = CheckoutSession {
                id: CheckoutSessionId::generate(),
                merchant_id: f.merchant.id,
                intent_id: intent.id,
                stage: SessionStage::Open,
                success_url: "https://shop.example/ok".into(),
                cancel_url: None,
                line_items: Vec::new(),
                amount_total: idr(amount),
                expires_at: now + LIFETIME,
                created_at: now,
            };
            CreateCheckoutSession { session, intent }
        };
        // The intent must be for the session's total.
        assert!(f.core.run(session("39000.00")).await.is_err(), "{engine}");
        assert_eq!(f.store.rows("payment_intents").await, 0, "{engine}");

        let created = f.core.run(session("40000.00")).await.unwrap();
        let id = created.session.id;
        assert_eq!(created.state(now), SessionState::Open);
        let paying = f
            .core
            .run(PayCheckoutSession {
                session_id: id,
                wallet_return_url: "http://127.0.0.1:8080/pages/stripe/return".into(),
            })
            .await
            .unwrap();
        assert_eq!(
            paying.intent.state(),
            IntentState::RequiresAction,
            "{engine}"
        );
        let expired = f
            .core
            .run(ExpireCheckoutSession {
                merchant_id: f.merchant.id,
                session_id: id,
            })
            .await
            .unwrap();
        assert_eq!(expired.state(Utc::now()), SessionState::Expired, "{engine}");
        assert_eq!(expired.intent.state(), IntentState::Canceled);
        assert_eq!(
            expired.intent.payment.unwrap().status,
            PaymentStatus::Cancelled
        );
        let again = f
            .core
            .run(PayCheckoutSession {
                session_id: id,
                wallet_return_url: "http://127.0.0.1:8080/pages/stripe/return".into(),
            })
            .await;
        assert!(matches!(again, Err(CoreError::SessionNotOpen)), "{engine}");
        f.assert_ledger_sound().await;
    }
}
