//! DOKU's Allo direct-debit operations over HTTP, on every engine: each kind of bad input gets
//! its own SNAP code and writes nothing.

mod common;

use bayar_core::commands::{Answer, BeginBinding, SubmitOtp};
use bayar_core::customer::{Customer, PhoneNumber, Pin, Rail};
use bayar_core::merchant::Merchant;
use bayar_core::{Core, NewCustomer, testing};
use bayar_snap::Money;
use common::TestApp;

const PAY: &str = "/direct-debit/core/v1/debit/payment-host-to-host";
const BIND: &str = "/direct-debit/core/v1/registration-account-binding";
const REFUND: &str = "/direct-debit/core/v1/debit/refund";
const BALANCE: &str = "/direct-debit/core/v1/balance-inquiry";
const UNBIND: &str = "/direct-debit/core/v1/registration-account-unbinding";

async fn bank_customer(core: &Core, phone: &str, balance: &str) -> Customer {
    core.create_customer(NewCustomer {
        rail: Rail::Bank,
        phone: PhoneNumber::parse(phone).unwrap(),
        pin: Pin::parse("135790").unwrap(),
        opening_balance: Money::parse(balance).unwrap(),
    })
    .await
    .unwrap()
}

/// Binds `customer` to `merchant` as the hosted page would, returning a customer token.
async fn bind(core: &Core, merchant: &Merchant, customer: &Customer, cust_id: &str) -> String {
    let binding = core
        .run(BeginBinding {
            merchant_id: merchant.id,
            rail: bayar_core::customer::Rail::Bank,
            phone: customer.phone.clone(),
            cust_id_merchant: cust_id.into(),
            success_url: "https://m.example/ok".into(),
            failed_url: "https://m.example/fail".into(),
        })
        .await
        .unwrap();
    let otp = binding.otp.expose().clone();
    assert!(matches!(
        core.run(SubmitOtp {
            binding_id: binding.id,
            otp
        })
        .await
        .unwrap(),
        Answer::Accepted { .. }
    ));
    let Answer::Accepted {
        auth_code: Some(code),
        ..
    } = core
        .submit_binding_pin(binding.id, Pin::parse("135790").unwrap())
        .await
        .unwrap()
    else {
        panic!("PIN refused");
    };
    core.exchange_auth_code(merchant, code.expose())
        .await
        .unwrap()
        .access
        .token
        .expose()
        .clone()
}

fn with_customer(mut headers: Vec<(String, String)>, token: &str) -> Vec<(String, String)> {
    headers.push(("Authorization-Customer".into(), format!("Bearer {token}")));
    headers
}

fn payment(reference: &str, value: &str) -> String {
    format!(
        r#"{{"partnerReferenceNo":"{reference}","amount":{{"value":"{value}","currency":"IDR"}},"additionalInfo":{{"channel":"DIRECT_DEBIT_ALLO_SNAP","remarks":"x"}}}}"#
    )
}

#[tokio::test]
async fn bad_payment_requests_get_their_codes_and_write_nothing() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let bank = bank_customer(&app.core, "081355550001", "100000.00").await;
        let customer_token = bind(&app.core, &app.merchant, &bank, "c-1").await;
        // Another merchant's customer token is no key to this merchant's customers.
        let other = app
            .core
            .create_merchant(bayar_core::merchant::NewMerchant {
                name: bayar_core::merchant::MerchantName::parse("Other").unwrap(),
                notify_url: None,
                public_key: Some(bayar_snap::PrivateKey::generate().unwrap().public_key()),
            })
            .await
            .unwrap()
            .merchant;
        let foreign_token = bind(&app.core, &other, &bank, "c-9").await;
        let token = app.b2b_token().await;
        let big = payment(
            &"X".repeat(10),
            &format!("1.00\",\"pad\":\"{}", "a".repeat(70_000)),
        );
        let cases: Vec<(&str, String, Option<&str>, u16, &str)> = vec![
            ("no reference", r#"{"amount":{"value":"1.00","currency":"IDR"},"additionalInfo":{"channel":"DIRECT_DEBIT_ALLO_SNAP"}}"#.into(), Some(&customer_token), 400, "Invalid Mandatory Field partnerReferenceNo"),
            ("long reference", payment(&"R".repeat(65), "1.00"), Some(&customer_token), 400, "Invalid Field Format partnerReferenceNo"),
            ("amount without decimals", payment("R1", "100"), Some(&customer_token), 400, "Invalid Field Format amount.value"),
            ("amount as number", r#"{"partnerReferenceNo":"R2","amount":{"value":100.0,"currency":"IDR"},"additionalInfo":{"channel":"DIRECT_DEBIT_ALLO_SNAP"}}"#.into(), Some(&customer_token), 400, "Invalid Field Format amount.value"),
            ("dollars", r#"{"partnerReferenceNo":"R3","amount":{"value":"1.00","currency":"USD"},"additionalInfo":{"channel":"DIRECT_DEBIT_ALLO_SNAP"}}"#.into(), Some(&customer_token), 400, "Invalid Field Format amount.currency"),
            ("no channel", r#"{"partnerReferenceNo":"R4","amount":{"value":"1.00","currency":"IDR"}}"#.into(), Some(&customer_token), 400, "Invalid Mandatory Field additionalInfo.channel"),
            ("other bank", payment("R5", "1.00").replace("ALLO", "BRI"), Some(&customer_token), 405, "Requested Function Is Not Supported"),
            ("not an object", "[1,2]".into(), Some(&customer_token), 400, "Bad Request"),
            ("oversized", big, Some(&customer_token), 400, "Bad Request"),
            ("no customer token", payment("R6", "1.00"), None, 401, "Customer Token Not Found"),
            ("garbage customer token", payment("R7", "1.00"), Some("cus.bogus.token"), 401, "Invalid Customer Token"),
            ("another merchant's customer", payment("R8", "1.00"), Some(&foreign_token), 401, "Invalid Customer Token"),
            ("over the limit", payment("R9", "300000000.01"), Some(&customer_token), 403, "Exceeds Transaction Amount Limit"),
        ];
        for (i, (name, body, customer, status, message)) in cases.into_iter().enumerate() {
            let mut headers = app.signed_headers(PAY, &token, &body, &format!("9{i}"));
            if let Some(t) = customer {
                headers = with_customer(headers, t);
            }
            let r = app.post(PAY, &headers, &body).await;
            assert_eq!(
                (r.status, r.message.as_str()),
                (status, message),
                "{} {name}: {r:?}",
                app.engine
            );
            assert_eq!(r.code[..3], status.to_string()[..], "{name}");
            assert_eq!(
                &r.code[3..5],
                "54",
                "{name}: the service code of the payment API"
            );
        }
        assert_eq!(
            app.store.rows("payments").await,
            0,
            "{}: nothing was written",
            app.engine
        );

        // A body beyond the router's limit is cut off unread.
        let huge = payment("RH", &format!("1.00\",\"pad\":\"{}", "a".repeat(300_000)));
        let headers = with_customer(
            app.signed_headers(PAY, &token, &huge, "huge"),
            &customer_token,
        );
        let resp = app
            .http
            .post(format!("{}{PAY}", app.base))
            .body(huge.clone());
        let resp = headers
            .iter()
            .fold(resp, |r, (k, v)| r.header(k.as_str(), v.as_str()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 413, "{}", app.engine);

        // The same X-EXTERNAL-ID twice: the second is a conflict and debits nothing.
        let body = payment("R10", "1000.00");
        let headers = with_customer(
            app.signed_headers(PAY, &token, &body, "777"),
            &customer_token,
        );
        assert_eq!(app.post(PAY, &headers, &body).await.code, "2005400");
        let body = payment("R11", "1000.00");
        let headers = with_customer(
            app.signed_headers(PAY, &token, &body, "777"),
            &customer_token,
        );
        assert_eq!(
            app.post(PAY, &headers, &body).await.code,
            "4095400",
            "{}",
            app.engine
        );
        assert_eq!(app.store.rows("payments").await, 1, "{}", app.engine);

        // The claim commits with the payment: a request the core refuses (here an
        // inconsistent repeat) leaves its X-EXTERNAL-ID unused for a corrected retry.
        let body = payment("R10", "2000.00");
        let headers = with_customer(
            app.signed_headers(PAY, &token, &body, "778"),
            &customer_token,
        );
        assert_eq!(
            app.post(PAY, &headers, &body).await.code,
            "4045418",
            "{}",
            app.engine
        );
        let body = payment("R12", "2000.00");
        let headers = with_customer(
            app.signed_headers(PAY, &token, &body, "778"),
            &customer_token,
        );
        assert_eq!(
            app.post(PAY, &headers, &body).await.code,
            "2005400",
            "{}",
            app.engine
        );
        assert_eq!(app.store.rows("external_ids").await, 2, "{}", app.engine);
    }
}

#[tokio::test]
async fn binding_refusals() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let bank = bank_customer(&app.core, "081355550002", "10.00").await;
        let frozen = bank_customer(&app.core, "081355550003", "10.00").await;
        app.core
            .run(bayar_core::commands::SetCustomerStatus {
                customer_id: frozen.id,
                status: bayar_core::customer::CustomerStatus::Frozen,
            })
            .await
            .unwrap();
        bind(&app.core, &app.merchant, &bank, "cust-A").await;
        let token = app.b2b_token().await;
        let request = |phone: &str, cust: &str, ok_url: &str| {
            format!(
                r#"{{"phoneNo":"{phone}","additionalInfo":{{"channel":"DIRECT_DEBIT_ALLO_SNAP","custIdMerchant":"{cust}","successRegistrationUrl":"{ok_url}","failedRegistrationUrl":"https://m.example/fail","deviceModel":"x","osType":"android","channelId":"app"}}}}"#
            )
        };
        let cases = [
            (
                "unknown phone",
                request("6281399999999", "c", "https://m.example/ok"),
                "4040711",
            ),
            (
                "bad phone",
                request("12", "c", "https://m.example/ok"),
                "4000701",
            ),
            (
                "not a url",
                request("6281355550002", "c", "not a url"),
                "4000701",
            ),
            (
                "frozen",
                request("6281355550003", "c", "https://m.example/ok"),
                "4030718",
            ),
            (
                "bound to someone else",
                request("6281355550002", "cust-B", "https://m.example/ok"),
                "4030715",
            ),
        ];
        for (i, (name, body, code)) in cases.into_iter().enumerate() {
            let r = app
                .post(
                    BIND,
                    &app.signed_headers(BIND, &token, &body, &format!("8{i}")),
                    &body,
                )
                .await;
            assert_eq!(r.code, code, "{} {name}: {r:?}", app.engine);
        }
        assert_eq!(
            app.store.rows("bindings").await,
            1,
            "{}: only the first binding exists",
            app.engine
        );
        // Re-binding by the same merchant customer is allowed and gives a fresh page.
        let body = request("6281355550002", "cust-A", "https://m.example/ok");
        let r = app
            .post(BIND, &app.signed_headers(BIND, &token, &body, "89"), &body)
            .await;
        assert_eq!(r.code, "2000700", "{}", app.engine);
        assert!(
            r.body["redirectUrl"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}/pages/allo/bind/bnd_", app.base))
        );
    }
}

#[tokio::test]
async fn refunds_balance_and_unbinding_refusals() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let bank = bank_customer(&app.core, "081355550004", "1000.00").await;
        let customer_token = bind(&app.core, &app.merchant, &bank, "c-4").await;
        let token = app.b2b_token().await;
        // A failed payment (too little money) cannot be refunded.
        let body = payment("F1", "5000.00");
        let r = app
            .post(
                PAY,
                &with_customer(
                    app.signed_headers(PAY, &token, &body, "70"),
                    &customer_token,
                ),
                &body,
            )
            .await;
        assert_eq!(r.code, "4035414", "{}", app.engine);
        let refund = |reference: &str, number: &str| {
            format!(
                r#"{{"originalPartnerReferenceNo":"{reference}","refundAmount":{{"value":"1.00","currency":"IDR"}},"partnerRefundNo":"{number}","additionalInfo":{{"channel":"DIRECT_DEBIT_ALLO_SNAP"}}}}"#
            )
        };
        for (i, (body, code)) in [
            (refund("NOPE", "RF-1"), "4045801"),
            (refund("F1", "RF-2"), "4045800"),
            (
                refund("F1", "").replace(r#","partnerRefundNo":"""#, ""),
                "4005802",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let r = app
                .post(
                    REFUND,
                    &app.signed_headers(REFUND, &token, &body, &format!("6{i}")),
                    &body,
                )
                .await;
            assert_eq!(r.code, code, "{} {body}: {r:?}", app.engine);
        }
        assert_eq!(app.store.rows("refunds").await, 0);

        let balance = r#"{"additionalInfo":{"channel":"DIRECT_DEBIT_ALLO_SNAP"}}"#;
        let r = app
            .post(
                BALANCE,
                &with_customer(
                    app.signed_headers(BALANCE, &token, balance, "50"),
                    &customer_token,
                ),
                balance,
            )
            .await;
        assert_eq!(r.code, "2001100");
        assert_eq!(r.body["accountInfos"][0]["amount"]["value"], "1000.00");
        let unbind = format!(
            r#"{{"tokenId":"{customer_token}","additionalInfo":{{"channel":"DIRECT_DEBIT_ALLO_SNAP"}}}}"#
        );
        let r = app
            .post(
                UNBIND,
                &app.signed_headers(UNBIND, &token, &unbind, "51"),
                &unbind,
            )
            .await;
        assert_eq!(r.code, "2000900", "{}", app.engine);
        // Unbound: the token is dead everywhere, unbinding again included.
        let r = app
            .post(
                UNBIND,
                &app.signed_headers(UNBIND, &token, &unbind, "52"),
                &unbind,
            )
            .await;
        assert_eq!(r.code, "4010902", "{}", app.engine);
        let r = app
            .post(
                BALANCE,
                &with_customer(
                    app.signed_headers(BALANCE, &token, balance, "53"),
                    &customer_token,
                ),
                balance,
            )
            .await;
        assert_eq!(r.code, "4011102", "{}", app.engine);
    }
}
