//! DANA's widget over HTTP, on every store engine: a wallet user links their DANA wallet on
//! the hosted OAuth page (phone + PIN, three wrong PINs refuse), the merchant applies for
//! customer tokens with the auth code and with the refresh token, reads the wallet balance,
//! creates a widget payment that the user pays on the wallet page, queries, refunds and
//! cancels it on the widget's paths, and finally unbinds, after which the token stops working.
//! Apply OTT: a one-time token brings the bound user to the wallet page already identified.

mod common;

use bayar_core::customer::{Customer, PhoneNumber, Pin, Rail};
use bayar_core::{NewCustomer, testing};
use bayar_snap::Money;
use chrono::{Duration as Span, Utc};
use common::{Reply, TestApp};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

const APPLY_TOKEN: &str = "/v1.0/access-token/b2b2c.htm";
const BALANCE: &str = "/v1.0/balance-inquiry.htm";
const UNBIND: &str = "/v1.0/registration-account-unbinding.htm";
const PAY: &str = "/rest/redirection/v1.0/debit/payment-host-to-host";
const STATUS: &str = "/rest/v1.1/debit/status";
const CANCEL: &str = "/v1.0/debit/cancel.htm";
const REFUND: &str = "/v1.0/debit/refund.htm";
const APPLY_OTT: &str = "/rest/v1.1/qr/apply-ott";
const PIN: &str = "135790";
const REDIRECT: &str = "https://merchant.example/dana/callback?shop=1";

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

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn field(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker).expect("the field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// The OAuth URL dana-python's `Util.generate_oauth_url` builds, with bayar as the host.
fn oauth_url(app: &TestApp, path: &str) -> String {
    let mut url = url::Url::parse(&format!("{}{path}", app.base)).unwrap();
    url.query_pairs_mut()
        .append_pair("partnerId", app.merchant.client_id.as_str())
        .append_pair("scopes", "CASHIER,QUERY_BALANCE,DEFAULT_BASIC_PROFILE")
        .append_pair("externalId", "ext-0001")
        .append_pair("channelId", "95221")
        .append_pair("redirectUrl", REDIRECT)
        .append_pair("timestamp", &TestApp::now())
        .append_pair("state", "st-42")
        .append_pair("isSnapBI", "true");
    url.into()
}

/// The user on the OAuth page, in one browser: opens it, then submits each PIN in turn
/// (carrying the page's hidden fields). Returns each answer's status, `Location` and body.
async fn login(
    app: &TestApp,
    phone: &str,
    pins: &[&str],
) -> Vec<(StatusCode, Option<String>, String)> {
    let browser = browser();
    let page = browser
        .get(oauth_url(app, "/pages/dana/oauth"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let mut html = page.text().await.unwrap();
    assert!(html.contains("Toko Test"), "{html}");
    let mut answers = Vec::new();
    for pin in pins {
        let names = [
            "csrf",
            "attempt",
            "partnerId",
            "redirectUrl",
            "state",
            "scopes",
            "externalId",
        ];
        let mut form: Vec<(String, String)> = names
            .iter()
            .map(|n| (n.to_string(), field(&html, n).replace("&amp;", "&")))
            .collect();
        form.push(("phone".into(), phone.into()));
        form.push(("pin".into(), pin.to_string()));
        let answer = browser
            .post(format!("{}/pages/dana/oauth", app.base))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let location = answer
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        html = answer.text().await.unwrap();
        answers.push((status, location, html.clone()));
    }
    answers
}

/// Logs in with the right PIN and returns the auth code from the redirect.
async fn auth_code(app: &TestApp, phone: &str) -> String {
    let answers = login(app, phone, &[PIN]).await;
    let (status, location, _) = &answers[0];
    assert_eq!(*status, StatusCode::SEE_OTHER, "{}", app.engine);
    let location = url::Url::parse(location.as_deref().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT), "{location}");
    let pairs: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs["state"], "st-42");
    assert_eq!(pairs["shop"], "1");
    pairs["authCode"].clone()
}

async fn apply_token(app: &TestApp, body: &Value) -> Reply {
    let headers = app.token_headers(
        app.merchant.client_id.as_str(),
        &TestApp::now(),
        &app.merchant_key,
    );
    app.post(APPLY_TOKEN, &headers, &body.to_string()).await
}

fn is_dana_time(value: &Value) -> bool {
    value.as_str().is_some_and(|s| {
        s.len() == 25 && s.ends_with("+07:00") && bayar_snap::time::parse_timestamp(s).is_ok()
    })
}

/// A call carrying the customer token in `Authorization-Customer`.
async fn with_customer_token(app: &TestApp, path: &str, token: &str, body: &Value) -> Reply {
    let text = body.to_string();
    let mut headers = app.dana_headers(path, &text, &ulid::Ulid::new().to_string());
    headers.push(("Authorization-Customer".into(), format!("Bearer {token}")));
    headers.push(("X-DEVICE-ID".into(), "device-1".into()));
    app.post(path, &headers, &text).await
}

fn widget_payment(app: &TestApp, reference: &str, value: &str, minutes: i64) -> Value {
    json!({
        "partnerReferenceNo": reference,
        "merchantId": app.merchant.id.to_string(),
        "amount": { "value": value, "currency": "IDR" },
        "validUpTo": bayar_snap::time::format_jakarta(Utc::now() + Span::minutes(minutes)),
        "urlParams": [
            { "url": "https://merchant.example/return", "type": "PAY_RETURN", "isDeeplink": "N" },
            { "url": "https://merchant.example/notify", "type": "NOTIFICATION", "isDeeplink": "N" }
        ],
        "additionalInfo": {
            "productCode": "51051000100000000001",
            "mcc": "5732",
            "order": { "orderTitle": "Kopi susu" },
            "envInfo": { "sourcePlatform": "IPG", "terminalType": "SYSTEM" }
        }
    })
}

#[tokio::test]
async fn a_wallet_is_linked_used_and_unlinked() {
    for store in testing::all().await {
        let mut app = TestApp::spawn(store).await;
        let customer = wallet(&app, "081366660001", "100000.00").await;

        // DANA's own OAuth address (the SDK's URL with the host replaced) leads to the page.
        let hop = browser()
            .get(oauth_url(&app, "/v1.0/get-auth-code"))
            .send()
            .await
            .unwrap();
        assert_eq!(hop.status(), StatusCode::SEE_OTHER);
        let to = hop.headers()["location"].to_str().unwrap();
        assert!(to.starts_with("/pages/dana/oauth?partnerId="), "{to}");

        let code = auth_code(&app, "081366660001").await;
        let t = apply_token(
            &app,
            &json!({ "grantType": "AUTHORIZATION_CODE", "authCode": code, "additionalInfo": {} }),
        )
        .await;
        assert_eq!((t.status, t.code.as_str()), (200, "2007400"), "{t:?}");
        assert_eq!(t.body["tokenType"], "Bearer");
        assert!(is_dana_time(&t.body["accessTokenExpiryTime"]));
        assert!(is_dana_time(&t.body["refreshTokenExpiryTime"]));
        assert_eq!(
            t.body["additionalInfo"]["userInfo"]["publicUserId"],
            customer.id.to_string()
        );
        let access = t.body["accessToken"].as_str().unwrap().to_string();
        let refresh = t.body["refreshToken"].as_str().unwrap().to_string();

        // An auth code is exchanged once.
        let used = apply_token(
            &app,
            &json!({ "grantType": "AUTHORIZATION_CODE", "authCode": code }),
        )
        .await;
        assert_eq!(
            (used.status, used.code.as_str()),
            (401, "4017400"),
            "{used:?}"
        );

        // The refresh token gives a fresh access token; nonsense does not.
        let r = apply_token(
            &app,
            &json!({ "grantType": "REFRESH_TOKEN", "refreshToken": refresh }),
        )
        .await;
        assert_eq!(r.code, "2007400", "{r:?}");
        for bad in [
            json!({ "grantType": "AUTHORIZATION_CODE", "authCode": "not-a-code" }),
            json!({ "grantType": "REFRESH_TOKEN", "refreshToken": "cus.nope" }),
        ] {
            let refused = apply_token(&app, &bad).await;
            assert_eq!((refused.status, refused.code.as_str()), (401, "4017400"));
        }
        // A bad signature is refused the same way.
        let mut headers = app.token_headers(
            app.merchant.client_id.as_str(),
            &TestApp::now(),
            &app.merchant_key,
        );
        headers[2].1 = "AAAA".into();
        let forged = app
            .post(
                APPLY_TOKEN,
                &headers,
                &json!({ "grantType": "AUTHORIZATION_CODE", "authCode": code }).to_string(),
            )
            .await;
        assert_eq!((forged.status, forged.code.as_str()), (401, "4017400"));

        // Balance, with the token in the header and in the body.
        let b = with_customer_token(&app, BALANCE, &access, &json!({})).await;
        assert_eq!((b.status, b.code.as_str()), (200, "2001100"), "{b:?}");
        assert_eq!(b.body["accountInfos"][0]["balanceType"], "BALANCE");
        assert_eq!(
            b.body["accountInfos"][0]["availableBalance"]["value"],
            "100000.00"
        );
        let in_body = app
            .dana_post(
                BALANCE,
                &json!({ "partnerReferenceNo": "BAL-1",
                    "additionalInfo": { "accessToken": access, "deviceId": "device-1" } }),
            )
            .await;
        assert_eq!(in_body.code, "2001100", "{in_body:?}");
        assert_eq!(in_body.body["partnerReferenceNo"], "BAL-1");
        let none = app.dana_post(BALANCE, &json!({})).await;
        assert_eq!((none.status, none.code.as_str()), (401, "4011104"));

        // A widget payment, paid on the wallet page, queried and refunded.
        let p = app
            .dana_post(PAY, &widget_payment(&app, "WG-0001", "25000.00", 10))
            .await;
        assert_eq!((p.status, p.code.as_str()), (200, "2005400"), "{p:?}");
        assert_eq!(p.body["partnerReferenceNo"], "WG-0001");
        let reference_no = p.body["referenceNo"].as_str().unwrap().to_string();
        let url = p.body["webRedirectUrl"].as_str().unwrap().to_string();
        assert_eq!(
            url,
            format!(
                "{}/pages/dana/pay/{reference_no}?bizNo={reference_no}",
                app.base
            )
        );
        let payer = browser();
        let html = payer.get(&url).send().await.unwrap().text().await.unwrap();
        let csrf = field(&html, "csrf");
        let paid = payer
            .post(format!("{}/pay", url.split('?').next().unwrap()))
            .form(&[("phone", "081366660001"), ("pin", PIN), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(paid.status(), StatusCode::SEE_OTHER);
        let q = app
            .dana_post(
                STATUS,
                &json!({ "originalPartnerReferenceNo": "WG-0001", "serviceCode": "54",
                    "merchantId": app.merchant.id.to_string() }),
            )
            .await;
        assert_eq!(q.code, "2005500", "{q:?}");
        assert_eq!(q.body["latestTransactionStatus"], "00");
        let refund = app
            .dana_post(
                REFUND,
                &json!({ "merchantId": app.merchant.id.to_string(),
                    "originalPartnerReferenceNo": "WG-0001", "partnerRefundNo": "WG-RF-1",
                    "refundAmount": { "value": "5000.00", "currency": "IDR" },
                    "additionalInfo": { "envInfo": { "terminalType": "SYSTEM" } } }),
            )
            .await;
        assert_eq!(refund.code, "2005800", "{refund:?}");
        let b = with_customer_token(&app, BALANCE, &access, &json!({})).await;
        assert_eq!(
            b.body["accountInfos"][0]["amount"]["value"], "80000.00",
            "{b:?}"
        );

        // Another widget payment, cancelled by the merchant.
        let p2 = app
            .dana_post(PAY, &widget_payment(&app, "WG-0002", "1000.00", 5))
            .await;
        assert_eq!(p2.code, "2005400", "{p2:?}");
        let c = app
            .dana_post(
                CANCEL,
                &json!({ "originalPartnerReferenceNo": "WG-0002",
                    "merchantId": app.merchant.id.to_string() }),
            )
            .await;
        assert_eq!(c.code, "2005700", "{c:?}");

        // Unbinding ends the token at once.
        let u = with_customer_token(
            &app,
            UNBIND,
            &access,
            &json!({ "merchantId": app.merchant.id.to_string(),
                "additionalInfo": { "accessToken": access, "deviceId": "device-1" } }),
        )
        .await;
        assert_eq!((u.status, u.code.as_str()), (200, "2000900"), "{u:?}");
        let after = with_customer_token(&app, BALANCE, &access, &json!({})).await;
        assert_eq!((after.status, after.code.as_str()), (401, "4011102"));
        let again = apply_token(
            &app,
            &json!({ "grantType": "AUTHORIZATION_CODE", "authCode": code }),
        )
        .await;
        assert_eq!(again.code, "4017400");
        assert!(app.core.verify_ledger().await.unwrap().is_empty());
        app.stop().await;
    }
}

#[tokio::test]
async fn the_oauth_page_refuses_wrong_logins() {
    for store in testing::all().await {
        let mut app = TestApp::spawn(store).await;
        wallet(&app, "081366660002", "1000.00").await;

        // An unknown phone number is told the same as a wrong PIN, without counting.
        let unknown = login(&app, "081399999999", &[PIN]).await;
        assert_eq!(unknown[0].0, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(unknown[0].2.contains("phone number or PIN is wrong"));

        // Two wrong PINs leave one try; the right one then links.
        let answers = login(&app, "081366660002", &["000000", "111111", PIN]).await;
        assert_eq!(answers[0].0, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(answers[0].2.contains("2 tries left"), "{}", answers[0].2);
        assert!(answers[1].2.contains("1 try left"), "{}", answers[1].2);
        assert_eq!(answers[2].0, StatusCode::SEE_OTHER, "{}", app.engine);
        assert!(answers[2].1.as_deref().unwrap().contains("authCode="));

        // Three wrong PINs refuse.
        let locked = login(&app, "081366660002", &["000000", "111111", "222222"]).await;
        assert_eq!(locked[2].0, StatusCode::FORBIDDEN);
        assert!(locked[2].2.contains("too many times"));

        // A link that names no merchant or no usable redirect is no page.
        let bad = browser()
            .get(format!(
                "{}/pages/dana/oauth?partnerId=nobody&redirectUrl=https://x.example/",
                app.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::NOT_FOUND);
        let no_redirect = browser()
            .get(format!(
                "{}/pages/dana/oauth?partnerId={}&redirectUrl=javascript:alert(1)",
                app.base, app.merchant.client_id
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(no_redirect.status(), StatusCode::NOT_FOUND);

        // A widget payment's deadline is at most 15 minutes ahead (plus the clock skew
        // allowed), stricter than the gateway's 30.
        let late = app
            .dana_post(PAY, &widget_payment(&app, "WG-LATE", "1000.00", 25))
            .await;
        assert_eq!(
            (late.status, late.code.as_str()),
            (400, "4005401"),
            "{late:?}"
        );
        let mut bare = widget_payment(&app, "WG-BARE", "1000.00", 5);
        bare["additionalInfo"]
            .as_object_mut()
            .unwrap()
            .remove("productCode");
        let missing = app.dana_post(PAY, &bare).await;
        assert_eq!(missing.code, "4005402", "{missing:?}");
        app.stop().await;
    }
}

/// Applies for a one-time token with `body` and the customer token in `Authorization-Customer`.
async fn apply_ott(app: &TestApp, token: &str, body: &Value) -> Reply {
    with_customer_token(app, APPLY_OTT, token, body).await
}

/// Opens a wallet page in a fresh browser: the page's status, its HTML, and the browser (which
/// keeps the page's CSRF cookie).
async fn open_page(url: &str) -> (StatusCode, String, reqwest::Client) {
    let browser = browser();
    let page = browser.get(url).send().await.unwrap();
    let status = page.status();
    (status, page.text().await.unwrap(), browser)
}

#[tokio::test]
async fn a_one_time_token_brings_the_bound_wallet_to_the_payment_page() {
    for store in testing::all().await {
        let mut app = TestApp::spawn(store).await;
        let customer = wallet(&app, "081366660021", "50000.00").await;
        let code = auth_code(&app, "081366660021").await;
        let t = apply_token(
            &app,
            &json!({ "grantType": "AUTHORIZATION_CODE", "authCode": code }),
        )
        .await;
        let access = t.body["accessToken"].as_str().unwrap().to_string();
        let ott_request = json!({ "userResources": ["OTT"],
            "additionalInfo": { "accessToken": access, "deviceId": "device-1" } });

        // Refusals name the field; nothing is issued.
        for (body, code, message) in [
            (
                json!({ "additionalInfo": { "accessToken": access, "deviceId": "d" } }),
                "4004902",
                "Invalid Mandatory Field userResources",
            ),
            (
                json!({ "userResources": [], "additionalInfo": { "deviceId": "d" } }),
                "4004902",
                "Invalid Mandatory Field userResources",
            ),
            (
                json!({ "userResources": ["BALANCE"], "additionalInfo": { "deviceId": "d" } }),
                "4004901",
                "Invalid Field Format userResources",
            ),
            (
                json!({ "userResources": "OTT", "additionalInfo": { "deviceId": "d" } }),
                "4004901",
                "Invalid Field Format userResources",
            ),
            (
                json!({ "userResources": ["OTT"], "additionalInfo": { "accessToken": access } }),
                "4004902",
                "Invalid Mandatory Field additionalInfo.deviceId",
            ),
        ] {
            let refused = apply_ott(&app, &access, &body).await;
            assert_eq!(
                (
                    refused.status,
                    refused.code.as_str(),
                    refused.message.as_str()
                ),
                (400, code, message),
                "{body}"
            );
        }
        let no_token = app
            .dana_post(
                APPLY_OTT,
                &json!({ "userResources": ["OTT"],
            "additionalInfo": { "deviceId": "d" } }),
            )
            .await;
        assert_eq!((no_token.status, no_token.code.as_str()), (401, "4014904"));
        let bad_token = apply_ott(
            &app,
            "cus.nope",
            &json!({ "userResources": ["OTT"],
            "additionalInfo": { "deviceId": "d" } }),
        )
        .await;
        assert_eq!(
            (bad_token.status, bad_token.code.as_str()),
            (401, "4014902")
        );

        let issued = apply_ott(&app, &access, &ott_request).await;
        assert_eq!(
            (issued.status, issued.code.as_str()),
            (200, "2004900"),
            "{issued:?}"
        );
        assert_eq!(issued.body["userResources"][0]["resourceType"], "OTT");
        let ott = issued.body["userResources"][0]["value"]
            .as_str()
            .unwrap()
            .to_string();
        // dana-python's model allows 128 characters; the token goes in a URL as it is.
        assert!(
            ott.len() <= 128 && ott.chars().all(|c| c.is_ascii_alphanumeric()),
            "{ott}"
        );
        let second = apply_ott(&app, &access, &ott_request).await;
        assert_ne!(second.body["userResources"][0]["value"], ott.as_str());

        // The page with the token: the wallet named (masked), only the PIN asked for.
        let p = app
            .dana_post(PAY, &widget_payment(&app, "WG-OTT-1", "12000.00", 10))
            .await;
        let url = p.body["webRedirectUrl"].as_str().unwrap().to_string();
        let (status, html, payer) = open_page(&format!("{url}&ott={ott}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"id="masked-phone""#), "{html}");
        assert!(html.contains("+62 813-****-0021"), "{html}");
        assert!(!html.contains(r#"type="tel""#), "no phone to type: {html}");
        assert_eq!(field(&html, "phone"), "6281366660021");
        let paid = payer
            .post(format!("{}/pay", url.split('?').next().unwrap()))
            .form(&[
                ("phone", field(&html, "phone")),
                ("pin", PIN.into()),
                ("csrf", field(&html, "csrf")),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(paid.status(), StatusCode::SEE_OTHER);
        let to = paid.headers()["location"].to_str().unwrap();
        assert!(
            to.starts_with("https://merchant.example/return?") && to.contains("status=SUCCESS"),
            "{to}"
        );

        // Used once: the same token on another payment gets the ordinary login form.
        let p2 = app
            .dana_post(PAY, &widget_payment(&app, "WG-OTT-2", "1000.00", 10))
            .await;
        let url2 = p2.body["webRedirectUrl"].as_str().unwrap().to_string();
        let (status, html, _) = open_page(&format!("{url2}&ott={ott}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains(r#"id="error""#) && html.contains("already used"),
            "{html}"
        );
        assert!(html.contains(r#"type="tel""#));
        assert!(!html.contains(r#"id="masked-phone""#));
        // Nonsense is no token either.
        let (_, html, _) = open_page(&format!("{url2}&ott=not-a-token")).await;
        assert!(html.contains("already used") && !html.contains("masked-phone"));

        // Another merchant's page does not accept (nor use up) this merchant's token.
        let other = app
            .core
            .create_merchant(bayar_core::merchant::NewMerchant {
                name: bayar_core::merchant::MerchantName::parse("Toko Lain").unwrap(),
                notify_url: None,
                public_key: None,
            })
            .await
            .unwrap()
            .merchant;
        let third = apply_ott(&app, &access, &ott_request).await;
        let third = third.body["userResources"][0]["value"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(matches!(
            app.core.redeem_one_time_token(other.id, &third).await,
            Err(bayar_core::CoreError::InvalidCustomerToken)
        ));
        let (_, html, _) = open_page(&format!("{url2}&ott={third}")).await;
        assert!(
            html.contains(r#"id="masked-phone""#),
            "still unused: {html}"
        );

        // After unbinding, no token is issued, and an unused one stops working.
        let unused = apply_ott(&app, &access, &ott_request).await;
        let unused = unused.body["userResources"][0]["value"]
            .as_str()
            .unwrap()
            .to_string();
        let u = with_customer_token(
            &app,
            UNBIND,
            &access,
            &json!({ "merchantId": app.merchant.id.to_string(),
                "additionalInfo": { "accessToken": access, "deviceId": "device-1" } }),
        )
        .await;
        assert_eq!(u.code, "2000900", "{u:?}");
        let after = apply_ott(&app, &access, &ott_request).await;
        assert_eq!((after.status, after.code.as_str()), (401, "4014902"));
        let (_, html, _) = open_page(&format!("{url2}&ott={unused}")).await;
        assert!(html.contains("already used") && !html.contains("masked-phone"));

        let balance = app.core.balance(&customer.account).await.unwrap().unwrap();
        assert_eq!(balance.posted, 3_800_000);
        assert!(app.core.verify_ledger().await.unwrap().is_empty());
        app.stop().await;
    }
}

const PROFILE: &str = "/dana/member/query/queryUserProfile.htm";
const PROFILE_FN: &str = "dana.member.query.queryUserProfile";

#[tokio::test]
async fn the_user_profile_shows_the_bound_wallet_and_magic_amounts_refuse() {
    for store in testing::all().await {
        let mut app = TestApp::spawn(store).await;
        wallet(&app, "081366660031", "7500.00").await;
        let code = auth_code(&app, "081366660031").await;
        let t = apply_token(
            &app,
            &json!({ "grantType": "AUTHORIZATION_CODE", "authCode": code }),
        )
        .await;
        let access = t.body["accessToken"].as_str().unwrap().to_string();
        let profile = |resources: Value, token: &str| {
            app.dana_open_api(
                PROFILE_FN,
                &json!({ "userResources": resources, "accessToken": token }),
            )
        };

        let (http, reply) = app
            .post_open_api(
                PROFILE,
                &profile(json!(["BALANCE", "MASK_DANA_ID"]), &access),
            )
            .await;
        assert_eq!(http, 200);
        assert_eq!(reply["response"]["head"]["function"], PROFILE_FN, "{reply}");
        let body = &reply["response"]["body"];
        assert_eq!(body["resultInfo"]["resultStatus"], "S", "{reply}");
        assert_eq!(body["userResourceInfos"][0]["resourceType"], "BALANCE");
        let balance: Value =
            serde_json::from_str(body["userResourceInfos"][0]["value"].as_str().unwrap()).unwrap();
        assert_eq!(balance, json!({ "amount": "7500.00", "currency": "IDR" }));
        assert_eq!(body["userResourceInfos"][1]["resourceType"], "MASK_DANA_ID");
        assert_eq!(body["userResourceInfos"][1]["value"], "0813****0031");

        // Sandbox: a widget payment's amount can spell the refusal; nothing is recorded.
        for (value, status, code) in [
            ("505401.00", 500, "5005401"),
            ("435415.00", 403, "4035415"),
            ("21000000.00", 403, "4035402"),
        ] {
            let r = app
                .dana_post(PAY, &widget_payment(&app, "WG-MAGIC", value, 5))
                .await;
            assert_eq!((r.status, r.code.as_str()), (status, code), "{r:?}");
            assert_eq!(r.body["partnerReferenceNo"], "WG-MAGIC");
        }
        let real = app
            .dana_post(PAY, &widget_payment(&app, "WG-MAGIC", "1000.00", 5))
            .await;
        assert_eq!(
            real.code, "2005400",
            "the reference stayed unused: {real:?}"
        );

        // What bayar does not hold, and a token that is not one, are refused by name.
        for (resources, token, field) in [
            (json!(["KTP_NUMBER"]), access.as_str(), "userResources"),
            (json!([]), access.as_str(), "userResources"),
            (json!(["BALANCE"]), "cus.nope", "accessToken"),
        ] {
            let (http, reply) = app.post_open_api(PROFILE, &profile(resources, token)).await;
            assert_eq!(http, 200);
            let info = &reply["response"]["body"]["resultInfo"];
            assert_eq!(
                (info["resultStatus"].as_str(), info["resultCode"].as_str()),
                (Some("F"), Some("PARAM_ILLEGAL")),
                "{reply}"
            );
            assert_eq!(info["resultMsg"], format!("Illegal parameter {field}"));
        }
        app.stop().await;
    }
}
