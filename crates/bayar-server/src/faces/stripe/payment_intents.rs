//! PaymentIntents: create (and confirm at once), retrieve, confirm, cancel, list.
//!
//! DANA is the only payment method: `payment_method_types` may name only `dana`, and
//! `payment_method_data[type]=dana` gives the intent its payment method. Confirming creates a
//! payment that the customer pays on the hosted wallet page: the intent is then
//! `requires_action` with `next_action.redirect_to_url.url` (and WooshPay's
//! `dana_handle_redirect.url`) pointing there.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bayar_core::commands::{CancelIntent, ConfirmIntent, Confirmation, CreateIntent, IntentView};
use bayar_core::ids::{IntentId, MerchantId};
use bayar_core::intent::{PaymentIntent, new_payment_method_id};
use bayar_core::{Core, CoreError};
use chrono::Utc;

use super::amount::{PaymentAmount, currency};
use super::error::StripeError;
use super::params::Fields;
use super::{Call, idempotency, objects, page_request, redirect};
use crate::app::AppState;

/// Longest description accepted.
const MAX_DESCRIPTION: usize = 1000;

/// `POST /v1/payment_intents`.
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    answer(create_intent(&state, &headers, &body).await)
}

/// `GET /v1/payment_intents/{id}`.
pub async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(retrieve_intent(&state, &id, &headers, query.as_deref()).await)
}

/// `POST /v1/payment_intents/{id}/confirm`.
pub async fn confirm(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(confirm_intent(&state, &id, &headers, &body).await)
}

/// `POST /v1/payment_intents/{id}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(cancel_intent(&state, &id, &headers, &body).await)
}

/// `GET /v1/payment_intents`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(list_intents(&state, &headers, query.as_deref()).await)
}

fn answer(result: Result<Response, StripeError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn create_intent(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, StripeError> {
    let call = Call::post(state, headers, body).await?;
    let mut f = call.params.clone().fields();
    let amount = PaymentAmount::parse(
        f.integer("amount")?
            .ok_or_else(|| StripeError::missing("amount"))?,
        "amount",
    )?;
    currency(&f.required_text("currency")?, "currency")?;
    if let Some(types) = f.list("payment_method_types")? {
        for item in types {
            let name = item.text()?;
            if name != "dana" {
                return Err(StripeError::invalid_request(
                    &format!(
                        "The payment method type \"{name}\" is invalid: only dana is available."
                    ),
                    Some("payment_method_types"),
                ));
            }
        }
    }
    let payment_method = payment_method_data(&mut f)?;
    let confirm = f.boolean("confirm")?.unwrap_or(false);
    let return_url = return_url(&mut f)?;
    let description = f.text("description")?;
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        return Err(StripeError::invalid_request(
            "description must be at most 1000 characters.",
            Some("description"),
        ));
    }
    let metadata = metadata(&mut f)?;
    automatic_only(&mut f, "capture_method")?;
    automatic_only(&mut f, "confirmation_method")?;
    f.finish()?;
    if return_url.is_some() && !confirm {
        return Err(StripeError::invalid_request(
            "return_url can only be passed with confirm=true.",
            Some("return_url"),
        ));
    }
    let mut intent = PaymentIntent::new(call.merchant, amount.money(), Utc::now());
    intent.payment_method = payment_method;
    intent.description = description;
    intent.metadata = metadata;
    let command = CreateIntent {
        intent,
        confirm: confirm.then(|| confirmation(state, None, return_url)),
    };
    let public_url = state.public_url.clone();
    idempotency::run(state, &call, "/v1/payment_intents", command, move |view| {
        objects::payment_intent(view, &public_url)
    })
    .await
}

async fn confirm_intent(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, StripeError> {
    let call = Call::post(state, headers, body).await?;
    let intent_id = parse_id(id)?;
    let mut f = call.params.clone().fields();
    let payment_method = payment_method_data(&mut f)?;
    let return_url = return_url(&mut f)?;
    f.finish()?;
    let command = ConfirmIntent {
        merchant_id: call.merchant,
        intent_id,
        confirmation: confirmation(state, payment_method, return_url),
    };
    let public_url = state.public_url.clone();
    let path = format!("/v1/payment_intents/{id}/confirm");
    idempotency::run(state, &call, &path, command, move |view| {
        objects::payment_intent(view, &public_url)
    })
    .await
    .map_err(|e| not_found_as(e, id))
}

async fn cancel_intent(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, StripeError> {
    let call = Call::post(state, headers, body).await?;
    let intent_id = parse_id(id)?;
    call.params.clone().fields().finish()?;
    let command = CancelIntent {
        merchant_id: call.merchant,
        intent_id,
    };
    let public_url = state.public_url.clone();
    let path = format!("/v1/payment_intents/{id}/cancel");
    idempotency::run(state, &call, &path, command, move |view| {
        objects::payment_intent(view, &public_url)
    })
    .await
    .map_err(|e| not_found_as(e, id))
}

async fn retrieve_intent(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, StripeError> {
    let call = Call::get(state, headers, query).await?;
    let intent_id = parse_id(id)?;
    call.params.fields().finish()?;
    let view = load(&state.core, &call.merchant, &intent_id)
        .await?
        .ok_or_else(|| no_such(id))?;
    Ok(Json(objects::payment_intent(&view, &state.public_url)).into_response())
}

async fn list_intents(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, StripeError> {
    let call = Call::get(state, headers, query).await?;
    let mut f = call.params.fields();
    let page = page_request(&mut f)?;
    f.finish()?;
    let store = state.core.store();
    let intents = store
        .intents(&call.merchant, &page)
        .await
        .map_err(CoreError::from)?;
    let mut views = Vec::with_capacity(intents.items.len());
    for intent in intents.items {
        views.push(with_payment(&state.core, intent).await?);
    }
    let page = bayar_core::intent::ListPage {
        items: views,
        has_more: intents.has_more,
    };
    let public_url = state.public_url.clone();
    Ok(Json(objects::list(page, "/v1/payment_intents", |view| {
        objects::payment_intent(&view, &public_url)
    }))
    .into_response())
}

/// The merchant's intent with its latest payment.
pub(super) async fn load(
    core: &Core,
    merchant: &MerchantId,
    id: &IntentId,
) -> Result<Option<IntentView>, StripeError> {
    let intent = core
        .store()
        .intent(merchant, id)
        .await
        .map_err(CoreError::from)?;
    match intent {
        Some(intent) => Ok(Some(with_payment(core, intent).await?)),
        None => Ok(None),
    }
}

async fn with_payment(core: &Core, intent: PaymentIntent) -> Result<IntentView, StripeError> {
    let payment = match &intent.payment_id {
        Some(id) => core.store().payment(id).await.map_err(CoreError::from)?,
        None => None,
    };
    Ok(IntentView { intent, payment })
}

/// An intent id from the path; a malformed one is as missing as an unknown one.
fn parse_id(id: &str) -> Result<IntentId, StripeError> {
    id.parse().map_err(|_| no_such(id))
}

fn no_such(id: &str) -> StripeError {
    StripeError::no_such("payment_intent", id, "intent")
}

/// The core's "no such intent" in Stripe's words, naming the id asked for.
fn not_found_as(err: StripeError, id: &str) -> StripeError {
    if err == StripeError::from(CoreError::IntentNotFound) {
        no_such(id)
    } else {
        err
    }
}

fn confirmation(
    state: &AppState,
    payment_method: Option<String>,
    return_url: Option<String>,
) -> Confirmation {
    Confirmation {
        payment_method,
        return_url,
        wallet_return_url: format!("{}{}", state.public_url, redirect::PATH),
    }
}

/// `payment_method_data[type]=dana`: a new DANA payment method.
fn payment_method_data(f: &mut Fields) -> Result<Option<String>, StripeError> {
    let Some(mut data) = f.hash("payment_method_data")? else {
        return Ok(None);
    };
    let kind = data.required_text("type")?;
    if kind != "dana" {
        return Err(StripeError::invalid_request(
            &format!("Invalid payment_method_data[type]: {kind}. Only dana is available."),
            Some("payment_method_data[type]"),
        ));
    }
    data.finish()?;
    Ok(Some(new_payment_method_id()))
}

/// `return_url`: an absolute http(s) URL.
fn return_url(f: &mut Fields) -> Result<Option<String>, StripeError> {
    let Some(raw) = f.text("return_url")? else {
        return Ok(None);
    };
    match url::Url::parse(&raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(Some(raw)),
        _ => Err(StripeError::invalid_request(
            "return_url must be an absolute http:// or https:// URL.",
            Some("return_url"),
        )
        .with_code("url_invalid")),
    }
}

/// `metadata[...]`: at most 50 keys of up to 40 characters, values up to 500.
fn metadata(f: &mut Fields) -> Result<std::collections::BTreeMap<String, String>, StripeError> {
    let metadata = f.text_map("metadata")?.unwrap_or_default();
    if metadata.len() > 50
        || metadata
            .iter()
            .any(|(k, v)| k.chars().count() > 40 || v.chars().count() > 500)
    {
        return Err(StripeError::invalid_request(
            "metadata takes at most 50 keys of up to 40 characters, values up to 500.",
            Some("metadata"),
        ));
    }
    Ok(metadata)
}

/// Capture and confirmation are automatic: the only value accepted.
fn automatic_only(f: &mut Fields, name: &str) -> Result<(), StripeError> {
    match f.text(name)?.as_deref() {
        None | Some("automatic") => Ok(()),
        Some(other) => Err(StripeError::invalid_request(
            &format!("Invalid {name}: {other}. DANA payments are captured automatically."),
            Some(name),
        )),
    }
}
