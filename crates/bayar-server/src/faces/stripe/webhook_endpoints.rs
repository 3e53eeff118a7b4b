//! Webhook endpoints: create (`url`, `enabled_events`; the signing secret `whsec_...` is in
//! the answer to the create, never again), list, delete. Each event goes to every live
//! endpoint listening to its type, signed `Stripe-Signature: t=...,v1=HMAC-SHA256(secret,
//! "t.payload")` with that endpoint's secret (`crate::notify::stripe`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bayar_core::CoreError;
use bayar_core::commands::{CreateWebhookEndpoint, DeleteWebhookEndpoint};
use bayar_core::intent::ListPage;
use bayar_core::webhook::WebhookEndpoint;
use chrono::Utc;
use serde_json::{Value, json};

use super::error::StripeError;
use super::events::TYPES;
use super::{Call, idempotency, objects};
use crate::app::AppState;

/// `POST /v1/webhook_endpoints`.
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    answer(create_endpoint(&state, &headers, &body).await)
}

/// `GET /v1/webhook_endpoints`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(list_endpoints(&state, &headers, query.as_deref()).await)
}

/// `DELETE /v1/webhook_endpoints/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    answer(delete_endpoint(&state, &id, &headers).await)
}

/// Whether `url` may receive webhooks: an absolute http:// or https:// URL with a host (the
/// rule of this API and of the portal's form).
pub fn valid_url(url: &str) -> bool {
    matches!(url::Url::parse(url), Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// Whether an endpoint may listen to `kind`: `*` or one of the face's event types.
pub fn valid_event(kind: &str) -> bool {
    kind == "*" || TYPES.contains(&kind)
}

fn answer(result: Result<Response, StripeError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The endpoint as JSON; the secret only when `with_secret` (the answer to the create).
fn endpoint(e: &WebhookEndpoint, with_secret: bool) -> Value {
    let mut object = json!({
        "id": e.id,
        "object": "webhook_endpoint",
        "url": e.url,
        "enabled_events": e.enabled_events,
        "status": "enabled",
        "livemode": false,
        "created": e.created_at.timestamp_millis(),
        "api_version": null,
        "metadata": {},
    });
    if with_secret {
        object["secret"] = json!(e.secret.expose());
    }
    object
}

async fn create_endpoint(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, StripeError> {
    let call = Call::post(state, headers, body).await?;
    let mut f = call.params.clone().fields();
    let url = f.required_text("url")?;
    if !valid_url(&url) {
        return Err(StripeError::invalid_request(
            "url must be an absolute http:// or https:// URL.",
            Some("url"),
        )
        .with_code("url_invalid"));
    }
    let items = f
        .list("enabled_events")?
        .filter(|l| !l.is_empty())
        .ok_or_else(|| StripeError::missing("enabled_events"))?;
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        let kind = item.text()?;
        if !valid_event(&kind) {
            return Err(StripeError::invalid_request(
                &format!(
                    "Invalid enabled_events: {kind}. Available: *, {}.",
                    TYPES.join(", ")
                ),
                Some("enabled_events"),
            ));
        }
        events.push(kind);
    }
    f.finish()?;
    let command = CreateWebhookEndpoint {
        endpoint: WebhookEndpoint::new(call.merchant, url, events, Utc::now()),
    };
    idempotency::run(state, &call, "/v1/webhook_endpoints", command, |e| {
        endpoint(e, true)
    })
    .await
}

async fn list_endpoints(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, StripeError> {
    let call = Call::get(state, headers, query).await?;
    call.params.fields().finish()?;
    let endpoints = state
        .core
        .store()
        .webhook_endpoints(&call.merchant)
        .await
        .map_err(CoreError::from)?;
    let page = ListPage {
        items: endpoints,
        has_more: false,
    };
    Ok(Json(objects::list(page, "/v1/webhook_endpoints", |e| {
        endpoint(&e, false)
    }))
    .into_response())
}

async fn delete_endpoint(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
) -> Result<Response, StripeError> {
    let merchant = Call::get(state, headers, None).await?.merchant;
    state
        .core
        .run(DeleteWebhookEndpoint {
            merchant_id: merchant,
            id: id.to_string(),
        })
        .await
        .map_err(|e| match e {
            CoreError::WebhookEndpointNotFound => {
                StripeError::no_such("webhook_endpoint", id, "id")
            }
            other => other.into(),
        })?;
    Ok(Json(json!({"id": id, "object": "webhook_endpoint", "deleted": true})).into_response())
}
