//! Checkout Sessions: create (line items with `price_data`), retrieve, list line items,
//! expire. The session's `url` is bayar's hosted checkout page (`crate::pages::checkout`),
//! which lists the items, the total and the payment methods; choosing DANA confirms the
//! session's payment intent and continues on the wallet page; success goes to `success_url`,
//! giving up to `cancel_url`. A session expires 24 hours after it was created.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bayar_core::checkout::{self, CheckoutSession, LineItem, SessionStage};
use bayar_core::commands::{CreateCheckoutSession, ExpireCheckoutSession, IntentView, SessionView};
use bayar_core::ids::{CheckoutSessionId, MerchantId};
use bayar_core::intent::{ListPage, PaymentIntent, new_payment_method_id};
use bayar_core::{Core, CoreError};
use bayar_snap::Money;
use chrono::Utc;

use super::amount::{PaymentAmount, currency, positive_amount};
use super::error::StripeError;
use super::params::Fields;
use super::{Call, idempotency, objects};
use crate::app::AppState;

/// Most line items in one session.
const MAX_ITEMS: usize = 100;

/// Most of one item.
const MAX_QUANTITY: i64 = 10_000;

/// `POST /v1/checkout/sessions`.
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    answer(create_session(&state, &headers, &body).await)
}

/// `GET /v1/checkout/sessions`.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(list_sessions(&state, &headers, query.as_deref()).await)
}

/// `GET /v1/checkout/sessions/{id}`.
pub async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(retrieve_session(&state, &id, &headers, query.as_deref(), false).await)
}

/// `GET /v1/checkout/sessions/{id}/line_items`.
pub async fn line_items(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    answer(retrieve_session(&state, &id, &headers, query.as_deref(), true).await)
}

/// `POST /v1/checkout/sessions/{id}/expire`.
pub async fn expire(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(expire_session(&state, &id, &headers, &body).await)
}

fn answer(result: Result<Response, StripeError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn create_session(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, StripeError> {
    let call = Call::post(state, headers, body).await?;
    let mut f = call.params.clone().fields();
    let mode = f.required_text("mode")?;
    if mode != "payment" {
        return Err(StripeError::invalid_request(
            &format!("Invalid mode: {mode}. Only payment is available."),
            Some("mode"),
        ));
    }
    let success_url =
        absolute_url(&mut f, "success_url")?.ok_or_else(|| StripeError::missing("success_url"))?;
    let cancel_url = absolute_url(&mut f, "cancel_url")?;
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
    let items = f
        .list("line_items")?
        .filter(|l| !l.is_empty())
        .ok_or_else(|| StripeError::missing("line_items"))?;
    if items.len() > MAX_ITEMS {
        return Err(StripeError::invalid_request(
            "A session takes at most 100 line items.",
            Some("line_items"),
        ));
    }
    let mut line_items = Vec::with_capacity(items.len());
    for item in items {
        line_items.push(line_item(item.hash()?)?);
    }
    f.finish()?;
    let total = line_items
        .iter()
        .try_fold(Money::ZERO, |sum, item| sum.checked_add(item.total()?))
        .ok_or_else(|| {
            StripeError::invalid_request("The total is too large.", Some("line_items"))
                .with_code("amount_too_large")
        })?;
    // The total is what DANA charges: its limits apply to it.
    let total = PaymentAmount::parse(total.minor() / 100, "line_items")?.money();
    let now = Utc::now();
    let id = CheckoutSessionId::generate();
    let mut intent = PaymentIntent::new(call.merchant, total, now);
    intent.payment_method = Some(new_payment_method_id());
    intent.return_url = Some(success_url.replace("{CHECKOUT_SESSION_ID}", &id.to_string()));
    intent.description = Some(title(&line_items));
    let session = CheckoutSession {
        id,
        merchant_id: call.merchant,
        intent_id: intent.id,
        stage: SessionStage::Open,
        success_url,
        cancel_url,
        line_items,
        amount_total: total,
        expires_at: now + checkout::LIFETIME,
        created_at: now,
    };
    let public_url = state.public_url.clone();
    idempotency::run(
        state,
        &call,
        "/v1/checkout/sessions",
        CreateCheckoutSession { session, intent },
        move |view| objects::checkout_session(view, &public_url, Utc::now()),
    )
    .await
}

async fn retrieve_session(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    query: Option<&str>,
    only_items: bool,
) -> Result<Response, StripeError> {
    let call = Call::get(state, headers, query).await?;
    let mut f = call.params.fields();
    if only_items {
        // Every session's items fit one page; the paging parameters are accepted.
        super::page_request(&mut f)?;
    }
    f.finish()?;
    let session_id = parse_id(id)?;
    let view = load(&state.core, &call.merchant, &session_id)
        .await?
        .ok_or_else(|| no_such(id))?;
    if only_items {
        let created = view.session.created_at.timestamp_millis();
        let page = ListPage {
            items: view.session.line_items,
            has_more: false,
        };
        let url = format!("/v1/checkout/sessions/{id}/line_items");
        return Ok(Json(objects::list(page, &url, |item| {
            objects::line_item(&item, created)
        }))
        .into_response());
    }
    Ok(Json(objects::checkout_session(
        &view,
        &state.public_url,
        Utc::now(),
    ))
    .into_response())
}

async fn expire_session(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, StripeError> {
    let call = Call::post(state, headers, body).await?;
    call.params.clone().fields().finish()?;
    let session_id = parse_id(id)?;
    let command = ExpireCheckoutSession {
        merchant_id: call.merchant,
        session_id,
    };
    let public_url = state.public_url.clone();
    let path = format!("/v1/checkout/sessions/{id}/expire");
    idempotency::run(state, &call, &path, command, move |view| {
        objects::checkout_session(view, &public_url, Utc::now())
    })
    .await
    .map_err(|e| {
        if e == StripeError::from(CoreError::SessionNotFound) {
            no_such(id)
        } else {
            e
        }
    })
}

async fn list_sessions(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, StripeError> {
    let call = Call::get(state, headers, query).await?;
    let mut f = call.params.fields();
    let page = super::page_request(&mut f)?;
    f.finish()?;
    let sessions = state
        .core
        .store()
        .sessions(&call.merchant, &page)
        .await
        .map_err(CoreError::from)?;
    let mut views = Vec::with_capacity(sessions.items.len());
    for session in sessions.items {
        views.push(view_of(&state.core, session).await?);
    }
    let page = ListPage {
        items: views,
        has_more: sessions.has_more,
    };
    let now = Utc::now();
    Ok(Json(objects::list(page, "/v1/checkout/sessions", |view| {
        objects::checkout_session(&view, &state.public_url, now)
    }))
    .into_response())
}

/// The merchant's session with its intent and the intent's latest payment.
pub async fn load(
    core: &Core,
    merchant: &MerchantId,
    id: &CheckoutSessionId,
) -> Result<Option<SessionView>, StripeError> {
    let session = core
        .store()
        .session(id)
        .await
        .map_err(CoreError::from)?
        .filter(|s| s.merchant_id == *merchant);
    match session {
        Some(session) => Ok(Some(view_of(core, session).await?)),
        None => Ok(None),
    }
}

/// `session` with its intent and the intent's latest payment.
async fn view_of(core: &Core, session: CheckoutSession) -> Result<SessionView, StripeError> {
    let store = core.store();
    let intent = store
        .intent(&session.merchant_id, &session.intent_id)
        .await
        .map_err(CoreError::from)?
        .ok_or_else(StripeError::internal)?;
    let payment = match &intent.payment_id {
        Some(p) => store.payment(p).await.map_err(CoreError::from)?,
        None => None,
    };
    Ok(SessionView {
        session,
        intent: IntentView { intent, payment },
    })
}

fn parse_id(id: &str) -> Result<CheckoutSessionId, StripeError> {
    id.parse().map_err(|_| no_such(id))
}

fn no_such(id: &str) -> StripeError {
    StripeError::no_such("checkout.session", id, "session")
}

/// What the wallet page shows as the order: the products' names.
fn title(items: &[LineItem]) -> String {
    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    let title = names.join(", ");
    if title.chars().count() > 120 {
        let cut: String = title.chars().take(117).collect();
        format!("{cut}...")
    } else {
        title
    }
}

/// One `line_items[n]`: `quantity` and `price_data` (`currency`, `unit_amount`, `nickname`,
/// `lookup_key`, `billing_scheme`, `product_data[name]`).
fn line_item(mut f: Fields) -> Result<LineItem, StripeError> {
    let quantity_name = f.name("quantity");
    let quantity = f
        .integer("quantity")?
        .ok_or_else(|| StripeError::missing(&quantity_name))?;
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(StripeError::invalid_request(
            "quantity must be between 1 and 10000.",
            Some(&quantity_name),
        ));
    }
    let price_name = f.name("price_data");
    let mut price = f
        .hash("price_data")?
        .ok_or_else(|| StripeError::missing(&price_name))?;
    f.finish()?;
    let currency_name = price.name("currency");
    currency(&price.required_text("currency")?, &currency_name)?;
    let unit_name = price.name("unit_amount");
    let unit_amount = positive_amount(
        price
            .integer("unit_amount")?
            .ok_or_else(|| StripeError::missing(&unit_name))?,
        &unit_name,
    )?;
    let nickname = price.text("nickname")?;
    let lookup_key = price.text("lookup_key")?;
    // WooshPay's example sends a billing scheme; every price here is per unit, as it answers.
    price.text("billing_scheme")?;
    let product_name = price.name("product_data");
    let mut product = price
        .hash("product_data")?
        .ok_or_else(|| StripeError::missing(&product_name))?;
    price.finish()?;
    let name = product.required_text("name")?;
    if name.chars().count() > 250 {
        return Err(StripeError::invalid_request(
            "The product name is longer than 250 characters.",
            Some(&product.name("name")),
        ));
    }
    product.finish()?;
    Ok(LineItem {
        id: format!("li_{}", ulid::Ulid::new()),
        price_id: format!("price_{}", ulid::Ulid::new()),
        product_id: format!("prod_{}", ulid::Ulid::new()),
        name,
        nickname,
        lookup_key,
        unit_amount,
        quantity: u32::try_from(quantity).map_err(|_| StripeError::internal())?,
    })
}

fn absolute_url(f: &mut Fields, name: &str) -> Result<Option<String>, StripeError> {
    let Some(raw) = f.text(name)? else {
        return Ok(None);
    };
    match url::Url::parse(&raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(Some(raw)),
        _ => Err(StripeError::invalid_request(
            &format!("Not a valid URL: {name} must be an absolute http:// or https:// URL."),
            Some(name),
        )
        .with_code("url_invalid")),
    }
}
