//! The Stripe-style API (WooshPay's DANA page, `seeds/001`): the same payments, wallet page and
//! ledger as the SNAP faces, reached the way Stripe's client libraries call Stripe.
//!
//! One file per job:
//! - [`auth`]: secret API keys as Bearer or Basic;
//! - [`params`]: form-encoded (nested keys) and JSON bodies read into one tree, unknown
//!   parameters refused by name;
//! - [`error`]: Stripe error objects and their HTTP statuses;
//! - [`amount`]: whole-rupiah amounts at the edge, minor units in the core;
//! - [`idempotency`]: `Idempotency-Key` on POSTs (replay, mismatch, 24 h);
//! - [`objects`]: the JSON objects answered;
//! - [`payment_intents`], [`refunds`], [`checkout_sessions`], [`webhook_endpoints`],
//!   [`events`]: the operations (events are also what `crate::notify::stripe` delivers);
//! - [`redirect`]: where the wallet page sends the customer back, on to the intent's
//!   `return_url` with Stripe's query.
//!
//! Another merchant's object answers 404 exactly as a missing one does.

mod amount;
mod auth;
mod checkout_sessions;
mod error;
pub mod events;
mod idempotency;
mod objects;
mod params;
mod payment_intents;
mod redirect;
mod refunds;
pub mod webhook_endpoints;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::routing::{delete, get, post};
use bayar_core::ids::MerchantId;
use bayar_core::intent::{Cursor, PageRequest};

use crate::app::AppState;
pub use error::StripeError;
use params::{Fields, Params};
pub use redirect::PATH as RETURN_PATH;

/// The Stripe-style face's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/payment_intents",
            post(payment_intents::create).get(payment_intents::list),
        )
        .route("/v1/payment_intents/{id}", get(payment_intents::retrieve))
        .route(
            "/v1/payment_intents/{id}/confirm",
            post(payment_intents::confirm),
        )
        .route(
            "/v1/payment_intents/{id}/cancel",
            post(payment_intents::cancel),
        )
        .route("/v1/refunds", post(refunds::create).get(refunds::list))
        .route("/v1/refunds/{id}", get(refunds::retrieve))
        .route(
            "/v1/checkout/sessions",
            post(checkout_sessions::create).get(checkout_sessions::list),
        )
        .route(
            "/v1/checkout/sessions/{id}",
            get(checkout_sessions::retrieve),
        )
        .route(
            "/v1/checkout/sessions/{id}/line_items",
            get(checkout_sessions::line_items),
        )
        .route(
            "/v1/checkout/sessions/{id}/expire",
            post(checkout_sessions::expire),
        )
        .route(
            "/v1/webhook_endpoints",
            post(webhook_endpoints::create).get(webhook_endpoints::list),
        )
        .route(
            "/v1/webhook_endpoints/{id}",
            delete(webhook_endpoints::delete),
        )
        .route("/v1/events", get(events::list))
        .route("/v1/events/{id}", get(events::retrieve))
        .route(redirect::PATH, get(redirect::back_to_merchant))
        .layer(DefaultBodyLimit::max(params::MAX_BODY))
}

/// An authenticated call: whose it is, its parameters and its `Idempotency-Key`.
pub struct Call {
    /// The merchant whose key it carries.
    pub merchant: MerchantId,
    /// Its parameters (body for POST, query for GET).
    pub params: Params,
    /// The `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<String>,
}

impl Call {
    /// Authenticates a POST and reads its body.
    pub async fn post(
        state: &AppState,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Call, StripeError> {
        let merchant = auth::merchant(state, headers).await?;
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        Ok(Call {
            merchant,
            params: Params::from_body(content_type, body)?,
            idempotency_key: idempotency::key(headers)?,
        })
    }

    /// Authenticates a GET and reads its query.
    pub async fn get(
        state: &AppState,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Call, StripeError> {
        let merchant = auth::merchant(state, headers).await?;
        Ok(Call {
            merchant,
            params: Params::from_form(query.unwrap_or_default().as_bytes())?,
            idempotency_key: None,
        })
    }
}

/// Reads `limit`, `starting_after` and `ending_before` (the list's own filters are the
/// caller's).
fn page_request(fields: &mut Fields) -> Result<PageRequest, StripeError> {
    let limit = match fields.integer("limit")? {
        None => 10,
        Some(n @ 1..=100) => u32::try_from(n).unwrap_or(10),
        Some(_) => {
            return Err(StripeError::invalid_request(
                "limit must be between 1 and 100.",
                Some("limit"),
            ));
        }
    };
    let cursor = match (
        fields.text("starting_after")?,
        fields.text("ending_before")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(StripeError::invalid_request(
                "You may only specify one of these parameters: ending_before, starting_after.",
                Some("ending_before"),
            ));
        }
        (Some(after), None) => Cursor::After(after),
        (None, Some(before)) => Cursor::Before(before),
        (None, None) => Cursor::First,
    };
    Ok(PageRequest { limit, cursor })
}
