//! DANA's payment gateway over HTTP, on every store engine: orders created with signed DANA
//! calls (no token, SHA256withRSA), paid by a cookie-keeping client on the hosted wallet page,
//! queried, cancelled, refunded (once), expired by the sweeper; the refusals DANA documents;
//! and the finish notify, verified by a merchant endpoint built on dana-python's own
//! `WebhookParser`. Balances are checked to the sen and the ledger verified.

mod common;

use std::time::Duration;

use bayar_core::customer::{Customer, PhoneNumber, Pin, Rail};
use bayar_core::ledger::AccountId;
use bayar_core::{NewCustomer, testing};
use bayar_server::sweeper;
use bayar_snap::Money;
use chrono::{Duration as Span, Utc};
use common::receiver::SdkReceiver;
use common::{Reply, TestApp};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

const CREATE: &str = "/payment-gateway/v1.0/debit/payment-host-to-host.htm";
const QUERY: &str = "/payment-gateway/v1.0/debit/status.htm";
const CANCEL: &str = "/payment-gateway/v1.0/debit/cancel.htm";
const REFUND: &str = "/payment-gateway/v1.0/debit/refund.htm";
const CONSULT: &str = "/v1.0/payment-gateway/consult-pay.htm";
const PIN: &str = "246810";
const RETURN_URL: &str = "https://merchant.example/orders/42/return";
const NOTIFY_PATH: &str = "/v1.0/debit/notify";

/// DANA's time format, exactly (the SDK's response models enforce it).
fn is_dana_time(value: &Value) -> bool {
    let Some(s) = value.as_str() else {
        return false;
    };
    s.len() == 25 && s.ends_with("+07:00") && bayar_snap::time::parse_timestamp(s).is_ok()
}

fn in_minutes(minutes: i64) -> String {
    bayar_snap::time::format_jakarta(Utc::now() + Span::minutes(minutes))
}

/// A REDIRECT-scenario order as dana-python's `CreateOrderByRedirectRequest` sends it.
fn order(app: &TestApp, reference: &str, value: &str, notify_url: &str) -> Value {
    json!({
        "partnerReferenceNo": reference,
        "merchantId": app.merchant.id.to_string(),
        "amount": { "value": value, "currency": "IDR" },
        "validUpTo": in_minutes(20),
        "urlParams": [
            { "url": RETURN_URL, "type": "PAY_RETURN", "isDeeplink": "N" },
            { "url": notify_url, "type": "NOTIFICATION", "isDeeplink": "N" }
        ],
        "additionalInfo": {
            "mcc": "5732",
            "order": { "orderTitle": "Sepatu lari", "scenario": "REDIRECT" },
            "envInfo": { "sourcePlatform": "IPG", "terminalType": "SYSTEM" }
        }
    })
}

async fn create(app: &TestApp, body: &Value) -> (String, String) {
    let reply = app.dana_post(CREATE, body).await;
    assert_eq!(reply.code, "2005400", "{} {reply:?}", app.engine);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["partnerReferenceNo"], body["partnerReferenceNo"]);
    let reference_no = reply.body["referenceNo"].as_str().unwrap().to_string();
    let url = reply.body["webRedirectUrl"].as_str().unwrap().to_string();
    assert_eq!(
        url,
        format!(
            "{}/pages/dana/pay/{reference_no}?bizNo={reference_no}",
            app.base
        )
    );
    (reference_no, url)
}

async fn query(app: &TestApp, reference: &str) -> Reply {
    app.dana_post(
        QUERY,
        &json!({
            "originalPartnerReferenceNo": reference,
            "serviceCode": "54",
            "merchantId": app.merchant.id.to_string(),
        }),
    )
    .await
}

async fn cancel(app: &TestApp, reference: &str) -> Reply {
    app.dana_post(
        CANCEL,
        &json!({
            "originalPartnerReferenceNo": reference,
            "merchantId": app.merchant.client_id.to_string(),
            "reason": "customer left",
        }),
    )
    .await
}

async fn refund(app: &TestApp, reference: &str, number: &str, value: &str) -> Reply {
    app.dana_post(
        REFUND,
        &json!({
            "merchantId": app.merchant.id.to_string(),
            "originalPartnerReferenceNo": reference,
            "partnerRefundNo": number,
            "refundAmount": { "value": value, "currency": "IDR" },
            "reason": "Customer complain",
        }),
    )
    .await
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

async fn posted(app: &TestApp, account: &AccountId) -> i64 {
    app.core
        .balance(account)
        .await
        .unwrap()
        .map_or(0, |b| b.posted)
}

/// Wallet, merchant available and gateway fee balances, in sen.
async fn balances(app: &TestApp, customer: &Customer) -> (i64, i64, i64) {
    (
        posted(app, &customer.account).await,
        posted(app, &AccountId::merchant_available(&app.merchant.id)).await,
        posted(app, &AccountId::gateway_fees()).await,
    )
}

async fn payments(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM payments";
    match &app.store.store {
        bayar_core::store::Store::Sqlite { readers, .. } => {
            sqlx::query_scalar(sql).fetch_one(readers).await.unwrap()
        }
        bayar_core::store::Store::Postgres(pool) => {
            sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
        }
    }
}

async fn ledger_is_sound(app: &TestApp) {
    let breaches = app.core.verify_ledger().await.unwrap();
    assert!(breaches.is_empty(), "{}: {breaches:?}", app.engine);
}

/// The customer on the hosted page: opens it, logs in with phone and PIN; returns the
/// redirect's status and `Location`.
async fn pay_on_page(url: &str, phone: &str, pin: &str) -> (StatusCode, Option<String>) {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap();
    let page = browser.get(url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    let csrf = &html[start..start + html[start..].find('"').unwrap()];
    let paid = browser
        .post(format!("{}/pay", url.split('?').next().unwrap()))
        .form(&[("phone", phone), ("pin", pin), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    let location = paid
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (paid.status(), location)
}

/// Waits for the receiver's first verified notification of `reference`.
async fn notified(receiver: &SdkReceiver, reference: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let seen = receiver.seen("notification");
        if let Some(n) = seen
            .iter()
            .find(|n| n["model"]["originalPartnerReferenceNo"] == reference)
        {
            return n.clone();
        }
        assert!(
            seen.iter().all(|n| n["verified"] == true),
            "the SDK refused a notify: {seen:?}"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "no notify for {reference}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_paid_queried_refunded_once_and_notified() {
    let python = common::python::sdk_python();
    for store in testing::all().await {
        let mut app = TestApp::spawn(store).await;
        // The merchant's endpoint verifies with dana-python's WebhookParser (when the SDK is
        // installed; without it the notify goes nowhere and only the HTTP side is checked).
        let mut receiver = match &python {
            Some(python) => {
                let mut r = SdkReceiver::start_dana(python).await;
                r.configure(&json!({
                    "gateway_public_key": app.core.gateway_public_key().to_pem(),
                }))
                .await;
                Some(r)
            }
            None => None,
        };
        let notify_url = receiver.as_ref().map_or_else(
            || format!("http://127.0.0.1:9{NOTIFY_PATH}"),
            |r| r.url(NOTIFY_PATH),
        );
        let customer = wallet(&app, "081355550001", "250000.00").await;
        let body = order(&app, "PG-ORDER-0001", "100000.00", &notify_url);
        let (reference_no, url) = create(&app, &body).await;

        let q = query(&app, "PG-ORDER-0001").await;
        assert_eq!(q.code, "2005500", "{q:?}");
        assert_eq!(q.body["latestTransactionStatus"], "01");
        assert_eq!(q.body["transactionStatusDesc"], "INIT");
        assert!(q.body.get("paidTime").is_none());

        let (status, location) = pay_on_page(&url, "081355550001", PIN).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{}", app.engine);
        assert!(
            location.as_deref().unwrap().starts_with(RETURN_URL),
            "{location:?}"
        );
        // 100,000 from the wallet; 1.5% to the gateway, the rest to the merchant.
        assert_eq!(
            balances(&app, &customer).await,
            (15_000_000, 9_850_000, 150_000)
        );

        let q = query(&app, "PG-ORDER-0001").await;
        assert_eq!(q.code, "2005500", "{q:?}");
        assert_eq!(q.status, 200);
        assert_eq!(q.body["serviceCode"], "54");
        assert_eq!(q.body["latestTransactionStatus"], "00");
        assert_eq!(q.body["transactionStatusDesc"], "SUCCESS");
        assert_eq!(q.body["originalReferenceNo"], reference_no.as_str());
        assert_eq!(q.body["amount"]["value"], "100000.00");
        assert_eq!(q.body["transAmount"]["value"], "100000.00");
        assert_eq!(q.body["feeAmount"]["value"], "1500.00");
        assert_eq!(q.body["title"], "Sepatu lari");
        assert!(is_dana_time(&q.body["paidTime"]), "{q:?}");
        let info = &q.body["additionalInfo"];
        assert_eq!(info["statusDetail"]["acquirementStatus"], "SUCCESS");
        assert!(is_dana_time(&info["timeDetail"]["createdTime"]));
        assert!(is_dana_time(&info["timeDetail"]["expiryTime"]));
        assert_eq!(
            info["amountDetail"]["orderAmount"],
            json!({"value": "100000.00", "currency": "IDR"})
        );

        // One partial refund; its repeat answers the same; a second refund is refused.
        let r = refund(&app, "PG-ORDER-0001", "PG-RF-1", "40000.00").await;
        assert_eq!(r.code, "2005800", "{r:?}");
        assert_eq!(r.body["refundAmount"]["value"], "40000.00");
        assert_eq!(r.body["partnerRefundNo"], "PG-RF-1");
        assert_eq!(r.body["originalPartnerReferenceNo"], "PG-ORDER-0001");
        assert!(is_dana_time(&r.body["refundTime"]));
        let again = refund(&app, "PG-ORDER-0001", "PG-RF-1", "40000.00").await;
        assert_eq!(again.code, "2005800", "{again:?}");
        assert_eq!(again.body["refundNo"], r.body["refundNo"]);
        let inconsistent = refund(&app, "PG-ORDER-0001", "PG-RF-1", "30000.00").await;
        assert_eq!(
            (inconsistent.status, inconsistent.code.as_str()),
            (404, "4045818")
        );
        let second = refund(&app, "PG-ORDER-0001", "PG-RF-2", "10000.00").await;
        assert_eq!((second.status, second.code.as_str()), (403, "4035815"));
        assert_eq!(second.body["partnerRefundNo"], "PG-RF-2");
        // 40,000 back to the wallet; the fee in proportion back from the gateway.
        assert_eq!(
            balances(&app, &customer).await,
            (19_000_000, 5_910_000, 90_000)
        );
        let unknown = refund(&app, "PG-NO-SUCH", "PG-RF-3", "1000.00").await;
        assert_eq!((unknown.status, unknown.code.as_str()), (404, "4045801"));
        // A paid order cannot be cancelled.
        let c = cancel(&app, "PG-ORDER-0001").await;
        assert_eq!((c.status, c.code.as_str()), (404, "4045700"), "{c:?}");

        // The finish notify, verified by dana-python's WebhookParser with bayar's key.
        if let Some(receiver) = receiver.as_mut() {
            let worker = app.start_worker();
            let n = notified(receiver, "PG-ORDER-0001").await;
            worker.stop().await;
            assert_eq!(n["verified"], true, "{n}");
            assert_eq!(n["path"], NOTIFY_PATH);
            assert_eq!(n["answered"], 200);
            assert_eq!(n["headers"]["CHANNEL-ID"], "DANA");
            assert_eq!(
                n["headers"]["X-PARTNER-ID"],
                app.merchant.client_id.as_str()
            );
            assert!(is_dana_time(&n["headers"]["X-TIMESTAMP"]), "{n}");
            assert_eq!(
                n["signature_length"], 344,
                "base64 of an RSA-2048 signature"
            );
            let model = &n["model"];
            assert_eq!(model["latestTransactionStatus"], "00", "{n}");
            assert_eq!(model["originalReferenceNo"], reference_no.as_str());
            assert_eq!(model["merchantId"], app.merchant.id.to_string());
            assert_eq!(
                model["amount"],
                json!({"value": "100000.00", "currency": "IDR"})
            );
            assert!(is_dana_time(&model["createdTime"]));
            assert!(is_dana_time(&model["finishedTime"]));
            let paid = &model["additionalInfo"]["paymentInfo"];
            assert!(is_dana_time(&paid["paidTime"]), "{n}");
            assert_eq!(paid["payOptionInfos"][0]["payMethod"], "BALANCE");
        }
        ledger_is_sound(&app).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn an_unpaid_order_is_cancelled_and_the_wallet_untouched() {
    for store in testing::all().await {
        let mut app = TestApp::spawn(store).await;
        let customer = wallet(&app, "081355550002", "50000.00").await;
        let body = order(
            &app,
            "PG-ORDER-0002",
            "20000.00",
            "https://merchant.example/notify",
        );
        let (reference_no, url) = create(&app, &body).await;

        let c = cancel(&app, "PG-ORDER-0002").await;
        assert_eq!(c.code, "2005700", "{} {c:?}", app.engine);
        assert_eq!(c.body["originalPartnerReferenceNo"], "PG-ORDER-0002");
        assert_eq!(c.body["originalReferenceNo"], reference_no.as_str());
        assert!(is_dana_time(&c.body["cancelTime"]));
        assert!(is_dana_time(&c.body["transactionDate"]));
        // A repeat (a merchant whose first answer was lost) is told the same.
        let again = cancel(&app, "PG-ORDER-0002").await;
        assert_eq!(again.code, "2005700", "{again:?}");
        assert_eq!(again.body["cancelTime"], c.body["cancelTime"]);

        let q = query(&app, "PG-ORDER-0002").await;
        assert_eq!(q.body["latestTransactionStatus"], "05", "{q:?}");
        assert_eq!(q.body["transactionStatusDesc"], "CANCELLED");
        assert!(is_dana_time(
            &q.body["additionalInfo"]["timeDetail"]["cancelledTime"]
        ));

        // The page no longer offers to pay.
        let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
        assert!(page.contains(r#"data-status="cancelled""#), "{page}");
        assert!(!page.contains(r#"id="submit-pay""#));
        assert_eq!(balances(&app, &customer).await, (5_000_000, 0, 0));
        let r = refund(&app, "PG-ORDER-0002", "PG-RF-9", "20000.00").await;
        assert_eq!((r.status, r.code.as_str()), (404, "4045800"), "{r:?}");
        let unknown = cancel(&app, "PG-NO-SUCH").await;
        assert_eq!((unknown.status, unknown.code.as_str()), (404, "4045701"));
        assert_eq!(unknown.body["originalPartnerReferenceNo"], "PG-NO-SUCH");
        ledger_is_sound(&app).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn repeats_and_refusals_follow_danas_rules() {
    for store in testing::all().await {
        let mut app = TestApp::spawn(store).await;
        let notify = "https://merchant.example/notify";
        let body = order(&app, "PG-ORDER-0003", "30000.00", notify);
        let (first, _) = create(&app, &body).await;
        // The same order again (a rebuilt request with a fresh deadline): the same order.
        let mut same = body.clone();
        same["validUpTo"] = json!(in_minutes(25));
        let (repeat, _) = create(&app, &same).await;
        assert_eq!(repeat, first, "{}", app.engine);

        // The same reference with other content: amount, title, notification URL.
        let mut other_amount = body.clone();
        other_amount["amount"]["value"] = json!("31000.00");
        let mut other_title = body.clone();
        other_title["additionalInfo"]["order"]["orderTitle"] = json!("Sandal");
        let mut other_url = body.clone();
        other_url["urlParams"][1]["url"] = json!("https://merchant.example/other");
        for changed in [other_amount, other_title, other_url] {
            let reply = app.dana_post(CREATE, &changed).await;
            assert_eq!(
                (reply.status, reply.code.as_str()),
                (404, "4045418"),
                "{reply:?}"
            );
            assert_eq!(reply.body["partnerReferenceNo"], "PG-ORDER-0003");
        }

        // The API scenario: the DANA balance is a wallet order; a VA needs a rail bayar
        // does not have.
        let mut balance = order(&app, "PG-ORDER-0004", "15000.00", notify);
        balance["payOptionDetails"] = json!([{
            "payMethod": "BALANCE", "payOption": "",
            "transAmount": { "value": "15000.00", "currency": "IDR" }
        }]);
        balance["additionalInfo"]["order"]["scenario"] = json!("API");
        create(&app, &balance).await;
        let before = payments(&app).await;
        let mut va = order(&app, "PG-ORDER-0005", "15000.00", notify);
        va["payOptionDetails"] = json!([{
            "payMethod": "VIRTUAL_ACCOUNT", "payOption": "VIRTUAL_ACCOUNT_CIMB",
            "transAmount": { "value": "15000.00", "currency": "IDR" }
        }]);
        let reply = app.dana_post(CREATE, &va).await;
        assert_eq!(
            (reply.status, reply.code.as_str()),
            (405, "4055400"),
            "{reply:?}"
        );
        assert_eq!(reply.message, "Requested Function Is Not Supported");
        assert_eq!(reply.body["partnerReferenceNo"], "PG-ORDER-0005");

        // Deadlines: beyond sandbox's 30 minutes, in the past, malformed.
        for (valid_up_to, what) in [
            (in_minutes(120), "too far"),
            (in_minutes(-1), "past"),
            ("2030-01-01 10:00:00+07:00".to_string(), "malformed"),
        ] {
            let mut late = order(&app, "PG-ORDER-0006", "15000.00", notify);
            late["validUpTo"] = json!(valid_up_to);
            let reply = app.dana_post(CREATE, &late).await;
            assert_eq!(
                (reply.status, reply.code.as_str(), reply.message.as_str()),
                (400, "4005401", "Invalid Field Format validUpTo"),
                "{what}"
            );
        }
        let mut missing = order(&app, "PG-ORDER-0006", "15000.00", notify);
        missing.as_object_mut().unwrap().remove("urlParams");
        let reply = app.dana_post(CREATE, &missing).await;
        assert_eq!(
            (reply.code.as_str(), reply.message.as_str()),
            ("4005402", "Invalid Mandatory Field urlParams")
        );
        let mut stranger = order(&app, "PG-ORDER-0006", "15000.00", notify);
        stranger["merchantId"] = json!("216620000000000000001");
        let reply = app.dana_post(CREATE, &stranger).await;
        assert_eq!((reply.status, reply.code.as_str()), (404, "4045408"));
        assert_eq!(reply.body["partnerReferenceNo"], "PG-ORDER-0006");
        assert_eq!(payments(&app).await, before, "refusals record nothing");

        let q = query(&app, "PG-NO-SUCH").await;
        assert_eq!((q.status, q.code.as_str()), (404, "4045501"));
        let q = app
            .dana_post(
                QUERY,
                &json!({"originalPartnerReferenceNo": "PG-ORDER-0003", "serviceCode": "AZ",
                        "merchantId": app.merchant.id.to_string()}),
            )
            .await;
        assert_eq!((q.status, q.code.as_str()), (500, "5005501"));
        // Sandbox magic: the refund amount chooses the refusal, and nothing moves.
        let r = refund(&app, "PG-ORDER-0003", "PG-RF-MAGIC", "435814.00").await;
        assert_eq!((r.status, r.code.as_str()), (403, "4035814"));
        // "In progress" (HTTP 202) carries what the SDKs require of a refund answer.
        let r = refund(&app, "PG-ORDER-0003", "PG-RF-MAGIC-2", "225800.00").await;
        assert_eq!((r.status, r.code.as_str()), (202, "2025800"), "{r:?}");
        assert_eq!(r.message, "Request In Progress");
        assert_eq!(r.body["originalPartnerReferenceNo"], "PG-ORDER-0003");
        assert_eq!(r.body["partnerRefundNo"], "PG-RF-MAGIC-2");
        assert_eq!(r.body["refundAmount"]["value"], "225800.00");
        // Cancel references that spell DANA's codes answer them, echoing the reference.
        for (reference, status) in [
            ("2025700", 202),
            ("4035700", 403),
            ("4035705", 403),
            ("4035714", 403),
            ("4035715", 403),
            ("4045701", 404),
            ("4045708", 404),
            ("5005701", 500),
        ] {
            let c = cancel(&app, reference).await;
            assert_eq!((c.status, c.code.as_str()), (status, reference), "{c:?}");
            assert_eq!(c.body["originalPartnerReferenceNo"], reference);
        }
        assert_eq!(payments(&app).await, before, "magic records nothing");
        let q = query(&app, "PG-ORDER-0003").await;
        assert_eq!(q.body["latestTransactionStatus"], "01", "untouched: {q:?}");
        ledger_is_sound(&app).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn an_unpaid_order_expires() {
    for store in testing::all().await {
        let mut app = TestApp::spawn(store).await;
        let mut body = order(
            &app,
            "PG-ORDER-0007",
            "15000.00",
            "https://merchant.example/n",
        );
        body["validUpTo"] = json!(bayar_snap::time::format_jakarta(
            Utc::now() + Span::seconds(2)
        ));
        create(&app, &body).await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        sweeper::sweep(&app.core).await;
        let q = query(&app, "PG-ORDER-0007").await;
        assert_eq!(
            q.body["latestTransactionStatus"], "05",
            "{} {q:?}",
            app.engine
        );
        assert_eq!(q.body["transactionStatusDesc"], "CLOSED");
        assert_eq!(
            q.body["additionalInfo"]["statusDetail"]["acquirementStatus"],
            "CLOSED"
        );
        let c = cancel(&app, "PG-ORDER-0007").await;
        assert_eq!((c.status, c.code.as_str()), (403, "4035700"));
        ledger_is_sound(&app).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn consult_pay_offers_the_dana_balance() {
    for store in testing::all().await {
        let mut app = TestApp::spawn(store).await;
        let consult = |merchant: String, body_extra: Value| {
            let mut body = json!({
                "merchantId": merchant,
                "amount": { "value": "15000.00", "currency": "IDR" },
                "additionalInfo": { "envInfo": { "terminalType": "SYSTEM" } },
            });
            if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), body_extra) {
                b.extend(extra);
            }
            body
        };
        let ok = app
            .dana_post(CONSULT, &consult(app.merchant.id.to_string(), json!({})))
            .await;
        assert_eq!((ok.status, ok.code.as_str()), (200, "2005700"), "{ok:?}");
        assert_eq!(ok.body["paymentInfos"][0]["payMethod"], "BALANCE");
        let stranger = app
            .dana_post(CONSULT, &consult("216620000000000000001".into(), json!({})))
            .await;
        assert_eq!((stranger.status, stranger.code.as_str()), (404, "4040008"));
        let no_env = app
            .dana_post(
                CONSULT,
                &consult(app.merchant.id.to_string(), json!({ "additionalInfo": {} })),
            )
            .await;
        assert_eq!(
            (no_env.status, no_env.code.as_str(), no_env.message.as_str()),
            (
                400,
                "4000002",
                "Invalid Mandatory Field additionalInfo.envInfo.terminalType"
            )
        );
        let bad_amount = app
            .dana_post(
                CONSULT,
                &consult(
                    app.merchant.id.to_string(),
                    json!({ "amount": { "value": "15000", "currency": "IDR" } }),
                ),
            )
            .await;
        assert_eq!(
            (bad_amount.status, bad_amount.code.as_str()),
            (400, "4000001")
        );
        app.stop().await;
    }
}
