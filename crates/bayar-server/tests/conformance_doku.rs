//! DOKU's official Python SDK against bayar, over HTTP, with only the base URL changed.

mod common;

use bayar_core::testing;
use common::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doku_python_sdk_gets_tokens_and_the_right_codes() {
    let Some(python) = common::python::sdk_python() else {
        return;
    };
    let app = TestApp::spawn(testing::sqlite().await).await;
    let (_keys, env) = app.sdk_env();
    let out = tokio::task::spawn_blocking(move || {
        common::python::run_script(&python, "doku/security.py", &env)
    })
    .await
    .unwrap();

    assert_eq!(out["token"]["code"], "2007300", "{out}");
    assert_eq!(out["token"]["has_token"], true);
    assert_eq!(
        out["token"]["expires_in"], 890,
        "the SDK keeps expiresIn - 10"
    );
    for (case, message) in [
        ("tampered", "Unauthorized. Invalid Signature"),
        ("unknown_client", "Unauthorized. Unknown client"),
        (
            "stale",
            "Unauthorized. X-TIMESTAMP outside the allowed window",
        ),
    ] {
        assert_eq!(out[case]["code"], "4017300", "{case}: {out}");
        assert_eq!(out[case]["message"], message, "{case}");
        assert_eq!(out[case]["has_token"], false, "{case}");
    }
    assert_eq!(out["status_first"]["code"], "4045501", "{out}");
    assert_eq!(out["status_reused_external_id"]["code"], "4095500", "{out}");
    assert_eq!(out["status_reused_external_id"]["message"], "Conflict");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doku_python_sdk_runs_the_allo_direct_debit_journey() {
    let Some(python) = common::python::sdk_python() else {
        return;
    };
    let app = TestApp::spawn(testing::sqlite().await).await;
    let bank = app
        .core
        .create_customer(bayar_core::NewCustomer {
            rail: bayar_core::customer::Rail::Bank,
            phone: bayar_core::customer::PhoneNumber::parse("081288880001").unwrap(),
            pin: bayar_core::customer::Pin::parse("246810").unwrap(),
            opening_balance: bayar_snap::Money::parse("500000.00").unwrap(),
        })
        .await
        .unwrap();
    let (_keys, mut env) = app.sdk_env();
    env.extend([
        ("BAYAR_PHONE", "6281288880001".to_string()),
        ("BAYAR_PIN", "246810".to_string()),
        ("BAYAR_BIN", env!("CARGO_BIN_EXE_bayar").to_string()),
        ("BAYAR_DATABASE_URL", app.store.sqlite_url.clone().unwrap()),
    ]);
    let out = tokio::task::spawn_blocking(move || {
        common::python::run_script(&python, "doku/allo_journey.py", &env)
    })
    .await
    .unwrap();

    let code = |step: &str| out[step]["code"].as_str().unwrap_or_default().to_string();
    assert_eq!(code("token"), "2007300", "{out}");
    assert_eq!(code("binding"), "2000700", "{out}");
    assert_eq!(out["binding"]["status"], "PENDING");
    assert_eq!(
        out["binding"]["returned_to"],
        "https://merchant.example/bound"
    );
    assert_eq!(code("b2b2c"), "2007400", "{out}");
    assert_eq!(
        (code("balance"), out["balance"]["amount"].as_str()),
        ("2001100".into(), Some("500000.00"))
    );
    assert_eq!(code("payment"), "2005400", "{out}");
    assert_eq!(
        code("payment_repeat"),
        "4095401",
        "a repeat after success is a duplicate"
    );
    assert_eq!(code("payment_inconsistent"), "4045418");
    assert_eq!(code("payment_too_big"), "4035414", "more than the balance");
    assert_eq!(
        (code("status"), out["status"]["latest"].as_str()),
        ("2005500".into(), Some("00"))
    );
    assert_eq!(code("refund_1"), "2005800", "{out}");
    assert_eq!(code("refund_2"), "2005800", "{out}");
    assert_eq!(code("refund_too_much"), "4035815", "{out}");
    assert_eq!(code("unbinding"), "2000900", "{out}");
    assert_eq!(code("payment_after_unbinding"), "4015402", "{out}");

    // The money: 100,000 paid, 50,000 refunded; the 1.5% fee returned in proportion.
    let posted = |account: bayar_core::ledger::AccountId| {
        let core = app.core.clone();
        async move { core.balance(&account).await.unwrap().unwrap().posted }
    };
    assert_eq!(posted(bank.account.clone()).await, 45_000_000);
    assert_eq!(
        posted(bayar_core::ledger::AccountId::merchant_available(
            &app.merchant.id
        ))
        .await,
        4_925_000
    );
    assert_eq!(
        posted(bayar_core::ledger::AccountId::gateway_fees()).await,
        75_000
    );
    assert!(app.core.verify_ledger().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doku_python_sdk_runs_the_dana_wallet_journey() {
    let Some(python) = common::python::sdk_python() else {
        return;
    };
    let app = TestApp::spawn(testing::sqlite().await).await;
    let wallet = app
        .core
        .create_customer(bayar_core::NewCustomer {
            rail: bayar_core::customer::Rail::Wallet,
            phone: bayar_core::customer::PhoneNumber::parse("081299990001").unwrap(),
            pin: bayar_core::customer::Pin::parse("975310").unwrap(),
            opening_balance: bayar_snap::Money::parse("300000.00").unwrap(),
        })
        .await
        .unwrap();
    let (_keys, mut env) = app.sdk_env();
    env.extend([
        ("BAYAR_PHONE", "081299990001".to_string()),
        ("BAYAR_PIN", "975310".to_string()),
    ]);
    let out = tokio::task::spawn_blocking(move || {
        common::python::run_script(&python, "doku/dana_journey.py", &env)
    })
    .await
    .unwrap();

    let code = |step: &str| out[step]["code"].as_str().unwrap_or_default().to_string();
    assert_eq!(code("token"), "2007300", "{out}");
    assert_eq!(code("payment"), "2005400", "{out}");
    let reference_no = out["payment"]["reference_no"].as_str().unwrap();
    assert_eq!(
        out["payment"]["web_redirect_url"],
        format!("{}/pages/dana/pay/{reference_no}", app.base)
    );
    assert_eq!(out["payment"]["partner_reference_no"], "INV-DANA-SDK-0001");
    // The wallet page sent the customer back to PAY_RETURN with the outcome.
    assert_eq!(
        out["returned"]["url"],
        "https://merchant.example/dana/return"
    );
    let query = &out["returned"]["query"];
    assert_eq!(query["order"], "0001");
    assert_eq!(query["status"], "SUCCESS");
    assert_eq!(query["referenceNo"], reference_no);
    assert_eq!(query["partnerReferenceNo"], "INV-DANA-SDK-0001");
    assert_eq!(
        (code("status"), out["status"]["latest"].as_str()),
        ("2005500".into(), Some("00"))
    );
    assert_eq!(code("refund_1"), "2005800", "{out}");
    assert_eq!(out["refund_1"]["refund_amount"], "25000.00");
    assert!(
        out["refund_1"]["refund_time"]
            .as_str()
            .is_some_and(|t| t.ends_with("+07:00")),
        "{out}"
    );
    assert_eq!(
        code("refund_2"),
        "4035815",
        "DANA allows one partial refund: {out}"
    );

    // The money: 100,000 paid from 300,000; 25,000 back; the 1.5% fee returned in proportion
    // (1,500 * 25,000 / 100,000 = 375).
    let posted = |account: bayar_core::ledger::AccountId| {
        let core = app.core.clone();
        async move { core.balance(&account).await.unwrap().unwrap().posted }
    };
    assert_eq!(posted(wallet.account.clone()).await, 22_500_000);
    assert_eq!(
        posted(bayar_core::ledger::AccountId::merchant_available(
            &app.merchant.id
        ))
        .await,
        7_387_500
    );
    assert_eq!(
        posted(bayar_core::ledger::AccountId::gateway_fees()).await,
        112_500
    );
    assert!(app.core.verify_ledger().await.unwrap().is_empty());
}
