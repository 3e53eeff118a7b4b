//! The merchant's notification endpoint, in the bench process: answers DOKU's token handshake
//! (`POST /authorization/v1/access-token/b2b`) with a token, acknowledges every notification
//! with 200, and counts deliveries per notification (payment by `originalPartnerReferenceNo`,
//! refund by `partnerRefundNo`) with the time the first one arrived.
//!
//! It does not verify bayar's signatures (the conformance tests do that with DOKU's SDKs); it
//! only has to be cheap, so that it measures bayar's delivery rate rather than its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The key of a notification at the receiver: what identifies the change it reports.
pub fn payment_key(partner_reference_no: &str) -> String {
    format!("pay:{partner_reference_no}")
}

/// The key of a refund notification.
pub fn refund_key(partner_refund_no: &str) -> String {
    format!("ref:{partner_refund_no}")
}

/// Deliveries of one notification.
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    /// How many times it arrived (exactly once is the goal).
    pub count: u32,
    /// When it first arrived.
    pub first: Instant,
}

#[derive(Default)]
struct Inner {
    seen: HashMap<String, Seen>,
    handshakes: u64,
    unrecognised: u64,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    /// The notify URL to give the merchant.
    pub notify_url: String,
    inner: Arc<Mutex<Inner>>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver on 127.0.0.1 at a free port.
    pub async fn start() -> Result<Receiver> {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/authorization/v1/access-token/b2b", post(handshake))
            .route("/notify", post(notify))
            .with_state(inner.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the notification receiver")?;
        let notify_url = format!("http://{}/notify", listener.local_addr()?);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("notification receiver stopped: {e}");
            }
        });
        Ok(Receiver {
            notify_url,
            inner,
            server,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many distinct notifications have arrived.
    pub fn distinct(&self) -> usize {
        self.lock().seen.len()
    }

    /// A copy of every notification seen so far.
    pub fn snapshot(&self) -> HashMap<String, Seen> {
        self.lock().seen.clone()
    }

    /// How many token handshakes bayar made.
    pub fn handshakes(&self) -> u64 {
        self.lock().handshakes
    }

    /// Notifications whose body named neither a payment nor a refund.
    pub fn unrecognised(&self) -> u64 {
        self.lock().unrecognised
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handshake(State(inner): State<Arc<Mutex<Inner>>>) -> axum::Json<Value> {
    inner
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .handshakes += 1;
    axum::Json(json!({
        "responseCode": "2007300",
        "responseMessage": "Successful",
        "accessToken": "bench-receiver-token",
        "tokenType": "Bearer",
        "expiresIn": 900,
    }))
}

async fn notify(State(inner): State<Arc<Mutex<Inner>>>, body: Bytes) -> &'static str {
    let now = Instant::now();
    let key = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
        if let Some(refund) = v.get("partnerRefundNo").and_then(Value::as_str) {
            Some(refund_key(refund))
        } else {
            v.get("originalPartnerReferenceNo")
                .and_then(Value::as_str)
                .map(payment_key)
        }
    });
    let mut inner = inner.lock().unwrap_or_else(PoisonError::into_inner);
    match key {
        Some(key) => {
            inner
                .seen
                .entry(key)
                .and_modify(|s| s.count += 1)
                .or_insert(Seen {
                    count: 1,
                    first: now,
                });
        }
        None => inner.unrecognised += 1,
    }
    "ok"
}
