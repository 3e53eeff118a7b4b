//! DANA's official Python SDK (dana-python) against bayar, over HTTP, with only the host
//! changed: Disbursement to Balance (balance check, account inquiry, top-up, status) and the
//! refusals the seed names. The script reports wire outcomes; this test asserts them and the
//! ledger.

mod common;

use bayar_core::NewCustomer;
use bayar_core::commands::FundDeposit;
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::ledger::AccountId;
use bayar_core::testing;
use bayar_snap::Money;
use common::TestApp;

const PHONE: &str = "62811742234";

async fn posted(app: &TestApp, account: &AccountId) -> String {
    let minor = app
        .core
        .balance(account)
        .await
        .unwrap()
        .map_or(0, |b| b.posted);
    Money::from_minor(minor).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dana_python_sdk_disburses_to_balance() {
    let Some(python) = common::python::sdk_python() else {
        return;
    };
    let mut app = TestApp::spawn(testing::sqlite().await).await;
    app.core
        .run(FundDeposit {
            merchant_id: app.merchant.id,
            amount: Money::parse("50000.00").unwrap(),
            reference: "conformance".into(),
        })
        .await
        .unwrap();
    let customer = app
        .core
        .create_customer(NewCustomer {
            rail: Rail::Wallet,
            phone: PhoneNumber::parse(PHONE).unwrap(),
            pin: Pin::parse("123456").unwrap(),
            opening_balance: Money::ZERO,
        })
        .await
        .unwrap();
    let (_keys, mut env) = app.sdk_env();
    env.extend([
        ("BAYAR_PHONE", PHONE.to_string()),
        ("BAYAR_UNKNOWN_PHONE", "6281999999999".to_string()),
    ]);
    let out = tokio::task::spawn_blocking(move || {
        common::python::run_script(&python, "dana/disbursement.py", &env)
    })
    .await
    .unwrap();

    let step = |name: &str| &out[name];
    let wire = |name: &str| {
        (
            step(name)["http"].as_i64().unwrap_or_default(),
            step(name)["code"].as_str().unwrap_or_default().to_string(),
        )
    };

    let before = step("balance_before");
    assert_eq!(
        before["function"], "dana.merchant.queryMerchantResource",
        "{out}"
    );
    assert_eq!(
        (before["status"].as_str(), before["code"].as_str()),
        (Some("S"), Some("SUCCESS"))
    );
    assert_eq!(before["value"]["amount"], "50000.00");

    assert_eq!(wire("inquiry"), (200, "2003700".into()), "{out}");
    assert_eq!(step("inquiry")["customerNumber"], PHONE);
    assert_eq!(step("inquiry")["fee"], "2500.00");
    assert_eq!(step("inquiry")["min"], "1.00");
    assert_eq!(step("inquiry")["max"], "20000000.00");

    assert_eq!(wire("topup"), (200, "2003800".into()), "{out}");
    assert_eq!(step("topup")["amount"], "10000.00");
    assert_eq!(wire("topup_repeat"), (200, "2003800".into()), "{out}");
    assert_eq!(
        step("topup_repeat")["referenceNo"],
        step("topup")["referenceNo"]
    );
    assert_eq!(wire("status"), (200, "2003900".into()), "{out}");
    assert_eq!(step("status")["status"], "00");
    assert_eq!(step("status")["desc"], "Success");
    assert_eq!(step("status")["amount"], "10000.00");
    assert_eq!(step("status")["referenceNo"], step("topup")["referenceNo"]);

    // 37,500.00 left: 90,000.00 + fee does not fit, now or on the retry; the failure is stored.
    for name in ["insufficient", "insufficient_repeat"] {
        assert_eq!(wire(name), (403, "4033814".into()), "{name}: {out}");
        assert!(
            step(name)["partnerReferenceNo"]
                .as_str()
                .is_some_and(|r| r.starts_with("sdk-short-"))
        );
    }
    assert_eq!(
        wire("insufficient_status"),
        (200, "2003900".into()),
        "{out}"
    );
    assert_eq!(step("insufficient_status")["status"], "06");
    assert_eq!(step("insufficient_status")["amount"], "90000.00");

    assert_eq!(wire("unknown_number"), (404, "4043811".into()), "{out}");
    assert_eq!(wire("inconsistent"), (404, "4043818".into()), "{out}");
    assert!(
        step("inconsistent")["partnerReferenceNo"]
            .as_str()
            .is_some_and(|r| r.starts_with("sdk-ok-"))
    );
    assert_eq!(
        wire("inquiry_frozen_magic"),
        (403, "4033705".into()),
        "{out}"
    );
    assert_eq!(
        step("inquiry_frozen_magic")["customerNumber"],
        "628123456667"
    );
    assert_eq!(
        step("inquiry_frozen_magic")["resultMsg"],
        "PAYEE_USER_STATUS_DISABLE"
    );
    assert_eq!(wire("status_unknown"), (404, "4043901".into()), "{out}");

    assert_eq!(
        step("balance_after")["value"]["amount"],
        "37500.00",
        "{out}"
    );
    assert_eq!(
        posted(&app, &AccountId::merchant_deposit(&app.merchant.id)).await,
        "37500.00"
    );
    assert_eq!(posted(&app, &customer.account).await, "10000.00");
    assert_eq!(posted(&app, &AccountId::gateway_fees()).await, "2500.00");
    assert!(app.core.verify_ledger().await.unwrap().is_empty());
    app.stop().await;
}

/// dana-python's `PaymentGatewayApi` against bayar: consult pay, an order created (REDIRECT),
/// paid on the hosted wallet page, queried, refunded (once; the second refund refused),
/// another order cancelled and queried, and a reference reused with other content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dana_python_sdk_runs_the_payment_gateway() {
    const WALLET: &str = "081366660001";
    const PIN: &str = "135790";
    let Some(python) = common::python::sdk_python() else {
        return;
    };
    let mut app = TestApp::spawn(testing::sqlite().await).await;
    let customer = app
        .core
        .create_customer(NewCustomer {
            rail: Rail::Wallet,
            phone: PhoneNumber::parse(WALLET).unwrap(),
            pin: Pin::parse(PIN).unwrap(),
            opening_balance: Money::parse("80000.00").unwrap(),
        })
        .await
        .unwrap();
    let (_keys, mut env) = app.sdk_env();
    env.extend([
        ("BAYAR_REFERENCE", "SDK-PG-0001".to_string()),
        ("BAYAR_PHONE", WALLET.to_string()),
        ("BAYAR_PIN", PIN.to_string()),
    ]);
    let out = tokio::task::spawn_blocking(move || {
        common::python::run_script(&python, "dana/payment_gateway.py", &env)
    })
    .await
    .unwrap();
    let step = |name: &str| &out[name];
    let wire = |name: &str| {
        (
            step(name)["http"].as_i64().unwrap_or_default(),
            step(name)["code"].as_str().unwrap_or_default().to_string(),
        )
    };

    assert_eq!(wire("consult"), (200, "2005700".into()), "{out}");
    assert_eq!(
        step("consult")["payMethods"],
        serde_json::json!(["BALANCE"])
    );
    assert_eq!(wire("create"), (200, "2005400".into()), "{out}");
    let reference_no = step("create")["referenceNo"].as_str().unwrap();
    assert_eq!(
        step("create")["webRedirectUrl"],
        format!(
            "{}/pages/dana/pay/{reference_no}?bizNo={reference_no}",
            app.base
        )
    );
    assert_eq!(step("returned"), "https://merchant.example/dana/return");
    assert_eq!(wire("query"), (200, "2005500".into()), "{out}");
    assert_eq!(step("query")["status"], "00");
    assert_eq!(step("query")["desc"], "SUCCESS");
    assert_eq!(step("query")["amount"], "50000.00");
    assert!(
        step("query")["paidTime"]
            .as_str()
            .is_some_and(|t| t.ends_with("+07:00"))
    );
    assert_eq!(wire("refund"), (200, "2005800".into()), "{out}");
    assert_eq!(step("refund")["refundAmount"], "20000.00");
    assert_eq!(wire("refund_second"), (403, "4035815".into()), "{out}");
    assert_eq!(wire("create_other"), (200, "2005400".into()), "{out}");
    assert_eq!(wire("cancel"), (200, "2005700".into()), "{out}");
    assert_eq!(
        step("cancel")["originalPartnerReferenceNo"],
        "SDK-PG-0001-C"
    );
    assert_eq!(wire("query_cancelled"), (200, "2005500".into()), "{out}");
    assert_eq!(step("query_cancelled")["status"], "05");
    assert_eq!(wire("inconsistent"), (404, "4045418".into()), "{out}");
    assert_eq!(step("inconsistent")["partnerReferenceNo"], "SDK-PG-0001");

    // 50,000 paid, 20,000 refunded: 1.5% fee kept on the 30,000 that stayed.
    assert_eq!(posted(&app, &customer.account).await, "50000.00");
    assert_eq!(
        posted(&app, &AccountId::merchant_available(&app.merchant.id)).await,
        "29550.00"
    );
    assert_eq!(posted(&app, &AccountId::gateway_fees()).await, "450.00");
    assert!(app.core.verify_ledger().await.unwrap().is_empty());
    app.stop().await;
}

/// dana-python's `WidgetApi` against bayar: the wallet linked on the OAuth page that
/// `Util.generate_oauth_url` points to (host replaced), apply token with the auth code and
/// with the refresh token, balance inquiry, apply OTT, a widget payment paid on the wallet
/// page opened with the OTT (already identified) and queried, the user profile (OPEN_API),
/// account unbinding, and after it the token and the code refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dana_python_sdk_runs_the_widget() {
    const WALLET: &str = "081366660003";
    const PIN: &str = "135790";
    let Some(python) = common::python::sdk_python() else {
        return;
    };
    let mut app = TestApp::spawn(testing::sqlite().await).await;
    let customer = app
        .core
        .create_customer(NewCustomer {
            rail: Rail::Wallet,
            phone: PhoneNumber::parse(WALLET).unwrap(),
            pin: Pin::parse(PIN).unwrap(),
            opening_balance: Money::parse("40000.00").unwrap(),
        })
        .await
        .unwrap();
    let (_keys, mut env) = app.sdk_env();
    env.extend([
        ("BAYAR_REFERENCE", "SDK-WG-0001".to_string()),
        ("BAYAR_PHONE", WALLET.to_string()),
        ("BAYAR_PIN", PIN.to_string()),
    ]);
    let out = tokio::task::spawn_blocking(move || {
        common::python::run_script(&python, "dana/widget.py", &env)
    })
    .await
    .unwrap();
    let step = |name: &str| &out[name];
    let wire = |name: &str| {
        (
            step(name)["http"].as_i64().unwrap_or_default(),
            step(name)["code"].as_str().unwrap_or_default().to_string(),
        )
    };

    assert_eq!(step("oauth")["state"], "state-0001", "{out}");
    assert_eq!(
        step("oauth")["redirect"],
        "https://merchant.example/dana/oauth-callback"
    );
    assert_eq!(wire("apply_token"), (200, "2007400".into()), "{out}");
    assert_eq!(step("apply_token")["publicUserId"], customer.id.to_string());
    assert_eq!(wire("refresh"), (200, "2007400".into()), "{out}");
    assert_eq!(wire("balance"), (200, "2001100".into()), "{out}");
    assert_eq!(step("balance")["balanceType"], "BALANCE");
    assert_eq!(step("balance")["available"], "40000.00");
    assert_eq!(wire("widget_payment"), (200, "2005400".into()), "{out}");
    let reference_no = step("widget_payment")["referenceNo"].as_str().unwrap();
    assert_eq!(
        step("widget_payment")["webRedirectUrl"],
        format!(
            "{}/pages/dana/pay/{reference_no}?bizNo={reference_no}",
            app.base
        )
    );
    assert_eq!(wire("apply_ott"), (200, "2004900".into()), "{out}");
    assert_eq!(step("apply_ott")["resourceType"], "OTT");
    // The SDK's generate_complete_payment_url with the OTT: the page knew the wallet.
    assert_eq!(step("identified"), true, "{out}");
    assert_eq!(step("returned"), "https://merchant.example/dana/return");
    assert_eq!(wire("query"), (200, "2005500".into()), "{out}");
    assert_eq!(step("query")["status"], "00");
    assert_eq!(step("user_profile")["status"], "S", "{out}");
    let values = &step("user_profile")["values"];
    let balance: serde_json::Value =
        serde_json::from_str(values["BALANCE"].as_str().unwrap_or_default()).unwrap_or_default();
    assert_eq!(balance["amount"], "25000.00", "{out}");
    assert_eq!(values["MASK_DANA_ID"], "0813****0003");
    assert_eq!(wire("unbinding"), (200, "2000900".into()), "{out}");
    assert_eq!(wire("balance_after"), (401, "4011102".into()), "{out}");
    assert_eq!(wire("apply_token_again"), (401, "4017400".into()), "{out}");

    assert_eq!(posted(&app, &customer.account).await, "25000.00");
    assert!(app.core.verify_ledger().await.unwrap().is_empty());
    app.stop().await;
}
