//! Headless Chromium uses the merchant portal the way a merchant's staff does, on a phone-sized
//! screen: logs in, rotates the client secret (shown once, gone after a reload), finds a
//! payment by its reference, refunds part of it from the detail page, tops up the deposit,
//! downloads the statement, opens the API log and its checklist, and logs out.
//!
//! The harness (chromedriver, sessions, screenshots) is `common/browser.rs`. Screenshots of
//! every page go to `target/test-artifacts/portal/`. Without Chromium and chromedriver the
//! test says loudly that it did not run; under `CI=true` it fails instead.

mod common;

use std::path::Path;
use std::time::Duration;

use bayar_core::commands::{CreatePayment, DebitNow};
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::payment::{Channel, Face, PartnerReference};
use bayar_core::portal::{Email, Password, Role};
use bayar_core::{NewCustomer, testing};
use bayar_snap::Money;
use common::TestApp;
use common::browser::{self, Chromedriver, WHOLE};
use fantoccini::{Client, Locator};

const EMAIL: &str = "kasir@toko.id";
const PASSWORD: &str = "correct horse battery";
const REFERENCE: &str = "INV-PORTAL-0007";

type Step<T> = Result<T, fantoccini::error::CmdError>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_works_in_the_portal_in_chromium() {
    if !browser::installed() {
        return;
    }
    let dir = browser::artifacts("portal");
    let downloads = tempfile::tempdir().unwrap();
    let driver = Chromedriver::start(&dir.join("chromedriver.log")).await;
    // One engine is enough here: tests/portal.rs covers both over HTTP.
    let mut app = TestApp::spawn(testing::sqlite().await).await;
    app.core
        .create_portal_user(
            Email::parse(EMAIL).unwrap(),
            Password::parse(PASSWORD).unwrap(),
            Role::Merchant(app.merchant.id),
        )
        .await
        .unwrap();
    let customer = app
        .core
        .create_customer(NewCustomer {
            rail: Rail::Bank,
            phone: PhoneNumber::parse("081377770001").unwrap(),
            pin: Pin::parse("123456").unwrap(),
            opening_balance: Money::parse("500000.00").unwrap(),
        })
        .await
        .unwrap();
    for n in 1..=9 {
        app.core
            .run(DebitNow {
                payment: CreatePayment {
                    merchant_id: app.merchant.id,
                    partner_reference_no: PartnerReference::parse(&format!("INV-PORTAL-{n:04}"))
                        .unwrap(),
                    external_id: format!("ext-{n}"),
                    channel: Channel::AlloDirectDebit,
                    face: Face::Doku,
                    amount: Money::parse(&format!("{n}0000.00")).unwrap(),
                    valid_until: None,
                    title: None,
                    return_url: None,
                    notify_url: None,
                },
                customer_id: customer.id,
                cust_id_merchant: None,
            })
            .await
            .unwrap();
    }

    let profile = tempfile::tempdir().unwrap();
    let client = browser::connect_downloading(&driver, profile.path(), downloads.path()).await;
    let run = tokio::time::timeout(WHOLE, drive(&client, &dir, &app.base, downloads.path())).await;
    let _ = client.close().await;
    let seen = run
        .expect("the browser run took too long")
        .unwrap_or_else(|e| panic!("the browser run failed: {e}"));

    // The rotated secret is the stored one, and the page never showed it again.
    let merchant = app
        .core
        .store()
        .merchant_by_id(&app.merchant.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(merchant.client_secret.expose(), &seen.secret);
    assert!(!seen.credentials_after.contains(&seen.secret));
    // The refund went through the core: 5000.00 of 70000.00, the ledger balanced.
    let payment = app
        .core
        .find_payment(&app.merchant.id, Some(REFERENCE), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.refunded, Money::parse("5000.00").unwrap());
    assert!(app.core.verify_ledger().await.unwrap().is_empty());
    // The statement has the refund and the top-up.
    assert!(
        seen.statement
            .starts_with("posted_at,transfer_id,memo,account,amount,currency")
    );
    assert!(
        seen.statement.contains(",available,-"),
        "{}",
        seen.statement
    );
    assert!(
        seen.statement.contains(",deposit,75000.00,IDR"),
        "{}",
        seen.statement
    );
    app.stop().await;
    drop(driver);
}

/// What the browser saw.
struct Seen {
    secret: String,
    credentials_after: String,
    statement: String,
}

async fn press(client: &Client, id: &str) -> Step<()> {
    client.find(Locator::Id(id)).await?.click().await
}

async fn type_into(client: &Client, id: &str, text: &str) -> Step<()> {
    let field = client.find(Locator::Id(id)).await?;
    field.clear().await?;
    field.send_keys(text).await
}

/// The staff member's part.
async fn drive(client: &Client, dir: &Path, base: &str, downloads: &Path) -> Step<Seen> {
    let shot = |name: &'static str| browser::screenshot(client, dir, name);

    // 1. A page behind the login sends the browser to it; log in.
    client.goto(&format!("{base}/portal/payments")).await?;
    browser::wait_for(client, "login").await?;
    shot("01-login.png").await?;
    type_into(client, "email", EMAIL).await?;
    type_into(client, "password", PASSWORD).await?;
    press(client, "login").await?;
    browser::wait_for(client, "available").await?;
    shot("02-overview.png").await?;

    // 2. Rotate the client secret: shown once, gone on the next visit.
    client.goto(&format!("{base}/portal/credentials")).await?;
    browser::wait_for(client, "rotate").await?;
    shot("03-credentials.png").await?;
    press(client, "rotate").await?;
    let secret = browser::wait_for(client, "client-secret")
        .await?
        .text()
        .await?;
    assert!(secret.starts_with("SK-"), "{secret}");
    shot("04-secret-shown-once.png").await?;
    client.goto(&format!("{base}/portal/credentials")).await?;
    browser::wait_for(client, "rotate").await?;
    let credentials_after = client.source().await?;

    // 3. Find the payment by its reference and open it.
    client.goto(&format!("{base}/portal/payments")).await?;
    browser::wait_for(client, "payments").await?;
    shot("05-payments.png").await?;
    type_into(client, "reference", REFERENCE).await?;
    press(client, "search").await?;
    // The list before the search has the same table: wait for the search's own address.
    let deadline = tokio::time::Instant::now() + browser::STEP;
    while !client.current_url().await?.as_str().contains("reference=") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the search did not load"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser::wait_for(client, "payments").await?;
    let rows = client.find_all(Locator::Css("#payments tbody tr")).await?;
    assert_eq!(rows.len(), 1);
    shot("06-found.png").await?;
    client
        .find(Locator::LinkText(REFERENCE))
        .await?
        .click()
        .await?;
    browser::wait_for(client, "refund").await?;
    shot("07-detail.png").await?;

    // 4. Refund part of it.
    type_into(client, "refund-amount", "5000").await?;
    type_into(client, "refund-reason", "one item out of stock").await?;
    press(client, "refund").await?;
    let notice = browser::wait_for(client, "notice").await?.text().await?;
    assert_eq!(notice, "Refund made.");
    let refunded = client.find(Locator::Id("refunded")).await?.text().await?;
    assert_eq!(refunded, "IDR 5000.00");
    shot("08-refunded.png").await?;

    // 5. Top up the deposit and download the statement.
    client.goto(&format!("{base}/portal/balances")).await?;
    browser::wait_for(client, "topup").await?;
    type_into(client, "topup-amount", "75000").await?;
    press(client, "topup").await?;
    browser::wait_for(client, "notice").await?;
    let deposit = client.find(Locator::Id("deposit")).await?.text().await?;
    assert_eq!(deposit, "IDR 75000.00");
    shot("09-balances.png").await?;
    press(client, "statement").await?;
    let statement = downloaded(downloads).await;

    // 6. The API log and the integration checklist (nothing signed yet in this run).
    client.goto(&format!("{base}/portal/api-log")).await?;
    browser::wait_for(client, "checklist").await?;
    browser::wait_for(client, "no-calls").await?;
    shot("10-api-log.png").await?;

    // 7. Log out: back at the login page; the portal is closed again.
    press(client, "logout").await?;
    browser::wait_for(client, "login").await?;
    shot("11-logged-out.png").await?;
    client.goto(&format!("{base}/portal")).await?;
    browser::wait_for(client, "login").await?;

    Ok(Seen {
        secret,
        credentials_after,
        statement,
    })
}

/// The statement file once Chromium has finished writing it (bounded by [`browser::STEP`]).
async fn downloaded(dir: &Path) -> String {
    let deadline = tokio::time::Instant::now() + browser::STEP;
    loop {
        let done = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "csv"));
        if let Some(path) = done {
            return std::fs::read_to_string(path).unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the statement was not downloaded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
