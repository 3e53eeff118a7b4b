//! DOKU's official Node SDK against bayar: the Allo direct-debit journey.

mod common;

use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::{NewCustomer, testing};
use common::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doku_node_sdk_runs_the_allo_direct_debit_journey() {
    let Some(modules) = common::node::sdk_modules("doku/node") else {
        return;
    };
    let app = TestApp::spawn(testing::sqlite().await).await;
    app.core
        .create_customer(NewCustomer {
            rail: Rail::Bank,
            phone: PhoneNumber::parse("081288880002").unwrap(),
            pin: Pin::parse("864200").unwrap(),
            opening_balance: bayar_snap::Money::parse("500000.00").unwrap(),
        })
        .await
        .unwrap();
    let (_keys, mut env) = app.sdk_env();
    env.extend([
        ("BAYAR_PHONE", "6281288880002".to_string()),
        ("BAYAR_PIN", "864200".to_string()),
        ("BAYAR_BIN", env!("CARGO_BIN_EXE_bayar").to_string()),
        ("BAYAR_DATABASE_URL", app.store.sqlite_url.clone().unwrap()),
    ]);
    let out = tokio::task::spawn_blocking(move || {
        common::node::run_script(&modules, "doku/node/allo_journey.js", &env)
    })
    .await
    .unwrap();

    let code = |step: &str| out[step]["code"].as_str().unwrap_or_default().to_string();
    assert_eq!(code("token"), "2007300", "{out}");
    assert_eq!(code("binding"), "2000700", "{out}");
    assert_eq!(
        out["binding"]["returned_to"],
        "https://merchant.example/bound"
    );
    assert_eq!(code("b2b2c"), "2007400", "{out}");
    assert_eq!(code("balance"), "2001100", "{out}");
    assert_eq!(out["balance"]["amount"], "500000.00");
    assert_eq!(code("payment"), "2005400", "{out}");
    assert_eq!(code("payment_repeat"), "4095401", "{out}");
    assert_eq!(
        (code("status"), out["status"]["latest"].as_str()),
        ("2005500".into(), Some("00"))
    );
    assert_eq!(code("refund_1"), "2005800", "{out}");
    assert_eq!(code("refund_2"), "2005800", "{out}");
    assert_eq!(code("refund_too_much"), "4035815", "{out}");
    assert_eq!(code("unbinding"), "2000900", "{out}");
    assert_eq!(code("payment_after_unbinding"), "4015402", "{out}");
    assert!(app.core.verify_ledger().await.unwrap().is_empty());
}
