//! The merchant's side: builds and signs each request as a merchant server would (fresh
//! `X-TIMESTAMP` and `X-EXTERNAL-ID`, HMAC-SHA512 over the exact body per request), sends it to
//! a node chosen round-robin, and judges the answer by HTTP status and SNAP `responseCode`.
//!
//! It also keeps what later operations need: the references of successful payments (for status
//! queries and refunds), and the counts the correctness checks compare with the database.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bayar_snap::sign::{sign_asymmetric, sign_symmetric, sign_token};
use bayar_snap::time::format_jakarta;

use crate::provision::Provisioned;

/// The DOKU Allo direct-debit payment path.
pub const PAY_PATH: &str = "/direct-debit/core/v1/debit/payment-host-to-host";
/// The DOKU direct-debit refund path.
pub const REFUND_PATH: &str = "/direct-debit/core/v1/debit/refund";
/// The DOKU direct-debit status path.
pub const STATUS_PATH: &str = "/orders/v1.0/debit/status";
/// DANA's payment-gateway create-order path.
pub const DANA_ORDER_PATH: &str = "/payment-gateway/v1.0/debit/payment-host-to-host.htm";
/// The B2B token path.
pub const TOKEN_PATH: &str = "/authorization/v1/access-token/b2b";
/// Amount of every bench payment.
pub const PAYMENT_VALUE: &str = "10.00";
/// Amount of every bench DANA order (DANA's minimum is above [`PAYMENT_VALUE`]).
pub const DANA_ORDER_VALUE: &str = "10000.00";
/// Amount of every bench refund (a partial refund of one payment).
pub const REFUND_VALUE: &str = "1.00";
const CHANNEL: &str = "DIRECT_DEBIT_ALLO_SNAP";

/// One kind of request the generator sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// (a) A direct-debit payment with a fresh `partnerReferenceNo`.
    Pay,
    /// (b) A DANA payment-gateway order (RSA-signed), waiting for the customer afterwards.
    DanaOrder,
    /// (c) A status query of an earlier payment.
    Status,
    /// (d) A B2B token request (RSA-signed).
    Token,
    /// A partial refund of an earlier payment (part of the mix).
    Refund,
    /// `GET /healthz`: the ceiling.
    Health,
}

/// Successful payments' references.
#[derive(Default)]
struct Paid {
    /// Every successful payment, for status queries.
    all: Vec<String>,
    /// Payments not refunded yet.
    refundable: VecDeque<String>,
}

/// Answers recorded during a notification burst: reference and when it was answered.
#[derive(Default)]
struct Burst {
    recording: AtomicBool,
    answered: Mutex<Vec<(String, Instant)>>,
}

/// The merchant client shared by every request task.
pub struct Merchant {
    http: reqwest::Client,
    nodes: Vec<String>,
    account: Provisioned,
    /// The B2B token of transactional calls.
    b2b_token: RwLock<String>,
    /// The pre-signed token request (timestamp, signature) that [`Op::Token`] sends.
    token_requests: RwLock<Vec<(String, String)>>,
    /// Distinguishes this run's references from any other's.
    run_tag: String,
    sequence: AtomicU64,
    paid: Mutex<Paid>,
    burst: Burst,
    /// Payments answered `2005400`.
    pub payments_ok: AtomicU64,
    /// Refunds answered `2005800`.
    pub refunds_ok: AtomicU64,
    /// DANA orders answered `2005400`.
    pub dana_orders_ok: AtomicU64,
    /// Refund numbers answered `2005800`, for the notification check.
    refunded: Mutex<Vec<String>>,
}

/// Locks a mutex, ignoring poisoning (a panicked task cannot leave these half-updated).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A cheap, well-mixed hash of a sequence number (splitmix64), for picking earlier payments.
pub fn mix(seq: u64) -> u64 {
    let mut z = seq.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Merchant {
    /// A client for `nodes` (base URLs) acting as the provisioned merchant.
    pub fn new(nodes: Vec<String>, account: Provisioned, timeout: Duration) -> Result<Merchant> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(4096)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .http1_only()
            .build()
            .context("building the HTTP client")?;
        let run_tag = format!(
            "{:06}",
            mix(u64::from(std::process::id()) ^ now_nanos()) % 1_000_000
        );
        Ok(Merchant {
            http,
            nodes,
            account,
            b2b_token: RwLock::new(String::new()),
            token_requests: RwLock::new(Vec::new()),
            run_tag,
            sequence: AtomicU64::new(0),
            paid: Mutex::default(),
            burst: Burst::default(),
            payments_ok: AtomicU64::new(0),
            refunds_ok: AtomicU64::new(0),
            dana_orders_ok: AtomicU64::new(0),
            refunded: Mutex::default(),
        })
    }

    /// The nodes' base URLs.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    fn next(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed)
    }

    fn node(&self, seq: u64) -> &str {
        &self.nodes[(seq % self.nodes.len() as u64) as usize]
    }

    /// Gets a fresh B2B token (RSA-signed request) for the transactional calls that follow.
    pub async fn refresh_b2b_token(&self) -> Result<()> {
        let timestamp = format_jakarta(chrono::Utc::now());
        let signature = sign_token(
            &self.account.private_key,
            &self.account.client_id,
            &timestamp,
        )?;
        let reply: serde_json::Value = self
            .http
            .post(format!("{}{TOKEN_PATH}", self.nodes[0]))
            .header("content-type", "application/json")
            .header("X-CLIENT-KEY", &self.account.client_id)
            .header("X-TIMESTAMP", &timestamp)
            .header("X-SIGNATURE", signature)
            .body(r#"{"grantType":"client_credentials"}"#)
            .send()
            .await?
            .json()
            .await?;
        let Some(token) = reply["accessToken"].as_str() else {
            bail!("no B2B token: {reply}");
        };
        *self
            .b2b_token
            .write()
            .unwrap_or_else(PoisonError::into_inner) = token.to_string();
        Ok(())
    }

    /// Signs the token request of the next step now. RSA signing costs the generator about a
    /// millisecond of CPU, which on a shared 2-core machine would measure the generator rather
    /// than bayar; the signature over `clientId|X-TIMESTAMP` stays valid within the allowed
    /// clock skew, and bayar verifies it (RSA) on every request all the same.
    pub fn presign_token_request(&self) -> Result<()> {
        let timestamp = format_jakarta(chrono::Utc::now());
        let signature = sign_token(
            &self.account.private_key,
            &self.account.client_id,
            &timestamp,
        )?;
        *self
            .token_requests
            .write()
            .unwrap_or_else(PoisonError::into_inner) = vec![(timestamp, signature)];
        Ok(())
    }

    /// Starts recording when each payment is answered (for the notification lag).
    pub fn record_answers(&self, on: bool) {
        self.burst.recording.store(on, Ordering::SeqCst);
    }

    /// The payments answered while recording, with when.
    pub fn take_answers(&self) -> Vec<(String, Instant)> {
        std::mem::take(&mut *lock(&self.burst.answered))
    }

    /// Refund numbers answered with success.
    pub fn refunded(&self) -> Vec<String> {
        lock(&self.refunded).clone()
    }

    /// References of every successful payment.
    pub fn paid(&self) -> Vec<String> {
        lock(&self.paid).all.clone()
    }

    /// How many successful payments a status query can pick from.
    pub fn paid_count(&self) -> usize {
        lock(&self.paid).all.len()
    }

    /// Sends one request of kind `op`; `Ok` when bayar answered the expected success.
    pub async fn fire(&self, op: Op) -> Result<(), String> {
        match op {
            Op::Pay => self.pay().await,
            Op::DanaOrder => self.dana_order().await,
            Op::Status => self.status().await,
            Op::Token => self.token().await,
            Op::Refund => self.refund().await,
            Op::Health => self.health().await,
        }
    }

    async fn post_signed(
        &self,
        seq: u64,
        path: &str,
        body: String,
        customer: Option<&str>,
    ) -> Result<serde_json::Value, String> {
        let token = self
            .b2b_token
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let timestamp = format_jakarta(chrono::Utc::now());
        let signature = sign_symmetric(
            self.account.client_secret.as_bytes(),
            "POST",
            path,
            &token,
            body.as_bytes(),
            &timestamp,
        );
        // Digits only, unique per merchant and day: the run tag then the sequence number.
        let external_id = format!("{}{seq:012}", self.run_tag);
        let mut request = self
            .http
            .post(format!("{}{path}", self.node(seq)))
            .header("content-type", "application/json")
            .header("X-TIMESTAMP", timestamp)
            .header("X-SIGNATURE", signature)
            .header("X-PARTNER-ID", &self.account.client_id)
            .header("X-EXTERNAL-ID", external_id)
            .header("CHANNEL-ID", "H2H")
            .header("Authorization", format!("Bearer {token}"));
        if let Some(customer) = customer {
            request = request.header("Authorization-Customer", format!("Bearer {customer}"));
        }
        let response = request.body(body).send().await.map_err(describe)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(describe)?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| format!("HTTP {status}, not JSON"))?;
        if status != 200 {
            return Err(format!(
                "HTTP {status} {}",
                value["responseCode"].as_str().unwrap_or("-")
            ));
        }
        Ok(value)
    }

    fn expect(value: &serde_json::Value, code: &str) -> Result<(), String> {
        match value["responseCode"].as_str() {
            Some(c) if c == code => Ok(()),
            other => Err(format!("responseCode {}", other.unwrap_or("-"))),
        }
    }

    async fn pay(&self) -> Result<(), String> {
        let seq = self.next();
        let reference = format!("B{}-{seq}", self.run_tag);
        let customers = &self.account.customer_tokens;
        let customer = &customers[(seq % customers.len() as u64) as usize];
        let body = format!(
            r#"{{"partnerReferenceNo":"{reference}","amount":{{"value":"{PAYMENT_VALUE}","currency":"IDR"}},"additionalInfo":{{"channel":"{CHANNEL}","remarks":"bench"}}}}"#
        );
        let value = self
            .post_signed(seq, PAY_PATH, body, Some(customer))
            .await?;
        Self::expect(&value, "2005400")?;
        self.payments_ok.fetch_add(1, Ordering::Relaxed);
        if self.burst.recording.load(Ordering::Relaxed) {
            lock(&self.burst.answered).push((reference.clone(), Instant::now()));
        }
        let mut paid = lock(&self.paid);
        paid.all.push(reference.clone());
        paid.refundable.push_back(reference);
        Ok(())
    }

    /// A DANA create order as dana-python sends it: no token, SHA256withRSA with the
    /// merchant's key over `POST:path:hex(sha256(minify(body))):timestamp`, signed per request.
    async fn dana_order(&self) -> Result<(), String> {
        let seq = self.next();
        let now = chrono::Utc::now();
        let timestamp = format_jakarta(now);
        // Within DANA's sandbox limit of 30 minutes, and past the end of any bench run, so
        // the sweeper expires none of them while the notifications are being counted.
        let valid_up_to = format_jakarta(now + chrono::Duration::minutes(25));
        let body = format!(
            r#"{{"partnerReferenceNo":"D{tag}-{seq}","merchantId":"{merchant}","amount":{{"value":"{DANA_ORDER_VALUE}","currency":"IDR"}},"validUpTo":"{valid_up_to}","urlParams":[{{"url":"https://merchant.example/return","type":"PAY_RETURN","isDeeplink":"N"}}],"additionalInfo":{{"mcc":"5732","order":{{"orderTitle":"bench","scenario":"REDIRECT"}},"envInfo":{{"sourcePlatform":"IPG","terminalType":"SYSTEM"}}}}}}"#,
            tag = self.run_tag,
            merchant = self.account.merchant_id,
        );
        let signature = sign_asymmetric(
            &self.account.private_key,
            "POST",
            DANA_ORDER_PATH,
            body.as_bytes(),
            &timestamp,
        )
        .map_err(|e| format!("signing: {e}"))?;
        let response = self
            .http
            .post(format!("{}{DANA_ORDER_PATH}", self.node(seq)))
            .header("content-type", "application/json")
            .header("X-TIMESTAMP", timestamp)
            .header("X-SIGNATURE", signature)
            .header("X-PARTNER-ID", &self.account.client_id)
            .header("X-EXTERNAL-ID", format!("{}{seq:012}", self.run_tag))
            .header("CHANNEL-ID", "95221")
            .header("ORIGIN", "https://merchant.example")
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(describe)?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| format!("HTTP {status}, not JSON"))?;
        if status != 200 {
            return Err(format!(
                "HTTP {status} {}",
                value["responseCode"].as_str().unwrap_or("-")
            ));
        }
        Self::expect(&value, "2005400")?;
        self.dana_orders_ok.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn status(&self) -> Result<(), String> {
        let seq = self.next();
        let reference = {
            let paid = lock(&self.paid);
            if paid.all.is_empty() {
                return Err("no payment to query yet".into());
            }
            paid.all[(mix(seq) % paid.all.len() as u64) as usize].clone()
        };
        let body = format!(
            r#"{{"originalPartnerReferenceNo":"{reference}","serviceCode":"55","additionalInfo":{{"channel":"{CHANNEL}"}}}}"#
        );
        let value = self.post_signed(seq, STATUS_PATH, body, None).await?;
        Self::expect(&value, "2005500")
    }

    async fn refund(&self) -> Result<(), String> {
        let Some(reference) = lock(&self.paid).refundable.pop_front() else {
            // Nothing paid yet to refund: the mix pays instead.
            return self.pay().await;
        };
        let seq = self.next();
        // Allo refund numbers are 32 to 64 characters.
        let number = format!("RF{}-{seq:024}", self.run_tag);
        let body = format!(
            r#"{{"originalPartnerReferenceNo":"{reference}","refundAmount":{{"value":"{REFUND_VALUE}","currency":"IDR"}},"partnerRefundNo":"{number}","reason":"bench","additionalInfo":{{"channel":"{CHANNEL}"}}}}"#
        );
        let value = self.post_signed(seq, REFUND_PATH, body, None).await?;
        Self::expect(&value, "2005800")?;
        self.refunds_ok.fetch_add(1, Ordering::Relaxed);
        lock(&self.refunded).push(number);
        Ok(())
    }

    async fn token(&self) -> Result<(), String> {
        let seq = self.next();
        let (timestamp, signature) = {
            let pool = self
                .token_requests
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if pool.is_empty() {
                return Err("no pre-signed token request".into());
            }
            pool[(seq % pool.len() as u64) as usize].clone()
        };
        let response = self
            .http
            .post(format!("{}{TOKEN_PATH}", self.node(seq)))
            .header("content-type", "application/json")
            .header("X-CLIENT-KEY", &self.account.client_id)
            .header("X-TIMESTAMP", timestamp)
            .header("X-SIGNATURE", signature)
            .body(r#"{"grantType":"client_credentials"}"#)
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(describe)?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| format!("HTTP {status}, not JSON"))?;
        if status != 200 {
            return Err(format!("HTTP {status}"));
        }
        Self::expect(&value, "2007300")
    }

    async fn health(&self) -> Result<(), String> {
        let seq = self.next();
        let response = self
            .http
            .get(format!("{}/healthz", self.node(seq)))
            .send()
            .await
            .map_err(describe)?;
        let status = response.status();
        response.bytes().await.map_err(describe)?;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A transport error, short (timeouts and refused connections grouped by kind).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect error".into()
    } else {
        format!("transport: {e}")
    }
}
