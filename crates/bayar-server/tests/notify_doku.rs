//! DOKU's notification dialect against a merchant built on DOKU's official Python SDK, on every
//! engine: the token handshake the SDK verifies with the gateway key, notifications whose JWT
//! and HMAC the merchant verifies, bodies made from real payments, refunds and bindings, and
//! retries when the handshake or the token fails.

mod common;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bayar_core::binding::Binding;
use bayar_core::commands::{
    Cancel, CreatePayment, DebitNow, PaymentLookup, RecordPin, RefundPayment, SubmitOtp, Unbind,
};
use bayar_core::customer::{Customer, PhoneNumber, Pin, Rail};
use bayar_core::ids::EventId;
use bayar_core::merchant::{Merchant, MerchantName, NewMerchant, NotifyUrl};
use bayar_core::outbox::{Attempt, Event, RetrySchedule};
use bayar_core::payment::{Channel, Face, PartnerReference, Payment};
use bayar_core::store::Store;
use bayar_core::testing::{self, TestStore};
use bayar_core::{Core, CoreConfig, NewCustomer};
use bayar_server::notify::{self, DialectRouter, WorkerConfig, WorkerHandle};
use bayar_snap::{Money, PrivateKey};
use common::receiver::SdkReceiver;
use serde_json::{Value, json};

/// Plenty for anything here to happen; tests poll for the outcome and never time it.
const DEADLINE: Duration = Duration::from_secs(20);

/// The merchant's notification path (DOKU's direct-debit notify, snap.md §4.1.6).
const NOTIFY_PATH: &str = "/v1.0/debit/notify";

/// The SDK venv's Python, or `None` when it cannot be set up (said loudly by `sdk_python`).
fn python() -> Option<PathBuf> {
    common::python::sdk_python()
}

/// A core on `t`'s store, a merchant whose notifications go to a fresh SDK receiver, and the
/// receiver configured with the merchant's credentials (plus `options`).
async fn doku_merchant(
    t: &TestStore,
    python: &Path,
    options: Value,
) -> (Core, Merchant, SdkReceiver) {
    let core = Core::start(t.store.clone(), CoreConfig::default())
        .await
        .unwrap();
    let mut receiver = SdkReceiver::start(python).await;
    let created = core
        .create_merchant(NewMerchant {
            name: MerchantName::parse("Toko DOKU").unwrap(),
            notify_url: Some(NotifyUrl::parse(&receiver.url(NOTIFY_PATH)).unwrap()),
            public_key: None,
        })
        .await
        .unwrap();
    let merchant = created.merchant;
    let mut config = json!({
        "client_id": merchant.client_id.as_str(),
        "client_secret": merchant.client_secret.expose(),
        "gateway_public_key": core.gateway_public_key().to_pem(),
        "merchant_private_key": created.private_key_pem.unwrap().expose(),
        "expires_in": 900,
    });
    for (key, value) in options.as_object().unwrap() {
        config[key] = value.clone();
    }
    receiver.configure(&config).await;
    (core, merchant, receiver)
}

fn start_worker(core: &Core, schedule: RetrySchedule) -> WorkerHandle {
    let config = WorkerConfig {
        poll_interval: Duration::from_millis(20),
        schedule,
        ..WorkerConfig::default()
    };
    let router = DialectRouter::new(
        notify::http_client(&config).unwrap(),
        core.gateway_private_key().clone(),
        core.store().clone(),
    );
    notify::spawn(core.clone(), Arc::new(router), config).unwrap()
}

fn idr(s: &str) -> Money {
    Money::parse(s).unwrap()
}

async fn customer(core: &Core, rail: Rail, phone: &str, balance: &str) -> Customer {
    core.create_customer(NewCustomer {
        rail,
        phone: PhoneNumber::parse(phone).unwrap(),
        pin: Pin::parse("123456").unwrap(),
        opening_balance: idr(balance),
    })
    .await
    .unwrap()
}

/// Binds the bank account with `phone` to `merchant` as `cust_id_merchant`, through the
/// commands behind the hosted binding page (OTP, then the PIN's outcome); answers the active
/// binding.
async fn bind(core: &Core, merchant: &Merchant, phone: &str, cust_id_merchant: &str) -> Binding {
    let binding = core
        .run(bayar_core::commands::BeginBinding {
            merchant_id: merchant.id,
            rail: bayar_core::customer::Rail::Bank,
            phone: PhoneNumber::parse(phone).unwrap(),
            cust_id_merchant: cust_id_merchant.into(),
            success_url: "https://merchant.example/bound".into(),
            failed_url: "https://merchant.example/failed".into(),
        })
        .await
        .unwrap();
    core.run(SubmitOtp {
        binding_id: binding.id,
        otp: binding.otp.expose().clone(),
    })
    .await
    .unwrap();
    core.run(RecordPin {
        binding_id: binding.id,
        correct: true,
    })
    .await
    .unwrap();
    let active = core
        .store()
        .active_binding_of(&merchant.id, &binding.customer_id)
        .await
        .unwrap()
        .expect("the binding is active");
    assert_eq!(active.cust_id_merchant, cust_id_merchant);
    active
}

fn create_payment(
    merchant: &Merchant,
    reference: &str,
    channel: Channel,
    amount: &str,
) -> CreatePayment {
    CreatePayment {
        merchant_id: merchant.id,
        partner_reference_no: PartnerReference::parse(reference).unwrap(),
        external_id: format!("ext-{reference}"),
        channel,
        face: Face::Doku,
        amount: idr(amount),
        valid_until: None,
        title: None,
        return_url: None,
        notify_url: None,
    }
}

async fn debit(
    core: &Core,
    merchant: &Merchant,
    reference: &str,
    channel: Channel,
    amount: &str,
    who: &Customer,
) -> Payment {
    core.run(DebitNow {
        payment: create_payment(merchant, reference, channel, amount),
        customer_id: who.id,
        cust_id_merchant: None,
    })
    .await
    .unwrap()
    .payment
}

/// The id of the event about `subject` (a payment or refund id); each test's commands write
/// one event per subject.
async fn event_about(store: &Store, subject: &str) -> EventId {
    let sql = "SELECT id FROM events WHERE subject_id = $1";
    let id: String = match store {
        Store::Sqlite { writer, .. } => sqlx::query_scalar(sql)
            .bind(subject)
            .fetch_one(writer)
            .await
            .unwrap(),
        Store::Postgres(pool) => sqlx::query_scalar(sql)
            .bind(subject)
            .fetch_one(pool)
            .await
            .unwrap(),
    };
    id.parse().unwrap()
}

/// Polls `check` until it yields a value or the deadline passes.
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the event is delivered or given up; returns it with its attempts.
async fn settled(store: &Store, id: &EventId) -> (Event, Vec<Attempt>) {
    let event = wait_for("the event to settle", || async {
        let event = store.event(id).await.unwrap().unwrap();
        (event.delivered_at.is_some() || event.given_up_at.is_some()).then_some(event)
    })
    .await;
    (event, store.attempts(id).await.unwrap())
}

/// Checks what every notification must carry, whatever it reports.
fn assert_verified(n: &Value, merchant: &Merchant) {
    assert_eq!(n["path"], NOTIFY_PATH, "{n}");
    assert_eq!(n["bearer"], true, "Authorization is `Bearer <jwt>`: {n}");
    assert_eq!(n["token_valid"], true, "the SDK verified the JWT: {n}");
    assert_eq!(n["hmac_valid"], true, "X-SIGNATURE verified: {n}");
    assert_eq!(
        n["sdk_hmac_valid"], true,
        "and matches the SDK's own HMAC: {n}"
    );
    assert_eq!(n["signature_length"], 88, "base64 of 64 bytes");
    let headers = &n["headers"];
    assert_eq!(headers["X-PARTNER-ID"], merchant.client_id.as_str());
    assert_eq!(headers["CHANNEL-ID"], "H2H");
    assert_eq!(headers["Content-Type"], "application/json");
    let timestamp = headers["X-TIMESTAMP"].as_str().unwrap();
    assert!(timestamp.ends_with("+07:00"), "{timestamp}");
    bayar_snap::time::parse_timestamp(timestamp).unwrap();
    let external_id = headers["X-EXTERNAL-ID"].as_str().unwrap();
    assert!(
        !external_id.is_empty() && external_id.bytes().all(|b| b.is_ascii_digit()),
        "{external_id}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doku_merchants_get_notifications_their_sdk_verifies() {
    let Some(python) = python() else {
        return;
    };
    for t in testing::all().await {
        let (core, merchant, receiver) = doku_merchant(&t, &python, json!({})).await;
        let bound = customer(&core, Rail::Bank, "081277770001", "50000.00").await;
        bind(&core, &merchant, "081277770001", "cust-001").await;
        let poor = customer(&core, Rail::Bank, "081277770002", "1000.00").await;
        let wallet = customer(&core, Rail::Wallet, "081277770003", "30000.00").await;

        let paid = debit(
            &core,
            &merchant,
            "INV-PAID",
            Channel::AlloDirectDebit,
            "10000.00",
            &bound,
        )
        .await;
        let failed = debit(
            &core,
            &merchant,
            "INV-POOR",
            Channel::AlloDirectDebit,
            "5000.00",
            &poor,
        )
        .await;
        let by_wallet = debit(
            &core,
            &merchant,
            "INV-WALLET",
            Channel::DanaWallet,
            "7500.00",
            &wallet,
        )
        .await;
        let waiting = core
            .run(create_payment(
                &merchant,
                "INV-CANCEL",
                Channel::AlloDirectDebit,
                "3000.00",
            ))
            .await
            .unwrap()
            .payment;
        core.run(Cancel {
            merchant_id: Some(merchant.id),
            payment_id: waiting.id,
        })
        .await
        .unwrap();
        let refund = core
            .run(RefundPayment {
                merchant_id: merchant.id,
                payment: PaymentLookup::Id(paid.id),
                partner_refund_no: PartnerReference::parse("RF-1").unwrap(),
                amount: idr("2500.00"),
                reason: Some("customer asked".into()),
            })
            .await
            .unwrap()
            .refund;

        let worker = start_worker(
            &core,
            RetrySchedule::new(vec![Duration::from_millis(50); 3]),
        );
        let subjects = [
            paid.id.to_string(),
            failed.id.to_string(),
            by_wallet.id.to_string(),
            waiting.id.to_string(),
            refund.id.to_string(),
        ];
        for subject in &subjects {
            let id = event_about(core.store(), subject).await;
            let (event, attempts) = settled(core.store(), &id).await;
            assert!(
                event.delivered_at.is_some(),
                "{}: {event:?} {attempts:?}",
                t.engine
            );
            assert_eq!(attempts.len(), 1, "{}: {attempts:?}", t.engine);
            assert_eq!(attempts[0].http_status, Some(200));
            let snippet = attempts[0].response_snippet.as_deref().unwrap();
            assert!(snippet.contains("2005600"), "the SDK's answer: {snippet}");
        }
        worker.stop().await;

        // One handshake for all five: concurrent deliveries share it, later ones reuse it.
        let tokens = receiver.seen("token");
        assert_eq!(tokens.len(), 1, "{}: {tokens:?}", t.engine);
        let token = &tokens[0];
        assert_eq!(
            token["signature_valid"], true,
            "the SDK verified the gateway's signature"
        );
        assert_eq!(token["response_code"], "2007300");
        assert_eq!(token["client_key"], merchant.client_id.as_str());
        assert_eq!(token["grant_type"], "client_credentials");
        assert_eq!(token["content_type"], "application/json");
        assert!(token["timestamp"].as_str().unwrap().ends_with("+07:00"));

        let notifications = receiver.seen("notification");
        assert_eq!(notifications.len(), 5, "{}: {notifications:?}", t.engine);
        let mut external_ids: Vec<_> = notifications
            .iter()
            .map(|n| n["headers"]["X-EXTERNAL-ID"].clone())
            .collect();
        external_ids.sort_by_key(ToString::to_string);
        external_ids.dedup();
        assert_eq!(external_ids.len(), 5, "a fresh X-EXTERNAL-ID each");
        let body_of = |reference: &str, refund: bool| {
            notifications
                .iter()
                .find(|n| {
                    n["body"]["originalPartnerReferenceNo"] == reference
                        && n["body"].get("refundNo").is_some() == refund
                })
                .unwrap_or_else(|| panic!("no notification for {reference}"))
                .clone()
        };
        for n in &notifications {
            assert_verified(n, &merchant);
            assert_eq!(n["answered"], 200);
            assert_eq!(n["response_code"], "2005600");
        }

        let n = body_of("INV-PAID", false);
        assert_eq!(
            n["sdk_model"], true,
            "the body is exactly the SDK's model: {n}"
        );
        assert_eq!(
            n["body"],
            json!({
                "originalPartnerReferenceNo": "INV-PAID",
                "originalReferenceNo": paid.id.to_string(),
                "originalExternalId": "ext-INV-PAID",
                "latestTransactionStatus": "00",
                "transactionStatusDesc": "Success",
                "amount": {"value": "10000.00", "currency": "IDR"},
                "additionalInfo": {
                    "channelId": "DIRECT_DEBIT_ALLO_SNAP",
                    "acquirerId": "ALLO",
                    "custIdMerchant": "cust-001",
                    "accountType": "DIRECT_DEBIT",
                },
            }),
            "{}",
            t.engine
        );

        let n = body_of("INV-POOR", false);
        assert_eq!(n["sdk_model"], true);
        assert_eq!(n["body"]["latestTransactionStatus"], "06");
        assert_eq!(n["body"]["transactionStatusDesc"], "Failed");
        assert_eq!(n["body"]["amount"]["value"], "5000.00");
        assert!(
            n["body"]["additionalInfo"].get("custIdMerchant").is_none(),
            "no binding, no custIdMerchant: {n}"
        );

        let n = body_of("INV-WALLET", false);
        assert_eq!(n["body"]["latestTransactionStatus"], "00");
        assert_eq!(
            n["body"]["additionalInfo"],
            json!({"channelId": "EMONEY_DANA_SNAP", "acquirerId": "DANA", "accountType": "WALLET"})
        );

        let n = body_of("INV-CANCEL", false);
        assert_eq!(n["body"]["latestTransactionStatus"], "05");
        assert_eq!(n["body"]["originalReferenceNo"], waiting.id.to_string());

        let n = body_of("INV-PAID", true);
        let body = &n["body"];
        assert_eq!(body["originalReferenceNo"], paid.id.to_string());
        assert_eq!(body["refundNo"], refund.id.to_string());
        assert_eq!(body["partnerRefundNo"], "RF-1");
        assert_eq!(
            body["refundAmount"],
            json!({"value": "2500.00", "currency": "IDR"})
        );
        assert_eq!(body["latestTransactionStatus"], "00");
        assert_eq!(
            body["additionalInfo"]["channelId"],
            "DIRECT_DEBIT_ALLO_SNAP"
        );
        assert_eq!(body["additionalInfo"]["custIdMerchant"], "cust-001");
        bayar_snap::time::parse_timestamp(body["refundTime"].as_str().unwrap()).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_debit_notification_names_the_customer_as_bound_when_they_paid() {
    let Some(python) = python() else {
        return;
    };
    for t in testing::all().await {
        let (core, merchant, receiver) = doku_merchant(&t, &python, json!({})).await;
        let payer = customer(&core, Rail::Bank, "081277770004", "50000.00").await;
        let binding = bind(&core, &merchant, "081277770004", "cust-004").await;
        // As the DOKU face debits: through the binding behind the customer token.
        let paid = core
            .run(DebitNow {
                payment: create_payment(
                    &merchant,
                    "INV-THEN",
                    Channel::AlloDirectDebit,
                    "10000.00",
                ),
                customer_id: payer.id,
                cust_id_merchant: Some(binding.cust_id_merchant.clone()),
            })
            .await
            .unwrap()
            .payment;
        // The merchant unbinds the account before the notification goes out.
        core.run(Unbind {
            merchant_id: merchant.id,
            binding_id: binding.id,
        })
        .await
        .unwrap();
        let active = core.store().active_binding_of(&merchant.id, &payer.id);
        assert!(active.await.unwrap().is_none(), "{}", t.engine);

        let worker = start_worker(
            &core,
            RetrySchedule::new(vec![Duration::from_millis(50); 3]),
        );
        let id = event_about(core.store(), &paid.id.to_string()).await;
        let (event, _) = settled(core.store(), &id).await;
        worker.stop().await;
        assert!(event.delivered_at.is_some(), "{}: {event:?}", t.engine);
        let notifications = receiver.seen("notification");
        assert_eq!(notifications.len(), 1, "{}: {notifications:?}", t.engine);
        let n = &notifications[0];
        assert_verified(n, &merchant);
        assert_eq!(n["sdk_model"], true, "{n}");
        assert_eq!(
            n["body"]["additionalInfo"]["custIdMerchant"], "cust-004",
            "{}: the payer as they paid, not as they are now: {n}",
            t.engine
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_token_request_is_retried_then_delivered() {
    let Some(python) = python() else {
        return;
    };
    for t in testing::all().await {
        let (core, merchant, receiver) =
            doku_merchant(&t, &python, json!({"fail_token_requests": 1})).await;
        let payer = customer(&core, Rail::Bank, "081277770011", "50000.00").await;
        let paid = debit(
            &core,
            &merchant,
            "INV-RETRY",
            Channel::AlloDirectDebit,
            "10000.00",
            &payer,
        )
        .await;
        let worker = start_worker(
            &core,
            RetrySchedule::new(vec![Duration::from_millis(50); 3]),
        );

        let id = event_about(core.store(), &paid.id.to_string()).await;
        let (event, attempts) = settled(core.store(), &id).await;
        worker.stop().await;
        assert!(
            event.delivered_at.is_some(),
            "{}: {event:?} {attempts:?}",
            t.engine
        );
        assert_eq!(event.attempts, 2);
        // The failed handshake is a recorded attempt, retried on the schedule: not given up.
        assert_eq!(attempts[0].http_status, None);
        assert_eq!(
            attempts[0].error.as_deref(),
            Some("token request failed: HTTP 503, responseCode 5037300")
        );
        assert_eq!(attempts[1].http_status, Some(200));
        assert_eq!(attempts[1].error, None);

        let tokens = receiver.seen("token");
        assert_eq!(
            tokens
                .iter()
                .map(|t| t["answered"].clone())
                .collect::<Vec<_>>(),
            vec![json!(503), json!(200)],
            "{}",
            t.engine
        );
        assert_eq!(tokens[1]["signature_valid"], true);
        let notifications = receiver.seen("notification");
        assert_eq!(notifications.len(), 1, "no notification without a token");
        assert_verified(&notifications[0], &merchant);
        assert_eq!(
            notifications[0]["body"]["originalPartnerReferenceNo"],
            "INV-RETRY"
        );
        assert_eq!(notifications[0]["body"]["amount"]["value"], "10000.00");
        assert_eq!(notifications[0]["body"]["latestTransactionStatus"], "00");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_that_cannot_verify_the_gateway_gets_nothing_and_bayar_gives_up_in_time() {
    let Some(python) = python() else {
        return;
    };
    for t in testing::all().await {
        // The merchant holds some other key as "DOKU's": the SDK refuses every token request.
        let stranger = PrivateKey::generate().unwrap().public_key().to_pem();
        let (core, merchant, receiver) =
            doku_merchant(&t, &python, json!({"gateway_public_key": stranger})).await;
        let payer = customer(&core, Rail::Bank, "081277770021", "50000.00").await;
        let paid = debit(
            &core,
            &merchant,
            "INV-REFUSED",
            Channel::AlloDirectDebit,
            "10000.00",
            &payer,
        )
        .await;
        let worker = start_worker(
            &core,
            RetrySchedule::new(vec![Duration::from_millis(50); 2]),
        );

        let id = event_about(core.store(), &paid.id.to_string()).await;
        let (event, attempts) = settled(core.store(), &id).await;
        worker.stop().await;
        assert!(event.given_up_at.is_some(), "{}: {event:?}", t.engine);
        assert_eq!(attempts.len(), 3, "the whole schedule: {attempts:?}");
        for a in &attempts {
            assert_eq!(a.http_status, None);
            assert_eq!(
                a.error.as_deref(),
                Some("token request failed: HTTP 401, responseCode 4017300")
            );
        }
        let tokens = receiver.seen("token");
        assert_eq!(tokens.len(), 3, "{}", t.engine);
        assert!(tokens.iter().all(|t| t["signature_valid"] == false));
        assert!(receiver.seen("notification").is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_the_merchant_refuses_is_replaced_on_the_retry() {
    let Some(python) = python() else {
        return;
    };
    for t in testing::all().await {
        let (core, merchant, receiver) =
            doku_merchant(&t, &python, json!({"reject_notifications": 1})).await;
        let payer = customer(&core, Rail::Bank, "081277770031", "50000.00").await;
        let paid = debit(
            &core,
            &merchant,
            "INV-401",
            Channel::AlloDirectDebit,
            "10000.00",
            &payer,
        )
        .await;
        let worker = start_worker(
            &core,
            RetrySchedule::new(vec![Duration::from_millis(50); 3]),
        );

        let id = event_about(core.store(), &paid.id.to_string()).await;
        let (event, attempts) = settled(core.store(), &id).await;
        worker.stop().await;
        assert!(event.delivered_at.is_some(), "{}: {event:?}", t.engine);
        let statuses: Vec<_> = attempts.iter().map(|a| a.http_status).collect();
        assert_eq!(statuses, vec![Some(401), Some(200)], "{}", t.engine);
        // The 401 dropped the cached token: the retry made a new handshake.
        assert_eq!(receiver.seen("token").len(), 2, "{}", t.engine);
        let notifications = receiver.seen("notification");
        assert_eq!(notifications.len(), 2);
        for n in &notifications {
            assert_verified(n, &merchant);
        }
    }
}
