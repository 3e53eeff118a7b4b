//! Headless Chromium pays with the DANA-like wallet the way a person does: the merchant creates
//! the payment through DOKU's API, the person follows the merchant's link to `webRedirectUrl`,
//! types phone number and PIN, pays, and lands on the merchant's `PAY_RETURN` URL; the
//! merchant's notification endpoint, built on DOKU's official Python SDK, gets a payment
//! notification whose token and HMAC it verifies; the status inquiry says paid. Shorter runs
//! cover cancelling, three wrong PINs, too little balance and an expired payment.
//!
//! The harness (chromedriver, sessions, screenshots) is `common/browser.rs`. Screenshots of
//! every page, on a phone-sized screen, go to `target/test-artifacts/wallet/`.
//!
//! Without Chromium and chromedriver, or without the Python SDK environment, the test says
//! loudly that it did not run; under `CI=true` it fails instead.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::ids::PaymentId;
use bayar_core::ledger::AccountId;
use bayar_core::merchant::{MerchantName, NewMerchant, NotifyUrl};
use bayar_core::outbox::RetrySchedule;
use bayar_core::payment::{FailureReason, PaymentStatus};
use bayar_core::{NewCustomer, testing};
use bayar_snap::{Money, PrivateKey};
use common::browser::{self, Chromedriver, MerchantSite, WHOLE};
use common::receiver::SdkReceiver;
use common::{STATUS_PATH, TestApp};
use fantoccini::{Client, Locator};
use maud::html;
use serde_json::{Value, json};

const PAY_PATH: &str = "/direct-debit/core/v1/debit/payment-host-to-host";
const NOTIFY_PATH: &str = "/v1.0/debit/notify";
const RICH: &str = "081366660001";
const POOR: &str = "081366660002";
const PIN: &str = "864200";
const WRONG_PIN: &str = "111111";

/// The merchant's site: a checkout page with the link DOKU's answer became, and the page the
/// wallet sends the browser back to, which shows the query it got.
async fn merchant_site() -> MerchantSite {
    MerchantSite::start(
        Router::new()
            .route("/checkout", get(checkout))
            .route("/dana/return", get(returned)),
    )
    .await
}

async fn checkout(Query(q): Query<HashMap<String, String>>) -> maud::Markup {
    let next = q.get("next").cloned().unwrap_or_default();
    html! {
        h1 { "Toko Wallet: checkout" }
        a id="pay-dana" href=(next) { "Pay with DANA" }
    }
}

async fn returned(Query(q): Query<HashMap<String, String>>) -> maud::Markup {
    let status = q.get("status").cloned().unwrap_or_default();
    html! {
        h1 id="merchant-return" data-status=(status) { "Toko Wallet: payment " (status) }
    }
}

/// The merchant (its notifications go to the SDK receiver) on a fresh sqlite store.
async fn merchant_with_receiver(python: &Path) -> (TestApp, SdkReceiver) {
    // One engine is enough here: the pages are the same on both, and wallet_page.rs covers
    // both engines over HTTP.
    let mut app = TestApp::spawn(testing::sqlite().await).await;
    let mut receiver = SdkReceiver::start(python).await;
    let created = app
        .core
        .create_merchant(NewMerchant {
            name: MerchantName::parse("Toko Wallet").unwrap(),
            notify_url: Some(NotifyUrl::parse(&receiver.url(NOTIFY_PATH)).unwrap()),
            public_key: None,
        })
        .await
        .unwrap();
    let private_pem = created.private_key_pem.unwrap();
    receiver
        .configure(&json!({
            "client_id": created.merchant.client_id.as_str(),
            "client_secret": created.merchant.client_secret.expose(),
            "gateway_public_key": app.core.gateway_public_key().to_pem(),
            "merchant_private_key": private_pem.expose(),
            "expires_in": 900,
        }))
        .await;
    // The TestApp helpers sign as `app.merchant`: make that this merchant.
    app.merchant_key = PrivateKey::from_pem(private_pem.expose()).unwrap();
    app.merchant = created.merchant;
    (app, receiver)
}

async fn wallet(app: &TestApp, phone: &str, balance: &str) -> bayar_core::customer::Customer {
    app.core
        .create_customer(NewCustomer {
            rail: Rail::Wallet,
            phone: PhoneNumber::parse(phone).unwrap(),
            pin: Pin::parse(PIN).unwrap(),
            opening_balance: Money::parse(balance).unwrap(),
        })
        .await
        .unwrap()
}

/// Posts `body` signed as the merchant; DANA payments carry the customer's device id.
async fn signed(app: &TestApp, path: &str, body: &Value, external_id: &str) -> common::Reply {
    let token = app.b2b_token().await;
    let body = body.to_string();
    let mut headers = app.signed_headers(path, &token, &body, external_id);
    headers.push(("X-DEVICE-ID".into(), "95221".into()));
    app.post(path, &headers, &body).await
}

/// The merchant's DOKU call; returns the payment id and `webRedirectUrl`.
async fn create(
    app: &TestApp,
    site: &MerchantSite,
    n: u32,
    value: &str,
    valid_upto: Option<String>,
) -> (PaymentId, String) {
    let mut body = json!({
        "partnerReferenceNo": format!("INV-WEB-{n:04}"),
        "pointOfInitiation": "mweb",
        "urlParam": [{
            "url": format!("{}/dana/return?order={n}", site.base),
            "type": "PAY_RETURN",
            "isDeepLink": "N"
        }],
        "amount": { "value": value, "currency": "IDR" },
        "additionalInfo": { "channel": "EMONEY_DANA_SNAP", "orderTitle": format!("Order #{n}: kopi susu") }
    });
    if let Some(at) = valid_upto {
        body["validUpto"] = json!(at);
    }
    let reply = signed(app, PAY_PATH, &body, &format!("7000{n}")).await;
    assert_eq!(reply.code, "2005400", "{reply:?}");
    let id = reply.body["referenceNo"].as_str().unwrap().parse().unwrap();
    (
        id,
        reply.body["webRedirectUrl"].as_str().unwrap().to_string(),
    )
}

async fn latest_status(app: &TestApp, n: u32) -> String {
    let body = json!({
        "originalPartnerReferenceNo": format!("INV-WEB-{n:04}"),
        "serviceCode": "55",
        "additionalInfo": { "channel": "EMONEY_DANA_SNAP" }
    });
    let reply = signed(app, STATUS_PATH, &body, &format!("8000{n}")).await;
    assert_eq!(reply.code, "2005500", "{reply:?}");
    reply.body["latestTransactionStatus"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits (bounded) for the verified notification about `id` and returns its body.
async fn notification_about(receiver: &SdkReceiver, id: &PaymentId) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = receiver
            .seen("notification")
            .into_iter()
            .find(|n| n["body"]["originalReferenceNo"] == id.to_string());
        if let Some(n) = found {
            assert_eq!(n["path"], NOTIFY_PATH, "{n}");
            assert_eq!(n["token_valid"], true, "the SDK verified the JWT: {n}");
            assert_eq!(n["hmac_valid"], true, "X-SIGNATURE verified: {n}");
            assert_eq!(n["sdk_hmac_valid"], true, "the SDK's own HMAC agrees: {n}");
            assert_eq!(n["answered"], 200, "{n}");
            return n["body"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no notification about {id}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_pays_with_the_wallet_in_chromium() {
    if !browser::installed() {
        return;
    }
    let Some(python) = common::python::sdk_python() else {
        return;
    };
    let dir = browser::artifacts("wallet");
    let driver = Chromedriver::start(&dir.join("chromedriver.log")).await;
    let (app, receiver) = merchant_with_receiver(&python).await;
    let worker = app.start_worker_with(RetrySchedule::new(vec![Duration::from_millis(100); 3]));
    let site = merchant_site().await;
    let rich = wallet(&app, RICH, "250000.00").await;
    wallet(&app, POOR, "5000.00").await;

    let paid = create(&app, &site, 1, "100000.00", None).await;
    let cancelled = create(&app, &site, 2, "20000.00", None).await;
    let locked = create(&app, &site, 3, "20000.00", None).await;
    let poor = create(&app, &site, 4, "10000.00", None).await;
    let soon = bayar_snap::time::format_jakarta(chrono::Utc::now() + chrono::Duration::seconds(2));
    let expired = create(&app, &site, 5, "10000.00", Some(soon)).await;
    let urls = Urls {
        merchant: site.base.clone(),
        paid: paid.1.clone(),
        cancelled: cancelled.1.clone(),
        locked: locked.1.clone(),
        poor: poor.1.clone(),
        expired: expired.1.clone(),
        missing: format!("{}/pages/dana/pay/pay_00000000000000000000000000", app.base),
    };

    let profile = tempfile::tempdir().unwrap();
    let client = browser::connect(&driver, profile.path()).await;
    let run = tokio::time::timeout(WHOLE, drive(&client, &dir, &urls)).await;
    // Quit Chromium before judging; the driver's drop kills anything left.
    let _ = client.close().await;
    let landed = run
        .expect("the browser run took too long")
        .unwrap_or_else(|e| panic!("the browser run failed: {e}"));

    // Paid: back at PAY_RETURN with the references; the money moved; the merchant was told.
    let url = url::Url::parse(&landed.paid).unwrap();
    assert_eq!(url.path(), "/dana/return");
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["order"], "1");
    assert_eq!(query["status"], "SUCCESS");
    assert_eq!(query["referenceNo"], paid.0.to_string());
    assert_eq!(query["partnerReferenceNo"], "INV-WEB-0001");
    let payment = app.core.store().payment(&paid.0).await.unwrap().unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    let notified = notification_about(&receiver, &paid.0).await;
    assert_eq!(notified["latestTransactionStatus"], "00", "{notified}");
    assert_eq!(notified["originalPartnerReferenceNo"], "INV-WEB-0001");
    assert_eq!(notified["amount"]["value"], "100000.00");
    assert_eq!(notified["additionalInfo"]["channelId"], "EMONEY_DANA_SNAP");
    assert_eq!(latest_status(&app, 1).await, "00");
    let posted = |account: AccountId| {
        let core = app.core.clone();
        async move { core.balance(&account).await.unwrap().unwrap().posted }
    };
    assert_eq!(posted(rich.account.clone()).await, 15_000_000);
    assert_eq!(
        posted(AccountId::merchant_available(&app.merchant.id)).await,
        9_850_000
    );
    assert_eq!(posted(AccountId::gateway_fees()).await, 150_000);

    // Cancelled: back at PAY_RETURN with CANCELLED; nothing moved.
    let query: HashMap<String, String> = url::Url::parse(&landed.cancelled)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(query["status"], "CANCELLED");
    assert_eq!(query["order"], "2");
    assert_eq!(latest_status(&app, 2).await, "05");
    assert_eq!(
        notification_about(&receiver, &cancelled.0).await["latestTransactionStatus"],
        "05"
    );

    // Three wrong PINs, and too little balance: failed, and the merchant was told.
    for (n, (id, _), reason) in [
        (3, &locked, FailureReason::PinLocked),
        (4, &poor, FailureReason::InsufficientFunds),
    ] {
        let p = app.core.store().payment(id).await.unwrap().unwrap();
        assert_eq!(p.status, PaymentStatus::Failed, "{n}");
        assert_eq!(p.failure, Some(reason), "{n}");
        assert_eq!(latest_status(&app, n).await, "06", "{n}");
        assert_eq!(
            notification_about(&receiver, id).await["latestTransactionStatus"],
            "06"
        );
    }
    assert_eq!(landed.locked_return, "FAILED");

    // Expired: the page said so before the sweeper; after it, so does the status.
    bayar_server::sweeper::sweep(&app.core).await;
    assert_eq!(latest_status(&app, 5).await, "06");
    let p = app.core.store().payment(&expired.0).await.unwrap().unwrap();
    assert_eq!(p.status, PaymentStatus::Expired);

    // Nothing else moved: the rich wallet paid once; the ledger balances.
    assert_eq!(posted(rich.account.clone()).await, 15_000_000);
    assert!(app.core.verify_ledger().await.unwrap().is_empty());
    worker.stop().await;
    drop(driver);
}

/// The pages the browser visits.
struct Urls {
    merchant: String,
    paid: String,
    cancelled: String,
    locked: String,
    poor: String,
    expired: String,
    missing: String,
}

/// Where the browser ended up.
struct Landed {
    /// The merchant URL after paying.
    paid: String,
    /// The merchant URL after cancelling.
    cancelled: String,
    /// The `status` the locked payment's link back to the merchant carried.
    locked_return: String,
}

type Step<T> = Result<T, fantoccini::error::CmdError>;

/// Types `phone` (unless the field already holds it) and `pin`, and presses pay.
async fn log_in(client: &Client, phone: &str, pin: &str) -> Step<()> {
    let field = client.find(Locator::Css("input[name=phone]")).await?;
    if field.prop("value").await?.as_deref() != Some(phone) {
        field.clear().await?;
        field.send_keys(phone).await?;
    }
    let pin_field = client.find(Locator::Css("input[name=pin]")).await?;
    pin_field.clear().await?;
    pin_field.send_keys(pin).await?;
    Ok(())
}

async fn press(client: &Client, id: &str) -> Step<()> {
    client.find(Locator::Id(id)).await?.click().await
}

/// The text of `#id` once it contains `needle`, or what it says when [`browser::STEP`] is up.
async fn text_containing(client: &Client, id: &str, needle: &str) -> Step<String> {
    let deadline = tokio::time::Instant::now() + browser::STEP;
    loop {
        let text = match client.find(Locator::Id(id)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(needle) || tokio::time::Instant::now() >= deadline {
            return Ok(text);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn data_status(client: &Client, id: &str) -> Step<Option<String>> {
    browser::wait_for(client, id)
        .await?
        .attr("data-status")
        .await
}

/// The person's part.
async fn drive(client: &Client, dir: &Path, urls: &Urls) -> Step<Landed> {
    let shot = |name: &'static str| browser::screenshot(client, dir, name);

    // 1. Pays: from the merchant's checkout to the wallet, phone and PIN, back to the merchant.
    let checkout = url::Url::parse_with_params(
        &format!("{}/checkout", urls.merchant),
        [("next", urls.paid.as_str())],
    )
    .expect("the merchant's checkout URL");
    client.goto(checkout.as_str()).await?;
    browser::wait_for(client, "pay-dana").await?.click().await?;
    browser::wait_for(client, "submit-pay").await?;
    let amount = client.find(Locator::Id("amount")).await?.text().await?;
    assert_eq!(amount, "Rp 100.000,00");
    let merchant = client
        .find(Locator::Id("merchant-name"))
        .await?
        .text()
        .await?;
    assert_eq!(merchant, "Toko Wallet");
    shot("01-login.png").await?;
    log_in(client, RICH, PIN).await?;
    shot("02-login-typed.png").await?;
    press(client, "submit-pay").await?;
    let status = data_status(client, "merchant-return").await?;
    assert_eq!(status.as_deref(), Some("SUCCESS"));
    shot("03-merchant-paid.png").await?;
    let paid = client.current_url().await?.to_string();
    // The wallet page now only says it is paid.
    client.goto(&urls.paid).await?;
    assert_eq!(
        data_status(client, "payment-status").await?.as_deref(),
        Some("succeeded")
    );
    shot("04-paid.png").await?;

    // 2. Cancels.
    client.goto(&urls.cancelled).await?;
    browser::wait_for(client, "submit-cancel").await?;
    press(client, "submit-cancel").await?;
    assert_eq!(
        data_status(client, "merchant-return").await?.as_deref(),
        Some("CANCELLED")
    );
    let cancelled = client.current_url().await?.to_string();
    client.goto(&urls.cancelled).await?;
    assert_eq!(
        data_status(client, "payment-status").await?.as_deref(),
        Some("cancelled")
    );
    shot("05-cancelled.png").await?;

    // 3. Three wrong PINs.
    client.goto(&urls.locked).await?;
    browser::wait_for(client, "submit-pay").await?;
    for (n, left) in [(1, "2 tries left"), (2, "1 try left")] {
        log_in(client, RICH, WRONG_PIN).await?;
        press(client, "submit-pay").await?;
        // The page before had an `#error` too: wait for the new one's words.
        let error = text_containing(client, "error", left).await?;
        assert!(error.contains(left), "try {n}: {error}");
        if n == 1 {
            shot("06-wrong-pin.png").await?;
        }
    }
    log_in(client, RICH, WRONG_PIN).await?;
    press(client, "submit-pay").await?;
    assert_eq!(
        data_status(client, "payment-status").await?.as_deref(),
        Some("failed")
    );
    let reason = client.find(Locator::Id("failure-reason")).await?;
    assert_eq!(
        reason.attr("data-reason").await?.as_deref(),
        Some("pin_locked")
    );
    shot("07-pin-locked.png").await?;
    press(client, "return-to-merchant").await?;
    let locked_return = data_status(client, "merchant-return")
        .await?
        .unwrap_or_default();

    // 4. Too little balance.
    client.goto(&urls.poor).await?;
    browser::wait_for(client, "submit-pay").await?;
    log_in(client, POOR, PIN).await?;
    press(client, "submit-pay").await?;
    assert_eq!(
        data_status(client, "payment-status").await?.as_deref(),
        Some("failed")
    );
    let reason = client.find(Locator::Id("failure-reason")).await?;
    assert_eq!(
        reason.attr("data-reason").await?.as_deref(),
        Some("insufficient_funds")
    );
    shot("08-insufficient.png").await?;

    // 5. Too late: the deadline (2 s after creation) has passed by now, or soon will.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        // `goto` returns once the page has loaded, so no waiting for the element here.
        client.goto(&urls.expired).await?;
        if let Ok(status) = client.find(Locator::Id("payment-status")).await
            && status.attr("data-status").await?.as_deref() == Some("expired")
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never expired");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    shot("09-expired.png").await?;

    // 6. A link that leads nowhere.
    client.goto(&urls.missing).await?;
    browser::wait_for(client, "page-error").await?;
    shot("10-not-found.png").await?;

    Ok(Landed {
        paid,
        cancelled,
        locked_return,
    })
}
