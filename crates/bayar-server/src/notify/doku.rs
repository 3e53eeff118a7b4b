//! DOKU's notification dialect: what a merchant built on DOKU's SDKs expects to receive when
//! bayar plays DOKU (reference/doku.md §2c "DOKU → merchant direction", §2e; snap.md §4.1.6).
//!
//! Notifying a DOKU merchant takes two requests:
//! 1. a token handshake with the merchant: `POST <origin of the notify URL>/authorization/v1/
//!    access-token/b2b`, signed SHA256withRSA with the gateway's private key over
//!    `clientId|X-TIMESTAMP` (the merchant verifies it with bayar's public key, as it would
//!    DOKU's). The merchant answers an access token (DOKU's SDK helpers mint an RS256 JWT),
//!    which is cached per merchant until shortly before its `expiresIn`;
//! 2. the notification itself, `POST <notify URL>`: a SNAP direct-debit notify body (service
//!    56) or a refund notice in the same style, signed HMAC-SHA512 with the merchant's client
//!    secret over `POST:<path>:<token>:<sha256 hex of the body>:<X-TIMESTAMP>` and carrying the
//!    token as `Authorization: Bearer`.
//!
//! Any 2xx acknowledges (DOKU's documented rule; Node's SDK answers a numeric code and other
//! apps answer nothing, so the body is not inspected). A failed handshake is a
//! [`RenderError::Handshake`], which the worker retries like a failed delivery.
//!
//! Nothing here logs tokens, signatures or bodies; error messages carry HTTP statuses and
//! SNAP response codes only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bayar_core::ids::{CustomerId, MerchantId};
use bayar_core::merchant::Merchant;
use bayar_core::outbox::{Event, EventKind};
use bayar_core::payment::Face;
use bayar_core::secret::Secret;
use bayar_core::store::Store;
use bayar_snap::{Money, PrivateKey};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::render::{Delivery, RenderError, Renderer};
use super::worker::describe;

/// Where a DOKU merchant's token endpoint lives, relative to the origin of its notify URL
/// (the path DOKU calls and the SDKs' helpers are mounted at).
pub const TOKEN_PATH: &str = "/authorization/v1/access-token/b2b";

/// The lifetime assumed when the merchant's token answer gives none (DOKU's SDKs default to
/// 900 seconds).
const DEFAULT_EXPIRES_IN: u64 = 900;

/// A cached token is dropped this long before the merchant said it expires, so a token is
/// never sent just as it runs out (clocks differ, and the notification takes time to arrive).
const EXPIRY_MARGIN: u64 = 60;

/// Tokens are not kept longer than this whatever the merchant says, so a merchant that rotates
/// its signing key is not refused with a stale token for long.
const MAX_CACHE: u64 = 24 * 3600;

/// At most this many bytes of a token answer are read: a JWT and a few fields fit easily, and
/// a merchant answering with megabytes costs nothing.
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// Longest access token sent back: it travels in a header on every notification.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Renders events in DOKU's dialect, fetching (and caching) the merchant's access token first.
pub struct DokuRenderer {
    http: reqwest::Client,
    gateway_key: PrivateKey,
    store: Store,
    /// One slot per (merchant, token endpoint, client id). The slot's async lock makes the
    /// handshake single-flight: concurrent deliveries to one merchant wait for one token
    /// request instead of each making their own. One entry per merchant at most, so the map
    /// stays as small as the merchant table.
    tokens: Mutex<HashMap<TokenKey, Arc<tokio::sync::Mutex<Slot>>>>,
}

/// What a token is valid for: a new notify origin or client id needs a new token.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct TokenKey {
    merchant: MerchantId,
    token_url: String,
    client_id: String,
}

/// What bayar knows about one merchant's token.
#[derive(Default)]
struct Slot {
    /// The token to reuse, if any.
    token: Option<CachedToken>,
    /// When the last handshake failed, and why: deliveries that were already waiting for that
    /// handshake share its failure instead of each trying again at once.
    failed: Option<(Instant, String)>,
}

/// A token the merchant issued, and until when bayar reuses it.
struct CachedToken {
    token: Secret<String>,
    fresh_until: Instant,
}

/// A token fresh from the merchant.
struct IssuedToken {
    token: Secret<String>,
    /// How long to reuse it; `None` when it expires too soon to be worth keeping.
    reuse_for: Option<Duration>,
}

impl DokuRenderer {
    /// A renderer making its token requests with `http` (build it with
    /// [`super::http_client`], so each request is bounded like a delivery), signing them with
    /// the gateway's `gateway_key`, and reading bindings (for `custIdMerchant`) from `store`.
    pub fn new(http: reqwest::Client, gateway_key: PrivateKey, store: Store) -> DokuRenderer {
        DokuRenderer {
            http,
            gateway_key,
            store,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    async fn render_doku(
        &self,
        event: &Event,
        merchant: &Merchant,
        now: DateTime<Utc>,
    ) -> Result<Delivery, RenderError> {
        let notify_url = merchant
            .notify_url_for(Face::Doku)
            .ok_or(RenderError::NoNotifyUrl)?;
        let url = Url::parse(notify_url.as_str())
            .map_err(|_| RenderError::Unsupported("the notification URL does not parse".into()))?;
        let token_url = url
            .join(TOKEN_PATH)
            .map_err(|_| RenderError::Unsupported("no token URL for the notify URL".into()))?;

        // The body first: an event that cannot be rendered costs the merchant no handshake.
        let facts = Facts::of(event)?;
        let cust_id_merchant = match facts.cust_id_merchant() {
            Some(known) => Some(known.to_string()),
            None => match facts.customer_id()? {
                Some(customer) => self
                    .store
                    .active_binding_of(&event.merchant_id, &customer)
                    .await
                    .map_err(|e| RenderError::Store(e.to_string()))?
                    .map(|binding| binding.cust_id_merchant),
                None => None,
            },
        };
        let body = facts.body(cust_id_merchant.as_deref(), event)?;
        let body = serde_json::to_vec(&body)
            .map_err(|e| RenderError::Unsupported(format!("body: {e}")))?;

        let key = TokenKey {
            merchant: merchant.id,
            token_url: token_url.to_string(),
            client_id: merchant.client_id.as_str().to_string(),
        };
        let token = self.token(key, now).await?;

        let timestamp = bayar_snap::time::format_jakarta(now);
        let signature = bayar_snap::sign::sign_symmetric(
            merchant.client_secret.expose().as_bytes(),
            "POST",
            url.path(),
            token.expose(),
            &body,
            &timestamp,
        );
        Ok(Delivery {
            url: url.to_string(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-TIMESTAMP".into(), timestamp),
                ("X-SIGNATURE".into(), signature),
                (
                    "X-PARTNER-ID".into(),
                    merchant.client_id.as_str().to_string(),
                ),
                ("X-EXTERNAL-ID".into(), external_id(now)),
                ("CHANNEL-ID".into(), "H2H".into()),
                ("Authorization".into(), format!("Bearer {}", token.expose())),
            ],
            body,
        })
    }

    /// The merchant's token for `key`: the cached one while fresh, else a new one.
    async fn token(
        &self,
        key: TokenKey,
        now: DateTime<Utc>,
    ) -> Result<Secret<String>, RenderError> {
        let slot = {
            let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
            tokens.entry(key.clone()).or_default().clone()
        };
        // Held across the handshake on purpose (single flight). A delivery therefore waits for
        // at most one handshake (bounded by the client's timeout) and then either reuses its
        // token or shares its failure, and never makes one of its own after waiting: render
        // plus send stay within two request timeouts, which the lease exceeds.
        let waiting_since = Instant::now();
        let mut slot = slot.lock().await;
        if let Some(fresh) = slot
            .token
            .as_ref()
            .filter(|t| t.fresh_until > Instant::now())
        {
            return Ok(fresh.token.clone());
        }
        if let Some((at, why)) = &slot.failed
            && *at >= waiting_since
        {
            return Err(RenderError::Handshake(why.clone()));
        }
        slot.token = None;
        match self.request_token(&key, now).await {
            Ok(issued) => {
                slot.failed = None;
                slot.token = issued.reuse_for.map(|reuse_for| CachedToken {
                    token: issued.token.clone(),
                    fresh_until: Instant::now() + reuse_for,
                });
                Ok(issued.token)
            }
            Err(why) => {
                slot.failed = Some((Instant::now(), why.clone()));
                Err(RenderError::Handshake(why))
            }
        }
    }

    /// The token handshake (doku.md §2c item 1); the error says why it failed.
    async fn request_token(
        &self,
        key: &TokenKey,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, String> {
        let timestamp = bayar_snap::time::format_jakarta(now);
        let signature = bayar_snap::sign::sign_token(&self.gateway_key, &key.client_id, &timestamp)
            .map_err(|e| format!("signing the request: {e}"))?;
        let response = self
            .http
            .post(&key.token_url)
            .header("Content-Type", "application/json")
            .header("X-CLIENT-KEY", &key.client_id)
            .header("X-TIMESTAMP", &timestamp)
            .header("X-SIGNATURE", signature)
            .body(r#"{"grantType":"client_credentials"}"#)
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        let answer = read_bounded(response, MAX_TOKEN_ANSWER)
            .await
            .map_err(|e| format!("HTTP {status}, reading the answer: {e}"))?;
        parse_token_answer(status, &answer)
    }
}

impl Renderer for DokuRenderer {
    fn render<'a>(
        &'a self,
        event: &'a Event,
        merchant: &'a Merchant,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Delivery, RenderError>> {
        Box::pin(self.render_doku(event, merchant, now))
    }

    fn unauthorized(&self, merchant: &Merchant) {
        // The merchant no longer accepts the token (restarted with a new key, revoked it): the
        // next attempt asks for a new one.
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|key, _| key.merchant != merchant.id);
    }
}

/// Reads at most `limit` bytes of the answer (the rest is left unread).
async fn read_bounded(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return Err(describe(e)),
        }
    }
    bytes.truncate(limit);
    Ok(bytes)
}

/// Judges a token answer: a 2xx with a JSON body holding `accessToken`, and no failing
/// `responseCode` (DOKU's SDK helpers only build the body, so a merchant app may well answer
/// HTTP 200 with `4017300 Unauthorized.Invalid Signature` and no token). The error says why
/// without quoting the body, which may hold a token.
fn parse_token_answer(status: u16, answer: &[u8]) -> Result<IssuedToken, String> {
    let body: Option<Value> = serde_json::from_slice(answer).ok();
    let code = body.as_ref().and_then(|b| match b.get("responseCode") {
        Some(Value::String(code)) => Some(code.clone()),
        // Node's SDK answers numbers where SNAP has strings.
        Some(Value::Number(code)) => Some(code.to_string()),
        _ => None,
    });
    let with_code = |what: String| match &code {
        Some(code) => format!("{what}, responseCode {}", printable(code)),
        None => what,
    };
    if !(200..300).contains(&status) {
        return Err(with_code(format!("HTTP {status}")));
    }
    let Some(body) = body else {
        return Err(format!("HTTP {status} without a JSON body"));
    };
    if code.as_deref().is_some_and(|c| !c.starts_with('2')) {
        return Err(with_code(format!("HTTP {status}")));
    }
    let token = match body.get("accessToken") {
        Some(Value::String(token)) if !token.is_empty() => token,
        _ => return Err(with_code(format!("HTTP {status} without an accessToken"))),
    };
    // It goes back in a header; refuse what cannot travel there rather than fail the send.
    if token.len() > MAX_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "HTTP {status}, the accessToken is not a usable header value"
        ));
    }
    let expires_in = match body.get("expiresIn") {
        Some(Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        // Some SDKs type it as a string.
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    .unwrap_or(DEFAULT_EXPIRES_IN);
    let reuse_for = expires_in.min(MAX_CACHE).saturating_sub(EXPIRY_MARGIN);
    Ok(IssuedToken {
        token: Secret::new(token.clone()),
        reuse_for: (reuse_for > 0).then(|| Duration::from_secs(reuse_for)),
    })
}

/// A response code as quoted in an attempt's error: short and printable (it is the merchant's
/// text).
fn printable(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(16)
        .collect()
}

/// A fresh `X-EXTERNAL-ID`: digits only (SNAP's format), unix seconds then twelve random
/// digits, so each attempt has its own and they sort by time. DANA's dialect uses it too.
pub(super) fn external_id(now: DateTime<Utc>) -> String {
    let mut random = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut random).is_err() {
        // Without the system RNG the clock still tells attempts apart.
        random = now.timestamp_nanos_opt().unwrap_or_default().to_le_bytes();
    }
    let random = u64::from_le_bytes(random) % 1_000_000_000_000;
    format!("{}{random:012}", now.timestamp().max(0))
}

/// How a bayar channel is named in DOKU's notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DokuChannel {
    /// `additionalInfo.channelId`.
    channel_id: &'static str,
    /// `additionalInfo.acquirerId`.
    acquirer_id: &'static str,
    /// `additionalInfo.accountType`: `DIRECT_DEBIT` for banks, `WALLET` for e-wallets.
    account_type: &'static str,
}

impl DokuChannel {
    fn of(channel: &str) -> Result<DokuChannel, RenderError> {
        match channel {
            "allo_direct_debit" => Ok(DokuChannel {
                channel_id: "DIRECT_DEBIT_ALLO_SNAP",
                acquirer_id: "ALLO",
                account_type: "DIRECT_DEBIT",
            }),
            "dana_wallet" => Ok(DokuChannel {
                channel_id: "EMONEY_DANA_SNAP",
                acquirer_id: "DANA",
                account_type: "WALLET",
            }),
            other => Err(RenderError::Unsupported(format!(
                "no DOKU channel for `{other}`"
            ))),
        }
    }

    /// `additionalInfo`, with only the keys DOKU's Python SDK models
    /// (`NotificationPaymentDirectDebitAdditionalInfo`).
    fn additional_info(self, cust_id_merchant: Option<&str>) -> Value {
        let mut info = Map::new();
        info.insert("channelId".into(), json!(self.channel_id));
        info.insert("acquirerId".into(), json!(self.acquirer_id));
        if let Some(cust) = cust_id_merchant {
            info.insert("custIdMerchant".into(), json!(cust));
        }
        info.insert("accountType".into(), json!(self.account_type));
        Value::Object(info)
    }
}

/// A payment event's payload, as `bayar_core::commands` writes it (fields not needed here
/// are ignored).
#[derive(Debug, Deserialize)]
struct PaymentFacts {
    payment_id: String,
    partner_reference_no: String,
    #[serde(default)]
    external_id: Option<String>,
    channel: String,
    amount: String,
    #[serde(default)]
    customer_id: Option<String>,
    /// The merchant's id for the customer as the payment was made (direct debits through a
    /// binding carry it).
    #[serde(default)]
    cust_id_merchant: Option<String>,
}

/// A `refund.succeeded` payload.
#[derive(Debug, Deserialize)]
struct RefundFacts {
    refund_id: String,
    partner_refund_no: String,
    payment_id: String,
    partner_reference_no: String,
    #[serde(default)]
    external_id: Option<String>,
    channel: String,
    amount: String,
    #[serde(default)]
    customer_id: Option<String>,
}

/// What a DOKU notification reports.
#[derive(Debug)]
enum Facts {
    /// A payment reached a final state: `latestTransactionStatus` and its description.
    Payment(PaymentFacts, &'static str, &'static str),
    /// A refund was posted.
    Refund(RefundFacts),
}

impl Facts {
    fn of(event: &Event) -> Result<Facts, RenderError> {
        // Status codes per snap.md §5, descriptions as the DOKU status endpoint words them.
        let (status, desc) = match event.kind {
            EventKind::PaymentSucceeded => ("00", "Success"),
            EventKind::PaymentFailed => ("06", "Failed"),
            EventKind::PaymentExpired => ("06", "Expired"),
            EventKind::PaymentCancelled => ("05", "Cancelled"),
            EventKind::RefundSucceeded => {
                return payload(event).map(Facts::Refund);
            }
            other => {
                return Err(RenderError::Unsupported(format!(
                    "DOKU has no notification for {other}"
                )));
            }
        };
        payload(event).map(|facts| Facts::Payment(facts, status, desc))
    }

    /// The merchant's id for the customer, when the event recorded it.
    fn cust_id_merchant(&self) -> Option<&str> {
        match self {
            Facts::Payment(p, ..) => p.cust_id_merchant.as_deref(),
            Facts::Refund(_) => None,
        }
    }

    fn customer_id(&self) -> Result<Option<CustomerId>, RenderError> {
        let raw = match self {
            Facts::Payment(p, ..) => p.customer_id.as_deref(),
            Facts::Refund(r) => r.customer_id.as_deref(),
        };
        raw.map(|id| {
            id.parse().map_err(|_| {
                RenderError::Unsupported("the payload's customer_id does not parse".into())
            })
        })
        .transpose()
    }

    /// The notification body (doku.md §2c item 3 and §2e; snap.md §4.1.6).
    fn body(&self, cust_id_merchant: Option<&str>, event: &Event) -> Result<Value, RenderError> {
        let mut body = Map::new();
        match self {
            Facts::Payment(p, status, desc) => {
                let channel = DokuChannel::of(&p.channel)?;
                body.insert(
                    "originalPartnerReferenceNo".into(),
                    json!(p.partner_reference_no),
                );
                body.insert("originalReferenceNo".into(), json!(p.payment_id));
                if let Some(external_id) = &p.external_id {
                    body.insert("originalExternalId".into(), json!(external_id));
                }
                body.insert("latestTransactionStatus".into(), json!(status));
                body.insert("transactionStatusDesc".into(), json!(desc));
                body.insert("amount".into(), amount(&p.amount)?);
                body.insert(
                    "additionalInfo".into(),
                    channel.additional_info(cust_id_merchant),
                );
            }
            Facts::Refund(r) => {
                let channel = DokuChannel::of(&r.channel)?;
                body.insert(
                    "originalPartnerReferenceNo".into(),
                    json!(r.partner_reference_no),
                );
                body.insert("originalReferenceNo".into(), json!(r.payment_id));
                if let Some(external_id) = &r.external_id {
                    body.insert("originalExternalId".into(), json!(external_id));
                }
                body.insert("refundNo".into(), json!(r.refund_id));
                body.insert("partnerRefundNo".into(), json!(r.partner_refund_no));
                body.insert("refundAmount".into(), amount(&r.amount)?);
                // The event commits with the refund, so its time is the refund's.
                body.insert(
                    "refundTime".into(),
                    json!(bayar_snap::time::format_jakarta(event.created_at)),
                );
                body.insert("latestTransactionStatus".into(), json!("00"));
                body.insert("transactionStatusDesc".into(), json!("Success"));
                body.insert(
                    "additionalInfo".into(),
                    channel.additional_info(cust_id_merchant),
                );
            }
        }
        Ok(Value::Object(body))
    }
}

fn payload<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, RenderError> {
    T::deserialize(&event.payload)
        .map_err(|e| RenderError::Unsupported(format!("{} payload: {e}", event.kind)))
}

/// A SNAP amount object; the value re-parsed so it is always `"10000.00"`-shaped.
fn amount(value: &str) -> Result<Value, RenderError> {
    let money = Money::parse(value)
        .map_err(|_| RenderError::Unsupported("the payload's amount does not parse".into()))?;
    Ok(json!({"value": money.to_string(), "currency": "IDR"}))
}

#[cfg(test)]
mod tests {
    use bayar_core::ids::EventId;
    use chrono::TimeZone;

    use super::*;

    fn event(kind: EventKind, payload: Value) -> Event {
        let created = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        Event {
            id: EventId::generate(),
            merchant_id: MerchantId::generate(),
            kind,
            subject_id: "pay_1".into(),
            payload,
            created_at: created,
            attempts: 0,
            next_attempt_at: created,
            delivered_at: None,
            given_up_at: None,
            copy: None,
        }
    }

    fn payment_payload(channel: &str) -> Value {
        json!({
            "payment_id": "pay_1",
            "partner_reference_no": "INV-1",
            "external_id": "534375157",
            "channel": channel,
            "face": "doku",
            "amount": "10000.00",
            "fee": "0.00",
            "status": "succeeded",
            "failure": null,
            "customer_id": null,
            "paid_at": "2023-11-15T05:13:20+07:00",
        })
    }

    fn body_of(kind: EventKind, payload: Value, cust: Option<&str>) -> String {
        let e = event(kind, payload);
        let body = Facts::of(&e).unwrap().body(cust, &e).unwrap();
        serde_json::to_string(&body).unwrap()
    }

    #[test]
    fn a_direct_debit_payment_notifies_like_dokus_samples() {
        assert_eq!(
            body_of(
                EventKind::PaymentSucceeded,
                payment_payload("allo_direct_debit"),
                Some("cust-001")
            ),
            r#"{"originalPartnerReferenceNo":"INV-1","originalReferenceNo":"pay_1","originalExternalId":"534375157","latestTransactionStatus":"00","transactionStatusDesc":"Success","amount":{"value":"10000.00","currency":"IDR"},"additionalInfo":{"channelId":"DIRECT_DEBIT_ALLO_SNAP","acquirerId":"ALLO","custIdMerchant":"cust-001","accountType":"DIRECT_DEBIT"}}"#
        );
    }

    #[test]
    fn statuses_and_wallets() {
        let status = |kind| {
            let e = event(kind, payment_payload("dana_wallet"));
            let body = Facts::of(&e).unwrap().body(None, &e).unwrap();
            (
                body["latestTransactionStatus"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                body["transactionStatusDesc"].as_str().unwrap().to_string(),
                body["additionalInfo"].clone(),
            )
        };
        let wallet = json!({"channelId": "EMONEY_DANA_SNAP", "acquirerId": "DANA",
                            "accountType": "WALLET"});
        assert_eq!(
            status(EventKind::PaymentSucceeded),
            ("00".into(), "Success".into(), wallet.clone())
        );
        assert_eq!(status(EventKind::PaymentFailed).0, "06");
        assert_eq!(status(EventKind::PaymentExpired).0, "06");
        assert_eq!(status(EventKind::PaymentCancelled).0, "05");
    }

    #[test]
    fn a_refund_notifies_its_numbers() {
        let payload = json!({
            "refund_id": "ref_1",
            "partner_refund_no": "RF-1",
            "payment_id": "pay_1",
            "partner_reference_no": "INV-1",
            "channel": "allo_direct_debit",
            "face": "doku",
            "external_id": "77",
            "customer_id": null,
            "amount": "2500.00",
            "refunded_total": "2500.00",
            "reason": null,
        });
        assert_eq!(
            body_of(EventKind::RefundSucceeded, payload, None),
            r#"{"originalPartnerReferenceNo":"INV-1","originalReferenceNo":"pay_1","originalExternalId":"77","refundNo":"ref_1","partnerRefundNo":"RF-1","refundAmount":{"value":"2500.00","currency":"IDR"},"refundTime":"2023-11-15T05:13:20+07:00","latestTransactionStatus":"00","transactionStatusDesc":"Success","additionalInfo":{"channelId":"DIRECT_DEBIT_ALLO_SNAP","acquirerId":"ALLO","accountType":"DIRECT_DEBIT"}}"#
        );
    }

    #[test]
    fn what_doku_cannot_say_is_refused_for_good() {
        let unsupported = |kind, payload| {
            let e = event(kind, payload);
            let err = Facts::of(&e).and_then(|f| f.body(None, &e)).err().unwrap();
            assert!(err.is_permanent(), "{err}");
            err
        };
        unsupported(EventKind::DisbursementSucceeded, json!({}));
        unsupported(EventKind::Test, json!({}));
        unsupported(EventKind::PaymentSucceeded, json!({"payment_id": "pay_1"}));
        unsupported(EventKind::PaymentSucceeded, payment_payload("card"));
        let mut bad_amount = payment_payload("allo_direct_debit");
        bad_amount["amount"] = json!("ten");
        unsupported(EventKind::PaymentSucceeded, bad_amount);
        let mut bad_customer = payment_payload("allo_direct_debit");
        bad_customer["customer_id"] = json!("nope");
        let e = event(EventKind::PaymentSucceeded, bad_customer);
        assert!(Facts::of(&e).unwrap().customer_id().is_err());
    }

    #[test]
    fn token_answers() {
        let ok = parse_token_answer(
            200,
            br#"{"responseCode":"2007300","accessToken":"eyJ.a.b","tokenType":"Bearer","expiresIn":900}"#,
        )
        .unwrap();
        assert_eq!(ok.token.expose(), "eyJ.a.b");
        assert_eq!(ok.reuse_for, Some(Duration::from_secs(900 - EXPIRY_MARGIN)));

        // No expiresIn: DOKU's default; a string one is read; a short one is not cached.
        let default = parse_token_answer(200, br#"{"accessToken":"t"}"#).unwrap();
        assert_eq!(
            default.reuse_for,
            Some(Duration::from_secs(DEFAULT_EXPIRES_IN - EXPIRY_MARGIN))
        );
        let string = parse_token_answer(200, br#"{"accessToken":"t","expiresIn":"890"}"#).unwrap();
        assert_eq!(
            string.reuse_for,
            Some(Duration::from_secs(890 - EXPIRY_MARGIN))
        );
        let short = parse_token_answer(200, br#"{"accessToken":"t","expiresIn":30}"#).unwrap();
        assert_eq!(short.reuse_for, None);
        let long = parse_token_answer(200, br#"{"accessToken":"t","expiresIn":99999999}"#).unwrap();
        assert_eq!(
            long.reuse_for,
            Some(Duration::from_secs(MAX_CACHE - EXPIRY_MARGIN))
        );

        let err = |status, body: &[u8]| parse_token_answer(status, body).err().unwrap();
        assert_eq!(
            err(200, br#"{"responseCode":"4017300","responseMessage":"Unauthorized.Invalid Signature","accessToken":null}"#),
            "HTTP 200, responseCode 4017300"
        );
        assert_eq!(
            err(401, br#"{"responseCode":4017300}"#),
            "HTTP 401, responseCode 4017300"
        );
        assert_eq!(err(503, b"busy"), "HTTP 503");
        assert_eq!(err(200, b"<html>"), "HTTP 200 without a JSON body");
        assert_eq!(
            err(200, br#"{"responseCode":"2007300"}"#),
            "HTTP 200 without an accessToken, responseCode 2007300"
        );
        // A token that cannot go in a header is refused, and never quoted.
        let e = err(200, b"{\"accessToken\":\"a\\r\\nX-Evil: 1\"}");
        assert!(!e.contains("Evil"), "{e}");
    }

    #[tokio::test]
    async fn deliveries_waiting_on_a_failed_handshake_share_its_failure() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        use bayar_core::merchant::{ClientId, MerchantName, MerchantUrls, NotifyUrl};

        // A merchant whose token endpoint is slow and broken, counting the requests it gets.
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let app = axum::Router::new().route(
            TOKEN_PATH,
            axum::routing::post(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

        let t = bayar_core::testing::sqlite().await;
        let key = PrivateKey::generate().unwrap();
        let renderer = DokuRenderer::new(reqwest::Client::new(), key.clone(), t.store.clone());
        let merchant = Merchant {
            id: MerchantId::generate(),
            name: MerchantName::parse("Toko Busy").unwrap(),
            client_id: ClientId::generate(),
            client_secret: Secret::new("SK-busy".into()),
            public_key: key.public_key(),
            notify_url: Some(NotifyUrl::parse(&format!("{base}/v1.0/debit/notify")).unwrap()),
            urls: MerchantUrls::default(),
            created_at: Utc::now(),
        };
        let e = event(
            EventKind::PaymentSucceeded,
            payment_payload("allo_direct_debit"),
        );
        let renders = (0..5).map(|_| renderer.render(&e, &merchant, Utc::now()));
        let results = futures_util::future::join_all(renders).await;
        for result in results {
            assert_eq!(
                result.err(),
                Some(RenderError::Handshake("HTTP 503".into()))
            );
        }
        assert_eq!(
            requests.load(Ordering::SeqCst),
            1,
            "one handshake for all five"
        );
        // A later delivery tries again.
        assert!(renderer.render(&e, &merchant, Utc::now()).await.is_err());
        assert_eq!(requests.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn external_ids_are_fresh_digits() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let a = external_id(now);
        assert_eq!(a.len(), 22);
        assert!(a.starts_with("1700000000"));
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(a, external_id(now));
    }
}
