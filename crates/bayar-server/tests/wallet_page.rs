//! DANA e-wallet payments through DOKU's API and bayar's hosted DANA-like wallet page, over
//! HTTP (no browser), on every store engine: the merchant creates the payment with a signed
//! DOKU call, a cookie-keeping client plays the customer's browser on `webRedirectUrl`, and the
//! tests look at redirects, pages, the status inquiry, refunds and the exact ledger balances.
//!
//! Covered: paying (and one partial refund, a second refused), three wrong PINs, too little
//! balance, a frozen wallet, cancelling, expiry (swept, and paid too late before the sweep),
//! CSRF, unknown pages, and the DOKU endpoint's refusals of bad input (which write nothing).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bayar_core::commands::SetCustomerStatus;
use bayar_core::customer::{Customer, CustomerStatus, PhoneNumber, Pin, Rail};
use bayar_core::ids::PaymentId;
use bayar_core::ledger::AccountId;
use bayar_core::merchant::{MerchantUrls, NotifyUrl};
use bayar_core::payment::{FailureReason, Payment, PaymentStatus};
use bayar_core::{NewCustomer, testing};
use bayar_server::sweeper;
use bayar_snap::Money;
use common::{Reply, STATUS_PATH, TestApp};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

const PAY_PATH: &str = "/direct-debit/core/v1/debit/payment-host-to-host";
const ARCHIVED_PAY_PATH: &str = "/direct-debit/merchant/dana/v1.0/debit/payment-host-to-host";
const REFUND_PATH: &str = "/direct-debit/core/v1/debit/refund";
const DANA: &str = "EMONEY_DANA_SNAP";
const PIN: &str = "135790";
const WRONG_PIN: &str = "000000";
const RETURN_URL: &str = "https://shop.example/orders/7/paid?lang=id";

/// `X-EXTERNAL-ID`s unique within the test process (numeric, as DOKU wants).
fn external_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{}{n:04}", nanos.unsigned_abs() % 1_000_000_000_000)
}

/// A DOKU DANA payment request body as seed 002 shows it.
fn dana_request(reference: &str, value: &str, valid_upto: Option<&str>) -> Value {
    let mut body = json!({
        "partnerReferenceNo": reference,
        "pointOfInitiation": "app",
        "urlParam": { "url": RETURN_URL, "type": "PAY_RETURN", "isDeepLink": "N" },
        "amount": { "value": value, "currency": "IDR" },
        "additionalInfo": {
            "channel": DANA,
            "orderTitle": "Sepatu lari",
            "supportDeepLinkCheckoutUrl": "false"
        }
    });
    if let Some(at) = valid_upto {
        body["validUpto"] = json!(at);
    }
    body
}

/// Posts `body` to `path` signed as the test merchant, with a device id unless told not to.
async fn signed(app: &TestApp, path: &str, body: &Value, device: bool) -> Reply {
    let token = app.b2b_token().await;
    let body = body.to_string();
    let mut headers = app.signed_headers(path, &token, &body, &external_id());
    if device {
        headers.push(("X-DEVICE-ID".into(), "95221".into()));
    }
    app.post(path, &headers, &body).await
}

/// Creates a payment through the DOKU endpoint; returns its id and `webRedirectUrl`.
async fn create(app: &TestApp, reference: &str, value: &str) -> (PaymentId, String) {
    create_at(app, PAY_PATH, dana_request(reference, value, None)).await
}

async fn create_at(app: &TestApp, path: &str, body: Value) -> (PaymentId, String) {
    let reply = signed(app, path, &body, true).await;
    assert_eq!(reply.code, "2005400", "{} {reply:?}", app.engine);
    let url = reply.body["webRedirectUrl"].as_str().unwrap().to_string();
    let id: PaymentId = reply.body["referenceNo"].as_str().unwrap().parse().unwrap();
    assert_eq!(url, format!("{}/pages/dana/pay/{id}", app.base));
    assert_eq!(reply.body["partnerReferenceNo"], body["partnerReferenceNo"]);
    (id, url)
}

async fn wallet(app: &TestApp, phone: &str, balance: &str) -> Customer {
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

/// Posted balance of `account`, in sen.
async fn posted(app: &TestApp, account: &AccountId) -> i64 {
    app.core
        .balance(account)
        .await
        .unwrap()
        .map_or(0, |b| b.posted)
}

/// Wallet, merchant and fee balances, in sen, and the wallet's held amount.
async fn balances(app: &TestApp, customer: &Customer) -> (i64, i64, i64, i64) {
    let held = app
        .core
        .balance(&customer.account)
        .await
        .unwrap()
        .map_or(0, |b| b.pending_debits);
    (
        posted(app, &customer.account).await,
        posted(app, &AccountId::merchant_available(&app.merchant.id)).await,
        posted(app, &AccountId::gateway_fees()).await,
        held,
    )
}

async fn payment(app: &TestApp, id: &PaymentId) -> Payment {
    app.core.store().payment(id).await.unwrap().unwrap()
}

/// The status inquiry's answer for `reference`.
async fn status(app: &TestApp, reference: &str) -> Reply {
    let body = json!({
        "originalPartnerReferenceNo": reference,
        "serviceCode": "55",
        "additionalInfo": { "channel": DANA }
    });
    let reply = signed(app, STATUS_PATH, &body, false).await;
    assert_eq!(reply.code, "2005500", "{reply:?}");
    reply
}

async fn refund(app: &TestApp, reference: &str, number: &str, value: &str) -> Reply {
    let body = json!({
        "originalPartnerReferenceNo": reference,
        "originalExternalId": "1",
        "refundAmount": { "value": value, "currency": "IDR" },
        "reason": "customer request",
        "partnerRefundNo": number,
        "additionalInfo": { "channel": DANA }
    });
    signed(app, REFUND_PATH, &body, true).await
}

async fn ledger_is_sound(app: &TestApp) {
    let breaches = app.core.verify_ledger().await.unwrap();
    assert!(breaches.is_empty(), "{}: {breaches:?}", app.engine);
}

/// A page as the browser got it.
#[derive(Debug)]
struct Got {
    status: StatusCode,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    html: String,
}

impl Got {
    /// The `value` of the input named `name`.
    fn field(&self, name: &str) -> String {
        let marker = format!(r#"name="{name}" value=""#);
        let start = self
            .html
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in the page: {}", self.html))
            + marker.len();
        let len = self.html[start..].find('"').unwrap();
        self.html[start..start + len].to_string()
    }

    /// The text of the element with `id` (a leaf element).
    fn text(&self, id: &str) -> Option<String> {
        let marker = format!(r#"id="{id}""#);
        let at = self.html.find(&marker)?;
        let start = at + self.html[at..].find('>')? + 1;
        let len = self.html[start..].find('<')?;
        Some(self.html[start..start + len].to_string())
    }

    /// The value of attribute `attr` on the element with `id`.
    fn attr(&self, id: &str, attr: &str) -> Option<String> {
        let marker = format!(r#"id="{id}""#);
        let at = self.html.find(&marker)?;
        let tag_start = self.html[..at].rfind('<')?;
        let tag_end = at + self.html[at..].find('>')?;
        let tag = &self.html[tag_start..tag_end];
        let key = format!(r#"{attr}=""#);
        let from = tag.find(&key)? + key.len();
        let len = tag[from..].find('"')?;
        Some(tag[from..from + len].to_string())
    }

    fn csrf(&self) -> String {
        self.field("csrf")
    }
}

/// The customer's browser on one payment's page: keeps cookies, does not follow redirects.
struct Browser {
    client: reqwest::Client,
    url: String,
}

impl Browser {
    fn new(url: &str) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            url: url.to_string(),
        }
    }

    async fn get(&self) -> Got {
        got(self.client.get(&self.url).send().await.unwrap()).await
    }

    async fn post(&self, step: &str, form: &[(&str, &str)]) -> Got {
        let url = format!("{}/{step}", self.url);
        got(self.client.post(url).form(form).send().await.unwrap()).await
    }

    /// Opens the page and logs in with `phone` and `pin`.
    async fn pay(&self, phone: &str, pin: &str) -> Got {
        let page = self.get().await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        self.post(
            "pay",
            &[("phone", phone), ("pin", pin), ("csrf", &page.csrf())],
        )
        .await
    }

    /// Opens the page and cancels.
    async fn cancel(&self) -> Got {
        let page = self.get().await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        self.post("cancel", &[("csrf", &page.csrf())]).await
    }
}

async fn got(response: reqwest::Response) -> Got {
    let status = response.status();
    let headers = response.headers().clone();
    let location = headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let html = response.text().await.unwrap();
    Got {
        status,
        location,
        headers,
        html,
    }
}

fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Asserts the redirect goes to the merchant's return URL with the payment and `status`.
fn assert_returned(got: &Got, id: &PaymentId, reference: &str, status: &str) {
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{got:?}");
    let location = got.location.as_deref().unwrap();
    assert!(
        location.starts_with("https://shop.example/orders/7/paid?lang=id&"),
        "{location}"
    );
    assert_eq!(param(location, "partnerReferenceNo").unwrap(), reference);
    assert_eq!(param(location, "referenceNo").unwrap(), id.to_string());
    assert_eq!(param(location, "status").unwrap(), status);
}

/// Asserts a final page: its status, failure reason, and the link back to the merchant.
fn assert_final(page: &Got, status: &str, reason: Option<&str>, link_status: &str) {
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    assert_eq!(
        page.attr("payment-status", "data-status").as_deref(),
        Some(status),
        "{}",
        page.html
    );
    assert_eq!(
        page.attr("failure-reason", "data-reason").as_deref(),
        reason
    );
    let link = page
        .attr("return-to-merchant", "href")
        .expect("a link back to the merchant")
        .replace("&amp;", "&");
    assert_eq!(param(&link, "status").as_deref(), Some(link_status));
    assert!(
        !page.html.contains(r#"id="submit-pay""#),
        "no form any more"
    );
}

#[tokio::test]
async fn the_customer_pays_and_the_merchant_refunds_once() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let customer = wallet(&app, "081311110001", "250000.00").await;
        let (id, url) = create(&app, "INV-DANA-0001", "100000.00").await;
        let browser = Browser::new(&url);

        // The login page: who, what, how much; secure headers; the CSRF cookie.
        let page = browser.get().await;
        assert_eq!(page.status, StatusCode::OK, "{}", app.engine);
        assert_eq!(page.text("merchant-name").as_deref(), Some("Toko Test"));
        assert_eq!(page.text("order-title").as_deref(), Some("Sepatu lari"));
        assert_eq!(page.text("amount").as_deref(), Some("Rp 100.000,00"));
        assert_eq!(
            page.attr("amount", "data-value").as_deref(),
            Some("100000.00")
        );
        assert_eq!(page.text("amount-exact").as_deref(), Some("100000.00"));
        assert!(page.html.contains(r#"name="phone""#));
        assert!(
            page.html
                .contains(r#"name="pin" type="password" inputmode="numeric""#)
        );
        assert!(page.html.contains(r#"id="submit-pay""#));
        assert!(page.html.contains(r#"id="submit-cancel""#));
        assert!(
            page.html.contains("DANA"),
            "the wallet's page, not the bank's"
        );
        assert!(!page.html.contains("Allo Bank"));
        assert_eq!(page.headers["cache-control"], "no-store");
        assert_eq!(page.headers["x-frame-options"], "DENY");
        let cookie = page.headers["set-cookie"].to_str().unwrap();
        assert!(cookie.contains("HttpOnly; SameSite=Strict"), "{cookie}");

        // Pay: back to the merchant with the references and SUCCESS.
        let token = page.csrf();
        let paid = browser
            .post(
                "pay",
                &[("phone", "0813 1111 0001"), ("pin", PIN), ("csrf", &token)],
            )
            .await;
        assert_returned(&paid, &id, "INV-DANA-0001", "SUCCESS");
        let now = payment(&app, &id).await;
        assert_eq!(now.status, PaymentStatus::Succeeded);
        assert_eq!(now.customer_id, Some(customer.id));

        // The money: 100,000 from the wallet; 1.5% fee to the gateway, the rest to the merchant.
        assert_eq!(
            balances(&app, &customer).await,
            (15_000_000, 9_850_000, 150_000, 0),
            "{}",
            app.engine
        );

        // The page now only says it is paid; a stale post (the form again, from the history)
        // changes nothing.
        let page = browser.get().await;
        assert_final(&page, "succeeded", None, "SUCCESS");
        let again = browser
            .post(
                "pay",
                &[("phone", "081311110001"), ("pin", PIN), ("csrf", &token)],
            )
            .await;
        assert_eq!(again.status, StatusCode::SEE_OTHER);
        assert_eq!(
            again.location.as_deref(),
            Some(url.trim_start_matches(&app.base))
        );
        assert_eq!(posted(&app, &customer.account).await, 15_000_000);

        let s = status(&app, "INV-DANA-0001").await;
        assert_eq!(s.body["latestTransactionStatus"], "00", "{s:?}");
        assert_eq!(s.body["transAmount"]["value"], "100000.00");

        // One partial refund: the money goes back, the fee in proportion.
        let r = refund(&app, "INV-DANA-0001", "RF-DANA-1", "40000.00").await;
        assert_eq!(r.code, "2005800", "{r:?}");
        assert_eq!(r.body["refundAmount"]["value"], "40000.00");
        assert!(r.body["refundTime"].as_str().unwrap().ends_with("+07:00"));
        assert_eq!(
            balances(&app, &customer).await,
            (19_000_000, 5_910_000, 90_000, 0),
            "{}",
            app.engine
        );
        // DANA allows one refund only.
        let second = refund(&app, "INV-DANA-0001", "RF-DANA-2", "10000.00").await;
        assert_eq!(second.code, "4035815", "{second:?}");
        assert_eq!(app.store.rows("refunds").await, 1);
        let s = status(&app, "INV-DANA-0001").await;
        let history = s.body["refundHistory"].as_array().unwrap();
        assert_eq!(history.len(), 1, "{s:?}");
        assert_eq!(history[0]["refundAmount"]["value"], "40000.00");
        assert_eq!(history[0]["partnerReferenceNo"], "RF-DANA-1");

        // DOKU's archived DANA path creates payments the same way.
        let (other, _) = create_at(
            &app,
            ARCHIVED_PAY_PATH,
            dana_request("INV-DANA-0002", "100.00", None),
        )
        .await;
        assert_eq!(payment(&app, &other).await.status, PaymentStatus::Created);
        ledger_is_sound(&app).await;
    }
}

#[tokio::test]
async fn three_wrong_pins_fail_the_payment() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let customer = wallet(&app, "081311110002", "250000.00").await;
        let (id, url) = create(&app, "INV-DANA-PIN", "20000.00").await;
        let browser = Browser::new(&url);

        // Not counted: an unknown phone, a malformed phone or PIN.
        let unknown = browser.pay("081399999999", PIN).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            unknown.text("error").as_deref(),
            Some("The phone number or PIN is wrong.")
        );
        assert!(
            unknown.html.contains(r#"value="081399999999""#),
            "the phone is kept"
        );
        let malformed = browser.pay("12345", PIN).await;
        assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
        let short = browser.pay("081311110002", "123").await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            short.text("error").as_deref(),
            Some("Your PIN is 6 digits.")
        );
        assert_eq!(payment(&app, &id).await.pin_failures, 0, "{}", app.engine);

        for left in ["You have 2 tries left.", "You have 1 try left."] {
            let wrong = browser.pay("081311110002", WRONG_PIN).await;
            assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
            let error = wrong.text("error").unwrap();
            assert_eq!(error, format!("The phone number or PIN is wrong. {left}"));
            assert!(!wrong.html.contains(WRONG_PIN), "a PIN is never echoed");
        }
        let third = browser.pay("081311110002", WRONG_PIN).await;
        assert_eq!(third.status, StatusCode::SEE_OTHER);
        let page = browser.get().await;
        assert_final(&page, "failed", Some("pin_locked"), "FAILED");

        let now = payment(&app, &id).await;
        assert_eq!(now.status, PaymentStatus::Failed);
        assert_eq!(now.failure, Some(FailureReason::PinLocked));
        assert_eq!(
            balances(&app, &customer).await,
            (25_000_000, 0, 0, 0),
            "nothing moved"
        );
        let s = status(&app, "INV-DANA-PIN").await;
        assert_eq!(s.body["latestTransactionStatus"], "06");
        ledger_is_sound(&app).await;
    }
}

#[tokio::test]
async fn too_little_balance_or_a_frozen_wallet_fail_the_payment() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let poor = wallet(&app, "081311110003", "5000.00").await;
        let frozen = wallet(&app, "081311110004", "500000.00").await;
        app.core
            .run(SetCustomerStatus {
                customer_id: frozen.id,
                status: CustomerStatus::Frozen,
            })
            .await
            .unwrap();

        for (reference, phone, reason, who) in [
            ("INV-DANA-POOR", "081311110003", "insufficient_funds", &poor),
            ("INV-DANA-FROZEN", "081311110004", "account_frozen", &frozen),
        ] {
            let (id, url) = create(&app, reference, "10000.00").await;
            let browser = Browser::new(&url);
            let before = balances(&app, who).await;
            let answer = browser.pay(phone, PIN).await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER, "{reference}");
            assert_eq!(
                answer.location.as_deref(),
                Some(url.trim_start_matches(&app.base))
            );
            let page = browser.get().await;
            assert_final(&page, "failed", Some(reason), "FAILED");
            let now = payment(&app, &id).await;
            assert_eq!(now.status, PaymentStatus::Failed, "{}", app.engine);
            assert_eq!(now.failure.map(FailureReason::as_str), Some(reason));
            assert_eq!(
                balances(&app, who).await,
                before,
                "{reference}: nothing moved"
            );
            let s = status(&app, reference).await;
            assert_eq!(s.body["latestTransactionStatus"], "06");
        }
        ledger_is_sound(&app).await;
    }
}

#[tokio::test]
async fn the_customer_cancels() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let customer = wallet(&app, "081311110005", "250000.00").await;
        let (id, url) = create(&app, "INV-DANA-CANCEL", "30000.00").await;
        let browser = Browser::new(&url);
        let answer = browser.cancel().await;
        assert_returned(&answer, &id, "INV-DANA-CANCEL", "CANCELLED");
        assert_eq!(payment(&app, &id).await.status, PaymentStatus::Cancelled);
        assert_eq!(
            balances(&app, &customer).await,
            (25_000_000, 0, 0, 0),
            "nothing moved or held"
        );
        let page = browser.get().await;
        assert_final(&page, "cancelled", None, "CANCELLED");
        // Paying afterwards: the page only shows how it ended.
        let late = browser
            .post(
                "pay",
                &[("phone", "081311110005"), ("pin", PIN), ("csrf", "x")],
            )
            .await;
        assert_eq!(late.status, StatusCode::FORBIDDEN, "no form, no token");
        let s = status(&app, "INV-DANA-CANCEL").await;
        assert_eq!(s.body["latestTransactionStatus"], "05");
        ledger_is_sound(&app).await;
    }
}

#[tokio::test]
async fn unpaid_payments_expire() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let customer = wallet(&app, "081311110006", "250000.00").await;
        let deadline =
            bayar_snap::time::format_jakarta(chrono::Utc::now() + chrono::Duration::seconds(2));
        let (swept, swept_url) = create_at(
            &app,
            PAY_PATH,
            dana_request("INV-DANA-EXP-1", "10000.00", Some(&deadline)),
        )
        .await;
        let (late, late_url) = create_at(
            &app,
            PAY_PATH,
            dana_request("INV-DANA-EXP-2", "10000.00", Some(&deadline)),
        )
        .await;
        let first = Browser::new(&swept_url);
        let page = first.get().await;
        assert!(page.text("valid-until").unwrap().starts_with("Pay before "));
        let second = Browser::new(&late_url);
        let form = second.get().await;
        assert_eq!(form.status, StatusCode::OK);

        tokio::time::sleep(Duration::from_millis(2500)).await;

        // Past the deadline, before the sweeper: the page already says expired.
        let page = first.get().await;
        assert_final(&page, "expired", None, "EXPIRED");
        // Paying now ends it as expired through the core.
        let answer = second
            .post(
                "pay",
                &[
                    ("phone", "081311110006"),
                    ("pin", PIN),
                    ("csrf", &form.csrf()),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        assert_eq!(payment(&app, &late).await.status, PaymentStatus::Expired);
        assert_final(&second.get().await, "expired", None, "EXPIRED");

        sweeper::sweep(&app.core).await;
        assert_eq!(payment(&app, &swept).await.status, PaymentStatus::Expired);
        assert_final(&first.get().await, "expired", None, "EXPIRED");
        for reference in ["INV-DANA-EXP-1", "INV-DANA-EXP-2"] {
            let s = status(&app, reference).await;
            assert_eq!(s.body["latestTransactionStatus"], "06", "{s:?}");
            assert_eq!(s.body["transactionStatusDesc"], "Expired");
        }
        assert_eq!(balances(&app, &customer).await, (25_000_000, 0, 0, 0));
        ledger_is_sound(&app).await;
    }
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_unknown_pages_are_404() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let customer = wallet(&app, "081311110007", "250000.00").await;
        let (id, url) = create(&app, "INV-DANA-CSRF", "10000.00").await;
        let browser = Browser::new(&url);
        let page = browser.get().await;
        let token = page.csrf();

        let missing = browser
            .post("pay", &[("phone", "081311110007"), ("pin", PIN)])
            .await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", app.engine);
        assert!(missing.html.contains(r#"id="page-error""#));
        assert!(missing.html.contains(r#"id="retry""#));
        // Another browser (no cookie) posting a token it copied.
        let stranger = Browser::new(&url);
        let copied = stranger
            .post(
                "pay",
                &[("phone", "081311110007"), ("pin", PIN), ("csrf", &token)],
            )
            .await;
        assert_eq!(copied.status, StatusCode::FORBIDDEN);
        let cancel = browser.post("cancel", &[]).await;
        assert_eq!(cancel.status, StatusCode::FORBIDDEN);
        let long = browser
            .post(
                "pay",
                &[("phone", &"8".repeat(65)), ("pin", PIN), ("csrf", &token)],
            )
            .await;
        assert_eq!(long.status, StatusCode::BAD_REQUEST);
        let now = payment(&app, &id).await;
        assert_eq!(now.status, PaymentStatus::Created, "nothing changed");
        assert_eq!(now.pin_failures, 0);
        assert_eq!(balances(&app, &customer).await, (25_000_000, 0, 0, 0));

        for path in [
            "/pages/dana/pay/pay_00000000000000000000000000".to_string(),
            "/pages/dana/pay/not-an-id".to_string(),
            "/pages/dana/pay/%FF".to_string(),
        ] {
            let got = Browser::new(&format!("{}{path}", app.base)).get().await;
            assert_eq!(got.status, StatusCode::NOT_FOUND, "{path}");
            assert!(got.html.contains("DANA"), "{path}: the wallet's error page");
        }
        ledger_is_sound(&app).await;
    }
}

#[tokio::test]
async fn bad_dana_requests_get_their_codes_and_write_nothing() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let past =
            bayar_snap::time::format_jakarta(chrono::Utc::now() - chrono::Duration::hours(1));
        let with = |f: &dyn Fn(&mut Value)| {
            let mut body = dana_request("INV-DANA-BAD", "10000.00", None);
            f(&mut body);
            body
        };
        let cases: Vec<(&str, Value, bool, &str, Option<&str>)> = vec![
            (
                "below 100.00",
                with(&|b| b["amount"]["value"] = json!("99.99")),
                true,
                "4045413",
                None,
            ),
            (
                "above 300,000,000.00",
                with(&|b| b["amount"]["value"] = json!("300000000.01")),
                true,
                "4035402",
                None,
            ),
            (
                "malformed validUpto",
                with(&|b| b["validUpto"] = json!("tomorrow at noon")),
                true,
                "4005401",
                Some("validUpto"),
            ),
            (
                "validUpto in the past",
                with(&|b| b["validUpto"] = json!(past)),
                true,
                "4005401",
                Some("validUpto"),
            ),
            (
                "unknown channel",
                with(&|b| b["additionalInfo"]["channel"] = json!("EMONEY_GOPAY_SNAP")),
                true,
                "4055400",
                None,
            ),
            (
                "wrong currency",
                with(&|b| b["amount"]["currency"] = json!("USD")),
                true,
                "4005401",
                Some("amount.currency"),
            ),
            (
                "no X-DEVICE-ID",
                dana_request("INV-DANA-BAD", "10000.00", None),
                false,
                "4005402",
                Some("X-DEVICE-ID"),
            ),
        ];
        for (what, body, device, code, field) in cases {
            let reply = signed(&app, PAY_PATH, &body, device).await;
            assert_eq!(reply.code, code, "{what} ({}): {reply:?}", app.engine);
            if let Some(field) = field {
                assert!(reply.message.contains(field), "{what}: {}", reply.message);
            }
            assert!(reply.body.get("webRedirectUrl").is_none(), "{what}");
        }
        assert_eq!(app.store.rows("payments").await, 0, "{}", app.engine);
        ledger_is_sound(&app).await;
    }
}

#[tokio::test]
async fn without_a_return_url_the_merchants_default_redirect_is_used() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let mut body = dana_request("INV-DANA-NORET-1", "30000.00", None);
        body.as_object_mut().unwrap().remove("urlParam");
        let (id, url) = create_at(&app, PAY_PATH, body.clone()).await;
        // No URL anywhere: the wallet page's own final page.
        let answer = Browser::new(&url).cancel().await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{answer:?}");
        assert_eq!(
            answer.location.as_deref(),
            Some(format!("/pages/dana/pay/{id}").as_str()),
            "{}",
            app.engine
        );

        app.core
            .set_merchant_urls(
                &app.merchant,
                None,
                MerchantUrls {
                    return_url: Some(
                        NotifyUrl::parse("https://shop.example/orders/7/paid?lang=id").unwrap(),
                    ),
                    ..MerchantUrls::default()
                },
            )
            .await
            .unwrap();
        body["partnerReferenceNo"] = json!("INV-DANA-NORET-2");
        let (id, url) = create_at(&app, PAY_PATH, body).await;
        let answer = Browser::new(&url).cancel().await;
        assert_returned(&answer, &id, "INV-DANA-NORET-2", "CANCELLED");
    }
}
