//! Events (`evt_...`): the core's outbox events about this face's payments and refunds, in
//! Stripe's event shape, listed and retrieved here and delivered to webhook endpoints by the
//! notification worker (`crate::notify::stripe`). The same object goes both ways.
//!
//! Types: `payment_intent.succeeded`, `payment_intent.payment_failed`,
//! `payment_intent.canceled` (cancelled or expired), `refund.created`,
//! `checkout.session.completed` and `checkout.session.expired` (expired through the API).

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bayar_core::CoreError;
use bayar_core::commands::{IntentView, SessionView};
use bayar_core::ids::EventId;
use bayar_core::intent::ListPage;
use bayar_core::outbox::{Event, EventKind};
use bayar_core::payment::Face;
use bayar_core::store::{Store, StoreError};
use serde_json::{Value, json};

use super::error::StripeError;
use super::{Call, objects, page_request};
use crate::app::AppState;

/// Every event type this face sends.
pub const TYPES: [&str; 6] = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "refund.created",
    "checkout.session.completed",
    "checkout.session.expired",
];

/// The Stripe type of a core event of this face, or `None` when it is not one.
pub fn stripe_type(event: &Event) -> Option<&'static str> {
    if event.payload.get("face").and_then(Value::as_str) != Some(Face::Stripe.as_str()) {
        return None;
    }
    match event.kind {
        EventKind::PaymentSucceeded => Some(TYPES[0]),
        EventKind::PaymentFailed => Some(TYPES[1]),
        EventKind::PaymentCancelled | EventKind::PaymentExpired => Some(TYPES[2]),
        EventKind::RefundSucceeded => Some(TYPES[3]),
        EventKind::CheckoutCompleted => Some(TYPES[4]),
        EventKind::CheckoutExpired => Some(TYPES[5]),
        _ => None,
    }
}

/// The event as Stripe's `event` object, or `None` when it is not one of this face's.
/// A payment event's intent is in a final state, which has no `next_action`: no public URL
/// is needed to render it.
pub async fn event_object(store: &Store, event: &Event) -> Result<Option<Value>, StoreError> {
    let Some(kind) = stripe_type(event) else {
        return Ok(None);
    };
    let object = match event.kind {
        EventKind::RefundSucceeded => {
            let reference = event.payload["partner_refund_no"]
                .as_str()
                .unwrap_or_default();
            let Some(refund) = store
                .refund_by_reference(&event.merchant_id, reference)
                .await?
            else {
                return Ok(None);
            };
            let intent = store.intent_of_payment(&refund.payment_id).await?;
            objects::refund(&refund, intent.map(|i| i.id.to_string()))
        }
        EventKind::CheckoutCompleted | EventKind::CheckoutExpired => {
            let Some(view) = session_view(store, event).await? else {
                return Ok(None);
            };
            objects::checkout_session(&view, "", event.created_at)
        }
        _ => {
            let Ok(payment_id) = event.subject_id.parse() else {
                return Ok(None);
            };
            let Some(payment) = store.payment(&payment_id).await? else {
                return Ok(None);
            };
            let Some(intent) = store.intent_of_payment(&payment_id).await? else {
                return Ok(None);
            };
            let view = IntentView {
                intent,
                payment: Some(payment),
            };
            objects::payment_intent(&view, "")
        }
    };
    Ok(Some(json!({
        "id": event.public_id().to_string(),
        "object": "event",
        "api_version": null,
        "created": event.created_at.timestamp_millis(),
        "type": kind,
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "data": { "object": object },
    })))
}

/// The checkout session an event is about, with its intent and the intent's payment.
async fn session_view(store: &Store, event: &Event) -> Result<Option<SessionView>, StoreError> {
    let Ok(session_id) = event.subject_id.parse() else {
        return Ok(None);
    };
    let Some(session) = store.session(&session_id).await? else {
        return Ok(None);
    };
    let Some(intent) = store
        .intent(&session.merchant_id, &session.intent_id)
        .await?
    else {
        return Ok(None);
    };
    let payment = match intent.payment_id {
        Some(id) => store.payment(&id).await?,
        None => None,
    };
    Ok(Some(SessionView {
        session,
        intent: IntentView { intent, payment },
    }))
}

/// `GET /v1/events/{id}`.
pub async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(retrieve_event(&state, &id, &headers, query.as_deref()).await)
}

/// `GET /v1/events`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(list_events(&state, &headers, query.as_deref()).await)
}

fn answer(result: Result<Response, StripeError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn retrieve_event(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, StripeError> {
    let call = Call::get(state, headers, query).await?;
    call.params.fields().finish()?;
    let no_such = || StripeError::no_such("event", id, "id");
    let event_id: EventId = id.parse().map_err(|_| no_such())?;
    let store = state.core.store();
    let event = store
        .event(&event_id)
        .await
        .map_err(CoreError::from)?
        // A destination's copy is a delivery, not an event of its own: its id is internal.
        .filter(|e| e.merchant_id == call.merchant && e.copy.is_none())
        .ok_or_else(no_such)?;
    let object = event_object(store, &event)
        .await
        .map_err(CoreError::from)?
        .ok_or_else(no_such)?;
    Ok(Json(object).into_response())
}

async fn list_events(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, StripeError> {
    let call = Call::get(state, headers, query).await?;
    let mut f = call.params.fields();
    let page = page_request(&mut f)?;
    f.finish()?;
    let store = state.core.store();
    let events = store
        .events_of_face(&call.merchant, Face::Stripe, &page)
        .await
        .map_err(CoreError::from)?;
    let mut items = Vec::with_capacity(events.items.len());
    for event in &events.items {
        if let Some(object) = event_object(store, event).await.map_err(CoreError::from)? {
            items.push(object);
        }
    }
    let page = ListPage {
        items,
        has_more: events.has_more,
    };
    Ok(Json(objects::list(page, "/v1/events", |o| o)).into_response())
}
