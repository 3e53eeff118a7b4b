//! Stripe-style webhooks with several endpoints, on every store engine: each live endpoint
//! listening to an event's type gets its own copy, signed with its own secret and carrying the
//! one event id the events API knows; an endpoint that fails is retried alone (the others are
//! not sent the event again); an endpoint listening to other types, or deleted before the
//! delivery, gets nothing.

mod common;

use std::time::Duration;

use aws_lc_rs::hmac;
use bayar_core::commands::WalletOutcome;
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::merchant::{MerchantName, NewMerchant};
use bayar_core::outbox::RetrySchedule;
use bayar_core::{NewCustomer, testing};
use bayar_snap::Money;
use common::TestApp;
use common::receiver::{Received, Receiver};
use serde_json::Value;

const PHONE: &str = "081234599001";
const PIN: &str = "135790";

/// Creates an endpoint for `url` listening to `events`; returns its id and secret.
async fn endpoint(app: &TestApp, key: &str, url: &str, events: &[&str]) -> (String, String) {
    let mut form = vec![("url".to_string(), url.to_string())];
    for (i, event) in events.iter().enumerate() {
        form.push((format!("enabled_events[{i}]"), (*event).to_string()));
    }
    let created: Value = app
        .http
        .post(format!("{}/v1/webhook_endpoints", app.base))
        .bearer_auth(key)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        created["id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    )
}

/// `GET path` with the secret key, as JSON.
async fn get(app: &TestApp, key: &str, path: &str) -> Value {
    let response = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(key)
        .send();
    response.await.unwrap().json().await.unwrap()
}

/// The `v1` HMAC-SHA256 of a delivery checks out with `secret` (and only then).
fn signed_with(delivery: &Received, secret: &str) -> bool {
    let header = delivery.headers["stripe-signature"].to_str().unwrap();
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .expect("t=...,v1=...");
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let expected: String = hmac::sign(&key, &[t.as_bytes(), b".", &delivery.body].concat())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    v1 == expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listening_endpoint_gets_its_own_copy_of_an_event() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let engine = app.engine;
        let merchant = app
            .core
            .create_merchant(NewMerchant {
                name: MerchantName::parse("Toko Banyak Hook").unwrap(),
                notify_url: None,
                public_key: None,
            })
            .await
            .unwrap();
        let key = merchant.secret_key.expose().to_string();
        app.core
            .create_customer(NewCustomer {
                rail: Rail::Wallet,
                phone: PhoneNumber::parse(PHONE).unwrap(),
                pin: Pin::parse(PIN).unwrap(),
                opening_balance: Money::parse("100000.00").unwrap(),
            })
            .await
            .unwrap();

        // `flaky` fails its first request; `other` listens to refunds only; `gone` is deleted
        // before anything is sent.
        let flaky = Receiver::start(1).await;
        let steady = Receiver::start(0).await;
        let other = Receiver::start(0).await;
        let gone = Receiver::start(0).await;
        let (_, flaky_secret) = endpoint(&app, &key, &flaky.url, &["*"]).await;
        let (_, steady_secret) =
            endpoint(&app, &key, &steady.url, &["payment_intent.succeeded"]).await;
        endpoint(&app, &key, &other.url, &["refund.created"]).await;
        let (gone_id, _) = endpoint(&app, &key, &gone.url, &["*"]).await;
        let deleted = app
            .http
            .delete(format!("{}/v1/webhook_endpoints/{gone_id}", app.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), reqwest::StatusCode::OK, "{engine}");

        let intent: Value = app
            .http
            .post(format!("{}/v1/payment_intents", app.base))
            .bearer_auth(&key)
            .form(&[
                ("amount", "25000"),
                ("currency", "idr"),
                ("confirm", "true"),
                ("payment_method_data[type]", "dana"),
                ("return_url", "https://shop.example/back"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let wallet = intent["next_action"]["redirect_to_url"]["url"]
            .as_str()
            .unwrap();
        let payment_id = wallet.rsplit('/').next().unwrap().parse().unwrap();
        let paid = app
            .core
            .pay_with_wallet(
                payment_id,
                &PhoneNumber::parse(PHONE).unwrap(),
                Pin::parse(PIN).unwrap(),
            )
            .await
            .unwrap();
        assert!(matches!(paid, WalletOutcome::Done(_)), "{engine}");

        let worker = app.start_worker_with(RetrySchedule::new(vec![Duration::from_millis(50); 3]));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while flaky.requests().len() < 2 || steady.requests().is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{engine}: flaky got {}, steady {}",
                flaky.requests().len(),
                steady.requests().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Time for a wrong extra delivery (to `steady` again, `other` or `gone`) to show.
        tokio::time::sleep(Duration::from_millis(300)).await;
        worker.stop().await;

        let flaky_got = flaky.requests();
        let steady_got = steady.requests();
        assert_eq!(
            flaky_got.iter().map(|r| r.answered).collect::<Vec<_>>(),
            [500, 200],
            "{engine}: the failing endpoint is retried"
        );
        assert_eq!(
            steady_got.len(),
            1,
            "{engine}: delivered once, not per retry"
        );
        assert!(other.requests().is_empty(), "{engine}: not listening");
        assert!(gone.requests().is_empty(), "{engine}: deleted");

        // One event, the same body everywhere, each copy signed with its endpoint's secret.
        let event_id = steady_got[0].event_id.clone();
        assert!(event_id.starts_with("evt_"), "{engine}: {event_id}");
        for delivery in &flaky_got {
            assert_eq!(delivery.event_id, event_id, "{engine}");
            assert_eq!(delivery.body, steady_got[0].body, "{engine}");
            assert!(signed_with(delivery, &flaky_secret), "{engine}");
            assert!(!signed_with(delivery, &steady_secret), "{engine}");
        }
        assert!(signed_with(&steady_got[0], &steady_secret), "{engine}");
        let event: Value = serde_json::from_slice(&steady_got[0].body).unwrap();
        assert_eq!(event["type"], "payment_intent.succeeded", "{engine}");
        assert_eq!(event["data"]["object"]["id"], intent["id"], "{engine}");

        // The events API shows the event once, by the id the endpoints got.
        let listed: Value = get(&app, &key, "/v1/events?limit=100").await;
        let ids: Vec<&str> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [event_id.as_str()], "{engine}");
        let fetched: Value = get(&app, &key, &format!("/v1/events/{event_id}")).await;
        assert_eq!(fetched, event, "{engine}");
    }
}
