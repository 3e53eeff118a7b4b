//! The objects this face answers with, in the seed's shapes (WooshPay): `payment_intent`,
//! `refund`, `list`, `checkout.session` with its line items. Times are Unix milliseconds, as WooshPay sends them.

use bayar_core::checkout::{LineItem, SessionState};
use bayar_core::commands::{IntentView, SessionView};
use bayar_core::intent::{IntentState, ListPage};
use bayar_core::payment::{PaymentStatus, Refund};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::amount::{CURRENCY, to_units};

/// A payment intent as JSON; `public_url` is where customers' browsers reach bayar.
pub fn payment_intent(view: &IntentView, public_url: &str) -> Value {
    let intent = &view.intent;
    let state = view.state();
    let payment = view.payment.as_ref();
    let next_action = match (state, payment) {
        (IntentState::RequiresAction, Some(p)) => {
            let wallet = format!("{public_url}/pages/dana/pay/{}", p.id);
            json!({
                "type": "redirect_to_url",
                "redirect_to_url": { "url": wallet, "return_url": intent.return_url },
                "dana_handle_redirect": { "url": wallet },
            })
        }
        _ => Value::Null,
    };
    let received = match payment {
        Some(p) if p.status == PaymentStatus::Succeeded => to_units(p.amount),
        _ => 0,
    };
    let last_payment_error = match payment {
        Some(p) if p.status == PaymentStatus::Failed => json!({
            "type": "card_error",
            "code": "payment_failed",
            "decline_code": p.failure.map(|f| f.as_str()),
            "message": "The DANA payment failed; confirm again to retry.",
        }),
        _ => Value::Null,
    };
    let canceled_at = match (state, payment) {
        (IntentState::Canceled, Some(p)) => json!(p.updated_at.timestamp_millis()),
        (IntentState::Canceled, None) => json!(intent.updated_at.timestamp_millis()),
        _ => Value::Null,
    };
    let cancellation_reason = match payment.map(|p| p.status) {
        Some(PaymentStatus::Expired) => json!("abandoned"),
        _ => Value::Null,
    };
    json!({
        "id": intent.id.to_string(),
        "object": "payment_intent",
        "created": intent.created_at.timestamp_millis(),
        "currency": CURRENCY,
        "amount": to_units(intent.amount),
        "amount_received": received,
        "status": state.as_str(),
        "livemode": false,
        "client_secret": intent.client_secret.expose(),
        "next_action": next_action,
        "payment_method_types": ["dana"],
        "payment_method": intent.payment_method,
        "confirmation_method": "automatic",
        "capture_method": "automatic",
        "return_url": intent.return_url,
        "description": intent.description,
        "metadata": intent.metadata,
        "last_payment_error": last_payment_error,
        "canceled_at": canceled_at,
        "cancellation_reason": cancellation_reason,
    })
}

/// A refund as JSON (`intent_id` is the refunded payment's intent).
pub fn refund(refund: &Refund, intent_id: Option<String>) -> Value {
    json!({
        "id": refund.partner_refund_no,
        "object": "refund",
        "created": refund.created_at.timestamp_millis(),
        "currency": CURRENCY,
        "amount": to_units(refund.amount),
        "payment_intent": intent_id,
        "reason": refund.reason,
        "status": "succeeded",
        "metadata": {},
    })
}

/// A page of a list as JSON, at `url`.
pub fn list<T>(page: ListPage<T>, url: &str, render: impl Fn(T) -> Value) -> Value {
    json!({
        "object": "list",
        "url": url,
        "has_more": page.has_more,
        "data": page.items.into_iter().map(render).collect::<Vec<_>>(),
    })
}

/// A checkout session as JSON, in the seed's shape.
pub fn checkout_session(view: &SessionView, public_url: &str, now: DateTime<Utc>) -> Value {
    let session = &view.session;
    let created = session.created_at.timestamp_millis();
    let paid = view.state(now) == SessionState::Complete;
    json!({
        "id": session.id.to_string(),
        "object": "checkout.session",
        "created": created,
        "livemode": false,
        "currency": CURRENCY,
        "customer": "",
        "mode": "payment",
        "status": view.state(now).as_str(),
        // Stripe's convention: only an open session has a page to go to.
        "url": (view.state(now) == SessionState::Open)
            .then(|| format!("{public_url}/pages/checkout/{}", session.id)),
        "cancel_url": session.cancel_url,
        "success_url": session.success_url,
        "line_items": {
            "object": "list",
            "url": format!("/v1/checkout/sessions/{}/line_items", session.id),
            "has_more": false,
            "data": session.line_items.iter().map(|i| line_item(i, created)).collect::<Vec<_>>(),
        },
        "payment_intent": session.intent_id.to_string(),
        "payment_method_types": ["dana"],
        "payment_status": if paid { "paid" } else { "unpaid" },
        "amount_subtotal": to_units(session.amount_total),
        "amount_total": to_units(session.amount_total),
        "billing_address_collection": "auto",
        "expires_at": session.expires_at.timestamp_millis(),
        "payment_link": "",
        "client_secret": view.intent.intent.client_secret.expose(),
    })
}

/// One line item as JSON, with its price and product (`created` of the session).
pub fn line_item(item: &LineItem, created: i64) -> Value {
    let total = item.total().map_or(0, to_units);
    json!({
        "id": item.id,
        "object": "item",
        "currency": CURRENCY,
        "description": item.name,
        "price": {
            "id": item.price_id,
            "object": "price",
            "created": created,
            "livemode": false,
            "active": true,
            "currency": CURRENCY,
            "nickname": item.nickname,
            "product": {
                "id": item.product_id,
                "object": "product",
                "created": created,
                "livemode": false,
                "active": true,
                "name": item.name,
                "updated": created,
            },
            "type": "one_time",
            "unit_amount": to_units(item.unit_amount),
            "billing_scheme": "per_unit",
            "lookup_key": item.lookup_key,
        },
        "quantity": item.quantity,
        "amount_subtotal": total,
        "amount_total": total,
    })
}
