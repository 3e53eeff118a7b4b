//! DANA's official Node SDK (npm `dana-node`) against bayar, over HTTP, with only the base URL
//! changed: the merchant balance check, Disbursement to Balance with its refusals, transfer to
//! bank, the widget (OAuth binding, apply token, balance, apply OTT, user profile, a widget
//! payment paid on the wallet page the OTT opened already identified, query, refund, cancel,
//! unbinding) and the payment gateway (consult pay, order paid on the wallet page, query,
//! refund, cancel, idempotency), with the finish notifies verified by a merchant endpoint built
//! on dana-node's own `WebhookParser`. The script reports wire outcomes; this test asserts
//! them and the ledger.

mod common;

use std::time::Duration;

use bayar_core::NewCustomer;
use bayar_core::commands::FundDeposit;
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::ledger::AccountId;
use bayar_core::testing;
use bayar_snap::Money;
use common::TestApp;
use common::receiver::SdkReceiver;
use serde_json::Value;

const TOPUP_PHONE: &str = "62811742234";
const WALLET: &str = "081366660007";
const PIN: &str = "135790";

async fn posted(app: &TestApp, account: &AccountId) -> String {
    let minor = app
        .core
        .balance(account)
        .await
        .unwrap()
        .map_or(0, |b| b.posted);
    Money::from_minor(minor).unwrap().to_string()
}

/// Waits for the receiver's notify of `reference`; every notify must have verified.
async fn notified(receiver: &SdkReceiver, reference: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let seen = receiver.seen("notification");
        assert!(
            seen.iter().all(|n| n["verified"] == true),
            "dana-node's WebhookParser refused a notify: {seen:?}"
        );
        if let Some(n) = seen
            .iter()
            .find(|n| n["model"]["originalPartnerReferenceNo"] == reference)
        {
            return n.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no notify for {reference}: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dana_node_sdk_runs_disbursement_widget_and_payment_gateway() {
    let Some(modules) = common::node::sdk_modules("dana/node") else {
        return;
    };
    let mut app = TestApp::spawn(testing::sqlite().await).await;
    app.core
        .run(FundDeposit {
            merchant_id: app.merchant.id,
            amount: Money::parse("50000.00").unwrap(),
            reference: "conformance-node".into(),
        })
        .await
        .unwrap();
    let receiver = app
        .core
        .create_customer(NewCustomer {
            rail: Rail::Wallet,
            phone: PhoneNumber::parse(TOPUP_PHONE).unwrap(),
            pin: Pin::parse("123456").unwrap(),
            opening_balance: Money::ZERO,
        })
        .await
        .unwrap();
    let payer = app
        .core
        .create_customer(NewCustomer {
            rail: Rail::Wallet,
            phone: PhoneNumber::parse(WALLET).unwrap(),
            pin: Pin::parse(PIN).unwrap(),
            opening_balance: Money::parse("80000.00").unwrap(),
        })
        .await
        .unwrap();
    let mut endpoint = SdkReceiver::start_dana_node(&modules).await;
    endpoint
        .configure(&serde_json::json!({
            "gateway_public_key": app.core.gateway_public_key().to_pem(),
        }))
        .await;
    let worker = app.start_worker();
    let (_keys, mut env) = app.sdk_env();
    env.extend([
        ("BAYAR_REFERENCE", "NODE-0001".to_string()),
        ("BAYAR_TOPUP_PHONE", TOPUP_PHONE.to_string()),
        ("BAYAR_PHONE", WALLET.to_string()),
        ("BAYAR_PIN", PIN.to_string()),
        ("BAYAR_NOTIFY_URL", endpoint.url("/v1.0/debit/notify")),
    ]);
    let out = tokio::task::spawn_blocking(move || {
        common::node::run_script(&modules, "dana/node/journey.js", &env)
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

    // Disbursement to Balance.
    assert_eq!(step("balance_before")["status"], "S", "{out}");
    assert_eq!(step("balance_before")["value"]["amount"], "50000.00");
    assert_eq!(wire("inquiry"), (200, "2003700".into()), "{out}");
    assert_eq!(step("inquiry")["fee"], "2500.00");
    assert_eq!(step("inquiry")["max"], "20000000.00");
    assert_eq!(wire("topup"), (200, "2003800".into()), "{out}");
    assert_eq!(step("topup")["amount"], "10000.00");
    assert_eq!(wire("topup_repeat"), (200, "2003800".into()), "{out}");
    assert_eq!(
        step("topup_repeat")["referenceNo"],
        step("topup")["referenceNo"]
    );
    assert_eq!(wire("topup_inconsistent"), (404, "4043818".into()), "{out}");
    assert_eq!(
        step("topup_inconsistent")["partnerReferenceNo"],
        "NODE-0001-T1"
    );
    assert_eq!(wire("topup_insufficient"), (403, "4033814".into()), "{out}");
    assert_eq!(wire("topup_frozen_magic"), (403, "4033805".into()), "{out}");
    assert_eq!(wire("status"), (200, "2003900".into()), "{out}");
    assert_eq!(
        (
            step("status")["status"].as_str(),
            step("status")["desc"].as_str()
        ),
        (Some("00"), Some("Success"))
    );
    assert_eq!(step("status")["referenceNo"], step("topup")["referenceNo"]);
    assert_eq!(
        wire("status_insufficient"),
        (200, "2003900".into()),
        "{out}"
    );
    assert_eq!(step("status_insufficient")["status"], "06");
    assert_eq!(step("status_insufficient")["amount"], "90000.00");
    assert_eq!(wire("status_unknown"), (404, "4043901".into()), "{out}");
    assert_eq!(
        step("balance_after")["value"]["amount"],
        "37500.00",
        "{out}"
    );
    assert_eq!(wire("bank_inquiry"), (200, "2004200".into()), "{out}");
    assert_eq!(step("bank_inquiry")["name"], "Bank Account 8509");
    assert_eq!(step("bank_inquiry")["fee"], "2500.00");
    assert_eq!(wire("bank_transfer"), (200, "2004300".into()), "{out}");
    assert_eq!(
        wire("bank_transfer_repeat"),
        (200, "2004300".into()),
        "{out}"
    );
    assert_eq!(
        step("bank_transfer_repeat")["referenceNo"],
        step("bank_transfer")["referenceNo"]
    );
    assert_eq!(
        wire("bank_transfer_inconsistent"),
        (404, "4044318".into()),
        "{out}"
    );
    assert_eq!(
        wire("bank_transfer_fraud_magic"),
        (403, "4034303".into()),
        "{out}"
    );
    assert_eq!(wire("bank_status"), (200, "2000000".into()), "{out}");
    assert_eq!(step("bank_status")["status"], "00");
    assert_eq!(step("bank_status")["amount"], "5000.00");

    // Widget.
    assert_eq!(
        step("oauth")["redirect"],
        "https://merchant.example/dana/oauth-callback",
        "{out}"
    );
    assert_eq!(step("oauth")["state"], "state-node-0001");
    assert_eq!(wire("apply_token"), (200, "2007400".into()), "{out}");
    assert_eq!(step("apply_token")["publicUserId"], payer.id.to_string());
    assert_eq!(wire("refresh"), (200, "2007400".into()), "{out}");
    assert_eq!(wire("balance"), (200, "2001100".into()), "{out}");
    assert_eq!(step("balance")["available"], "80000.00");
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
    // The SDK's generateCompletePaymentUrl with the OTT: the page knew the wallet.
    assert_eq!(step("widget_identified"), true, "{out}");
    assert_eq!(
        step("widget_returned"),
        "https://merchant.example/dana/return"
    );
    assert_eq!(wire("widget_query"), (200, "2005500".into()), "{out}");
    assert_eq!(step("widget_query")["status"], "00");
    assert_eq!(wire("widget_refund"), (200, "2005800".into()), "{out}");
    assert_eq!(step("widget_refund")["refundAmount"], "5000.00");
    assert_eq!(
        wire("widget_payment_other"),
        (200, "2005400".into()),
        "{out}"
    );
    assert_eq!(wire("widget_cancel"), (200, "2005700".into()), "{out}");
    assert_eq!(step("widget_query_cancelled")["status"], "05", "{out}");
    // OPEN_API: HTTP 200 either way; the wallet after the widget payment and its refund.
    assert_eq!(step("user_profile")["status"], "S", "{out}");
    assert_eq!(step("user_profile")["balance"], "70000.00");
    assert_eq!(step("user_profile")["maskedId"], "0813****0007");
    assert_eq!(wire("unbinding"), (200, "2000900".into()), "{out}");
    assert_eq!(
        wire("balance_after_unbinding"),
        (401, "4011102".into()),
        "{out}"
    );

    // Payment gateway.
    assert_eq!(wire("pg_consult"), (200, "2005700".into()), "{out}");
    assert_eq!(step("pg_consult")["payMethod"], "BALANCE");
    assert_eq!(wire("pg_create"), (200, "2005400".into()), "{out}");
    assert_eq!(step("pg_returned"), "https://merchant.example/dana/return");
    assert_eq!(wire("pg_query"), (200, "2005500".into()), "{out}");
    assert_eq!(
        (
            step("pg_query")["status"].as_str(),
            step("pg_query")["desc"].as_str()
        ),
        (Some("00"), Some("SUCCESS"))
    );
    assert!(
        step("pg_query")["paidTime"]
            .as_str()
            .is_some_and(|t| t.ends_with("+07:00"))
    );
    assert_eq!(wire("pg_refund"), (200, "2005800".into()), "{out}");
    assert_eq!(step("pg_refund")["refundAmount"], "8000.00");
    assert_eq!(wire("pg_refund_second"), (403, "4035815".into()), "{out}");
    assert_eq!(wire("pg_create_other"), (200, "2005400".into()), "{out}");
    assert_eq!(wire("pg_cancel"), (200, "2005700".into()), "{out}");
    assert_eq!(step("pg_query_cancelled")["status"], "05", "{out}");
    assert_eq!(wire("pg_inconsistent"), (404, "4045418".into()), "{out}");
    assert_eq!(
        step("pg_inconsistent")["partnerReferenceNo"],
        "NODE-0001-P1"
    );
    assert_eq!(wire("pg_query_unknown"), (404, "4045501".into()), "{out}");

    // The finish notifies, verified and parsed by dana-node's WebhookParser.
    let paid = notified(&endpoint, "NODE-0001-P1").await;
    assert_eq!(paid["path"], "/v1.0/debit/notify");
    assert_eq!(paid["model"]["latestTransactionStatus"], "00", "{paid}");
    assert_eq!(paid["model"]["amount"]["value"], "20000.00");
    let cancelled = notified(&endpoint, "NODE-0001-P2").await;
    assert_eq!(
        cancelled["model"]["latestTransactionStatus"], "05",
        "{cancelled}"
    );
    worker.stop().await;

    // The ledger: 10,000 topped up and 5,000 sent to a bank, each for a 2,500 fee; 15,000
    // paid and 5,000 refunded on the widget, 20,000 paid and 8,000 refunded on the gateway, a
    // 1.5% fee on what stayed.
    assert_eq!(
        posted(&app, &AccountId::merchant_deposit(&app.merchant.id)).await,
        "30000.00"
    );
    assert_eq!(posted(&app, &receiver.account).await, "10000.00");
    assert_eq!(posted(&app, &payer.account).await, "58000.00");
    assert_eq!(
        posted(&app, &AccountId::merchant_available(&app.merchant.id)).await,
        "21670.00"
    );
    assert_eq!(posted(&app, &AccountId::gateway_fees()).await, "5330.00");
    assert!(app.core.verify_ledger().await.unwrap().is_empty());
    app.stop().await;
}
