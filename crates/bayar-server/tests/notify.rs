//! The notification worker against a real HTTP receiver, on every engine: retries until
//! acknowledged, signatures a merchant can verify, giving up, and several workers sharing one
//! outbox without delivering anything twice.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::hmac;
use bayar_core::commands::SendTestNotification;
use bayar_core::ids::{EventId, MerchantId};
use bayar_core::merchant::Merchant;
use bayar_core::outbox::{Event, EventKind, NewEvent, RetrySchedule};
use bayar_core::store::Store;
use bayar_core::testing;
use bayar_core::{Core, CoreConfig};
use bayar_server::notify::{self, BayarRenderer, WorkerConfig, WorkerHandle};
use bayar_snap::PrivateKey;
use common::receiver::{FAILURE_BODY_CHARS, Receiver};
use serde_json::{Value, json};

/// Plenty for anything here to happen; tests poll for the outcome and never time it.
const DEADLINE: Duration = Duration::from_secs(10);

/// Inserts a merchant row directly (independent of `Core`'s API).
async fn merchant(store: &Store, notify_url: Option<&str>) -> Merchant {
    let id = MerchantId::generate();
    let public_key_pem = PrivateKey::generate().unwrap().public_key().to_pem();
    let client_id = format!("BYR-{}", &id.to_string()[4..24]);
    let sql = "INSERT INTO merchants (id, name, client_id, client_secret, public_key_pem,
                                      notify_url, created_at)
               VALUES ($1, 'Toko Notify', $2, $3, $4, $5, $6)";
    let secret = format!("SK-notify-{id}");
    let now = chrono::Utc::now().timestamp_millis();
    match store {
        Store::Sqlite { writer, .. } => {
            sqlx::query(sql)
                .bind(id.to_string())
                .bind(&client_id)
                .bind(&secret)
                .bind(&public_key_pem)
                .bind(notify_url)
                .bind(now)
                .execute(writer)
                .await
                .unwrap();
        }
        Store::Postgres(pool) => {
            sqlx::query(sql)
                .bind(id.to_string())
                .bind(&client_id)
                .bind(&secret)
                .bind(&public_key_pem)
                .bind(notify_url)
                .bind(now)
                .execute(pool)
                .await
                .unwrap();
        }
    }
    store.merchant_by_id(&id).await.unwrap().unwrap()
}

fn payment_succeeded(merchant: &Merchant, n: usize) -> NewEvent {
    NewEvent {
        merchant_id: merchant.id,
        kind: EventKind::PaymentSucceeded,
        subject_id: format!("pay_{n}"),
        payload: json!({"payment_id": format!("pay_{n}"), "amount": "10000.00", "n": n}),
    }
}

fn config(schedule: RetrySchedule) -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_millis(20),
        schedule,
        ..WorkerConfig::default()
    }
}

/// A worker on a core of its own over `store`, as a bayar process would run it.
async fn start(store: &Store, config: WorkerConfig) -> WorkerHandle {
    let core = Core::start(store.clone(), CoreConfig::default())
        .await
        .unwrap();
    notify::spawn(core, Arc::new(BayarRenderer), config).unwrap()
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

/// Waits until the event is delivered or given up, and returns it.
async fn settled(store: &Store, id: &EventId) -> Event {
    wait_for("the event to settle", || async {
        let event = store.event(id).await.unwrap().unwrap();
        (event.delivered_at.is_some() || event.given_up_at.is_some()).then_some(event)
    })
    .await
}

/// Verifies `Bayar-Signature` the way a merchant would, with an HMAC of its own.
fn verify_signature(header: &str, body: &[u8], secret: &str) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let Some(mac) = (0..v1.len())
        .step_by(2)
        .map(|i| {
            v1.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    hmac::verify(&key, &signed, &mac).is_ok()
}

#[tokio::test]
async fn delivers_on_the_fourth_attempt_after_three_failures() {
    for t in testing::all().await {
        let store = &t.store;
        let receiver = Receiver::start(3).await;
        let m = merchant(store, Some(&receiver.url)).await;
        let id = testing::insert_event(store, &payment_succeeded(&m, 1)).await;
        let worker = start(
            store,
            config(RetrySchedule::new(vec![Duration::from_millis(50); 5])),
        )
        .await;

        let event = settled(store, &id).await;
        worker.stop().await;
        assert!(event.delivered_at.is_some(), "{}: {event:?}", t.engine);
        assert!(event.given_up_at.is_none());
        assert_eq!(event.attempts, 4);

        let attempts = store.attempts(&id).await.unwrap();
        let statuses: Vec<_> = attempts.iter().map(|a| a.http_status).collect();
        assert_eq!(
            statuses,
            vec![Some(500), Some(500), Some(500), Some(200)],
            "{}",
            t.engine
        );
        assert_eq!(
            attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        assert!(attempts.iter().all(|a| a.error.is_none()));
        assert!(
            attempts
                .windows(2)
                .all(|w| w[0].started_at <= w[1].started_at)
        );
        // Failing answers are kept only up to the snippet length (in characters).
        let failed = attempts[0].response_snippet.as_deref().unwrap();
        const { assert!(FAILURE_BODY_CHARS > 512) };
        assert_eq!(failed.chars().count(), 512);
        assert_eq!(attempts[3].response_snippet.as_deref(), Some("ok"));

        let requests = receiver.requests();
        assert_eq!(requests.len(), 4);
        for request in &requests {
            assert_eq!(request.event_id, id.to_string());
            let signature = request.headers["bayar-signature"].to_str().unwrap();
            assert!(
                verify_signature(signature, &request.body, m.client_secret.expose()),
                "signature {signature} does not verify"
            );
            assert!(!verify_signature(signature, &request.body, "SK-wrong"));
            assert_eq!(request.headers["content-type"], "application/json");
        }
        assert_eq!(
            requests.iter().map(|r| r.answered).collect::<Vec<_>>(),
            vec![500, 500, 500, 200]
        );
        let body: Value = serde_json::from_slice(&requests[3].body).unwrap();
        assert_eq!(
            body,
            json!({
                "id": id.to_string(),
                "type": "payment.succeeded",
                "created": event.created_at.timestamp(),
                "data": {"payment_id": "pay_1", "amount": "10000.00", "n": 1},
            })
        );
    }
}

#[tokio::test]
async fn a_merchant_without_a_notify_url_is_given_up_with_one_recorded_attempt() {
    for t in testing::all().await {
        let store = &t.store;
        let m = merchant(store, None).await;
        let id = testing::insert_event(store, &payment_succeeded(&m, 1)).await;
        let worker = start(store, config(RetrySchedule::default())).await;

        let event = settled(store, &id).await;
        worker.stop().await;
        assert!(event.given_up_at.is_some(), "{}: {event:?}", t.engine);
        assert!(event.delivered_at.is_none());
        assert_eq!(event.attempts, 1);
        let attempts = store.attempts(&id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].http_status, None);
        assert_eq!(attempts[0].error.as_deref(), Some("no notification URL"));
        assert_eq!(attempts[0].response_snippet, None);
    }
}

#[tokio::test]
async fn a_receiver_that_never_acknowledges_exhausts_the_schedule() {
    for t in testing::all().await {
        let store = &t.store;
        let receiver = Receiver::start(usize::MAX).await;
        let m = merchant(store, Some(&receiver.url)).await;
        let id = testing::insert_event(store, &payment_succeeded(&m, 1)).await;
        let schedule = RetrySchedule::new(vec![Duration::from_millis(50); 2]);
        let worker = start(store, config(schedule)).await;

        let event = settled(store, &id).await;
        assert!(event.given_up_at.is_some(), "{}: {event:?}", t.engine);
        assert!(event.delivered_at.is_none());
        assert_eq!(event.attempts, 3);
        let statuses: Vec<_> = store
            .attempts(&id)
            .await
            .unwrap()
            .iter()
            .map(|a| a.http_status)
            .collect();
        assert_eq!(statuses, vec![Some(500); 3]);
        // Given up means given up: later polls leave it alone.
        tokio::time::sleep(Duration::from_millis(200)).await;
        worker.stop().await;
        assert_eq!(receiver.requests().len(), 3);
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_records_the_transport_error_and_retries() {
    for t in testing::all().await {
        let store = &t.store;
        // A port that was just free: nothing listens there.
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/hooks", listener.local_addr().unwrap())
        };
        let m = merchant(store, Some(&closed)).await;
        let id = testing::insert_event(store, &payment_succeeded(&m, 1)).await;
        let schedule = RetrySchedule::new(vec![Duration::from_millis(50)]);
        let worker = start(store, config(schedule)).await;

        let event = settled(store, &id).await;
        worker.stop().await;
        assert!(event.given_up_at.is_some(), "{}: {event:?}", t.engine);
        let attempts = store.attempts(&id).await.unwrap();
        assert_eq!(attempts.len(), 2);
        for a in &attempts {
            assert_eq!(a.http_status, None);
            let error = a.error.as_deref().unwrap();
            assert!(!error.is_empty());
            assert!(!error.contains("127.0.0.1"), "no URL in errors: {error}");
        }
    }
}

#[tokio::test]
async fn waking_the_worker_delivers_without_waiting_for_the_poll() {
    for t in testing::all().await {
        let store = &t.store;
        let receiver = Receiver::start(0).await;
        let m = merchant(store, Some(&receiver.url)).await;
        let worker = start(
            store,
            WorkerConfig {
                // Without a wake nothing would happen within the test's deadline.
                poll_interval: Duration::from_secs(3600),
                ..WorkerConfig::default()
            },
        )
        .await;
        // Let the worker's first (empty) pass go by, so only the wake can find the event.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let id = testing::insert_event(store, &payment_succeeded(&m, 1)).await;
        worker.wake();
        let event = settled(store, &id).await;
        worker.stop().await;
        assert!(event.delivered_at.is_some(), "{}: {event:?}", t.engine);
        assert_eq!(receiver.requests().len(), 1);
    }
}

#[tokio::test]
async fn events_the_core_commits_are_handed_to_its_worker_without_a_claim() {
    for t in testing::all().await {
        let store = &t.store;
        let receiver = Receiver::start(0).await;
        let m = merchant(store, Some(&receiver.url)).await;
        let core = Core::start(store.clone(), CoreConfig::default())
            .await
            .unwrap();
        let config = WorkerConfig {
            // Neither a poll nor a wake claims anything within the test's deadline.
            poll_interval: Duration::from_secs(3600),
            wake_delay: Duration::from_secs(3600),
            ..WorkerConfig::default()
        };
        let worker = notify::spawn(core.clone(), Arc::new(BayarRenderer), config).unwrap();
        // Let the worker's first (empty) claim go by, so only the hand-off can bring events.
        tokio::time::sleep(Duration::from_millis(100)).await;
        for n in 1..=3 {
            let command = SendTestNotification { merchant_id: m.id };
            let id = core.run(command).await.unwrap();
            let event = settled(store, &id).await;
            assert!(event.delivered_at.is_some(), "{}: {event:?}", t.engine);
            assert_eq!(event.attempts, 1, "{}", t.engine);
            assert_eq!(receiver.requests().len(), n, "{}", t.engine);
        }
        worker.stop().await;
    }
}

#[tokio::test]
async fn concurrent_workers_deliver_every_event_exactly_once() {
    const EVENTS: usize = 200;
    for t in testing::all().await {
        let store = &t.store;
        let receiver = Receiver::start(0).await;
        let m = merchant(store, Some(&receiver.url)).await;
        let mut ids = Vec::with_capacity(EVENTS);
        for n in 0..EVENTS {
            ids.push(testing::insert_event(store, &payment_succeeded(&m, n)).await);
        }
        // On PostgreSQL each worker gets its own pool, as separate bayar processes would; an
        // SQLite store belongs to one process, whose workers share its single writer.
        let mut handles = vec![store.clone()];
        for _ in 0..2 {
            handles.push(match testing::another_postgres_handle(store).await {
                Some(other) => other,
                None => store.clone(),
            });
        }
        let mut workers = Vec::new();
        for h in &handles {
            let config = WorkerConfig {
                // Small claims, many of them, so the workers really interleave.
                concurrency: 4,
                poll_interval: Duration::from_millis(5),
                ..WorkerConfig::default()
            };
            workers.push(start(h, config).await);
        }

        let expected: HashSet<String> = ids.iter().map(ToString::to_string).collect();
        wait_for("every event to be delivered", || async {
            let seen = receiver.per_event();
            expected
                .iter()
                .all(|id| seen.contains_key(id))
                .then_some(())
        })
        .await;
        for w in workers {
            w.stop().await;
        }

        let per_event = receiver.per_event();
        let duplicates: Vec<_> = per_event.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            duplicates.is_empty(),
            "{}: duplicates {duplicates:?}",
            t.engine
        );
        let seen: HashSet<String> = per_event.keys().cloned().collect();
        assert_eq!(seen, expected, "{}", t.engine);
        for id in &ids {
            let event = store.event(id).await.unwrap().unwrap();
            assert!(event.delivered_at.is_some(), "{}: {id}", t.engine);
            assert_eq!(event.attempts, 1);
            assert_eq!(store.attempts(id).await.unwrap().len(), 1);
        }
        for h in &handles[1..] {
            if matches!(h, Store::Postgres(_)) {
                h.close().await;
            }
        }
    }
}
