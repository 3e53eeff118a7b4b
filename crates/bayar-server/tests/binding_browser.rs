//! Headless Chromium binds an Allo Bank account the way a person does: from the merchant's
//! page to bayar's binding page, reads the sandbox OTP, types it (once wrong), types the PIN,
//! and lands back on the merchant's success URL with an auth code.
//!
//! Chromium is driven through WebDriver (`fantoccini`, harness in `common/browser.rs`) by a
//! `chromedriver` this test starts on a free port and always stops (process group killed on
//! drop). Screenshots of every step, on a phone-sized screen, go to
//! `target/test-artifacts/binding/`.
//!
//! Without Chromium and chromedriver installed (Debian: `chromium chromium-driver`) the test
//! says loudly that it did not run; under `CI=true` it fails instead.

mod common;

use std::collections::HashMap;
use std::path::Path;

use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use bayar_core::binding::BindingStatus;
use bayar_core::commands::BeginBinding;
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::{NewCustomer, testing};
use bayar_snap::Money;
use common::TestApp;
use common::browser::{self, Chromedriver, MerchantSite, WHOLE};
use fantoccini::{Client, Locator};
use maud::html;

const PHONE: &str = "081234567890";
const PIN: &str = "123456";

/// The merchant's site: a page with the link to bayar, and the pages bayar sends the browser
/// back to.
async fn merchant_site() -> MerchantSite {
    MerchantSite::start(
        Router::new()
            .route("/start", get(start))
            .route("/bind/done", get(done))
            .route("/bind/failed", get(failed)),
    )
    .await
}

async fn start(Query(q): Query<HashMap<String, String>>) -> maud::Markup {
    let next = q.get("next").cloned().unwrap_or_default();
    html! {
        h1 { "Toko Test" }
        a id="link-allo" href=(next) { "Link your Allo Bank account" }
    }
}

async fn done() -> maud::Markup {
    html! { h1 id="merchant-done" { "Toko Test: Allo Bank account linked" } }
}

async fn failed() -> maud::Markup {
    html! { h1 id="merchant-failed" { "Toko Test: linking failed" } }
}

#[tokio::test]
async fn a_person_binds_an_account_in_chromium() {
    if !browser::installed() {
        return;
    }
    let dir = browser::artifacts("binding");
    let driver = Chromedriver::start(&dir.join("chromedriver.log")).await;
    // One engine is enough here: the pages are the same on both, and binding_page.rs covers
    // both engines over HTTP.
    let app = TestApp::spawn(testing::sqlite().await).await;
    let merchant = merchant_site().await;
    let profile = tempfile::tempdir().unwrap();

    app.core
        .create_customer(NewCustomer {
            rail: Rail::Bank,
            phone: PhoneNumber::parse(PHONE).unwrap(),
            pin: Pin::parse(PIN).unwrap(),
            opening_balance: Money::parse("250000.00").unwrap(),
        })
        .await
        .unwrap();
    let binding = app
        .core
        .run(BeginBinding {
            merchant_id: app.merchant.id,
            rail: bayar_core::customer::Rail::Bank,
            phone: PhoneNumber::parse(PHONE).unwrap(),
            cust_id_merchant: "cust-browser".to_string(),
            success_url: format!("{}/bind/done?order=42", merchant.base),
            failed_url: format!("{}/bind/failed", merchant.base),
        })
        .await
        .unwrap();
    // What DOKU's registration-account-binding answers as redirectUrl.
    let redirect_url = format!("{}/pages/allo/bind/{}", app.base, binding.id);

    let client = browser::connect(&driver, profile.path()).await;
    let run =
        tokio::time::timeout(WHOLE, drive(&client, &dir, &merchant.base, &redirect_url)).await;
    // Quit Chromium before judging; the driver's drop kills anything left.
    let _ = client.close().await;
    let final_url = run
        .expect("the browser run took too long")
        .unwrap_or_else(|e| panic!("the browser run failed: {e}"));

    let final_url = url::Url::parse(&final_url).unwrap();
    assert_eq!(
        final_url.as_str().split('?').next(),
        Some(format!("{}/bind/done", merchant.base).as_str())
    );
    let query: HashMap<String, String> = final_url.query_pairs().into_owned().collect();
    assert_eq!(query["order"], "42");
    assert_eq!(query["status"], "SUCCESS");
    assert_eq!(query["referenceNo"], binding.id.to_string());
    assert_eq!(query["custIdMerchant"], "cust-browser");
    let tokens = app
        .core
        .exchange_auth_code(&app.merchant, &query["authCode"])
        .await
        .unwrap();
    assert_eq!(tokens.binding.id, binding.id);
    let now = app
        .core
        .store()
        .binding(&binding.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.status, BindingStatus::Active);
    drop(driver);
}

/// The person's part; returns the URL the browser ends at.
async fn drive(
    client: &Client,
    dir: &Path,
    merchant: &str,
    redirect_url: &str,
) -> Result<String, fantoccini::error::CmdError> {
    let shot = |name: &'static str| browser::screenshot(client, dir, name);
    let wait = |id: &'static str| browser::wait_for(client, id);

    // At the merchant: the link DOKU's redirectUrl became.
    let start = url::Url::parse_with_params(&format!("{merchant}/start"), [("next", redirect_url)])
        .expect("the merchant's start URL");
    client.goto(start.as_str()).await?;
    wait("link-allo").await?.click().await?;

    // The OTP step: read the sandbox code, first type a wrong one.
    let otp = wait("sandbox-otp").await?.text().await?.trim().to_string();
    assert_eq!(otp.len(), 6, "the sandbox OTP: {otp:?}");
    shot("01-otp.png").await?;
    let wrong: String = otp
        .chars()
        .map(|c| {
            if c == '9' {
                '0'
            } else {
                char::from(c as u8 + 1)
            }
        })
        .collect();
    client
        .find(Locator::Css("input[name=otp]"))
        .await?
        .send_keys(&wrong)
        .await?;
    client
        .find(Locator::Id("submit-otp"))
        .await?
        .click()
        .await?;
    let error = wait("error").await?.text().await?;
    assert!(error.contains("2 tries left"), "{error}");
    shot("02-otp-wrong.png").await?;

    // The right code.
    let field = client.find(Locator::Css("input[name=otp]")).await?;
    field.clear().await?;
    field.send_keys(&otp).await?;
    shot("03-otp-typed.png").await?;
    client
        .find(Locator::Id("submit-otp"))
        .await?
        .click()
        .await?;

    // The PIN step.
    let submit = wait("submit-pin").await?;
    shot("04-pin.png").await?;
    client
        .find(Locator::Css("input[name=pin]"))
        .await?
        .send_keys(PIN)
        .await?;
    shot("05-pin-typed.png").await?;
    submit.click().await?;

    // Back at the merchant.
    wait("merchant-done").await?;
    shot("06-merchant.png").await?;
    let landed = client.current_url().await?.to_string();

    // The binding page now only says the account is linked.
    client.goto(redirect_url).await?;
    let status = wait("binding-status").await?;
    assert_eq!(status.attr("data-status").await?.as_deref(), Some("active"));
    shot("07-linked.png").await?;
    Ok(landed)
}
