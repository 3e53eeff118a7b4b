//! Stripe's official Python library against bayar's Stripe-style API, over HTTP, with only
//! `stripe.api_base` changed: a DANA intent confirmed, paid on the wallet page and returned
//! to `return_url`, refunded once, listed with pagination, a checkout session created and
//! expired, and the refusals as the library's
//! typed exceptions. The script reports what the library saw; this test asserts it and the
//! ledger. A second test delivers a webhook and has `stripe.Webhook.construct_event` verify it.

mod common;

use bayar_core::NewCustomer;
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::merchant::{MerchantName, NewMerchant};
use bayar_core::testing;
use bayar_snap::Money;
use std::time::Duration;

use common::TestApp;
use common::receiver::Receiver;
use serde_json::{Value, json};

const PHONE: &str = "081277770001";
const PIN: &str = "135790";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_python_library_pays_refunds_lists_and_gets_typed_errors() {
    let Some(python) = common::python::sdk_python() else {
        return;
    };
    let app = TestApp::spawn(testing::sqlite().await).await;
    let merchant = app
        .core
        .create_merchant(NewMerchant {
            name: MerchantName::parse("Toko Stripe").unwrap(),
            notify_url: None,
            public_key: None,
        })
        .await
        .unwrap();
    let customer = app
        .core
        .create_customer(NewCustomer {
            rail: Rail::Wallet,
            phone: PhoneNumber::parse(PHONE).unwrap(),
            pin: Pin::parse(PIN).unwrap(),
            opening_balance: Money::parse("100000.00").unwrap(),
        })
        .await
        .unwrap();
    let env = vec![
        ("BAYAR_BASE", app.base.clone()),
        ("BAYAR_SECRET_KEY", merchant.secret_key.expose().to_string()),
        ("BAYAR_PHONE", PHONE.to_string()),
        ("BAYAR_PIN", PIN.to_string()),
    ];
    let out = tokio::task::spawn_blocking(move || {
        common::python::run_script(&python, "stripe/intents.py", &env)
    })
    .await
    .unwrap();

    let created = &out["created"];
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("pi_"), "{out}");
    assert_eq!(created["status"], "requires_action", "{out}");
    assert_eq!(created["amount"], 25000);
    assert_eq!(created["next_action_type"], "redirect_to_url");
    assert_eq!(created["dana_url"], created["redirect_url"]);
    assert!(
        created["redirect_url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/pages/dana/pay/pay_", app.base))
    );
    assert_eq!(created["metadata"], json!({"order_id": "A-1"}));

    let returned = &out["returned"];
    assert_eq!(returned["status"], 303, "{out}");
    assert_eq!(returned["url"], "https://merchant.example/stripe/return");
    assert_eq!(returned["query"]["cart"], "9");
    assert_eq!(returned["query"]["payment_intent"], id);
    assert_eq!(
        returned["query"]["payment_intent_client_secret"],
        created["client_secret"]
    );
    assert_eq!(returned["query"]["redirect_status"], "succeeded");

    assert_eq!(
        out["retrieved"],
        json!({"status": "succeeded", "amount_received": 25000})
    );
    let refund = &out["refund"];
    assert!(refund["id"].as_str().unwrap().starts_with("re_"), "{out}");
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(refund["amount"], 5000);
    assert_eq!(refund["payment_intent"], id);
    assert_eq!(out["refund_retrieved"], 5000);
    assert_eq!(out["refunds_listed"], json!([refund["id"]]));
    let again = &out["refund_again"];
    assert_eq!(again["class"], "InvalidRequestError", "{out}");
    assert_eq!(again["http"], 400);
    assert_eq!(again["code"], "charge_already_refunded");

    // Pagination: the four intents made, newest first, across pages of two.
    let list = &out["list"];
    let mut made: Vec<String> = serde_json::from_value(list["made"].clone()).unwrap();
    made.sort();
    made.reverse();
    assert_eq!(list["has_more"], true, "{out}");
    assert_eq!(list["first_page"], json!(made[..2]));
    assert_eq!(list["all"], json!(made));
    assert_eq!(out["cancel"], "canceled");

    let checkout = &out["checkout"];
    assert!(checkout["id"].as_str().unwrap().starts_with("cs_"), "{out}");
    assert_eq!(checkout["status"], "open");
    assert_eq!(checkout["payment_status"], "unpaid");
    assert_eq!(checkout["amount_total"], 40000);
    assert_eq!(checkout["expires_in"], 24 * 3_600_000);
    assert_eq!(
        checkout["url"],
        format!(
            "{}/pages/checkout/{}",
            app.base,
            checkout["id"].as_str().unwrap()
        )
    );
    assert_eq!(
        checkout["items"],
        json!([{"quantity": 2, "unit_amount": 20000, "name": "apple"}])
    );
    assert_eq!(checkout["expired"], "expired");
    // Sessions listed newest first, one per page: the open one, then the expired one.
    let sessions = &out["sessions"];
    let made = &sessions["made"];
    assert_eq!(sessions["first_page"], json!([made[1]]), "{out}");
    assert_eq!(sessions["has_more"], true);
    assert_eq!(
        sessions["all"],
        json!([[made[1], "open"], [made[0], "expired"]])
    );

    let typed = |step: &str, class: &str, http: i64, code: &str, param: Option<&str>| {
        let seen = &out[step];
        assert_eq!(seen["class"], class, "{step}: {out}");
        assert_eq!(seen["http"], http, "{step}: {out}");
        assert_eq!(seen["code"], code, "{step}: {out}");
        if let Some(param) = param {
            assert_eq!(seen["param"], param, "{step}: {out}");
        }
    };
    typed(
        "too_small",
        "InvalidRequestError",
        400,
        "amount_too_small",
        Some("amount"),
    );
    typed(
        "unknown_param",
        "InvalidRequestError",
        400,
        "parameter_unknown",
        Some("colour"),
    );
    typed(
        "wrong_currency",
        "InvalidRequestError",
        400,
        "invalid_currency",
        Some("currency"),
    );
    typed(
        "missing",
        "InvalidRequestError",
        404,
        "resource_missing",
        Some("intent"),
    );
    assert_eq!(out["wrong_key"]["class"], "AuthenticationError", "{out}");
    assert_eq!(out["wrong_key"]["http"], 401);
    assert_eq!(
        out["idempotent_replay"]["first"], out["idempotent_replay"]["replayed"],
        "{out}"
    );
    assert_eq!(out["idempotency"]["class"], "IdempotencyError", "{out}");
    assert_eq!(out["idempotency"]["http"], 400);

    // Rp 25,000 paid, Rp 5,000 back: the wallet holds Rp 80,000; the ledger is sound.
    let balance = app.core.balance(&customer.account).await.unwrap().unwrap();
    assert_eq!(balance.posted, 8_000_000);
    let breaches = app.core.verify_ledger().await.unwrap();
    assert!(breaches.is_empty(), "{breaches:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_python_library_verifies_a_delivered_webhook() {
    let Some(python) = common::python::sdk_python() else {
        return;
    };
    let app = TestApp::spawn(testing::sqlite().await).await;
    let merchant = app
        .core
        .create_merchant(NewMerchant {
            name: MerchantName::parse("Toko Webhook").unwrap(),
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
    let receiver = Receiver::start(0).await;
    let http = reqwest::Client::new();
    let endpoint: Value = http
        .post(format!("{}/v1/webhook_endpoints", app.base))
        .bearer_auth(&key)
        .form(&[
            ("url", receiver.url.as_str()),
            ("enabled_events[0]", "payment_intent.succeeded"),
            ("enabled_events[1]", "refund.created"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{endpoint}");
    assert!(endpoint["id"].as_str().unwrap().starts_with("we_"));
    let listed: Value = http
        .get(format!("{}/v1/webhook_endpoints", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["id"], endpoint["id"]);
    assert!(listed["data"][0].get("secret").is_none(), "shown once");

    let intent: Value = http
        .post(format!("{}/v1/payment_intents", app.base))
        .bearer_auth(&key)
        .form(&[
            ("amount", "30000"),
            ("currency", "idr"),
            ("confirm", "true"),
            ("payment_method_data[type]", "dana"),
            ("return_url", "https://merchant.example/back"),
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
    assert!(matches!(paid, bayar_core::commands::WalletOutcome::Done(_)));

    let worker = app.start_worker();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let delivery = loop {
        if let Some(first) = receiver.requests().into_iter().next() {
            break first;
        }
        assert!(tokio::time::Instant::now() < deadline, "no webhook arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    worker.stop().await;
    let body = String::from_utf8(delivery.body.clone()).unwrap();
    let signature = delivery.headers["stripe-signature"]
        .to_str()
        .unwrap()
        .to_string();
    let env = vec![
        ("BAYAR_WEBHOOK_BODY", body.clone()),
        ("BAYAR_WEBHOOK_SIGNATURE", signature),
        ("BAYAR_WEBHOOK_SECRET", secret),
    ];
    let out = tokio::task::spawn_blocking(move || {
        common::python::run_script(&python, "stripe/webhook.py", &env)
    })
    .await
    .unwrap();
    let genuine = &out["genuine"];
    assert_eq!(genuine["verified"], true, "{out}");
    assert_eq!(genuine["type"], "payment_intent.succeeded");
    assert_eq!(genuine["object"], "payment_intent");
    assert_eq!(genuine["object_id"], intent["id"]);
    assert_eq!(genuine["status"], "succeeded");
    assert_eq!(out["tampered"]["verified"], false, "{out}");
    assert_eq!(out["other_secret"]["verified"], false, "{out}");

    // The same event through the events API.
    let event_id = genuine["id"].as_str().unwrap();
    assert!(event_id.starts_with("evt_"));
    let fetched: Value = http
        .get(format!("{}/v1/events/{event_id}", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, serde_json::from_str::<Value>(&body).unwrap());
    let events: Value = http
        .get(format!("{}/v1/events?limit=5", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(events["data"][0]["id"], event_id, "{events}");
    let gone = http
        .delete(format!(
            "{}/v1/webhook_endpoints/{}",
            app.base,
            endpoint["id"].as_str().unwrap()
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), reqwest::StatusCode::OK);
    let again = http
        .delete(format!(
            "{}/v1/webhook_endpoints/{}",
            app.base,
            endpoint["id"].as_str().unwrap()
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), reqwest::StatusCode::NOT_FOUND);
}
