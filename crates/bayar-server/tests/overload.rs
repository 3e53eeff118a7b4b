//! Overload, over HTTP on every engine: when more writes are waiting than bayar takes on, a
//! request is answered at once with 429 in its caller's dialect, having done nothing, and the
//! same request sent again once the queue has drained goes through.

mod common;

use axum::response::IntoResponse;
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::merchant::{MerchantName, NewMerchant};
use bayar_core::store::Tx;
use bayar_core::writer::{Command, Context, WriterConfig};
use bayar_core::{CoreConfig, CoreError, NewCustomer, testing};
use bayar_server::pages::PageError;
use bayar_server::pages::layout::Brand;
use bayar_server::portal::PortalError;
use bayar_snap::Money;
use common::TestApp;
use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::sync::{oneshot, watch};

const BIND: &str = "/direct-debit/core/v1/registration-account-binding";

/// Occupies the writer: says when it runs, then waits for the gate to open.
struct Hold {
    running: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    open: watch::Receiver<bool>,
}

impl Command for Hold {
    type Output = ();

    fn execute<'t>(
        &'t self,
        _tx: &'t mut Tx,
        _ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            if let Some(running) = self.running.lock().unwrap().take() {
                let _ = running.send(());
            }
            let mut open = self.open.clone();
            open.wait_for(|open| *open)
                .await
                .expect("the test keeps the gate");
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_full_write_queue_answers_429_in_each_dialect_and_does_nothing() {
    for store in testing::all().await {
        let config = CoreConfig {
            writer: WriterConfig {
                max_queued: 1,
                ..WriterConfig::default()
            },
            ..CoreConfig::default()
        };
        let app = TestApp::spawn_with(store, config).await;
        let engine = app.engine;
        app.core
            .create_customer(NewCustomer {
                rail: Rail::Bank,
                phone: PhoneNumber::parse("081355550077").unwrap(),
                pin: Pin::parse("135790").unwrap(),
                opening_balance: Money::parse("100.00").unwrap(),
            })
            .await
            .unwrap();
        let stripe_key = app
            .core
            .create_merchant(NewMerchant {
                name: MerchantName::parse("Toko Stripe").unwrap(),
                notify_url: None,
                public_key: None,
            })
            .await
            .unwrap()
            .secret_key
            .expose()
            .to_string();
        let token = app.b2b_token().await;
        let bind = r#"{"phoneNo":"6281355550077","additionalInfo":{"channel":"DIRECT_DEBIT_ALLO_SNAP","custIdMerchant":"cust-1","successRegistrationUrl":"https://m.example/ok","failedRegistrationUrl":"https://m.example/fail","deviceModel":"x","osType":"android","channelId":"app"}}"#;
        let bind_headers = app.signed_headers(BIND, &token, bind, "770001");
        let intent = [("amount", "100"), ("currency", "idr")];
        let create_intent = || {
            app.http
                .post(format!("{}/v1/payment_intents", app.base))
                .bearer_auth(&stripe_key)
                .form(&intent)
                .send()
        };

        let (gate, open) = watch::channel(false);
        let (running, started) = oneshot::channel();
        let held = tokio::spawn({
            let core = app.core.clone();
            async move {
                core.run(Hold {
                    running: std::sync::Mutex::new(Some(running)),
                    open,
                })
                .await
            }
        });
        started.await.unwrap();

        let refused = app.post(BIND, &bind_headers, bind).await;
        assert_eq!(refused.status, 429, "{engine}: {refused:?}");
        assert_eq!(refused.code, "4290700", "{engine}: {refused:?}");
        assert_eq!(refused.message, "Too Many Requests", "{engine}");
        assert_eq!(refused.headers["retry-after"], "1", "{engine}");
        let stripe = create_intent().await.unwrap();
        assert_eq!(stripe.status().as_u16(), 429, "{engine}");
        assert_eq!(stripe.headers()["retry-after"], "1", "{engine}");
        let body: Value = stripe.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limit", "{engine}: {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{engine}");

        gate.send(true).unwrap();
        held.await.unwrap().unwrap();
        assert_eq!(
            app.store.rows("bindings").await,
            0,
            "{engine}: nothing was done"
        );
        assert_eq!(app.store.rows("payment_intents").await, 0, "{engine}");

        // Nothing was claimed either: the very same request, X-EXTERNAL-ID included, now binds.
        let again = app.post(BIND, &bind_headers, bind).await;
        assert_eq!(again.code, "2000700", "{engine}: {again:?}");
        assert_eq!(app.store.rows("bindings").await, 1, "{engine}");
        let stripe = create_intent().await.unwrap();
        assert_eq!(stripe.status().as_u16(), 200, "{engine}");
    }
}

/// A customer's hosted page and the portal say "very busy" (503) rather than "failed" (500),
/// and when to come back, like the APIs' 429.
#[test]
fn pages_and_portal_answer_a_full_queue_with_503_and_retry_after() {
    let page = PageError::Core(CoreError::Overloaded).into_page(Brand::Dana);
    let portal = PortalError::Core(CoreError::Overloaded).into_response();
    for (what, response) in [("page", page), ("portal", portal)] {
        assert_eq!(response.status().as_u16(), 503, "{what}");
        assert_eq!(response.headers()["retry-after"], "1", "{what}");
    }
    let failed = PageError::Core(CoreError::PaymentNotFound).into_page(Brand::Dana);
    assert!(failed.headers().get("retry-after").is_none());
}
