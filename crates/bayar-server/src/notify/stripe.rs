//! The Stripe-style dialect: each event of a Stripe-style payment or refund goes to every live
//! webhook endpoint of the merchant listening to its type, as Stripe's `event` object (the one
//! `GET /v1/events/{id}` answers), signed `Stripe-Signature: t=<unix seconds>,
//! v1=<hex HMAC-SHA256(endpoint secret, "t.payload")>`, which Stripe's libraries verify
//! (`stripe.Webhook.construct_event`).
//!
//! The worker first fans the event out to one copy per endpoint listening when it is first
//! claimed (without such an endpoint there is nowhere to send it); each copy is then rendered
//! for its endpoint, with its secret, and retried on its own, so one endpoint that is down
//! neither holds back nor duplicates deliveries to the others. An endpoint deleted before its
//! copy went out gets nothing, as at Stripe.

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
    fn fan_out<'a>(
        &'a self,
        event: &'a Event,
        merchant: &'a Merchant,
    ) -> BoxFuture<'a, Result<Option<Vec<String>>, RenderError>> {
        Box::pin(async move {
            if event.copy.is_some() {
                return Ok(None);
            }
            let kind = stripe_type(event)
                .ok_or_else(|| RenderError::Unsupported("not a Stripe-style event".into()))?;
            let endpoints: Vec<String> = self
                .store
                .webhook_endpoints(&merchant.id)
                .await
                .map_err(|e| RenderError::Store(e.to_string()))?
                .into_iter()
                .filter(|e| e.listens_to(kind))
                .map(|e| e.id)
                .collect();
            if endpoints.is_empty() {
                return Err(RenderError::NoNotifyUrl);
            }
            Ok(Some(endpoints))
        })
    }

    fn render<'a>(
        &'a self,
        event: &'a Event,
        merchant: &'a Merchant,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Delivery, RenderError>> {
        Box::pin(async move {
            let copy = event.copy.as_ref().ok_or_else(|| {
                RenderError::Unsupported(
                    "a Stripe-style event goes out as its endpoints' copies".into(),
                )
            })?;
            let endpoint = self
                .store
                .webhook_endpoints(&merchant.id)
                .await
                .map_err(|e| RenderError::Store(e.to_string()))?
                .into_iter()
                .find(|e| e.id == copy.endpoint_id)
                .ok_or_else(|| {
                    RenderError::Unsupported(format!(
                        "webhook endpoint {} was deleted",
                        copy.endpoint_id
                    ))
                })?;
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
