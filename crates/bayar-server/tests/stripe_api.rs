//! The Stripe-style API over HTTP, on every store engine: secret keys (Bearer and Basic),
//! form and JSON bodies, payment intents paid on the hosted wallet page and sent back to
//! `return_url` the way Stripe does, refunds (one per DANA payment), cursor pagination,
//! `Idempotency-Key` replay and mismatch, limits, unknown parameters, wrong keys and another
//! merchant's objects (404), and checkout sessions paid through the checkout and wallet pages.
//! Balances are checked to the sen and the ledger verified.

mod common;

use bayar_core::customer::{Customer, PhoneNumber, Pin, Rail};
use bayar_core::ledger::AccountId;
use bayar_core::merchant::{MerchantName, NewMerchant};
use bayar_core::{NewCustomer, testing};
use bayar_snap::Money;
use common::TestApp;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

const PIN: &str = "246810";

/// A form body: names and values, in order.
type Form<'a> = Vec<(&'a str, &'a str)>;
const RETURN_URL: &str = "https://shop.example/checkout/done?order=7";

/// A merchant with its secret key.
async fn merchant(app: &TestApp, name: &str) -> (bayar_core::ids::MerchantId, String) {
    let created = app
        .core
        .create_merchant(NewMerchant {
            name: MerchantName::parse(name).unwrap(),
            notify_url: None,
            public_key: None,
        })
        .await
        .unwrap();
    (created.merchant.id, created.secret_key.expose().to_string())
}

/// A reply: status, body, headers.
struct Answer {
    status: StatusCode,
    body: Value,
    replayed: bool,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let body = response.json().await.unwrap();
    Answer {
        status,
        body,
        replayed,
    }
}

async fn post_form(app: &TestApp, key: &str, path: &str, form: &[(&str, &str)]) -> Answer {
    send(
        app.http
            .post(format!("{}{path}", app.base))
            .bearer_auth(key)
            .form(form),
    )
    .await
}

async fn get(app: &TestApp, key: &str, path: &str) -> Answer {
    send(app.http.get(format!("{}{path}", app.base)).bearer_auth(key)).await
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

/// The customer on the hosted wallet page: logs in and pays, then follows the redirects back
/// to the merchant; returns the final `Location` (the merchant's return URL).
async fn pay_on_page(url: &str, phone: &str) -> String {
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
        .post(format!("{url}/pay"))
        .form(&[("phone", phone), ("pin", PIN), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    let back = paid.headers()["location"].to_str().unwrap().to_string();
    // The wallet page returns to bayar's Stripe return route, which sends the browser on.
    let on = browser.get(&back).send().await.unwrap();
    assert_eq!(on.status(), StatusCode::SEE_OTHER, "{back}");
    on.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn an_intent_is_confirmed_paid_on_the_wallet_page_and_refunded_once() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let engine = app.engine;
        let (merchant_id, key) = merchant(&app, "Toko Stripe").await;
        let customer = wallet(&app, "081234500001", "100000.00").await;

        // The seed's request, as JSON.
        let created = send(
            app.http
                .post(format!("{}/v1/payment_intents", app.base))
                .bearer_auth(&key)
                .json(&json!({
                    "amount": 20000,
                    "currency": "IDR",
                    "confirm": true,
                    "payment_method_data": {"type": "dana"},
                    "return_url": RETURN_URL,
                    "metadata": {"order": "7"},
                })),
        )
        .await;
        assert_eq!(created.status, StatusCode::OK, "{engine}: {}", created.body);
        let pi = &created.body;
        let id = pi["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("pi_"), "{engine}");
        assert_eq!(pi["object"], "payment_intent");
        assert_eq!(pi["amount"], 20000);
        assert_eq!(pi["currency"], "IDR");
        assert_eq!(pi["status"], "requires_action");
        assert_eq!(pi["livemode"], false);
        assert_eq!(pi["capture_method"], "automatic");
        assert_eq!(pi["confirmation_method"], "automatic");
        assert_eq!(pi["metadata"]["order"], "7");
        assert!(pi["payment_method"].as_str().unwrap().starts_with("pm_"));
        let secret = pi["client_secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with(&format!("{id}_secret_")), "{engine}");
        assert_eq!(pi["next_action"]["type"], "redirect_to_url");
        let wallet_url = pi["next_action"]["redirect_to_url"]["url"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(pi["next_action"]["dana_handle_redirect"]["url"], wallet_url);
        assert!(wallet_url.starts_with(&format!("{}/pages/dana/pay/pay_", app.base)));

        // The customer pays; the browser lands on return_url with Stripe's query.
        let landed = pay_on_page(&wallet_url, "081234500001").await;
        let landed = url::Url::parse(&landed).unwrap();
        assert_eq!(landed.path(), "/checkout/done", "{engine}");
        let query: std::collections::HashMap<_, _> = landed.query_pairs().into_owned().collect();
        assert_eq!(query["order"], "7");
        assert_eq!(query["payment_intent"], id);
        assert_eq!(query["payment_intent_client_secret"], secret);
        assert_eq!(query["redirect_status"], "succeeded");

        let paid = get(&app, &key, &format!("/v1/payment_intents/{id}")).await;
        assert_eq!(paid.body["status"], "succeeded", "{engine}");
        assert_eq!(paid.body["amount_received"], 20000);
        assert_eq!(paid.body["next_action"], Value::Null);
        // Rp 20,000 left the Rp 100,000 wallet; the merchant got it less the 1.5% fee.
        assert_eq!(posted(&app, &customer.account).await, 8_000_000, "{engine}");
        assert_eq!(
            posted(&app, &AccountId::merchant_available(&merchant_id)).await,
            1_970_000
        );

        // A partial refund, then no second one (DANA: no multiple partial refunds).
        let refund = post_form(
            &app,
            &key,
            "/v1/refunds",
            &[
                ("payment_intent", &id),
                ("amount", "5000"),
                ("reason", "requested_by_customer"),
            ],
        )
        .await;
        assert_eq!(refund.status, StatusCode::OK, "{engine}: {}", refund.body);
        let re = refund.body["id"].as_str().unwrap().to_string();
        assert!(re.starts_with("re_"));
        assert_eq!(refund.body["object"], "refund");
        assert_eq!(refund.body["amount"], 5000);
        assert_eq!(refund.body["payment_intent"], id);
        assert_eq!(refund.body["status"], "succeeded");
        let again = post_form(&app, &key, "/v1/refunds", &[("payment_intent", &id)]).await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST, "{engine}");
        assert_eq!(again.body["error"]["code"], "charge_already_refunded");
        assert_eq!(posted(&app, &customer.account).await, 8_500_000, "{engine}");

        let fetched = get(&app, &key, &format!("/v1/refunds/{re}")).await;
        assert_eq!(fetched.body, refund.body, "{engine}");
        let listed = get(&app, &key, "/v1/refunds?limit=5").await;
        assert_eq!(listed.body["object"], "list");
        assert_eq!(listed.body["data"][0]["id"], re.as_str());
        assert_eq!(listed.body["has_more"], false);

        let breaches = app.core.verify_ledger().await.unwrap();
        assert!(breaches.is_empty(), "{engine}: {breaches:?}");
    }
}

#[tokio::test]
async fn intents_confirm_cancel_and_list_with_cursors() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let engine = app.engine;
        let (_, key) = merchant(&app, "Toko Stripe").await;

        // Form-encoded, as Stripe's libraries send it: not confirmed yet.
        let open = post_form(
            &app,
            &key,
            "/v1/payment_intents",
            &[
                ("amount", "100"),
                ("currency", "idr"),
                ("payment_method_types[0]", "dana"),
            ],
        )
        .await;
        assert_eq!(open.status, StatusCode::OK, "{engine}: {}", open.body);
        assert_eq!(open.body["status"], "requires_payment_method");
        let id = open.body["id"].as_str().unwrap().to_string();
        let confirm_path = format!("/v1/payment_intents/{id}/confirm");
        // Confirming needs a payment method, then a return URL.
        let bare = post_form(&app, &key, &confirm_path, &[]).await;
        assert_eq!(bare.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            bare.body["error"]["code"],
            "payment_intent_unexpected_state"
        );
        let no_return = post_form(
            &app,
            &key,
            &confirm_path,
            &[("payment_method_data[type]", "dana")],
        )
        .await;
        assert_eq!(no_return.body["error"]["param"], "return_url", "{engine}");
        let confirmed = post_form(
            &app,
            &key,
            &confirm_path,
            &[
                ("payment_method_data[type]", "dana"),
                ("return_url", RETURN_URL),
            ],
        )
        .await;
        assert_eq!(
            confirmed.body["status"], "requires_action",
            "{engine}: {}",
            confirmed.body
        );
        let canceled =
            post_form(&app, &key, &format!("/v1/payment_intents/{id}/cancel"), &[]).await;
        assert_eq!(
            canceled.body["status"], "canceled",
            "{engine}: {}",
            canceled.body
        );
        let twice = post_form(&app, &key, &format!("/v1/payment_intents/{id}/cancel"), &[]).await;
        assert_eq!(
            twice.body["error"]["code"],
            "payment_intent_unexpected_state"
        );
        // The wallet page no longer takes it.
        let wallet_url = confirmed.body["next_action"]["redirect_to_url"]["url"]
            .as_str()
            .unwrap();
        let page = reqwest::get(wallet_url)
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(r#"data-status="cancelled""#), "{engine}");

        // Five more; page through all six two at a time, both ways.
        let mut ids = vec![id];
        for amount in ["200", "300", "400", "500", "600"] {
            let made = post_form(
                &app,
                &key,
                "/v1/payment_intents",
                &[("amount", amount), ("currency", "IDR")],
            )
            .await;
            ids.push(made.body["id"].as_str().unwrap().to_string());
        }
        ids.sort();
        ids.reverse();
        let mut seen = Vec::new();
        let mut path = "/v1/payment_intents?limit=2".to_string();
        loop {
            let page = get(&app, &key, &path).await;
            assert_eq!(page.body["url"], "/v1/payment_intents");
            let data = page.body["data"].as_array().unwrap();
            seen.extend(data.iter().map(|i| i["id"].as_str().unwrap().to_string()));
            if page.body["has_more"] == false {
                break;
            }
            path = format!(
                "/v1/payment_intents?limit=2&starting_after={}",
                seen.last().unwrap()
            );
        }
        assert_eq!(seen, ids, "{engine}");
        let before = get(
            &app,
            &key,
            &format!("/v1/payment_intents?limit=2&ending_before={}", ids[4]),
        )
        .await;
        let back: Vec<&str> = before.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(back, [ids[2].as_str(), ids[3].as_str()], "{engine}");
        assert_eq!(before.body["has_more"], true);
        let both = get(
            &app,
            &key,
            &format!(
                "/v1/payment_intents?starting_after={}&ending_before={}",
                ids[0], ids[1]
            ),
        )
        .await;
        assert_eq!(both.status, StatusCode::BAD_REQUEST);
        let big = get(&app, &key, "/v1/payment_intents?limit=101").await;
        assert_eq!(big.body["error"]["param"], "limit");
    }
}

/// Makes every stored idempotency key `millis` older.
async fn age_keys(app: &TestApp, millis: i64) {
    run_sql(
        app,
        "UPDATE idempotency SET created_at = created_at - $1",
        millis,
    )
    .await;
}

/// Runs `sql` with its one parameter `$1` on the app's database: how a test lets time pass.
async fn run_sql(app: &TestApp, sql: &str, millis: i64) {
    match &app.store.store {
        bayar_core::store::Store::Sqlite { writer, .. } => {
            sqlx::query(sql).bind(millis).execute(writer).await.unwrap();
        }
        bayar_core::store::Store::Postgres(pool) => {
            sqlx::query(sql).bind(millis).execute(pool).await.unwrap();
        }
    }
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer_and_refuse_other_parameters() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let engine = app.engine;
        let (_, key) = merchant(&app, "Toko Stripe").await;
        let create = |form: Vec<(&'static str, &'static str)>, idem: &'static str| {
            app.http
                .post(format!("{}/v1/payment_intents", app.base))
                .bearer_auth(&key)
                .header("Idempotency-Key", idem)
                .form(&form)
        };
        let params = vec![
            ("amount", "1500"),
            ("currency", "idr"),
            ("metadata[a]", "b"),
        ];
        let first = send(create(params.clone(), "key-1")).await;
        assert_eq!(first.status, StatusCode::OK, "{engine}: {}", first.body);
        assert!(!first.replayed);
        let second = send(create(params.clone(), "key-1")).await;
        assert!(second.replayed, "{engine}");
        assert_eq!(second.body, first.body, "{engine}");
        // The same parameters as JSON are the same request.
        let as_json = send(
            app.http
                .post(format!("{}/v1/payment_intents", app.base))
                .bearer_auth(&key)
                .header("Idempotency-Key", "key-1")
                .json(&json!({"amount": 1500, "currency": "idr", "metadata": {"a": "b"}})),
        )
        .await;
        assert_eq!(as_json.body["id"], first.body["id"], "{engine}");
        let other = send(create(
            vec![("amount", "1600"), ("currency", "idr")],
            "key-1",
        ))
        .await;
        assert_eq!(other.status, StatusCode::BAD_REQUEST, "{engine}");
        assert_eq!(other.body["error"]["type"], "idempotency_error");
        let list = get(&app, &key, "/v1/payment_intents").await;
        assert_eq!(
            list.body["data"].as_array().unwrap().len(),
            1,
            "{engine}: one intent made"
        );
        // After 24 hours a key is forgotten: used again, it runs afresh.
        age_keys(&app, 24 * 3_600_000 + 1).await;
        let later = send(create(
            vec![("amount", "1600"), ("currency", "idr")],
            "key-1",
        ))
        .await;
        assert_eq!(later.status, StatusCode::OK, "{engine}: {}", later.body);
        assert_ne!(later.body["id"], first.body["id"]);
        // A refused request stores nothing: the key is still free for a good one.
        let refused = send(create(vec![("amount", "1"), ("currency", "idr")], "key-2")).await;
        assert_eq!(refused.body["error"]["code"], "amount_too_small");
        let good = send(create(
            vec![("amount", "1700"), ("currency", "idr")],
            "key-2",
        ))
        .await;
        assert_eq!(good.status, StatusCode::OK, "{engine}");
    }
}

#[tokio::test]
async fn bad_input_limits_keys_and_other_merchants() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let engine = app.engine;
        let (_, key) = merchant(&app, "Toko Stripe").await;
        let (_, other_key) = merchant(&app, "Toko Lain").await;
        let refusal = |a: &Answer| {
            (
                a.status,
                a.body["error"]["type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                a.body["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                a.body["error"]["param"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        };
        let cases: Vec<(Form, &str, &str)> = vec![
            (vec![("currency", "idr")], "parameter_missing", "amount"),
            (
                vec![("amount", "99"), ("currency", "idr")],
                "amount_too_small",
                "amount",
            ),
            (
                vec![("amount", "300000001"), ("currency", "idr")],
                "amount_too_large",
                "amount",
            ),
            (
                vec![("amount", "1.5"), ("currency", "idr")],
                "parameter_invalid_integer",
                "amount",
            ),
            (
                vec![("amount", "100"), ("currency", "usd")],
                "invalid_currency",
                "currency",
            ),
            (vec![("amount", "100")], "parameter_missing", "currency"),
            (
                vec![("amount", "100"), ("currency", "idr"), ("colour", "red")],
                "parameter_unknown",
                "colour",
            ),
            (
                vec![
                    ("amount", "100"),
                    ("currency", "idr"),
                    ("payment_method_data[type]", "dana"),
                    ("payment_method_data[x]", "1"),
                ],
                "parameter_unknown",
                "payment_method_data[x]",
            ),
        ];
        for (form, code, param) in cases {
            let answer = post_form(&app, &key, "/v1/payment_intents", &form).await;
            assert_eq!(
                refusal(&answer),
                (
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error".into(),
                    code.into(),
                    param.into()
                ),
                "{engine}: {form:?}"
            );
        }
        let at_max = post_form(
            &app,
            &key,
            "/v1/payment_intents",
            &[("amount", "300000000"), ("currency", "idr")],
        )
        .await;
        assert_eq!(at_max.status, StatusCode::OK, "{engine}");
        let bad_json = send(
            app.http
                .post(format!("{}/v1/payment_intents", app.base))
                .bearer_auth(&key)
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await;
        assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);

        // Keys: none, wrong, malformed, as Basic.
        let none = send(app.http.get(format!("{}/v1/payment_intents", app.base))).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{engine}");
        let wrong = get(
            &app,
            "sk_test_0000000000000000000000000000000000000000",
            "/v1/payment_intents",
        )
        .await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(
            !wrong.body.to_string().contains("sk_test_0000"),
            "the key is never echoed"
        );
        let malformed = get(&app, "pk_test_abc", "/v1/payment_intents").await;
        assert_eq!(malformed.status, StatusCode::UNAUTHORIZED);
        let basic = send(
            app.http
                .get(format!("{}/v1/payment_intents", app.base))
                .basic_auth(&key, Some("")),
        )
        .await;
        assert_eq!(basic.status, StatusCode::OK, "{engine}");

        // Another merchant's intent and refund are as missing as unknown ones.
        let id = at_max.body["id"].as_str().unwrap();
        let theirs = get(&app, &other_key, &format!("/v1/payment_intents/{id}")).await;
        let unknown = get(
            &app,
            &other_key,
            "/v1/payment_intents/pi_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        )
        .await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{engine}");
        assert_eq!(theirs.body["error"]["code"], "resource_missing");
        assert_eq!(refusal(&theirs).2, refusal(&unknown).2);
        let confirm = post_form(
            &app,
            &other_key,
            &format!("/v1/payment_intents/{id}/confirm"),
            &[],
        )
        .await;
        assert_eq!(confirm.status, StatusCode::NOT_FOUND);
        let cancel = post_form(
            &app,
            &other_key,
            &format!("/v1/payment_intents/{id}/cancel"),
            &[],
        )
        .await;
        assert_eq!(cancel.status, StatusCode::NOT_FOUND);
        let refund = post_form(&app, &other_key, "/v1/refunds", &[("payment_intent", id)]).await;
        assert_eq!(refund.status, StatusCode::NOT_FOUND);
        assert_eq!(refund.body["error"]["param"], "payment_intent");
        let listed = get(&app, &other_key, "/v1/payment_intents").await;
        assert_eq!(listed.body["data"], json!([]), "{engine}");
        let garbage = get(&app, &key, "/v1/payment_intents/nonsense").await;
        assert_eq!(garbage.status, StatusCode::NOT_FOUND);
        // An unpaid intent has nothing to refund.
        let unpaid = post_form(&app, &key, "/v1/refunds", &[("payment_intent", id)]).await;
        assert_eq!(
            unpaid.body["error"]["code"], "charge_not_refundable",
            "{engine}"
        );
    }
}

/// Opens a page with `browser`, returns its HTML and the CSRF token in its form.
async fn page_with_csrf(browser: &reqwest::Client, url: &str) -> (String, String) {
    let page = browser.get(url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{url}");
    let html = page.text().await.unwrap();
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    let csrf = html[start..start + html[start..].find('"').unwrap()].to_string();
    (html, csrf)
}

#[tokio::test]
async fn a_checkout_session_is_paid_through_the_checkout_and_wallet_pages() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let engine = app.engine;
        let (merchant_id, key) = merchant(&app, "Toko Buah").await;
        let (_, other_key) = merchant(&app, "Toko Lain").await;
        let customer = wallet(&app, "081234500002", "100000.00").await;
        // The seed's session, form-encoded as Stripe's libraries send it, with a second line.
        let form = [
            ("mode", "payment"),
            (
                "success_url",
                "https://shop.example/ok?session={CHECKOUT_SESSION_ID}",
            ),
            ("cancel_url", "https://shop.example/cart"),
            ("payment_method_types[0]", "dana"),
            ("line_items[0][price_data][currency]", "IDR"),
            ("line_items[0][price_data][unit_amount]", "20000"),
            ("line_items[0][price_data][nickname]", "apple"),
            ("line_items[0][price_data][product_data][name]", "apple"),
            ("line_items[0][price_data][billing_scheme]", "testscheme"),
            ("line_items[0][price_data][lookup_key]", "test_lookup_key"),
            ("line_items[0][quantity]", "1"),
            ("line_items[1][price_data][currency]", "idr"),
            ("line_items[1][price_data][unit_amount]", "2500"),
            ("line_items[1][price_data][product_data][name]", "pear"),
            ("line_items[1][quantity]", "2"),
        ];
        let created = post_form(&app, &key, "/v1/checkout/sessions", &form).await;
        assert_eq!(created.status, StatusCode::OK, "{engine}: {}", created.body);
        let cs = &created.body;
        let id = cs["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("cs_"));
        assert_eq!(cs["object"], "checkout.session");
        assert_eq!(cs["status"], "open");
        assert_eq!(cs["payment_status"], "unpaid");
        assert_eq!(cs["amount_total"], 25000);
        assert_eq!(cs["amount_subtotal"], 25000);
        assert_eq!(cs["currency"], "IDR");
        assert_eq!(
            cs["expires_at"].as_i64().unwrap() - cs["created"].as_i64().unwrap(),
            24 * 3_600_000
        );
        let line = &cs["line_items"]["data"][0];
        assert!(line["id"].as_str().unwrap().starts_with("li_"));
        assert_eq!(line["price"]["unit_amount"], 20000);
        assert_eq!(line["price"]["billing_scheme"], "per_unit");
        assert_eq!(line["price"]["lookup_key"], "test_lookup_key");
        assert_eq!(line["price"]["product"]["name"], "apple");
        assert_eq!(cs["line_items"]["data"][1]["amount_total"], 5000);
        let pi = cs["payment_intent"].as_str().unwrap().to_string();
        let intent = get(&app, &key, &format!("/v1/payment_intents/{pi}")).await;
        assert_eq!(intent.body["status"], "requires_confirmation", "{engine}");
        assert_eq!(intent.body["amount"], 25000);
        let items = get(
            &app,
            &key,
            &format!("/v1/checkout/sessions/{id}/line_items"),
        )
        .await;
        assert_eq!(items.body["data"], cs["line_items"]["data"]);

        // The customer: checkout page -> DANA -> wallet page -> success_url.
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        let url = cs["url"].as_str().unwrap();
        let (html, csrf) = page_with_csrf(&browser, url).await;
        assert!(
            html.contains(r#"id="amount-total" data-value="25000""#),
            "{engine}"
        );
        assert!(html.contains(r#"value="dana""#));
        assert!(html.contains(r#"href="https://shop.example/cart""#));
        let chosen = browser
            .post(format!("{url}/pay"))
            .form(&[("method", "dana"), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
        let wallet_path = chosen.headers()["location"].to_str().unwrap().to_string();
        assert!(
            wallet_path.contains("/pages/dana/pay/pay_"),
            "{wallet_path}"
        );
        let landed = pay_on_page(&format!("{}{wallet_path}", app.base), "081234500002").await;
        assert_eq!(
            landed,
            format!("https://shop.example/ok?session={id}"),
            "{engine}"
        );

        let done = get(&app, &key, &format!("/v1/checkout/sessions/{id}")).await;
        assert_eq!(done.body["status"], "complete", "{engine}");
        assert_eq!(done.body["payment_status"], "paid");
        assert!(
            done.body["url"].is_null(),
            "{engine}: a complete session has no page"
        );
        assert_eq!(posted(&app, &customer.account).await, 7_500_000);
        let page = browser.get(url).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(r#"data-status="complete""#), "{engine}");
        let late = post_form(
            &app,
            &key,
            &format!("/v1/checkout/sessions/{id}/expire"),
            &[],
        )
        .await;
        assert_eq!(late.status, StatusCode::BAD_REQUEST, "{engine}");
        assert!(
            posted(&app, &AccountId::merchant_available(&merchant_id)).await > 0,
            "{engine}"
        );

        // Another session, expired by the merchant: its intent is cancelled, its page says so.
        let second = post_form(&app, &key, "/v1/checkout/sessions", &form).await;
        let second_id = second.body["id"].as_str().unwrap();
        let theirs = post_form(
            &app,
            &other_key,
            &format!("/v1/checkout/sessions/{second_id}/expire"),
            &[],
        )
        .await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{engine}");
        let expired = post_form(
            &app,
            &key,
            &format!("/v1/checkout/sessions/{second_id}/expire"),
            &[],
        )
        .await;
        assert_eq!(
            expired.body["status"], "expired",
            "{engine}: {}",
            expired.body
        );
        let its_intent = expired.body["payment_intent"].as_str().unwrap();
        let canceled = get(&app, &key, &format!("/v1/payment_intents/{its_intent}")).await;
        assert_eq!(canceled.body["status"], "canceled");
        let page = reqwest::get(second.body["url"].as_str().unwrap())
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(r#"data-status="expired""#), "{engine}");

        // Each end of a session is an event of its own, carrying the session as it ended.
        let events = get(&app, &key, "/v1/events?limit=100").await;
        let of_type = |kind: &str| -> Vec<serde_json::Value> {
            events.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["type"] == kind)
                .map(|e| e["data"]["object"].clone())
                .collect()
        };
        let completed = of_type("checkout.session.completed");
        assert_eq!(completed.len(), 1, "{engine}: {}", events.body);
        assert_eq!(completed[0]["id"], id);
        assert_eq!(completed[0]["object"], "checkout.session");
        assert_eq!(completed[0]["payment_status"], "paid");
        let ended = of_type("checkout.session.expired");
        assert_eq!(ended.len(), 1, "{engine}: {}", events.body);
        assert_eq!(ended[0]["id"], second_id);
        assert_eq!(ended[0]["status"], "expired");
        let missing = get(
            &app,
            &other_key,
            &format!("/v1/checkout/sessions/{second_id}"),
        )
        .await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);

        // A third session, left waiting on the wallet page until its 24 hours ran out: the
        // sweeper expires it (its waiting payment is cancelled) and tells the merchant, once.
        // The paid session, just as old, stays complete.
        let third = post_form(&app, &key, "/v1/checkout/sessions", &form).await;
        let third_id = third.body["id"].as_str().unwrap().to_string();
        let (_, csrf) = page_with_csrf(&browser, third.body["url"].as_str().unwrap()).await;
        let chosen = browser
            .post(format!("{}/pay", third.body["url"].as_str().unwrap()))
            .form(&[("method", "dana"), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(chosen.status(), StatusCode::SEE_OTHER, "{engine}");
        let waiting = get(&app, &key, &format!("/v1/checkout/sessions/{third_id}")).await;
        let third_intent = waiting.body["payment_intent"].as_str().unwrap().to_string();
        let intent = get(&app, &key, &format!("/v1/payment_intents/{third_intent}")).await;
        assert_eq!(intent.body["status"], "requires_action", "{engine}");
        run_sql(
            &app,
            "UPDATE checkout_sessions SET expires_at = expires_at - $1",
            25 * 3_600_000,
        )
        .await;
        bayar_server::sweeper::sweep(&app.core).await;
        bayar_server::sweeper::sweep(&app.core).await;
        let ran_out = get(&app, &key, &format!("/v1/checkout/sessions/{third_id}")).await;
        assert_eq!(ran_out.body["status"], "expired", "{engine}");
        let intent = get(&app, &key, &format!("/v1/payment_intents/{third_intent}")).await;
        assert_eq!(intent.body["status"], "canceled", "{engine}");
        let paid = get(&app, &key, &format!("/v1/checkout/sessions/{id}")).await;
        assert_eq!(paid.body["status"], "complete", "{engine}");
        let events = get(&app, &key, "/v1/events?limit=100").await;
        let expired_ids: Vec<&str> = events.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "checkout.session.expired")
            .map(|e| e["data"]["object"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(expired_ids, [third_id.as_str(), second_id], "{engine}");

        // Bad line items are named as sent.
        let bad = post_form(
            &app,
            &key,
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("success_url", "https://shop.example/ok"),
                ("line_items[0][price_data][currency]", "IDR"),
                ("line_items[0][price_data][unit_amount]", "20000"),
                ("line_items[0][price_data][product_data][name]", "apple"),
                ("line_items[0][price_data][colour]", "red"),
                ("line_items[0][quantity]", "1"),
            ],
        )
        .await;
        assert_eq!(
            bad.body["error"]["param"], "line_items[0][price_data][colour]",
            "{engine}"
        );
        let no_qty = post_form(
            &app,
            &key,
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("success_url", "https://shop.example/ok"),
                ("line_items[0][price_data][currency]", "IDR"),
                ("line_items[0][price_data][unit_amount]", "50"),
                ("line_items[0][price_data][product_data][name]", "gum"),
                ("line_items[0][quantity]", "1"),
            ],
        )
        .await;
        assert_eq!(no_qty.body["error"]["code"], "amount_too_small", "{engine}");
        let breaches = app.core.verify_ledger().await.unwrap();
        assert!(breaches.is_empty(), "{engine}: {breaches:?}");
    }
}
