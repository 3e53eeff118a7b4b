//! Rendering: turning an outbox event into the HTTP request a merchant's dialect expects.
//!
//! A [`Renderer`] gets the event, the merchant and the time, and returns the [`Delivery`] to
//! POST. Rendering is asynchronous because some dialects must talk to the merchant first (DOKU
//! fetches an access token from the merchant before notifying it); whatever IO a renderer does
//! must be bounded by the worker's request timeout, since it runs under the event's lease.
//! The DOKU, DANA and Stripe-style dialects each plug in their own; this file holds the trait
//! and bayar's own dialect, [`BayarRenderer`].

use aws_lc_rs::hmac;
use bayar_core::merchant::{Merchant, NotifyUrl};
use bayar_core::outbox::Event;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde_json::json;
use thiserror::Error;

/// The header carrying bayar's own signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "Bayar-Signature";

/// An HTTP request ready to send. Deliberately not `Debug`: the body holds customer data and
/// the headers signatures and tokens, and none of them belongs in a log line.
pub struct Delivery {
    /// Where to POST.
    pub url: String,
    /// Headers, in order (names as the dialect spells them).
    pub headers: Vec<(String, String)>,
    /// The exact bytes that were signed.
    pub body: Vec<u8>,
}

/// Why an event could not be turned into a request. The attempt records the message (which
/// therefore never carries tokens, signatures or bodies); [`RenderError::is_permanent`] tells
/// the worker whether trying again could help.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RenderError {
    /// The merchant has not told bayar where to send notifications.
    #[error("no notification URL")]
    NoNotifyUrl,
    /// The dialect has no shape for this event (or its payload lacks what the shape needs).
    #[error("cannot render the event: {0}")]
    Unsupported(String),
    /// The merchant did not hand out the access token the dialect needs before notifying
    /// (DOKU's token handshake): unreachable, refused the signature, answered garbage.
    #[error("token request failed: {0}")]
    Handshake(String),
    /// A store read needed for the body failed.
    #[error("reading the store failed: {0}")]
    Store(String),
}

impl RenderError {
    /// Whether the same event would fail the same way next time, so bayar should give up now
    /// rather than spend the retry schedule. A failed handshake or store read is transient:
    /// the merchant's token endpoint may be back, the database reachable, at the next attempt.
    pub fn is_permanent(&self) -> bool {
        match self {
            RenderError::NoNotifyUrl | RenderError::Unsupported(_) => true,
            RenderError::Handshake(_) | RenderError::Store(_) => false,
        }
    }
}

/// Renders events in one dialect.
pub trait Renderer: Send + Sync + 'static {
    /// The request telling `merchant` about `event`, signed as of `now` (every dialect puts a
    /// timestamp in its signature; passing it in keeps rendering testable).
    fn render<'a>(
        &'a self,
        event: &'a Event,
        merchant: &'a Merchant,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Delivery, RenderError>>;

    /// The destinations `event` goes to when its dialect sends one event to several places
    /// (Stripe's webhook endpoints): the worker then hands it over to one copy per
    /// destination, each delivered and retried on its own, and renders only the copies.
    /// `None` (the default): the event goes to one place, rendered as it is.
    fn fan_out<'a>(
        &'a self,
        event: &'a Event,
        merchant: &'a Merchant,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>, RenderError>> {
        let _ = (event, merchant);
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Called when `merchant` answered a delivery with HTTP 401: a dialect that caches
    /// credentials the merchant issued (DOKU's access token) drops them, so the retry starts
    /// with fresh ones instead of repeating a token the merchant no longer accepts.
    fn unauthorized(&self, merchant: &Merchant) {
        let _ = merchant;
    }
}

/// bayar's own dialect, Stripe-style: `{"id","type","created","data"}` signed with the
/// merchant's client secret in a [`SIGNATURE_HEADER`] header.
#[derive(Clone, Copy, Debug, Default)]
pub struct BayarRenderer;

impl BayarRenderer {
    /// The request, synchronously: bayar's dialect needs nothing but the event and the merchant.
    pub fn render_now(
        &self,
        event: &Event,
        merchant: &Merchant,
        now: DateTime<Utc>,
    ) -> Result<Delivery, RenderError> {
        let url = merchant
            .notify_url
            .as_ref()
            .map(NotifyUrl::as_str)
            .ok_or(RenderError::NoNotifyUrl)?;
        let body = json!({
            "id": event.id.to_string(),
            "type": event.kind.as_str(),
            "created": event.created_at.timestamp(),
            "data": event.payload,
        });
        let body = serde_json::to_vec(&body)
            .map_err(|e| RenderError::Unsupported(format!("payload: {e}")))?;
        let signature = sign(
            merchant.client_secret.expose().as_bytes(),
            now.timestamp(),
            &body,
        );
        Ok(Delivery {
            url: url.to_string(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (SIGNATURE_HEADER.into(), signature),
            ],
            body,
        })
    }
}

impl Renderer for BayarRenderer {
    fn render<'a>(
        &'a self,
        event: &'a Event,
        merchant: &'a Merchant,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Delivery, RenderError>> {
        Box::pin(std::future::ready(self.render_now(event, merchant, now)))
    }
}

/// The [`SIGNATURE_HEADER`] value for `body` sent at `timestamp` (unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. The timestamp is inside
/// the MAC so a captured notification cannot be replayed later under a fresh time.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut mac = hmac::Context::with_key(&key);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", to_hex(mac.sign().as_ref()))
}

/// Lowercase hex.
pub(super) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use bayar_core::ids::{EventId, MerchantId};
    use bayar_core::merchant::{ClientId, MerchantName, MerchantUrls};
    use bayar_core::outbox::EventKind;
    use bayar_core::secret::Secret;
    use bayar_snap::PrivateKey;
    use chrono::TimeZone;
    use futures_util::FutureExt;

    use super::*;

    #[test]
    fn signature_matches_an_independent_hmac() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"whsec_test",
        //   b"1700000000.{\"id\":\"evt_1\"}",hashlib.sha256).hexdigest())'
        assert_eq!(
            sign(b"whsec_test", 1_700_000_000, br#"{"id":"evt_1"}"#),
            "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }

    fn merchant(notify_url: Option<&str>) -> Merchant {
        Merchant {
            id: MerchantId::generate(),
            name: MerchantName::parse("Toko Render").unwrap(),
            client_id: ClientId::generate(),
            client_secret: Secret::new("SK-render".into()),
            public_key: PrivateKey::generate().unwrap().public_key(),
            notify_url: notify_url.map(|u| NotifyUrl::parse(u).unwrap()),
            urls: MerchantUrls::default(),
            created_at: Utc::now(),
        }
    }

    fn event(merchant_id: MerchantId) -> Event {
        let created = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        Event {
            id: EventId::generate(),
            merchant_id,
            kind: EventKind::PaymentSucceeded,
            subject_id: "pay_1".into(),
            payload: json!({"payment_id": "pay_1", "amount": "10000.00"}),
            created_at: created,
            attempts: 0,
            next_attempt_at: created,
            delivered_at: None,
            given_up_at: None,
            copy: None,
        }
    }

    #[test]
    fn bayar_dialect_posts_signed_json() {
        let m = merchant(Some("https://shop.example/hooks/bayar"));
        let e = event(m.id);
        let now = Utc.timestamp_opt(1_700_000_123, 0).unwrap();
        let d = BayarRenderer
            .render(&e, &m, now)
            .now_or_never()
            .unwrap()
            .unwrap();
        assert_eq!(d.url, "https://shop.example/hooks/bayar");
        let body: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(
            body,
            json!({
                "id": e.id.to_string(),
                "type": "payment.succeeded",
                "created": 1_700_000_000,
                "data": {"payment_id": "pay_1", "amount": "10000.00"},
            })
        );
        let header = |name: &str| {
            d.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("Content-Type").as_deref(), Some("application/json"));
        assert_eq!(
            header(SIGNATURE_HEADER),
            Some(sign(b"SK-render", 1_700_000_123, &d.body))
        );
    }

    #[test]
    fn no_url_no_delivery() {
        let m = merchant(None);
        let e = event(m.id);
        assert_eq!(
            BayarRenderer.render_now(&e, &m, Utc::now()).err(),
            Some(RenderError::NoNotifyUrl)
        );
        assert_eq!(RenderError::NoNotifyUrl.to_string(), "no notification URL");
        assert!(RenderError::NoNotifyUrl.is_permanent());
        assert!(RenderError::Unsupported("x".into()).is_permanent());
        assert!(!RenderError::Handshake("HTTP 503".into()).is_permanent());
        assert!(!RenderError::Store("closed".into()).is_permanent());
    }
}
