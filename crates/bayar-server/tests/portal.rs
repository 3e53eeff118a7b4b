//! The merchant portal over HTTP, on every engine: no page without a session, sign-up and
//! login with lockout, CSRF on every post, merchants fenced off from each other (guessed ids
//! answer 404), secrets shown once and never again, refunds and top-ups through the core, the
//! statement CSV, and a rotated secret that keeps verifying SNAP signatures for its grace.

mod common;

use bayar_core::Core;
use bayar_core::NewCustomer;
use bayar_core::commands::{CreatePayment, DebitNow};
use bayar_core::customer::{PhoneNumber, Pin, Rail};
use bayar_core::ledger::AccountId;
use bayar_core::merchant::Merchant;
use bayar_core::payment::{Channel, Face, PartnerReference, Payment};
use bayar_core::portal::{Email, Password, Role};
use bayar_core::testing::{self, TestStore};
use bayar_snap::Money;
use common::{STATUS_PATH, TestApp};
use reqwest::redirect::Policy;

/// Every engine this run can reach.
async fn stores() -> Vec<TestStore> {
    let mut stores = vec![testing::sqlite().await];
    stores.extend(testing::postgres().await);
    stores
}

/// A browser: its own cookie jar, redirects not followed (so tests see them).
struct Browser {
    http: reqwest::Client,
    base: String,
}

/// An answer: status, `Location`, body.
#[derive(Debug)]
struct Page {
    status: u16,
    location: String,
    body: String,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        Self::page(resp).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        Self::page(resp).await
    }

    async fn page(resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        Page {
            status,
            location,
            body: resp.text().await.unwrap(),
        }
    }

    /// The CSRF token in the forms of the page at `path`.
    async fn csrf(&self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}: {page:?}");
        field(&page.body, "csrf")
    }

    /// Signs up a new merchant; answers the sign-up page (with the credentials shown once).
    async fn sign_up(&self, business: &str, email: &str, password: &str) -> Page {
        let csrf = self.csrf("/portal/signup").await;
        self.post(
            "/portal/signup",
            &[
                ("business", business),
                ("email", email),
                ("password", password),
                ("csrf", &csrf),
            ],
        )
        .await
    }

    async fn log_in(&self, email: &str, password: &str) -> Page {
        let csrf = self.csrf("/portal/login").await;
        self.post(
            "/portal/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
    }
}

/// The value of the first form field named `name` in `html`.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The text of the element with id `id` (its first text run).
fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[start..];
    let open = rest.find('>').unwrap() + 1;
    rest[open..].split('<').next().unwrap().to_string()
}

const PASSWORD: &str = "correct horse battery";

/// A staff user of the test app's merchant, created the operator's way.
async fn staff_of(core: &Core, merchant: &Merchant, email: &str) {
    core.create_portal_user(
        Email::parse(email).unwrap(),
        Password::parse(PASSWORD).unwrap(),
        Role::Merchant(merchant.id),
    )
    .await
    .unwrap();
}

/// A succeeded payment of `merchant` of `amount`, debited from a fresh bank customer.
async fn paid(core: &Core, merchant: &Merchant, reference: &str, amount: &str) -> Payment {
    let customer = core
        .create_customer(NewCustomer {
            rail: Rail::Bank,
            phone: PhoneNumber::parse(&format!("0812{:08}", rand_digits())).unwrap(),
            pin: Pin::parse("123456").unwrap(),
            opening_balance: Money::parse("1000000.00").unwrap(),
        })
        .await
        .unwrap();
    core.run(DebitNow {
        payment: CreatePayment {
            merchant_id: merchant.id,
            partner_reference_no: PartnerReference::parse(reference).unwrap(),
            external_id: format!("ext-{reference}"),
            channel: Channel::AlloDirectDebit,
            face: Face::Doku,
            amount: Money::parse(amount).unwrap(),
            valid_until: None,
            title: None,
            return_url: None,
            notify_url: None,
        },
        customer_id: customer.id,
        cust_id_merchant: None,
    })
    .await
    .unwrap()
    .payment
}

fn rand_digits() -> u32 {
    u32::try_from(ulid::Ulid::new().random() % 100_000_000).unwrap()
}

#[tokio::test]
async fn no_page_without_a_session() {
    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        let payment = paid(&app.core, &app.merchant, "inv-1", "10000.00").await;
        let anonymous = Browser::new(&app);
        let detail = format!("/portal/payments/{}", payment.id);
        for path in [
            "/portal",
            "/portal/payments",
            detail.as_str(),
            "/portal/balances",
            "/portal/balances/statement.csv",
            "/portal/credentials",
        ] {
            let page = anonymous.get(path).await;
            assert_eq!(page.status, 303, "{path} ({})", app.engine);
            assert_eq!(page.location, "/portal/login", "{path}");
            assert!(!page.body.contains("inv-1"));
        }
        for path in [
            "/portal/logout",
            "/portal/balances/topup",
            "/portal/credentials/rotate",
            "/portal/credentials/generate-key",
            &format!("{detail}/refund"),
        ] {
            let page = anonymous.post(path, &[("csrf", "x")]).await;
            assert_eq!(page.status, 303, "{path}");
            assert_eq!(page.location, "/portal/login", "{path}");
        }
        // A made-up session cookie is no session.
        let forged = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap();
        let resp = forged
            .get(format!("{}/portal", app.base))
            .header("cookie", format!("bayar_portal={}", "A".repeat(43)))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 303);
        app.stop().await;
    }
}

#[tokio::test]
async fn sign_up_log_in_log_out_and_lockout() {
    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        let browser = Browser::new(&app);

        // Bad input: a form error, nothing written.
        let weak = browser.sign_up("Toko Baru", "ani@toko.id", "short").await;
        assert_eq!(weak.status, 422, "{weak:?}");
        assert!(
            weak.body
                .contains("Password: the password must be 10 to 128 characters")
        );
        assert_eq!(app.core.merchants().await.unwrap().len(), 1);

        let welcome = browser.sign_up("Toko Baru", "Ani@Toko.id", PASSWORD).await;
        assert_eq!(welcome.status, 200, "{welcome:?}");
        let secret = text_of(&welcome.body, "client-secret");
        assert!(secret.starts_with("SK-"), "{secret}");
        assert!(welcome.body.contains("BEGIN PRIVATE KEY"));
        // The first secret API key, shown with them, opens the Stripe-style API.
        let key = text_of(&welcome.body, "secret-key");
        assert!(key.starts_with("sk_test_"), "{key}");
        let intents = app
            .http
            .get(format!("{}/v1/payment_intents", app.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(intents.status(), 200);
        assert_eq!(app.core.merchants().await.unwrap().len(), 2);
        // Signed in by the sign-up.
        let overview = browser.get("/portal").await;
        assert_eq!(overview.status, 200);
        assert!(overview.body.contains("Toko Baru"));

        // The same email again: refused, and no second merchant.
        let again = Browser::new(&app)
            .sign_up("Toko Lain", "ani@toko.id", PASSWORD)
            .await;
        assert_eq!(again.status, 422);
        assert!(again.body.contains("already exists"));
        assert_eq!(app.core.merchants().await.unwrap().len(), 2);

        // Logout ends the session for good, even for a copy of the cookie.
        let csrf = field(&overview.body, "csrf");
        let out = browser.post("/portal/logout", &[("csrf", &csrf)]).await;
        assert_eq!(out.status, 303);
        assert_eq!(browser.get("/portal").await.status, 303);

        // Wrong password and unknown email: the same answer.
        let wrong = browser.log_in("ani@toko.id", "wrong password!").await;
        assert_eq!(wrong.status, 401);
        let unknown = browser.log_in("nobody@toko.id", PASSWORD).await;
        assert_eq!(unknown.status, 401);
        assert_eq!(
            text_of(&wrong.body, "form-error"),
            text_of(&unknown.body, "form-error")
        );

        let ok = browser.log_in("ANI@toko.id", PASSWORD).await;
        assert_eq!(ok.status, 303, "{ok:?}");
        assert_eq!(ok.location, "/portal");
        assert_eq!(browser.get("/portal").await.status, 200);

        // Five failures in a row lock the account: the right password no longer opens it.
        let attacker = Browser::new(&app);
        for _ in 0..5 {
            let page = attacker.log_in("ani@toko.id", "guess guess guess").await;
            assert_eq!(page.status, 401);
        }
        let locked = attacker.log_in("ani@toko.id", PASSWORD).await;
        assert_eq!(locked.status, 429, "{locked:?}");
        assert!(locked.body.contains("locked"));
        // The session opened before the lock is unaffected.
        assert_eq!(browser.get("/portal").await.status, 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn posts_without_the_csrf_token_are_refused() {
    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        staff_of(&app.core, &app.merchant, "staff@toko.id").await;
        let payment = paid(&app.core, &app.merchant, "inv-csrf", "10000.00").await;
        let browser = Browser::new(&app);

        // Login without the cookie's twin in the form.
        browser.get("/portal/login").await;
        let page = browser
            .post(
                "/portal/login",
                &[
                    ("email", "staff@toko.id"),
                    ("password", PASSWORD),
                    ("csrf", "nope"),
                ],
            )
            .await;
        assert_eq!(page.status, 403);
        assert_eq!(browser.get("/portal").await.status, 303);

        assert_eq!(browser.log_in("staff@toko.id", PASSWORD).await.status, 303);
        let detail = format!("/portal/payments/{}", payment.id);
        let refund_no = field(&browser.get(&detail).await.body, "refund_no");
        for (path, form) in [
            ("/portal/credentials/rotate", vec![]),
            (
                "/portal/balances/topup",
                vec![("amount", "100"), ("reference", "r1")],
            ),
            (
                &*format!("{detail}/refund"),
                vec![("amount", "100"), ("refund_no", refund_no.as_str())],
            ),
            ("/portal/logout", vec![]),
        ] {
            for csrf in [None, Some("forged-token")] {
                let mut form = form.clone();
                if let Some(csrf) = csrf {
                    form.push(("csrf", csrf));
                }
                let page = browser.post(path, &form).await;
                assert_eq!(page.status, 403, "{path} {csrf:?}: {page:?}");
            }
        }
        // Nothing happened.
        let merchant = app
            .core
            .store()
            .merchant_by_id(&app.merchant.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(merchant.client_secret, app.merchant.client_secret);
        let balances = app.core.portal_balances(&app.merchant.id).await.unwrap();
        assert_eq!(balances.deposit, 0);
        let after = app
            .core
            .store()
            .payment(&payment.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.refunded, Money::ZERO);
        assert_eq!(browser.get("/portal").await.status, 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn merchants_never_see_each_other() {
    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        let theirs = paid(&app.core, &app.merchant, "theirs-1", "50000.00").await;
        let intruder = Browser::new(&app);
        assert_eq!(
            intruder
                .sign_up("Toko Penyusup", "eve@toko.id", PASSWORD)
                .await
                .status,
            200
        );
        let csrf = field(&intruder.get("/portal").await.body, "csrf");
        let victim = app.merchant.id.to_string();
        let detail = format!("/portal/payments/{}", theirs.id);
        for path in [
            detail.clone(),
            format!("/portal/balances?merchant={victim}"),
            format!("/portal/balances/statement.csv?merchant={victim}"),
            format!("/portal/credentials?merchant={victim}"),
            format!("/portal/api-log?merchant={victim}"),
            format!("/portal/settings?merchant={victim}"),
            format!("/portal/reports?merchant={victim}"),
            format!("/portal/reports/settlement.csv?merchant={victim}"),
            format!("/portal/api-log.csv?merchant={victim}"),
            format!("/portal/payments/pay_{}", ulid::Ulid::new()),
            "/portal/payments/not-an-id".to_string(),
        ] {
            let page = intruder.get(&path).await;
            assert_eq!(page.status, 404, "{path}: {page:?}");
            assert!(!page.body.contains("theirs-1"));
        }
        let list = intruder.get("/portal/payments").await;
        assert_eq!(list.status, 200);
        assert!(!list.body.contains("theirs-1"));
        let by_reference = intruder.get("/portal/payments?reference=theirs-1").await;
        assert!(by_reference.body.contains("No payments match"));
        let named = intruder
            .get(&format!("/portal/payments?merchant={victim}"))
            .await;
        assert_eq!(named.status, 400);
        assert!(!named.body.contains("theirs-1"));

        for (path, form) in [
            (
                format!("{detail}/refund"),
                vec![("amount", "100"), ("refund_no", "guess-1"), ("csrf", &csrf)],
            ),
            (
                format!("{detail}/resend"),
                vec![("event", "evt_x"), ("csrf", &csrf)],
            ),
            (
                "/portal/credentials/rotate".to_string(),
                vec![("merchant", &victim), ("csrf", &csrf)],
            ),
            (
                "/portal/settings".to_string(),
                vec![
                    ("merchant", &victim),
                    ("notify_url", "https://evil.example/hook"),
                    ("csrf", &csrf),
                ],
            ),
            (
                "/portal/balances/topup".to_string(),
                vec![
                    ("merchant", &victim),
                    ("amount", "100"),
                    ("reference", "r"),
                    ("csrf", &csrf),
                ],
            ),
        ] {
            let page = intruder.post(&path, &form).await;
            assert_eq!(page.status, 404, "{path}: {page:?}");
        }
        let after = app.core.store().payment(&theirs.id).await.unwrap().unwrap();
        assert_eq!(after.refunded, Money::ZERO);
        let merchant = app
            .core
            .store()
            .merchant_by_id(&app.merchant.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(merchant.client_secret, app.merchant.client_secret);

        // The operator sees both.
        app.core
            .create_portal_user(
                Email::parse("ops@bayar.id").unwrap(),
                Password::parse(PASSWORD).unwrap(),
                Role::Operator,
            )
            .await
            .unwrap();
        let operator = Browser::new(&app);
        assert_eq!(operator.log_in("ops@bayar.id", PASSWORD).await.status, 303);
        let overview = operator.get("/portal").await;
        assert!(overview.body.contains("Toko Penyusup") && overview.body.contains("Toko Test"));
        assert_eq!(operator.get(&detail).await.status, 200);
        assert!(
            operator
                .get("/portal/payments")
                .await
                .body
                .contains("theirs-1")
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn secrets_are_shown_once_and_rotation_keeps_a_grace_period() {
    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        staff_of(&app.core, &app.merchant, "staff@toko.id").await;
        let browser = Browser::new(&app);
        assert_eq!(browser.log_in("staff@toko.id", PASSWORD).await.status, 303);
        let old = app.merchant.client_secret.expose().clone();

        let page = browser.get("/portal/credentials").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(app.merchant.client_id.as_str()));
        assert!(!page.body.contains(&old));

        let csrf = field(&page.body, "csrf");
        let merchant = app.merchant.id.to_string();
        let rotated = browser
            .post(
                "/portal/credentials/rotate",
                &[("csrf", &csrf), ("merchant", &merchant)],
            )
            .await;
        assert_eq!(rotated.status, 200);
        let new = text_of(&rotated.body, "client-secret");
        assert!(new.starts_with("SK-") && new != old);
        assert!(!rotated.body.contains(&old));
        for path in [
            "/portal",
            "/portal/credentials",
            "/portal/payments",
            "/portal/balances",
        ] {
            let body = browser.get(path).await.body;
            assert!(!body.contains(&new) && !body.contains(&old), "{path}");
        }

        // Both secrets verify SNAP signatures during the grace period; others do not.
        let token = app.b2b_token().await;
        let body = r#"{"partnerReferenceNo":"nope","serviceCode":"55"}"#;
        for (secret, accepted) in [(&old, true), (&new, true), (&"SK-wrong".to_string(), false)] {
            app.merchant.client_secret = bayar_core::secret::Secret::new(secret.clone());
            let headers =
                app.signed_headers(STATUS_PATH, &token, body, &ulid::Ulid::new().to_string());
            let reply = app.post(STATUS_PATH, &headers, body).await;
            let refused = reply.status == 401 && reply.message.contains("Signature");
            assert_eq!(!refused, accepted, "{secret}: {reply:?}");
        }

        // A generated private key is shown once; the public half is registered.
        let generated = browser
            .post(
                "/portal/credentials/generate-key",
                &[("csrf", &csrf), ("merchant", &merchant)],
            )
            .await;
        assert_eq!(generated.status, 200);
        let pem = text_of(&generated.body, "private-key");
        assert!(pem.contains("BEGIN PRIVATE KEY"));
        let key = bayar_snap::PrivateKey::from_pem(&pem).unwrap();
        let stored = app
            .core
            .store()
            .merchant_by_id(&app.merchant.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.public_key, key.public_key());
        let again = browser.get("/portal/credentials").await.body;
        assert!(!again.contains("BEGIN PRIVATE KEY"));

        // An upload that is not a key: a form error, the key unchanged.
        let bad = browser
            .post(
                "/portal/credentials/public-key",
                &[
                    ("csrf", &csrf),
                    ("merchant", &merchant),
                    ("public_key", "hello"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("not an RSA public key"));
        let uploaded = bayar_snap::PrivateKey::generate().unwrap().public_key();
        let ok = browser
            .post(
                "/portal/credentials/public-key",
                &[
                    ("csrf", &csrf),
                    ("merchant", &merchant),
                    ("public_key", &uploaded.to_pem()),
                ],
            )
            .await;
        assert_eq!(ok.status, 200);
        assert!(ok.body.contains(&uploaded.fingerprint_sha256()));
        app.stop().await;
    }
}

#[tokio::test]
async fn search_refund_top_up_and_statement() {
    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        staff_of(&app.core, &app.merchant, "staff@toko.id").await;
        for i in 0..55 {
            paid(&app.core, &app.merchant, &format!("bulk-{i:02}"), "1000.00").await;
        }
        let target = paid(&app.core, &app.merchant, "inv-target", "20000.00").await;
        let browser = Browser::new(&app);
        assert_eq!(browser.log_in("staff@toko.id", PASSWORD).await.status, 303);

        // Keyset pages: 50, then the rest; no row twice.
        let first = browser.get("/portal/payments").await;
        assert_eq!(first.body.matches("<tr>").count() - 1, 50);
        let next = field_href(&first.body, "next-page");
        let second = browser.get(&next).await;
        assert_eq!(second.body.matches("<tr>").count() - 1, 6);
        assert!(!second.body.contains("inv-target") && first.body.contains("inv-target"));

        // Filters.
        let found = browser.get("/portal/payments?reference=inv-target").await;
        assert_eq!(found.body.matches("<tr>").count() - 1, 1);
        let by_id = browser
            .get(&format!("/portal/payments?reference={}", target.id))
            .await;
        assert_eq!(by_id.body.matches("<tr>").count() - 1, 1);
        assert!(by_id.body.contains("inv-target"));
        let big = browser.get("/portal/payments?min=15000").await;
        assert_eq!(big.body.matches("<tr>").count() - 1, 1);
        let none = browser.get("/portal/payments?status=failed").await;
        assert!(none.body.contains("No payments match"));
        let none = browser.get("/portal/payments?channel=dana_wallet").await;
        assert!(none.body.contains("No payments match"));
        // Jakarta days: yesterday to today holds them all (the first page of 50), other
        // days none. The range is an id range: ids carry their creation time.
        let jakarta_day = |days: i64| {
            (chrono::Utc::now() + chrono::Duration::hours(7) + chrono::Duration::days(days))
                .format("%Y-%m-%d")
                .to_string()
        };
        let (yesterday, today) = (jakarta_day(-1), jakarta_day(0));
        let recent = browser
            .get(&format!("/portal/payments?from={yesterday}&to={today}"))
            .await;
        assert_eq!(recent.body.matches("<tr>").count() - 1, 50);
        let next = field_href(&recent.body, "next-page");
        assert!(
            next.contains("from=") && next.contains("before=pay_"),
            "{next}"
        );
        assert_eq!(browser.get(&next).await.body.matches("<tr>").count() - 1, 6);
        for range in [
            format!("from={}", jakarta_day(1)),
            format!("to={}", jakarta_day(-2)),
        ] {
            let none = browser.get(&format!("/portal/payments?{range}")).await;
            assert!(none.body.contains("No payments match"), "{range}");
        }
        let bad = browser.get("/portal/payments?min=lots").await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("Minimum amount"));

        // Refund from the detail page, through the core's rules.
        let detail = format!("/portal/payments/{}", target.id);
        let page = browser.get(&detail).await;
        let csrf = field(&page.body, "csrf");
        let refund_no = field(&page.body, "refund_no");
        let too_much = browser
            .post(
                &format!("{detail}/refund"),
                &[
                    ("amount", "30000"),
                    ("refund_no", &refund_no),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(too_much.status, 422);
        assert!(too_much.body.contains("Refund refused"));
        let not_money = browser
            .post(
                &format!("{detail}/refund"),
                &[
                    ("amount", "1,5"),
                    ("refund_no", &refund_no),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(not_money.status, 422);
        let done = browser
            .post(
                &format!("{detail}/refund"),
                &[
                    ("amount", "5000"),
                    ("refund_no", &refund_no),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{done:?}");
        // A double submit of the same form is the same refund, replayed.
        browser
            .post(
                &format!("{detail}/refund"),
                &[
                    ("amount", "5000"),
                    ("refund_no", &refund_no),
                    ("csrf", &csrf),
                ],
            )
            .await;
        let after = app.core.store().payment(&target.id).await.unwrap().unwrap();
        assert_eq!(after.refunded, Money::parse("5000.00").unwrap());
        let page = browser.get(&done.location).await;
        assert!(page.body.contains("Refund made"));
        assert!(page.body.contains("refunded IDR 5000.00"));
        assert!(page.body.contains("refund.succeeded") || page.body.contains("refund"));

        // Resend a notification: a new event about the payment.
        let event = field(&page.body, "event");
        let resent = browser
            .post(
                &format!("{detail}/resend"),
                &[("event", &event), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(resent.status, 303, "{resent:?}");
        let page = browser.get(&detail).await;
        assert!(
            page.body.matches("name=\"event\"").count() >= 3,
            "{}",
            page.body
        );

        // Sandbox top-up, then the statement.
        let balances = browser.get("/portal/balances").await;
        let reference = field(&balances.body, "reference");
        let merchant = app.merchant.id.to_string();
        let topup = browser
            .post(
                "/portal/balances/topup",
                &[
                    ("merchant", &merchant),
                    ("amount", "250000.50"),
                    ("reference", &reference),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(topup.status, 303);
        let negative = browser
            .post(
                "/portal/balances/topup",
                &[
                    ("merchant", &merchant),
                    ("amount", "-5"),
                    ("reference", "x2"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(negative.status, 422);
        let balances = app.core.portal_balances(&app.merchant.id).await.unwrap();
        assert_eq!(balances.deposit, 25_000_050);
        let page = browser.get("/portal/balances").await;
        assert!(page.body.contains("IDR 250000.50"));

        let csv = browser.get("/portal/balances/statement.csv").await;
        assert_eq!(csv.status, 200);
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(
            lines[0],
            "posted_at,transfer_id,memo,account,amount,currency"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("deposit top-up") && l.ends_with(",deposit,250000.50,IDR"))
        );
        let refund_transfer = format!("trf_{}_refund", after_refund_id(&app, &target).await);
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&refund_transfer) && l.contains(",available,-")),
            "{lines:?}"
        );
        // Entries sum to the balances.
        let sum: i64 = lines[1..]
            .iter()
            .map(|l| {
                let amount = l.split(',').nth(4).unwrap();
                let negative = amount.starts_with('-');
                let minor = Money::parse(amount.trim_start_matches('-'))
                    .unwrap()
                    .minor();
                if negative { -minor } else { minor }
            })
            .sum();
        let available = app
            .core
            .balance(&AccountId::merchant_available(&app.merchant.id))
            .await
            .unwrap()
            .unwrap()
            .posted;
        assert_eq!(sum, available + balances.deposit);
        assert!(app.core.verify_ledger().await.unwrap().is_empty());
        app.stop().await;
    }
}

/// The id of the (one) refund of `payment`.
async fn after_refund_id(app: &TestApp, payment: &Payment) -> String {
    let refunds = app.core.store().refunds_of(&payment.id).await.unwrap();
    refunds[0].id.to_string()
}

/// The `href` of the link with id `id`, unescaped.
fn field_href(html: &str, id: &str) -> String {
    let start = html.find(&format!("id=\"{id}\"")).unwrap();
    let rest = &html[start..];
    let href = rest.find("href=\"").unwrap() + 6;
    rest[href..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
}

#[tokio::test]
async fn the_api_log_records_signed_calls_without_secrets_and_ticks_the_checklist() {
    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        staff_of(&app.core, &app.merchant, "staff@toko.id").await;
        paid(&app.core, &app.merchant, "inv-log", "10000.00").await;
        let token = app.b2b_token().await;
        let body = serde_json::json!({
            "originalPartnerReferenceNo": "inv-log",
            "serviceCode": "55",
            "additionalInfo": { "channel": "DIRECT_DEBIT_ALLO_SNAP" }
        })
        .to_string();
        let good = app.signed_headers(STATUS_PATH, &token, &body, "ext-log-1");
        let ok = app.post(STATUS_PATH, &good, &body).await;
        assert_eq!(ok.code, "2005500", "{ok:?}");
        let mut bad = app.signed_headers(STATUS_PATH, &token, &body, "ext-log-2");
        bad[1].1 = bad[1].1.replace(|c: char| c.is_ascii_alphabetic(), "A");
        let refused = app.post(STATUS_PATH, &bad, &body).await;
        assert_eq!(refused.status, 401, "{refused:?}");

        let browser = Browser::new(&app);
        assert_eq!(browser.log_in("staff@toko.id", PASSWORD).await.status, 303);
        // The log is written after the answer: wait (bounded) for both calls.
        let mut page = browser.get("/portal/api-log").await;
        for _ in 0..100 {
            if page.body.matches("/orders/v1.0/debit/status").count() >= 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            page = browser.get("/portal/api-log").await;
        }
        assert_eq!(page.status, 200);
        assert!(page.body.contains("2005500"), "{}", page.body);
        assert!(page.body.contains("Invalid Signature"));
        // Which canonical body forms the signature was checked against; never the secret.
        assert!(
            page.body.contains("signature does not match (tried "),
            "{}",
            page.body
        );
        // The token calls count too.
        assert!(page.body.contains("/authorization/v1/access-token/b2b"));
        // Payment status (DOKU): success and invalid signature both ticked.
        let row = page
            .body
            .split("<tr>")
            .find(|r| r.contains("Payment status (DOKU)"))
            .unwrap();
        assert!(row.contains("2 / 2"), "{row}");
        let doku = page
            .body
            .split("<tr>")
            .find(|r| r.contains("Direct debit payment (DOKU)"))
            .unwrap();
        assert!(doku.contains("0 / 5"), "{doku}");

        let csv = browser.get("/portal/api-log.csv").await;
        assert_eq!(csv.status, 200);
        assert!(
            csv.body
                .starts_with("at,method,path,http_status,response_code")
        );
        assert!(csv.body.contains(",POST,/orders/v1.0/debit/status,401,"));
        for secret in [
            token.as_str(),
            good[1].1.as_str(),
            bad[1].1.as_str(),
            app.merchant.client_secret.expose().as_str(),
        ] {
            assert!(!page.body.contains(secret) && !csv.body.contains(secret));
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn settings_set_and_clear_the_notification_url() {
    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        staff_of(&app.core, &app.merchant, "staff@toko.id").await;
        let browser = Browser::new(&app);
        assert_eq!(browser.log_in("staff@toko.id", PASSWORD).await.status, 303);
        let page = browser.get("/portal/settings").await;
        let csrf = field(&page.body, "csrf");
        let merchant = app.merchant.id.to_string();
        let stored = |app: &TestApp| {
            let core = app.core.clone();
            let id = app.merchant.id;
            async move {
                core.store()
                    .merchant_by_id(&id)
                    .await
                    .unwrap()
                    .unwrap()
                    .notify_url
                    .map(|u| u.as_str().to_string())
            }
        };

        let bad = browser
            .post(
                "/portal/settings",
                &[
                    ("merchant", &merchant),
                    ("notify_url", "ftp://x/y"),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("absolute http"));
        assert_eq!(stored(&app).await, None);

        let url = "https://shop.example/v1.0/debit/notify";
        let saved = browser
            .post(
                "/portal/settings",
                &[
                    ("merchant", &merchant),
                    ("notify_url", url),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{saved:?}");
        assert_eq!(stored(&app).await.as_deref(), Some(url));
        let page = browser.get(&saved.location).await;
        assert!(page.body.contains("Settings saved") && page.body.contains(url));

        let cleared = browser
            .post(
                "/portal/settings",
                &[
                    ("merchant", &merchant),
                    ("notify_url", " "),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(cleared.status, 303);
        assert_eq!(stored(&app).await, None);

        // Per-face URLs and the default redirect: a bad one is named and nothing is saved.
        let default = "https://shop.example/notify";
        let doku = "https://shop.example/doku/notify";
        let dana = "https://shop.example/dana/finish";
        let back = "https://shop.example/done";
        let post = |doku_url: &'static str| {
            let pairs = [
                ("merchant", merchant.as_str()),
                ("notify_url", default),
                ("doku_notify_url", doku_url),
                ("dana_notify_url", dana),
                ("return_url", back),
                ("csrf", csrf.as_str()),
            ];
            let browser = &browser;
            async move { browser.post("/portal/settings", &pairs).await }
        };
        let bad = post("not a url").await;
        assert_eq!(bad.status, 422);
        assert!(
            bad.body
                .contains("DOKU-style notification URL: enter an absolute")
        );
        assert!(bad.body.contains("not a url"), "what was typed is kept");
        assert_eq!(stored(&app).await, None);
        let saved = post(doku).await;
        assert_eq!(saved.status, 303, "{saved:?}");
        let m = app
            .core
            .store()
            .merchant_by_id(&app.merchant.id)
            .await
            .unwrap()
            .unwrap();
        let text = |u: Option<&bayar_core::merchant::NotifyUrl>| u.map(|u| u.as_str().to_string());
        assert_eq!(text(m.notify_url_for(Face::Doku)).as_deref(), Some(doku));
        assert_eq!(text(m.notify_url_for(Face::Dana)).as_deref(), Some(dana));
        assert_eq!(text(m.notify_url.as_ref()).as_deref(), Some(default));
        assert_eq!(text(m.urls.return_url.as_ref()).as_deref(), Some(back));
        let page = browser.get(&saved.location).await;
        for url in [default, doku, dana, back] {
            assert!(page.body.contains(url), "{url} shown");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn reports_show_daily_volume_and_settle_in_usd() {
    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        staff_of(&app.core, &app.merchant, "staff@toko.id").await;
        let a = paid(&app.core, &app.merchant, "rep-1", "20000.00").await;
        let b = paid(&app.core, &app.merchant, "rep-2", "12345.67").await;
        let browser = Browser::new(&app);
        assert_eq!(browser.log_in("staff@toko.id", PASSWORD).await.status, 303);

        let page = browser.get("/portal/reports").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("allo_direct_debit"), "{}", page.body);
        assert!(page.body.contains("IDR 32345.67"));

        let bad = browser.get("/portal/reports?rate=free").await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("Default rate"));

        let today = bayar_snap::time::jakarta_date(chrono::Utc::now());
        let csv = browser
            .get(&format!(
                "/portal/reports/settlement.csv?rate=15000&rates={}",
                url_encode(&format!("{today} 16250.00"))
            ))
            .await;
        assert_eq!(csv.status, 200, "{csv:?}");
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(
            lines[0],
            "day,channel,count,gross_idr,fee_idr,net_idr,refunded_idr,idr_per_usd,net_usd"
        );
        assert_eq!(lines.len(), 2, "{lines:?}");
        let net = a.amount.minor() - a.fee.minor() + b.amount.minor() - b.fee.minor();
        // USD cents = net sen * 100 / 1,625,000 sen per USD, rounded half up.
        let cents = (2 * i128::from(net) * 100 + 1_625_000) / (2 * 1_625_000);
        let expected = format!("{}.{:02}", cents / 100, cents % 100);
        let fields: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(fields[2], "2");
        assert_eq!(fields[3], "32345.67");
        assert_eq!(fields[7], "16250.00");
        assert_eq!(fields[8], expected);
        app.stop().await;
    }
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The status `GET /v1/webhook_endpoints` answers with `key` as the bearer token.
async fn stripe_status(app: &TestApp, key: &str) -> u16 {
    app.http
        .get(format!("{}/v1/webhook_endpoints", app.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A second merchant of `app` with its secret API key and a staff user `email`, signed in.
async fn merchant_with_key(app: &TestApp, name: &str, email: &str) -> (Merchant, String, Browser) {
    let created = app
        .core
        .create_merchant(bayar_core::merchant::NewMerchant {
            name: bayar_core::merchant::MerchantName::parse(name).unwrap(),
            notify_url: None,
            public_key: None,
        })
        .await
        .unwrap();
    staff_of(&app.core, &created.merchant, email).await;
    let browser = Browser::new(app);
    assert_eq!(browser.log_in(email, PASSWORD).await.status, 303);
    let key = created.secret_key.expose().to_string();
    (created.merchant, key, browser)
}

#[tokio::test]
async fn rolling_the_secret_api_key_keeps_the_old_one_for_its_grace() {
    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        let (merchant, old, browser) = merchant_with_key(&app, "Toko Kunci", "kunci@toko.id").await;
        let id = merchant.id.to_string();

        let page = browser.get("/portal/credentials").await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(&old));
        assert!(page.body.contains(&old[old.len() - 4..]), "last 4 shown");
        let csrf = field(&page.body, "csrf");

        // No CSRF token: refused, nothing rolled.
        let forged = browser
            .post("/portal/credentials/roll-api-key", &[("merchant", &id)])
            .await;
        assert_eq!(forged.status, 403);
        assert_eq!(app.core.api_keys(&merchant.id).await.unwrap().len(), 1);

        let rolled = browser
            .post(
                "/portal/credentials/roll-api-key",
                &[("csrf", &csrf), ("merchant", &id)],
            )
            .await;
        assert_eq!(rolled.status, 200, "{rolled:?}");
        let new = text_of(&rolled.body, "api-key");
        assert!(new.starts_with("sk_test_") && new != old);
        assert!(!rolled.body.contains(&old));
        assert!(rolled.body.contains("keeps working until"));

        // Both keys work during the grace period; a made-up one does not.
        assert_eq!(stripe_status(&app, &old).await, 200);
        assert_eq!(stripe_status(&app, &new).await, 200);
        assert_eq!(stripe_status(&app, "sk_test_madeup").await, 401);

        // The new key is never shown again; the table names both by their last 4.
        for path in [
            "/portal",
            "/portal/credentials",
            "/portal/settings",
            "/portal/api-log",
        ] {
            let body = browser.get(path).await.body;
            assert!(!body.contains(&new) && !body.contains(&old), "{path}");
        }
        let keys = app.core.api_keys(&merchant.id).await.unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].last4.as_deref(), Some(&new[new.len() - 4..]));
        assert!(keys[0].expires_at.is_none() && keys[1].expires_at.is_some());

        // Once the grace period is over the old key stops working (the store at a later time).
        let later = chrono::Utc::now() + bayar_core::portal::SECRET_GRACE;
        let by = |key: &str| bayar_core::api_key::ApiKey::parse(key).unwrap().hash();
        let store = app.core.store();
        assert_eq!(
            store
                .merchant_id_by_api_key(&by(&old), later)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .merchant_id_by_api_key(&by(&new), later)
                .await
                .unwrap(),
            Some(merchant.id)
        );

        // Another merchant's staff cannot roll this merchant's key.
        staff_of(&app.core, &app.merchant, "staff@toko.id").await;
        let other = Browser::new(&app);
        assert_eq!(other.log_in("staff@toko.id", PASSWORD).await.status, 303);
        let csrf = other.csrf("/portal/credentials").await;
        let guessed = other
            .post(
                "/portal/credentials/roll-api-key",
                &[("csrf", &csrf), ("merchant", &id)],
            )
            .await;
        assert_eq!(guessed.status, 404);
        assert_eq!(app.core.api_keys(&merchant.id).await.unwrap().len(), 2);
        app.stop().await;
    }
}

#[tokio::test]
async fn webhook_endpoints_are_created_listed_and_deleted_with_the_secret_shown_once() {
    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        let (merchant, key, browser) = merchant_with_key(&app, "Toko Hook", "hook@toko.id").await;
        let id = merchant.id.to_string();
        let csrf = browser.csrf("/portal/settings").await;
        let url = "https://shop.example/stripe/webhook";

        // Bad input: a form error, nothing created.
        for (bad_url, events, error) in [
            ("ftp://x/y", vec!["*"], "absolute http"),
            (url, vec![], "tick at least one"),
            (url, vec!["payment_intent.nope"], "not an event type"),
        ] {
            let mut form = vec![("csrf", csrf.as_str()), ("merchant", &id), ("url", bad_url)];
            form.extend(events.iter().map(|e| ("enabled_events", *e)));
            let page = browser.post("/portal/settings/webhooks", &form).await;
            assert_eq!(page.status, 422, "{bad_url} {events:?}");
            assert!(page.body.contains(error), "{error}");
        }
        let forged = browser
            .post(
                "/portal/settings/webhooks",
                &[("merchant", &id), ("url", url), ("enabled_events", "*")],
            )
            .await;
        assert_eq!(forged.status, 403);
        assert!(
            app.core
                .store()
                .webhook_endpoints(&merchant.id)
                .await
                .unwrap()
                .is_empty()
        );

        let created = browser
            .post(
                "/portal/settings/webhooks",
                &[
                    ("csrf", &csrf),
                    ("merchant", &id),
                    ("url", url),
                    ("enabled_events", "payment_intent.succeeded"),
                    ("enabled_events", "refund.created"),
                ],
            )
            .await;
        assert_eq!(created.status, 200, "{created:?}");
        let secret = text_of(&created.body, "webhook-secret");
        assert!(secret.starts_with("whsec_"));
        let stored = app
            .core
            .store()
            .webhook_endpoints(&merchant.id)
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].secret.expose(), &secret);
        assert_eq!(
            stored[0].enabled_events,
            ["payment_intent.succeeded", "refund.created"]
        );
        let endpoint = stored[0].id.clone();

        // Listed (here and in the API) without its secret, from then on.
        let page = browser.get("/portal/settings").await;
        assert!(page.body.contains(&endpoint) && page.body.contains(url));
        assert!(!page.body.contains(&secret));
        let listed = app
            .http
            .get(format!("{}/v1/webhook_endpoints", app.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(listed.contains(&endpoint) && !listed.contains(&secret));

        // Another merchant cannot delete it, by its own merchant or by this one.
        staff_of(&app.core, &app.merchant, "staff@toko.id").await;
        let other = Browser::new(&app);
        assert_eq!(other.log_in("staff@toko.id", PASSWORD).await.status, 303);
        let other_csrf = other.csrf("/portal/settings").await;
        let path = format!("/portal/settings/webhooks/{endpoint}/delete");
        let own = app.merchant.id.to_string();
        for as_merchant in [&own, &id] {
            let guessed = other
                .post(&path, &[("csrf", &other_csrf), ("merchant", as_merchant)])
                .await;
            assert_eq!(guessed.status, 404);
        }
        assert_eq!(
            app.core
                .store()
                .webhook_endpoints(&merchant.id)
                .await
                .unwrap()
                .len(),
            1
        );

        let deleted = browser
            .post(&path, &[("csrf", &csrf), ("merchant", &id)])
            .await;
        assert_eq!(deleted.status, 303, "{deleted:?}");
        assert!(
            app.core
                .store()
                .webhook_endpoints(&merchant.id)
                .await
                .unwrap()
                .is_empty()
        );
        let page = browser.get(&deleted.location).await;
        assert!(page.body.contains("Webhook endpoint deleted") && !page.body.contains(&endpoint));
        let again = browser
            .post(&path, &[("csrf", &csrf), ("merchant", &id)])
            .await;
        assert_eq!(again.status, 404);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_test_notification_is_queued_and_delivered_with_its_attempts_shown() {
    use bayar_server::notify::{self, BayarRenderer, WorkerConfig};

    for store in stores().await {
        let mut app = TestApp::spawn(store).await;
        let receiver = common::receiver::Receiver::start(0).await;
        let url = receiver.url.clone();
        app.core
            .set_merchant_urls(
                &app.merchant,
                Some(bayar_core::merchant::NotifyUrl::parse(&url).unwrap()),
                bayar_core::merchant::MerchantUrls::default(),
            )
            .await
            .unwrap();
        let worker = notify::spawn(
            app.core.clone(),
            std::sync::Arc::new(BayarRenderer),
            WorkerConfig {
                poll_interval: std::time::Duration::from_millis(20),
                ..WorkerConfig::default()
            },
        )
        .unwrap();
        staff_of(&app.core, &app.merchant, "staff@toko.id").await;
        let browser = Browser::new(&app);
        assert_eq!(browser.log_in("staff@toko.id", PASSWORD).await.status, 303);
        let csrf = browser.csrf("/portal/settings").await;
        let merchant = app.merchant.id.to_string();

        let forged = browser
            .post("/portal/settings/test", &[("merchant", &merchant)])
            .await;
        assert_eq!(forged.status, 403);

        let sent = browser
            .post(
                "/portal/settings/test",
                &[("csrf", &csrf), ("merchant", &merchant)],
            )
            .await;
        assert_eq!(sent.status, 303, "{sent:?}");
        let page = browser.get(&sent.location).await;
        assert!(page.body.contains("Test notification queued"));
        let (event, _) = app
            .core
            .last_test_notification(&app.merchant.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.kind, bayar_core::outbox::EventKind::Test);

        // The worker delivers it to the merchant's URL; the page then shows the attempt.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        let body = loop {
            let body = browser.get("/portal/settings").await.body;
            if body.contains("delivered") {
                break body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not delivered: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        assert!(body.contains(&event.id.to_string()) && body.contains("200"));
        let requests = receiver.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].event_id, event.id.to_string());
        assert!(String::from_utf8_lossy(&requests[0].body).contains("test.notification"));
        worker.stop().await;
        app.stop().await;
    }
}
