//! Refunds: create (of a succeeded intent's payment, in full or in part), retrieve, list.
//! DANA allows one refund per payment (full or partial, no multiple partial refunds); the
//! core enforces it ([`bayar_core::payment::RefundPolicy::One`]).
//!
//! A refund's id (`re_...`) is its `partnerRefundNo` in the core: bayar makes it, so it is
//! unique and sorts by creation like every bayar id.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bayar_core::CoreError;
use bayar_core::commands::{PaymentLookup, RefundPayment};
use bayar_core::ids::{IntentId, MerchantId};
use bayar_core::intent::ListPage;
use bayar_core::payment::{Face, PartnerReference, Refund};
use bayar_snap::Money;

use super::amount::positive_amount;
use super::error::StripeError;
use super::{Call, idempotency, objects, page_request, payment_intents};
use crate::app::AppState;

/// `POST /v1/refunds`.
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    answer(create_refund(&state, &headers, &body).await)
}

/// `GET /v1/refunds/{id}`.
pub async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(retrieve_refund(&state, &id, &headers, query.as_deref()).await)
}

/// `GET /v1/refunds`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(list_refunds(&state, &headers, query.as_deref()).await)
}

fn answer(result: Result<Response, StripeError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Why the merchant refunds (Stripe's three reasons).
const REASONS: [&str; 3] = ["duplicate", "fraudulent", "requested_by_customer"];

async fn create_refund(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, StripeError> {
    let call = Call::post(state, headers, body).await?;
    let mut f = call.params.clone().fields();
    let intent_ref = f.required_text("payment_intent")?;
    let amount = f
        .integer("amount")?
        .map(|units| positive_amount(units, "amount"))
        .transpose()?;
    let reason = f.text("reason")?;
    if let Some(r) = &reason
        && !REASONS.contains(&r.as_str())
    {
        return Err(StripeError::invalid_request(
            &format!("Invalid reason: must be one of {}", REASONS.join(", ")),
            Some("reason"),
        ));
    }
    f.finish()?;
    let no_such = || StripeError::no_such("payment_intent", &intent_ref, "payment_intent");
    let intent_id: IntentId = intent_ref.parse().map_err(|_| no_such())?;
    let view = payment_intents::load(&state.core, &call.merchant, &intent_id)
        .await?
        .ok_or_else(no_such)?;
    let payment = view.payment.ok_or_else(|| {
        StripeError::invalid_request(
            "This PaymentIntent has no successful payment to refund.",
            Some("payment_intent"),
        )
        .with_code("charge_not_refundable")
    })?;
    let amount = match amount {
        Some(a) => a,
        None => payment
            .amount
            .checked_sub(payment.refunded)
            .filter(|left| *left > Money::ZERO)
            .ok_or_else(|| StripeError::from(CoreError::RefundNotAllowed))?,
    };
    let id = format!("re_{}", ulid::Ulid::new());
    let command = RefundPayment {
        merchant_id: call.merchant,
        payment: PaymentLookup::Id(payment.id),
        partner_refund_no: PartnerReference::parse(&id).map_err(|_| StripeError::internal())?,
        amount,
        reason,
    };
    let intent = intent_id.to_string();
    idempotency::run(state, &call, "/v1/refunds", command, move |outcome| {
        objects::refund(&outcome.refund, Some(intent.clone()))
    })
    .await
}

async fn retrieve_refund(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, StripeError> {
    let call = Call::get(state, headers, query).await?;
    call.params.fields().finish()?;
    let refund = state
        .core
        .store()
        .refund_by_reference(&call.merchant, id)
        .await
        .map_err(CoreError::from)?
        .ok_or_else(|| StripeError::no_such("refund", id, "id"))?;
    let intent = intent_of(state, &call.merchant, &refund)
        .await?
        .ok_or_else(|| StripeError::no_such("refund", id, "id"))?;
    Ok(Json(objects::refund(&refund, Some(intent))).into_response())
}

async fn list_refunds(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, StripeError> {
    let call = Call::get(state, headers, query).await?;
    let mut f = call.params.fields();
    let page = page_request(&mut f)?;
    f.finish()?;
    let refunds = state
        .core
        .store()
        .refunds_of_face(&call.merchant, Face::Stripe, &page)
        .await
        .map_err(CoreError::from)?;
    let mut items = Vec::with_capacity(refunds.items.len());
    for refund in refunds.items {
        let intent = intent_of(state, &call.merchant, &refund).await?;
        items.push((refund, intent));
    }
    let page = ListPage {
        items,
        has_more: refunds.has_more,
    };
    Ok(Json(objects::list(page, "/v1/refunds", |(refund, intent)| {
        objects::refund(&refund, intent)
    }))
    .into_response())
}

/// The intent whose payment `refund` refunds, when that payment was made through this face
/// (a refund of a DOKU or DANA payment is none of this API's business: `None`).
async fn intent_of(
    state: &AppState,
    merchant: &MerchantId,
    refund: &Refund,
) -> Result<Option<String>, StripeError> {
    let intent = state
        .core
        .store()
        .intent_of_payment(&refund.payment_id)
        .await
        .map_err(CoreError::from)?;
    Ok(intent
        .filter(|i| i.merchant_id == *merchant)
        .map(|i| i.id.to_string()))
}
