//! Headless Chromium completes a Stripe-style checkout session as a customer: the merchant
//! creates the session through the API, the person opens its `url` (the hosted checkout page),
//! picks DANA, pays on the wallet page with phone number and PIN, and lands on the merchant's
//! `success_url`; the merchant's webhook endpoint gets `payment_intent.succeeded`, signed with
//! its `whsec_` secret; the session is `complete`.
//!
//! Screenshots of every page, on a phone-sized screen, go to
//! `target/test-artifacts/stripe-checkout/`. Without Chromium and chromedriver the test says
//! loudly that it did not run; under `CI=true` it fails instead.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use aws_lc_rs::hmac;
use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::merchant::{MerchantName, NewMerchant};
use bayar_core::{NewCustomer, testing};
use bayar_snap::Money;
use common::TestApp;
use common::browser::{self, Chromedriver, MerchantSite, WHOLE};
use common::receiver::Receiver;
use fantoccini::{Client, Locator};
use maud::html;
use serde_json::Value;

const PHONE: &str = "081377770001";
const PIN: &str = "975310";

async fn ok_page(Query(q): Query<HashMap<String, String>>) -> maud::Markup {
    let session = q.get("cs").cloned().unwrap_or_default();
    html! { h1 id="merchant-ok" data-session=(session) { "Toko Buah: thank you" } }
}

type Step<T> = Result<T, fantoccini::error::CmdError>;

/// The person: checkout page -> DANA -> wallet page -> the merchant; returns where it ended.
async fn drive(client: &Client, dir: &Path, checkout_url: &str) -> Step<String> {
    client.goto(checkout_url).await?;
    browser::wait_for(client, "submit-checkout").await?;
    browser::screenshot(client, dir, "01-checkout.png").await?;
    client
        .find(Locator::Css("input[name=method][value=dana]"))
        .await?
        .click()
        .await?;
    client
        .find(Locator::Id("submit-checkout"))
        .await?
        .click()
        .await?;
    browser::wait_for(client, "submit-pay").await?;
    browser::screenshot(client, dir, "02-wallet.png").await?;
    client
        .find(Locator::Css("input[name=phone]"))
        .await?
        .send_keys(PHONE)
        .await?;
    client
        .find(Locator::Css("input[name=pin]"))
        .await?
        .send_keys(PIN)
        .await?;
    browser::screenshot(client, dir, "03-wallet-filled.png").await?;
    client
        .find(Locator::Id("submit-pay"))
        .await?
        .click()
        .await?;
    browser::wait_for(client, "merchant-ok").await?;
    browser::screenshot(client, dir, "04-success-url.png").await?;
    Ok(client.current_url().await?.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_completes_a_checkout_session_in_chromium() {
    if !browser::installed() {
        return;
    }
    let dir = browser::artifacts("stripe-checkout");
    let driver = Chromedriver::start(&dir.join("chromedriver.log")).await;
    let app = TestApp::spawn(testing::sqlite().await).await;
    let key = app
        .core
        .create_merchant(NewMerchant {
            name: MerchantName::parse("Toko Buah").unwrap(),
            notify_url: None,
            public_key: None,
        })
        .await
        .unwrap()
        .secret_key
        .expose()
        .to_string();
    app.core
        .create_customer(NewCustomer {
            rail: Rail::Wallet,
            phone: PhoneNumber::parse(PHONE).unwrap(),
            pin: Pin::parse(PIN).unwrap(),
            opening_balance: Money::parse("100000.00").unwrap(),
        })
        .await
        .unwrap();
    let site = MerchantSite::start(Router::new().route("/ok", get(ok_page))).await;
    let receiver = Receiver::start(0).await;
    let http = reqwest::Client::new();
    let post = |path: &str, form: Vec<(&str, String)>| {
        http.post(format!("{}{path}", app.base))
            .bearer_auth(&key)
            .form(&form)
            .send()
    };
    let endpoint: Value = post(
        "/v1/webhook_endpoints",
        vec![
            ("url", receiver.url.clone()),
            ("enabled_events[]", "*".into()),
        ],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    let session: Value = post(
        "/v1/checkout/sessions",
        vec![
            ("mode", "payment".into()),
            (
                "success_url",
                format!("{}/ok?cs={{CHECKOUT_SESSION_ID}}", site.base),
            ),
            ("cancel_url", format!("{}/cart", site.base)),
            ("line_items[0][price_data][currency]", "IDR".into()),
            ("line_items[0][price_data][unit_amount]", "20000".into()),
            (
                "line_items[0][price_data][product_data][name]",
                "apple".into(),
            ),
            ("line_items[0][quantity]", "2".into()),
        ],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = session["id"].as_str().unwrap().to_string();
    let worker = app.start_worker();

    let profile = tempfile::tempdir().unwrap();
    let client = browser::connect(&driver, profile.path()).await;
    let run = tokio::time::timeout(
        WHOLE,
        drive(&client, &dir, session["url"].as_str().unwrap()),
    )
    .await;
    // Quit Chromium before judging; the driver's drop kills anything left.
    let _ = client.close().await;
    let landed = run
        .expect("the browser run took too long")
        .unwrap_or_else(|e| panic!("the browser run failed: {e}"));
    assert_eq!(landed, format!("{}/ok?cs={id}", site.base));

    let done: Value = http
        .get(format!("{}/v1/checkout/sessions/{id}", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "complete", "{done}");
    assert_eq!(done["payment_status"], "paid");

    // The webhooks: Stripe's events, each signed over "t.payload" with the endpoint's secret.
    // The two events of the payment may arrive in either order.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let deliveries = loop {
        let got = receiver.requests();
        if got.len() >= 2 {
            break got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} webhooks arrived",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    worker.stop().await;
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut events = std::collections::BTreeMap::new();
    for delivery in &deliveries {
        let header = delivery.headers["stripe-signature"].to_str().unwrap();
        let (t, v1) = header
            .strip_prefix("t=")
            .and_then(|rest| rest.split_once(",v1="))
            .expect("t=...,v1=...");
        let signed = [t.as_bytes(), b".", &delivery.body].concat();
        let expected: String = hmac::sign(&key, &signed)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(v1, expected);
        let event: Value = serde_json::from_slice(&delivery.body).unwrap();
        let kind = event["type"].as_str().unwrap().to_string();
        assert!(
            events.insert(kind, event).is_none(),
            "an event delivered twice"
        );
    }
    let kinds: Vec<&str> = events.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        ["checkout.session.completed", "payment_intent.succeeded"]
    );
    let succeeded = &events["payment_intent.succeeded"]["data"]["object"];
    assert_eq!(succeeded["id"], done["payment_intent"]);
    assert_eq!(succeeded["status"], "succeeded");
    let completed = &events["checkout.session.completed"]["data"]["object"];
    assert_eq!(completed["id"], id.as_str());
    assert_eq!(completed["payment_status"], "paid");
    for shot in [
        "01-checkout.png",
        "02-wallet.png",
        "03-wallet-filled.png",
        "04-success-url.png",
    ] {
        assert!(dir.join(shot).exists(), "{shot}");
    }
}
