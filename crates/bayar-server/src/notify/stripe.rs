//! The Stripe-style dialect: each event of a Stripe-style payment or refund goes to the
//! merchant's newest live webhook endpoint listening to its type, as Stripe's `event` object
//! (the one `GET /v1/events/{id}` answers), signed `Stripe-Signature: t=<unix seconds>,
//! v1=<hex HMAC-SHA256(endpoint secret, "t.payload")>`, which Stripe's libraries verify
//! (`stripe.Webhook.construct_event`). Without such an endpoint there is nowhere to send it.

use bayar_core::merchant::Merchant;
use bayar_core::outbox::Event;
use bayar_core::store::Store;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::render::{Delivery, RenderError, Renderer, sign};
use crate::faces::stripe::events::{event_object, stripe_type};

/// Renders events of the Stripe-style face.
pub struct StripeRenderer {
    store: Store,
}

impl StripeRenderer {
    /// A renderer reading endpoints and objects from `store`.
    pub fn new(store: Store) -> StripeRenderer {
        StripeRenderer { store }
    }

    /// Whether `event` is one this dialect sends.
    pub fn handles(event: &Event) -> bool {
        stripe_type(event).is_some()
    }
}

impl Renderer for StripeRenderer {
    fn render<'a>(
        &'a self,
        event: &'a Event,
        merchant: &'a Merchant,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Delivery, RenderError>> {
        Box::pin(async move {
            let kind = stripe_type(event)
                .ok_or_else(|| RenderError::Unsupported("not a Stripe-style event".into()))?;
            let endpoint = self
                .store
                .webhook_endpoints(&merchant.id)
                .await
                .map_err(|e| RenderError::Store(e.to_string()))?
                .into_iter()
                .find(|e| e.listens_to(kind))
                .ok_or(RenderError::NoNotifyUrl)?;
            let object = event_object(&self.store, event)
                .await
                .map_err(|e| RenderError::Store(e.to_string()))?
                .ok_or_else(|| RenderError::Unsupported("its object is gone".into()))?;
            let body = serde_json::to_vec(&object)
                .map_err(|e| RenderError::Unsupported(format!("payload: {e}")))?;
            let signature = sign(endpoint.secret.expose().as_bytes(), now.timestamp(), &body);
            Ok(Delivery {
                url: endpoint.url,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Stripe-Signature".into(), signature),
                ],
                body,
            })
        })
    }
}
