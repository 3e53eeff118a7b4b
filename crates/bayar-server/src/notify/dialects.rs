//! Choosing the dialect: a notification goes out in the dialect of the API the payment was made
//! through, which commands record as the payload's `face`.
//!
//! - `"doku"`: [`DokuRenderer`] (token handshake with the merchant, then an HMAC-signed SNAP
//!   notification);
//! - `"dana"`, for the end of a payment (paid, cancelled, expired, failed): [`DanaRenderer`],
//!   DANA's finish notify signed with the gateway key. DANA has no notification for refunds
//!   or disbursements, so those events of DANA's face get bayar's own dialect;
//! - `"stripe"`, for intents' ends and refunds: [`StripeRenderer`], Stripe's event object to
//!   the merchant's webhook endpoint with `Stripe-Signature`;
//! - anything else (events without a face such as test notifications): bayar's own
//!   [`BayarRenderer`].

use bayar_core::merchant::Merchant;
use bayar_core::outbox::Event;
use bayar_core::store::Store;
use bayar_snap::PrivateKey;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::dana::DanaRenderer;
use super::doku::DokuRenderer;
use super::render::{BayarRenderer, Delivery, RenderError, Renderer};
use super::stripe::StripeRenderer;

/// The dialect an event is rendered in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// bayar's own signed JSON.
    Bayar,
    /// DOKU's SNAP notifications.
    Doku,
    /// DANA's finish notify.
    Dana,
    /// Stripe's events to webhook endpoints.
    Stripe,
}

impl Dialect {
    /// The dialect of `event`, from the `face` its payload records.
    pub fn of(event: &Event) -> Dialect {
        match event
            .payload
            .get("face")
            .and_then(serde_json::Value::as_str)
        {
            Some("doku") => Dialect::Doku,
            Some("dana") if DanaRenderer::handles(event.kind) => Dialect::Dana,
            Some("stripe") if StripeRenderer::handles(event) => Dialect::Stripe,
            _ => Dialect::Bayar,
        }
    }
}

/// The renderer `bayar serve` runs: dispatches each event to its dialect's renderer.
pub struct DialectRouter {
    bayar: BayarRenderer,
    doku: DokuRenderer,
    dana: DanaRenderer,
    stripe: StripeRenderer,
}

impl DialectRouter {
    /// A router whose dialects call merchants with `http` (see [`super::http_client`]), sign as
    /// the provider with the gateway's `gateway_key`, and read what they quote from `store`.
    pub fn new(http: reqwest::Client, gateway_key: PrivateKey, store: Store) -> DialectRouter {
        DialectRouter {
            bayar: BayarRenderer,
            dana: DanaRenderer::new(gateway_key.clone(), store.clone()),
            stripe: StripeRenderer::new(store.clone()),
            doku: DokuRenderer::new(http, gateway_key, store),
        }
    }
}

impl Renderer for DialectRouter {
    fn render<'a>(
        &'a self,
        event: &'a Event,
        merchant: &'a Merchant,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Delivery, RenderError>> {
        match Dialect::of(event) {
            Dialect::Doku => self.doku.render(event, merchant, now),
            Dialect::Dana => self.dana.render(event, merchant, now),
            Dialect::Stripe => self.stripe.render(event, merchant, now),
            Dialect::Bayar => self.bayar.render(event, merchant, now),
        }
    }

    fn fan_out<'a>(
        &'a self,
        event: &'a Event,
        merchant: &'a Merchant,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>, RenderError>> {
        match Dialect::of(event) {
            Dialect::Stripe => self.stripe.fan_out(event, merchant),
            Dialect::Doku | Dialect::Dana | Dialect::Bayar => {
                Box::pin(std::future::ready(Ok(None)))
            }
        }
    }

    fn unauthorized(&self, merchant: &Merchant) {
        // A merchant's events may come in several dialects; each drops what it cached.
        self.bayar.unauthorized(merchant);
        self.doku.unauthorized(merchant);
        self.dana.unauthorized(merchant);
    }
}

#[cfg(test)]
mod tests {
    use bayar_core::ids::{EventId, MerchantId};
    use bayar_core::merchant::{ClientId, MerchantName, MerchantUrls, NotifyUrl};
    use bayar_core::outbox::EventKind;
    use bayar_core::secret::Secret;
    use futures_util::FutureExt;
    use serde_json::{Value, json};

    use super::*;

    fn event(payload: Value) -> Event {
        let now = Utc::now();
        Event {
            id: EventId::generate(),
            merchant_id: MerchantId::generate(),
            kind: EventKind::PaymentSucceeded,
            subject_id: "pay_1".into(),
            payload,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            delivered_at: None,
            given_up_at: None,
            copy: None,
        }
    }

    #[test]
    fn the_face_picks_the_dialect() {
        assert_eq!(Dialect::of(&event(json!({"face": "doku"}))), Dialect::Doku);
        assert_eq!(Dialect::of(&event(json!({"face": "dana"}))), Dialect::Dana);
        let mut refund = event(json!({"face": "dana"}));
        refund.kind = EventKind::RefundSucceeded;
        assert_eq!(Dialect::of(&refund), Dialect::Bayar);
        assert_eq!(
            Dialect::of(&event(json!({"face": "stripe"}))),
            Dialect::Stripe
        );
        let mut disbursement = event(json!({"face": "stripe"}));
        disbursement.kind = EventKind::DisbursementSucceeded;
        assert_eq!(Dialect::of(&disbursement), Dialect::Bayar);
        assert_eq!(
            Dialect::of(&event(json!({"payment_id": "pay_1"}))),
            Dialect::Bayar
        );
        assert_eq!(Dialect::of(&event(json!({"face": 1}))), Dialect::Bayar);
    }

    #[tokio::test]
    async fn other_faces_get_bayars_dialect() {
        let t = bayar_core::testing::sqlite().await;
        let key = PrivateKey::generate().unwrap();
        let router = DialectRouter::new(reqwest::Client::new(), key.clone(), t.store.clone());
        let merchant = Merchant {
            id: MerchantId::generate(),
            name: MerchantName::parse("Toko Router").unwrap(),
            client_id: ClientId::generate(),
            client_secret: Secret::new("SK-router".into()),
            public_key: key.public_key(),
            notify_url: Some(NotifyUrl::parse("http://127.0.0.1:9/hooks").unwrap()),
            urls: MerchantUrls::default(),
            created_at: Utc::now(),
        };
        let e = event(json!({"payment_id": "pay_1"}));
        // Bayar's dialect needs no network, so this resolves at once.
        let d = router
            .render(&e, &merchant, Utc::now())
            .now_or_never()
            .expect("no IO for bayar's dialect")
            .unwrap();
        assert!(
            d.headers
                .iter()
                .any(|(k, _)| k == super::super::render::SIGNATURE_HEADER)
        );
        let body: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(body["data"]["payment_id"], "pay_1");
    }
}
