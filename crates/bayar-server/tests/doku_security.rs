//! The SNAP security layer of the DOKU face over HTTP, on every store engine: token requests,
//! then the checks every transactional call passes (token, partner, time, signature, replay).

mod common;

use bayar_core::CoreConfig;
use bayar_core::testing;
use bayar_snap::PrivateKey;
use chrono::{Duration, Utc};
use common::{B2B_PATH, B2B2C_PATH, STATUS_PATH, TestApp};

/// Request headers as (name, value) pairs.
type Headers = Vec<(String, String)>;

const GRANT: &str = r#"{"grantType":"client_credentials"}"#;

fn without(headers: &[(String, String)], name: &str) -> Vec<(String, String)> {
    headers.iter().filter(|(k, _)| k != name).cloned().collect()
}

fn with(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut h = without(headers, name);
    h.push((name.to_string(), value.to_string()));
    h
}

#[tokio::test]
async fn b2b_token_is_issued_in_the_shape_doku_sdks_parse() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let id = app.merchant.client_id.to_string();
        // Every timestamp form the official SDKs send.
        for ts in [
            TestApp::now(),
            Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            Utc::now().format("%Y-%m-%dT%H:%M:%S-00:00").to_string(),
            Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        ] {
            let headers = app.token_headers(&id, &ts, &app.merchant_key);
            // Python sends additionalInfo "", PHP [], Node and Go nothing.
            for body in [
                GRANT,
                r#"{"grantType": "client_credentials", "additionalInfo": ""}"#,
                r#"{"grantType":"CLIENT_CREDENTIALS","additionalInfo":[]}"#,
            ] {
                let r = app.post(B2B_PATH, &headers, body).await;
                assert_eq!(
                    (r.status, r.code.as_str()),
                    (200, "2007300"),
                    "{} {ts}: {r:?}",
                    app.engine
                );
                assert_eq!(r.message, "Successful");
                assert_eq!(r.body["expiresIn"], 900, "expiresIn must be a number");
                assert_eq!(r.body["tokenType"], "Bearer");
                assert_eq!(r.body["additionalInfo"], "");
                let mut keys: Vec<_> = r.body.as_object().unwrap().keys().cloned().collect();
                keys.sort();
                assert_eq!(
                    keys,
                    [
                        "accessToken",
                        "additionalInfo",
                        "expiresIn",
                        "responseCode",
                        "responseMessage",
                        "tokenType"
                    ]
                );
                assert_eq!(r.headers["x-client-key"], id.as_str());
                let stamp = r.headers["x-timestamp"].to_str().unwrap();
                assert!(stamp.ends_with("+07:00") && stamp.len() == 25, "{stamp}");
            }
        }
    }
}

#[tokio::test]
async fn b2b_token_failures_get_their_snap_codes() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let id = app.merchant.client_id.to_string();
        let good = app.token_headers(&id, &TestApp::now(), &app.merchant_key);
        let stranger = PrivateKey::generate().unwrap();
        let stale = bayar_snap::time::format_jakarta(Utc::now() - Duration::seconds(301));
        let cases: Vec<(&str, Headers, &str, u16, &str, &str)> = vec![
            (
                "no timestamp",
                without(&good, "X-TIMESTAMP"),
                GRANT,
                400,
                "4007302",
                "Invalid Mandatory Field X-TIMESTAMP",
            ),
            (
                "no client key",
                without(&good, "X-CLIENT-KEY"),
                GRANT,
                400,
                "4007302",
                "Invalid Mandatory Field X-CLIENT-KEY",
            ),
            (
                "no signature",
                without(&good, "X-SIGNATURE"),
                GRANT,
                400,
                "4007302",
                "Invalid Mandatory Field X-SIGNATURE",
            ),
            (
                "space for T",
                with(&good, "X-TIMESTAMP", "2026-11-23 10:00:00+07:00"),
                GRANT,
                400,
                "4007301",
                "Invalid Field Format X-TIMESTAMP",
            ),
            (
                "unknown client",
                app.token_headers("BRN-0000-0000000000", &TestApp::now(), &app.merchant_key),
                GRANT,
                401,
                "4017300",
                "Unauthorized. Unknown client",
            ),
            (
                "stale timestamp",
                app.token_headers(&id, &stale, &app.merchant_key),
                GRANT,
                401,
                "4017300",
                "Unauthorized. X-TIMESTAMP outside the allowed window",
            ),
            (
                "another key",
                app.token_headers(&id, &TestApp::now(), &stranger),
                GRANT,
                401,
                "4017300",
                "Unauthorized. Invalid Signature",
            ),
            (
                "hex signature",
                with(
                    &good,
                    "X-SIGNATURE",
                    "85be817c55b2c135157c7e89f52499bf0c25ad6eeebe04a986e8c862561b19a5",
                ),
                GRANT,
                401,
                "4017300",
                "Unauthorized. Invalid Signature",
            ),
            (
                "not json",
                good.clone(),
                "grantType=client_credentials",
                400,
                "4007300",
                "Bad Request",
            ),
            (
                "no grant",
                good.clone(),
                r#"{"additionalInfo":{}}"#,
                400,
                "4007302",
                "Invalid Mandatory Field grantType",
            ),
            (
                "other grant",
                good.clone(),
                r#"{"grantType":"password"}"#,
                400,
                "4007301",
                "Invalid Field Format grantType",
            ),
        ];
        for (name, headers, body, status, code, message) in cases {
            let r = app.post(B2B_PATH, &headers, body).await;
            assert_eq!(
                (r.status, r.code.as_str(), r.message.as_str()),
                (status, code, message),
                "{} {name}",
                app.engine
            );
            assert_eq!(
                r.body.as_object().unwrap().len(),
                2,
                "{name}: error bodies carry two keys only"
            );
        }
        // The signature covers the timestamp: a valid signature with another timestamp fails.
        let replayed = with(
            &good,
            "X-TIMESTAMP",
            &bayar_snap::time::format_jakarta(Utc::now() + Duration::seconds(1)),
        );
        let r = app.post(B2B_PATH, &replayed, GRANT).await;
        assert_eq!(r.code, "4017300", "{}", app.engine);
    }
}

#[tokio::test]
async fn b2b2c_token_requests_are_checked_and_unknown_codes_refused() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let id = app.merchant.client_id.to_string();
        let good = app.token_headers(&id, &TestApp::now(), &app.merchant_key);
        let cases = [
            (
                good.clone(),
                r#"{"grantType":"authorization_code","authCode":"auth-code-123"}"#,
                401,
                "4017400",
            ),
            (
                good.clone(),
                r#"{"grantType":"AUTHORIZATION_CODE","authCode":"x","refreshToken":""}"#,
                401,
                "4017400",
            ),
            (
                good.clone(),
                r#"{"grantType":"refresh_token","refreshToken":"rt-1"}"#,
                401,
                "4017400",
            ),
            (
                good.clone(),
                r#"{"grantType":"authorization_code"}"#,
                400,
                "4007402",
            ),
            (
                good.clone(),
                r#"{"grantType":"refresh_token","refreshToken":null}"#,
                400,
                "4007402",
            ),
            (
                good.clone(),
                r#"{"grantType":"client_credentials","authCode":"x"}"#,
                400,
                "4007401",
            ),
            (
                without(&good, "X-SIGNATURE"),
                r#"{"grantType":"authorization_code","authCode":"x"}"#,
                400,
                "4007402",
            ),
            (
                app.token_headers("BRN-0000-0000000000", &TestApp::now(), &app.merchant_key),
                r#"{"grantType":"authorization_code","authCode":"x"}"#,
                401,
                "4017400",
            ),
        ];
        for (headers, body, status, code) in cases {
            let r = app.post(B2B2C_PATH, &headers, body).await;
            assert_eq!(
                (r.status, r.code.as_str()),
                (status, code),
                "{} {body}: {r:?}",
                app.engine
            );
        }
        let r = app
            .post(B2B2C_PATH, &good, r#"{"grantType":"authorization_code"}"#)
            .await;
        assert_eq!(r.message, "Invalid Mandatory Field authCode");
    }
}

#[tokio::test]
async fn transactional_calls_pass_every_check_in_order() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let token = app.b2b_token().await;
        let body = r#"{"originalPartnerReferenceNo":"INV-404","serviceCode":"55"}"#;
        let good = app.signed_headers(STATUS_PATH, &token, body, "1001");

        // Everything right: the call reaches the business rules.
        let r = app.post(STATUS_PATH, &good, body).await;
        assert_eq!(
            (r.status, r.code.as_str(), r.message.as_str()),
            (404, "4045501", "Transaction Not Found"),
            "{}",
            app.engine
        );

        // The same X-EXTERNAL-ID again the same day: Conflict, whatever else is right.
        let again = app.signed_headers(STATUS_PATH, &token, body, "1001");
        let r = app.post(STATUS_PATH, &again, body).await;
        assert_eq!(
            (r.status, r.code.as_str(), r.message.as_str()),
            (409, "4095500", "Conflict"),
            "{}",
            app.engine
        );

        let other = PrivateKey::generate().unwrap().public_key();
        let stranger = app
            .core
            .create_merchant(bayar_core::merchant::NewMerchant {
                name: bayar_core::merchant::MerchantName::parse("Other").unwrap(),
                notify_url: None,
                public_key: Some(other),
            })
            .await
            .unwrap()
            .merchant;
        let stale = bayar_snap::time::format_jakarta(Utc::now() - Duration::seconds(400));
        let fresh = |n: &str| app.signed_headers(STATUS_PATH, &token, body, n);
        let cases: Vec<(&str, Headers, u16, &str, &str)> = vec![
            (
                "no external id",
                without(&fresh("2001"), "X-EXTERNAL-ID"),
                400,
                "4005502",
                "Invalid Mandatory Field X-EXTERNAL-ID",
            ),
            (
                "no partner id",
                without(&fresh("2002"), "X-PARTNER-ID"),
                400,
                "4005502",
                "Invalid Mandatory Field X-PARTNER-ID",
            ),
            (
                "bad timestamp",
                with(&fresh("2003"), "X-TIMESTAMP", "yesterday"),
                400,
                "4005501",
                "Invalid Field Format X-TIMESTAMP",
            ),
            (
                "long external id",
                fresh(&"9".repeat(65)),
                400,
                "4005501",
                "Invalid Field Format X-EXTERNAL-ID",
            ),
            (
                "no token",
                without(&fresh("2004"), "Authorization"),
                401,
                "4015503",
                "Token Not Found (B2B)",
            ),
            (
                "forged token",
                with(&fresh("2005"), "Authorization", "Bearer b2b.eA.eA"),
                401,
                "4015501",
                "Invalid Token (B2B)",
            ),
            (
                "someone else's partner id",
                with(&fresh("2006"), "X-PARTNER-ID", stranger.client_id.as_str()),
                401,
                "4015500",
                "Unauthorized. X-PARTNER-ID does not match the access token",
            ),
            (
                "stale",
                with(&fresh("2007"), "X-TIMESTAMP", &stale),
                401,
                "4015500",
                "Unauthorized. X-TIMESTAMP outside the allowed window",
            ),
            (
                "tampered signature",
                with(
                    &fresh("2008"),
                    "X-SIGNATURE",
                    &app.signed_headers(STATUS_PATH, &token, "{}", "x")[1].1,
                ),
                401,
                "4015500",
                "Unauthorized. Invalid Signature",
            ),
            (
                "not base64",
                with(
                    &fresh("2009"),
                    "X-SIGNATURE",
                    "85be817c55b2c135157c7e89f52499bf0c25ad6eeebe04a986e8c862561b19a5",
                ),
                401,
                "4015500",
                "Unauthorized. Invalid Signature",
            ),
        ];
        for (name, headers, status, code, message) in cases {
            let r = app.post(STATUS_PATH, &headers, body).await;
            assert_eq!(
                (r.status, r.code.as_str(), r.message.as_str()),
                (status, code, message),
                "{} {name}",
                app.engine
            );
            assert_eq!(r.body.as_object().unwrap().len(), 2, "{name}");
        }
        // Refused calls do not burn their X-EXTERNAL-ID: a correct retry with it succeeds.
        let r = app.post(STATUS_PATH, &fresh("2008"), body).await;
        assert_eq!(r.code, "4045501", "{}", app.engine);

        // The raw token without `Bearer ` (Python and PHP send the customer token that way).
        let bare = with(&fresh("3001"), "Authorization", &token);
        assert_eq!(app.post(STATUS_PATH, &bare, body).await.code, "4045501");

        // A pretty-printed body signed in its compact form (what Python's SDK does) verifies.
        let pretty =
            "{\n  \"originalPartnerReferenceNo\": \"INV-404\",\n  \"serviceCode\": \"55\"\n}";
        let r = app
            .post(
                STATUS_PATH,
                &app.signed_headers(STATUS_PATH, &token, body, "3002"),
                pretty,
            )
            .await;
        assert_eq!(r.code, "4045501", "{}", app.engine);
        // PHP signs unescaped slashes but sends `\/`: the re-serialised form verifies.
        let signed = r#"{"originalPartnerReferenceNo":"INV/404","serviceCode":"55"}"#;
        let sent = r#"{"originalPartnerReferenceNo":"INV\/404","serviceCode":"55"}"#;
        let r = app
            .post(
                STATUS_PATH,
                &app.signed_headers(STATUS_PATH, &token, signed, "3003"),
                sent,
            )
            .await;
        assert_eq!(r.code, "4045501", "{}", app.engine);
    }
}

#[tokio::test]
async fn status_bodies_are_validated_after_the_signature() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let token = app.b2b_token().await;
        let cases = [
            ("not json", 400, "4005500", "Bad Request"),
            (
                r#"{"originalPartnerReferenceNo":"INV-1"}"#,
                400,
                "4005502",
                "Invalid Mandatory Field serviceCode",
            ),
            (
                r#"{"originalPartnerReferenceNo":"INV-1","serviceCode":"99"}"#,
                400,
                "4005501",
                "Invalid Field Format serviceCode",
            ),
            (
                r#"{"serviceCode":"55","originalPartnerReferenceNo":null}"#,
                400,
                "4005502",
                "Invalid Mandatory Field originalPartnerReferenceNo",
            ),
            (
                r#"{"serviceCode":"54","originalReferenceNo":"pay_x"}"#,
                404,
                "4045501",
                "Transaction Not Found",
            ),
        ];
        for (i, (body, status, code, message)) in cases.into_iter().enumerate() {
            let headers = app.signed_headers(STATUS_PATH, &token, body, &format!("40{i}"));
            let r = app.post(STATUS_PATH, &headers, body).await;
            assert_eq!(
                (r.status, r.code.as_str(), r.message.as_str()),
                (status, code, message),
                "{} {body}",
                app.engine
            );
        }
        let long = format!(
            r#"{{"serviceCode":"55","originalPartnerReferenceNo":"{}"}}"#,
            "A".repeat(65)
        );
        let r = app
            .post(
                STATUS_PATH,
                &app.signed_headers(STATUS_PATH, &token, &long, "499"),
                &long,
            )
            .await;
        assert_eq!(r.code, "4005501");
        assert_eq!(r.message, "Invalid Field Format originalPartnerReferenceNo");
    }
}

#[tokio::test]
async fn status_of_a_stored_payment() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let token = app.b2b_token().await;
        let bank = app
            .core
            .create_customer(bayar_core::NewCustomer {
                rail: bayar_core::customer::Rail::Bank,
                phone: bayar_core::customer::PhoneNumber::parse("081277777777").unwrap(),
                pin: bayar_core::customer::Pin::parse("123456").unwrap(),
                opening_balance: bayar_snap::Money::parse("50000.00").unwrap(),
            })
            .await
            .unwrap();
        let paid = app
            .core
            .run(bayar_core::commands::DebitNow {
                payment: bayar_core::commands::CreatePayment {
                    merchant_id: app.merchant.id,
                    partner_reference_no: bayar_core::payment::PartnerReference::parse("INV-7")
                        .unwrap(),
                    external_id: "ext-7".into(),
                    channel: bayar_core::payment::Channel::AlloDirectDebit,
                    face: bayar_core::payment::Face::Doku,
                    amount: bayar_snap::Money::parse("12345.00").unwrap(),
                    valid_until: None,
                    title: None,
                    return_url: None,
                    notify_url: None,
                },
                customer_id: bank.id,
                cust_id_merchant: None,
            })
            .await
            .unwrap()
            .payment;
        let id = paid.id;
        let body = r#"{"originalPartnerReferenceNo":"INV-7","serviceCode":"55"}"#;
        let r = app
            .post(
                STATUS_PATH,
                &app.signed_headers(STATUS_PATH, &token, body, "77"),
                body,
            )
            .await;
        assert_eq!(
            (r.status, r.code.as_str()),
            (200, "2005500"),
            "{} {r:?}",
            app.engine
        );
        assert_eq!(r.body["originalReferenceNo"], id.to_string());
        assert_eq!(r.body["originalExternalId"], "ext-7");
        assert_eq!(r.body["latestTransactionStatus"], "00");
        assert_eq!(r.body["transAmount"]["value"], "12345.00");
        assert_eq!(r.body["serviceCode"], "54");
        assert!(r.body.get("additionalInfo").is_none());
    }
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let store = testing::sqlite().await;
    let app = TestApp::spawn_with(
        store,
        CoreConfig {
            b2b_token_ttl_secs: 1,
            ..CoreConfig::default()
        },
    )
    .await;
    let token = app.b2b_token().await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let body = r#"{"originalPartnerReferenceNo":"INV-1","serviceCode":"55"}"#;
    let r = app
        .post(
            STATUS_PATH,
            &app.signed_headers(STATUS_PATH, &token, body, "1"),
            body,
        )
        .await;
    assert_eq!((r.status, r.code.as_str()), (401, "4015501"));
}

#[tokio::test]
async fn healthz_and_graceful_shutdown() {
    for store in testing::all().await {
        let mut app = TestApp::spawn(store).await;
        let r = app
            .http
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", app.engine);
        assert!(
            r.headers().contains_key("x-request-id"),
            "responses carry a request id"
        );
        app.stop().await;
        assert!(
            app.http
                .get(format!("{}/healthz", app.base))
                .send()
                .await
                .is_err()
        );
    }
}
