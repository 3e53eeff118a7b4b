//! Webhook endpoints of the Stripe-style API (`we_...`): a URL, the event types it listens to,
//! and the secret (`whsec_...`) its deliveries are signed with.

use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::ids::MerchantId;
use crate::secret::Secret;

/// A webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// bayar's id (`we_...`).
    pub id: String,
    /// Whose endpoint.
    pub merchant_id: MerchantId,
    /// Where events are POSTed.
    pub url: String,
    /// The HMAC-SHA256 key of the `Stripe-Signature` header.
    pub secret: Secret<String>,
    /// The event types it receives (`*` for all).
    pub enabled_events: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    /// A new endpoint with a fresh id and secret.
    pub fn new(
        merchant_id: MerchantId,
        url: String,
        enabled_events: Vec<String>,
        now: DateTime<Utc>,
    ) -> WebhookEndpoint {
        let secret: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        WebhookEndpoint {
            id: format!("we_{}", ulid::Ulid::new()),
            merchant_id,
            url,
            secret: Secret::new(format!("whsec_{secret}")),
            enabled_events,
            created_at: now,
        }
    }

    /// Whether it receives events of type `kind`.
    pub fn listens_to(&self, kind: &str) -> bool {
        self.enabled_events.iter().any(|e| e == "*" || e == kind)
    }
}
