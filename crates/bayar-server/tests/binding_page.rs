//! The Allo-like bank's hosted account-binding page over HTTP (no browser), on every store
//! engine: OTP then PIN to the merchant's success URL with a working auth code; wrong answers
//! counted and ending at the failed URL; an expired OTP; CSRF; unknown ids; hostile input;
//! and the sandbox OTP from the CLI.

mod common;

use std::process::Command;

use bayar_core::binding::{Binding, BindingStatus, MAX_FAILURES};
use bayar_core::commands::BeginBinding;
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::ids::BindingId;
use bayar_core::store::{SqliteOptions, Store};
use bayar_core::{Core, CoreConfig, NewCustomer, testing};
use bayar_snap::Money;
use common::TestApp;
use reqwest::StatusCode;
use reqwest::redirect::Policy;

const PHONE: &str = "081234567890";
const PIN: &str = "123456";
const SUCCESS_URL: &str = "https://shop.example/bind/done?order=42";
const FAILED_URL: &str = "https://shop.example/bind/failed?order=42&lang=id";

/// A bank customer and a binding waiting for its OTP.
async fn begin(core: &Core, merchant: &bayar_core::merchant::Merchant) -> Binding {
    let phone = PhoneNumber::parse(PHONE).unwrap();
    if core
        .store()
        .customer_by_phone(Rail::Bank, &phone)
        .await
        .unwrap()
        .is_none()
    {
        core.create_customer(NewCustomer {
            rail: Rail::Bank,
            phone: phone.clone(),
            pin: Pin::parse(PIN).unwrap(),
            opening_balance: Money::parse("500000.00").unwrap(),
        })
        .await
        .unwrap();
    }
    core.run(BeginBinding {
        merchant_id: merchant.id,
        rail: bayar_core::customer::Rail::Bank,
        phone,
        cust_id_merchant: "cust-001".to_string(),
        success_url: SUCCESS_URL.to_string(),
        failed_url: FAILED_URL.to_string(),
    })
    .await
    .unwrap()
}

/// A browser-like client: keeps cookies, does not follow redirects (the tests look at them).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
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
        let start = self.html.find(&marker).unwrap_or_else(|| {
            panic!("no field {name} in the page: {}", self.html);
        }) + marker.len();
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

    fn csrf(&self) -> String {
        self.field("csrf")
    }
}

struct Pages<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    id: String,
}

impl<'a> Pages<'a> {
    fn new(app: &'a TestApp, binding: &Binding) -> Pages<'a> {
        Pages {
            app,
            client: browser(),
            id: binding.id.to_string(),
        }
    }

    fn url(&self) -> String {
        format!("{}/pages/allo/bind/{}", self.app.base, self.id)
    }

    async fn get(&self) -> Got {
        got(self.client.get(self.url()).send().await.unwrap()).await
    }

    async fn post(&self, step: &str, form: &[(&str, &str)]) -> Got {
        let url = format!("{}/{step}", self.url());
        got(self.client.post(url).form(form).send().await.unwrap()).await
    }

    /// Gets the page, then posts `value` in `step`'s field with the page's CSRF token.
    async fn answer(&self, step: &str, value: &str) -> Got {
        let page = self.get().await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        self.post(step, &[(step, value), ("csrf", &page.csrf())])
            .await
    }

    async fn binding(&self) -> Binding {
        let id: BindingId = self.id.parse().unwrap();
        self.app.core.store().binding(&id).await.unwrap().unwrap()
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

/// A six-digit code that is not `otp`.
fn wrong(otp: &str) -> String {
    let first = otp.as_bytes()[0];
    let other = if first == b'9' {
        '0'
    } else {
        char::from(first + 1)
    };
    format!("{other}{}", &otp[1..])
}

fn query(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param(url: &str, name: &str) -> Option<String> {
    query(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[tokio::test]
async fn otp_then_pin_binds_the_account_and_the_auth_code_works() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let binding = begin(&app.core, &app.merchant).await;
        let pages = Pages::new(&app, &binding);
        let otp = binding.otp.expose().clone();

        // The OTP step: the sandbox shows the code, the phone is masked; the page is not
        // cacheable nor frameable, and sets the CSRF cookie.
        let page = pages.get().await;
        assert_eq!(page.status, StatusCode::OK, "{}", app.engine);
        assert_eq!(page.text("sandbox-otp").as_deref(), Some(otp.as_str()));
        assert_eq!(
            page.text("masked-phone").as_deref(),
            Some("+62 812-****-7890")
        );
        assert!(page.html.contains(r#"id="submit-otp""#));
        assert!(page.html.contains(r#"name="otp""#));
        assert!(page.html.contains("Allo Bank"));
        assert!(page.html.contains("Toko Test"));
        assert!(!page.html.contains("<script"));
        assert_eq!(page.headers["cache-control"], "no-store");
        assert_eq!(page.headers["x-frame-options"], "DENY");
        assert!(
            page.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        let cookie = page.headers["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("bayar_csrf="), "{cookie}");
        assert!(
            cookie.ends_with("; Path=/pages; HttpOnly; SameSite=Strict"),
            "{cookie}"
        );

        // Two wrong codes: the form again, naming the tries left.
        for left in ["2 tries left", "1 try left"] {
            let r = pages.answer("otp", &wrong(&otp)).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            let error = r.text("error").unwrap();
            assert!(error.contains(left), "{error}");
            assert!(r.html.contains(r#"id="submit-otp""#));
        }
        // Not six digits: refused on the page, not counted.
        let r = pages.answer("otp", "12ab").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text("error").is_some());
        assert_eq!(pages.binding().await.failures, 2);

        // The right code (with the spaces a phone keyboard may add) moves on to the PIN.
        let r = pages.answer("otp", &format!(" {otp} ")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
        assert_eq!(
            r.location.as_deref(),
            Some(format!("/pages/allo/bind/{}", binding.id).as_str())
        );
        let page = pages.get().await;
        assert!(page.html.contains(r#"id="submit-pin""#), "{}", page.html);
        assert!(
            page.html
                .contains(r#"name="pin" type="password" inputmode="numeric""#)
        );
        assert!(page.text("sandbox-otp").is_none());

        // A badly formed PIN is refused on the page and not counted (a third wrong answer
        // would fail the binding: OTP and PIN share the count).
        let r = pages.answer("pin", "12345").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text("error").unwrap().contains("6 digits"));
        assert_eq!(pages.binding().await.failures, 2);

        // The right PIN: back to the merchant with the auth code and its own query intact.
        let page = pages.get().await;
        let csrf = page.csrf();
        let r = pages.post("pin", &[("pin", PIN), ("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{r:?}");
        let location = r.location.unwrap();
        assert!(location.starts_with("https://shop.example/bind/done?order=42&"));
        assert_eq!(param(&location, "status").as_deref(), Some("SUCCESS"));
        assert_eq!(
            param(&location, "referenceNo"),
            Some(binding.id.to_string())
        );
        assert_eq!(
            param(&location, "custIdMerchant").as_deref(),
            Some("cust-001")
        );
        let code = param(&location, "authCode").unwrap();
        let tokens = app
            .core
            .exchange_auth_code(&app.merchant, &code)
            .await
            .unwrap();
        assert_eq!(tokens.binding.id, binding.id);
        assert_eq!(pages.binding().await.status, BindingStatus::Active);

        // A double submit finds the binding active: it is shown, nothing else happens.
        let r = pages.post("pin", &[("pin", PIN), ("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            r.location.as_deref(),
            Some(format!("/pages/allo/bind/{}", binding.id).as_str())
        );
        let page = pages.get().await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.html.contains(r#"data-status="active""#),
            "{}",
            page.html
        );
        assert!(!page.html.contains("<form"));
    }
}

#[tokio::test]
async fn wrong_pins_count_with_wrong_otps() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;

        // One wrong code, one wrong PIN, then the right PIN: bound.
        let binding = begin(&app.core, &app.merchant).await;
        let pages = Pages::new(&app, &binding);
        let otp = binding.otp.expose().clone();
        pages.answer("otp", &wrong(&otp)).await;
        let r = pages.answer("otp", &otp).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let r = pages.answer("pin", "654321").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", app.engine);
        assert!(r.text("error").unwrap().contains("1 try left"));
        assert!(r.html.contains(r#"id="submit-pin""#));
        let r = pages.answer("pin", PIN).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let location = r.location.unwrap();
        assert_eq!(param(&location, "status").as_deref(), Some("SUCCESS"));
        app.core
            .exchange_auth_code(&app.merchant, &param(&location, "authCode").unwrap())
            .await
            .unwrap();

        // Two wrong codes and a wrong PIN: the third wrong answer fails the binding.
        let binding = begin(&app.core, &app.merchant).await;
        let pages = Pages::new(&app, &binding);
        let otp = binding.otp.expose().clone();
        pages.answer("otp", &wrong(&otp)).await;
        pages.answer("otp", &wrong(&otp)).await;
        pages.answer("otp", &otp).await;
        let r = pages.answer("pin", "654321").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let location = r.location.unwrap();
        assert_eq!(param(&location, "status").as_deref(), Some("FAILED"));
        assert_eq!(pages.binding().await.status, BindingStatus::Failed);
    }
}

#[tokio::test]
async fn three_wrong_otps_fail_the_binding() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let binding = begin(&app.core, &app.merchant).await;
        let pages = Pages::new(&app, &binding);
        let otp = binding.otp.expose().clone();
        for _ in 1..MAX_FAILURES {
            let r = pages.answer("otp", &wrong(&otp)).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let r = pages.answer("otp", &wrong(&otp)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", app.engine);
        let location = r.location.unwrap();
        assert_eq!(
            location,
            format!(
                "https://shop.example/bind/failed?order=42&lang=id&referenceNo={}&status=FAILED",
                binding.id
            )
        );
        assert_eq!(pages.binding().await.status, BindingStatus::Failed);

        // The right code is too late now; the page is final and links back to the merchant.
        let page = pages.get().await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.html.contains(r#"data-status="failed""#));
        assert!(page.html.contains(r#"id="return-to-merchant""#));
        assert!(!page.html.contains(&otp));
        let csrf = browser_token(&pages).await;
        let r = pages.post("otp", &[("otp", &otp), ("csrf", &csrf)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(pages.binding().await.status, BindingStatus::Failed);
    }
}

/// The CSRF token of the pages' client, taken from a fresh binding's form (final pages have
/// no form).
async fn browser_token(pages: &Pages<'_>) -> String {
    let other = begin(&pages.app.core, &pages.app.merchant).await;
    let page = got(pages
        .client
        .get(format!("{}/pages/allo/bind/{}", pages.app.base, other.id))
        .send()
        .await
        .unwrap())
    .await;
    page.csrf()
}

#[tokio::test]
async fn an_expired_otp_fails_the_binding() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let binding = begin(&app.core, &app.merchant).await;
        let pages = Pages::new(&app, &binding);
        let page = pages.get().await;
        let past = chrono::Utc::now().timestamp_millis() - 1_000;
        let sql = "UPDATE bindings SET otp_expires_at = $1 WHERE id = $2";
        match app.core.store() {
            Store::Sqlite { writer, .. } => {
                sqlx::query(sql)
                    .bind(past)
                    .bind(binding.id.to_string())
                    .execute(writer)
                    .await
                    .unwrap();
            }
            Store::Postgres(pool) => {
                sqlx::query(sql)
                    .bind(past)
                    .bind(binding.id.to_string())
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
        let r = pages
            .post(
                "otp",
                &[("otp", binding.otp.expose()), ("csrf", &page.csrf())],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", app.engine);
        let location = r.location.unwrap();
        assert_eq!(param(&location, "status").as_deref(), Some("FAILED"));
        assert_eq!(param(&location, "order").as_deref(), Some("42"));
        assert_eq!(pages.binding().await.status, BindingStatus::Failed);
    }
}

#[tokio::test]
async fn posts_without_a_matching_csrf_token_are_refused() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let binding = begin(&app.core, &app.merchant).await;
        let pages = Pages::new(&app, &binding);
        let otp = binding.otp.expose().clone();
        let token = pages.get().await.csrf();

        // No field, a wrong field, and the right field from a browser without the cookie (as
        // a post forged from another site would arrive).
        let mut forged = token.clone();
        forged.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
        for form in [
            vec![("otp", otp.as_str())],
            vec![("otp", otp.as_str()), ("csrf", "")],
            vec![("otp", otp.as_str()), ("csrf", forged.as_str())],
        ] {
            let r = pages.post("otp", &form).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{}: {form:?}", app.engine);
            assert!(r.html.contains("Session expired"));
            assert!(!r.html.contains(&otp));
            // One click from a fresh form.
            let retry = format!(
                r#"id="retry" class="button" href="/pages/allo/bind/{}""#,
                binding.id
            );
            assert!(r.html.contains(&retry), "{}", r.html);
        }
        let cookieless = browser();
        for step in ["otp", "pin"] {
            let r = got(cookieless
                .post(format!("{}/{step}", pages.url()))
                .form(&[(step, otp.as_str()), ("csrf", token.as_str())])
                .send()
                .await
                .unwrap())
            .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
        }
        let after = pages.binding().await;
        assert_eq!(after.status, BindingStatus::Otp);
        assert_eq!(after.failures, 0);

        // The genuine form still works.
        let r = pages.post("otp", &[("otp", &otp), ("csrf", &token)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(pages.binding().await.status, BindingStatus::Pin);
    }
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let binding = begin(&app.core, &app.merchant).await;
        let client = browser();
        let token = got(client
            .get(format!("{}/pages/allo/bind/{}", app.base, binding.id))
            .send()
            .await
            .unwrap())
        .await
        .csrf();
        let unknown = BindingId::generate().to_string();
        for id in [
            unknown.as_str(),
            "nonsense",
            "pay_01J00000000000000000000000",
            "bnd_",
            "%00%ff",
        ] {
            let url = format!("{}/pages/allo/bind/{id}", app.base);
            let r = got(client.get(&url).send().await.unwrap()).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{}: {id}", app.engine);
            assert!(r.html.contains("Page not found"));
            for step in ["otp", "pin"] {
                let r = got(client
                    .post(format!("{url}/{step}"))
                    .form(&[(step, "123456"), ("csrf", token.as_str())])
                    .send()
                    .await
                    .unwrap())
                .await;
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{id} {step}");
            }
        }
    }
}

#[tokio::test]
async fn hostile_forms_are_refused_and_change_nothing() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let binding = begin(&app.core, &app.merchant).await;
        let pages = Pages::new(&app, &binding);
        let token = pages.get().await.csrf();
        let url = format!("{}/otp", pages.url());

        // Longer than 64 characters, in any field: an error page.
        let long = "1".repeat(65);
        let wide = "é".repeat(65);
        for form in [
            [("otp", long.as_str()), ("csrf", token.as_str())],
            [("otp", wide.as_str()), ("csrf", token.as_str())],
            [("otp", "123456"), ("csrf", long.as_str())],
        ] {
            let r = pages.post("otp", &form).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", app.engine);
            assert!(r.html.contains("too long"));
        }
        // 64 characters are read, and refused as not a code.
        let r = pages
            .post("otp", &[("otp", &"1".repeat(64)), ("csrf", &token)])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Markup in an answer is never echoed.
        let r = pages
            .post("otp", &[("otp", "<script>"), ("csrf", &token)])
            .await;
        assert!(!r.html.contains("<script>"));

        // Not a form, a huge body, broken encoding: error pages, no panic.
        let r = got(pages
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(r#"{"otp":"123456"}"#)
            .send()
            .await
            .unwrap())
        .await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let r = got(pages
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={token}&otp={}", "1".repeat(100_000)))
            .send()
            .await
            .unwrap())
        .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        let r = got(pages
            .client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b"otp=%ff%fe&csrf=\xff".to_vec())
            .send()
            .await
            .unwrap())
        .await;
        assert!(r.status.is_client_error(), "{r:?}");

        let after = pages.binding().await;
        assert_eq!(after.status, BindingStatus::Otp);
        assert_eq!(after.failures, 0);
    }
}

#[tokio::test]
async fn the_sandbox_otp_is_readable_by_phone() {
    for store in testing::all().await {
        let app = TestApp::spawn(store).await;
        let phone = PhoneNumber::parse(PHONE).unwrap();
        let first = begin(&app.core, &app.merchant).await;
        // Binding ids order by their millisecond; keep the two apart.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let newest = begin(&app.core, &app.merchant).await;
        let pending = app
            .core
            .store()
            .pending_binding_for_phone(&phone)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pending.id, newest.id, "{}", app.engine);
        assert_eq!(pending.otp.expose(), newest.otp.expose());

        // Once the newest has its OTP, the older one is the one waiting.
        let pages = Pages::new(&app, &newest);
        pages.answer("otp", newest.otp.expose()).await;
        let pending = app
            .core
            .store()
            .pending_binding_for_phone(&phone)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pending.id, first.id);
        let other = PhoneNumber::parse("081299998888").unwrap();
        assert!(
            app.core
                .store()
                .pending_binding_for_phone(&other)
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn bayar_otp_show_prints_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bayar.db");
    let store = Store::open_sqlite(SqliteOptions::new(&path)).await.unwrap();
    let core = Core::start(store, CoreConfig::default()).await.unwrap();
    let merchant = core
        .create_merchant(bayar_core::merchant::NewMerchant {
            name: bayar_core::merchant::MerchantName::parse("Toko CLI").unwrap(),
            notify_url: None,
            public_key: None,
        })
        .await
        .unwrap()
        .merchant;
    let url = format!("sqlite:{}", path.display());
    let bayar = |phone: &str| {
        Command::new(env!("CARGO_BIN_EXE_bayar"))
            .args(["--database-url", &url, "otp", "show", "--phone", phone])
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };

    let none = bayar(PHONE);
    assert!(!none.status.success());
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert!(stderr.contains("no account binding is waiting"), "{stderr}");

    let binding = begin(&core, &merchant).await;
    let out = bayar("+62 812-3456-7890");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        binding.otp.expose()
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&binding.id.to_string()));

    let bad = bayar("12345");
    assert!(!bad.status.success());
}
