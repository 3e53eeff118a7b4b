//! The hosted checkout page of a checkout session (the Stripe-style API's `url`): the
//! merchant, the line items and their total, and the payment methods (DANA). Choosing DANA
//! confirms the session's payment intent and sends the browser to the DANA-like wallet page;
//! after it, bayar sends the browser to the session's `success_url` (paid) or back here.
//!
//! - `GET  /pages/checkout/{id}`: the items and the methods while the session is open; a final
//!   page once it is complete or expired; unknown id: 404;
//! - `POST /pages/checkout/{id}/pay` (`method=dana`, `csrf`): 303 to the wallet page.
//!
//! Stable ids: `#merchant-name`, `#line-items` with one `.line-item` per item
//! (`data-quantity`, `data-amount`), `#amount-total[data-value]` (whole rupiah),
//! `input[name=method][value=dana]`, `#submit-checkout`, `#cancel-checkout` (link to
//! `cancel_url`), `#session-status[data-status]` (`complete`, `expired`) on the final page.

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bayar_core::CoreError;
use bayar_core::checkout::{CheckoutSession, SessionState};
use bayar_core::commands::PayCheckoutSession;
use bayar_core::ids::CheckoutSessionId;
use bayar_core::intent::IntentState;
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::csrf::{self, CsrfToken};
use super::layout::{Brand, Page, see_other};
use super::{PageError, Site};
use crate::app::AppState;

/// The pay form's fields.
#[derive(Deserialize)]
pub struct PayForm {
    /// The chosen payment method.
    #[serde(default)]
    method: String,
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
}

/// `GET /pages/checkout/{id}`.
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    branded(show_page(&state, id, &headers).await)
}

/// `POST /pages/checkout/{id}/pay`.
pub async fn pay(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    form: Result<Form<PayForm>, FormRejection>,
) -> Response {
    branded(submit(&state, id, &headers, form).await)
}

fn branded(outcome: Result<Response, PageError>) -> Response {
    outcome.unwrap_or_else(|e| e.into_page(Brand::Dana))
}

fn parse_id(path: Result<Path<String>, PathRejection>) -> Result<CheckoutSessionId, PageError> {
    let Path(id) = path.map_err(|_| PageError::NotFound)?;
    id.parse().map_err(|_| PageError::NotFound)
}

/// The session, its intent's state and the intent's waiting payment, if any.
async fn load(
    state: &AppState,
    id: CheckoutSessionId,
) -> Result<
    (
        CheckoutSession,
        IntentState,
        Option<bayar_core::ids::PaymentId>,
    ),
    PageError,
> {
    let store = state.core.store();
    let session = store
        .session(&id)
        .await
        .map_err(CoreError::from)?
        .ok_or(PageError::NotFound)?;
    let intent = store
        .intent(&session.merchant_id, &session.intent_id)
        .await
        .map_err(CoreError::from)?
        .ok_or(PageError::NotFound)?;
    let payment = match &intent.payment_id {
        Some(p) => store.payment(p).await.map_err(CoreError::from)?,
        None => None,
    };
    let intent_state = intent.state(payment.as_ref());
    Ok((session, intent_state, payment.map(|p| p.id)))
}

async fn show_page(
    state: &AppState,
    id: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let site = Site::from_public_url(&state.public_url);
    let (session, intent_state, _) = load(state, parse_id(id)?).await?;
    let merchant = merchant_name(state, &session).await?;
    match session.state(intent_state, Utc::now()) {
        SessionState::Open => {
            let issued = csrf::issue(headers, &site)?;
            Ok(form(&site, &session, &merchant, &issued.token)
                .cookie(issued.set_cookie)
                .into_response())
        }
        done => Ok(finished(&session, &merchant, done).into_response()),
    }
}

async fn submit(
    state: &AppState,
    id: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    form: Result<Form<PayForm>, FormRejection>,
) -> Result<Response, PageError> {
    let site = Site::from_public_url(&state.public_url);
    let session_id = parse_id(id)?;
    let Form(form) = form?;
    PageError::check_lengths(&[&form.method, &form.csrf])?;
    let page = site.path(&format!("/pages/checkout/{session_id}"));
    csrf::verify(headers, &form.csrf).ok_or_else(|| PageError::Csrf {
        retry: page.clone(),
    })?;
    if form.method != "dana" {
        return Ok(see_other(&page));
    }
    let wallet = |payment: bayar_core::ids::PaymentId| {
        see_other(&site.path(&format!("/pages/dana/pay/{payment}")))
    };
    let paid = state
        .core
        .run(PayCheckoutSession {
            session_id,
            wallet_return_url: format!("{}{}", state.public_url, crate::faces::stripe::RETURN_PATH),
        })
        .await;
    match paid {
        Ok(view) => match view.intent.payment {
            Some(payment) => Ok(wallet(payment.id)),
            None => Ok(see_other(&page)),
        },
        // Already on its way (another tab, the back button): continue on the wallet page.
        Err(CoreError::InvalidIntentState {
            status: IntentState::RequiresAction,
        }) => match load(state, session_id).await?.2 {
            Some(payment) => Ok(wallet(payment)),
            None => Ok(see_other(&page)),
        },
        Err(CoreError::SessionNotOpen | CoreError::InvalidIntentState { .. }) => {
            Ok(see_other(&page))
        }
        Err(e) => Err(e.into()),
    }
}

async fn merchant_name(state: &AppState, session: &CheckoutSession) -> Result<String, PageError> {
    Ok(state
        .core
        .store()
        .merchant_by_id(&session.merchant_id)
        .await
        .map_err(CoreError::from)?
        .map(|m| m.name.as_str().to_string())
        .unwrap_or_else(|| "The merchant".to_string()))
}

/// `Rp 20.000`: whole rupiah, dots grouping thousands.
fn rupiah(minor: i64) -> String {
    let units = (minor / 100).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3);
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    format!("Rp {grouped}")
}

fn items(session: &CheckoutSession) -> maud::Markup {
    html! {
        ul id="line-items" class="summary" {
            @for item in &session.line_items {
                @let total = item.total().map_or(0, |t| t.minor());
                li class="line-item" data-quantity=(item.quantity) data-amount=(total / 100) {
                    span class="name" { (item.name) }
                    " × " (item.quantity) " "
                    span class="line-amount" { (rupiah(total)) }
                }
            }
        }
        p { "Total " strong id="amount-total" data-value=(session.amount_total.minor() / 100) {
            (rupiah(session.amount_total.minor()))
        } }
    }
}

fn form(site: &Site, session: &CheckoutSession, merchant: &str, token: &CsrfToken) -> Page {
    let content = html! {
        h1 { "Checkout" }
        p id="merchant-name" { (merchant) }
        (items(session))
        form method="post" action=(site.path(&format!("/pages/checkout/{}/pay", session.id))) {
            input type="hidden" name=(csrf::FIELD) value=(token.as_str());
            fieldset {
                legend { "Payment method" }
                label {
                    input type="radio" name="method" value="dana" checked;
                    " DANA"
                }
            }
            button id="submit-checkout" type="submit" {
                "Pay " (rupiah(session.amount_total.minor()))
            }
        }
        @if let Some(cancel) = session.cancel_url.as_deref() {
            a id="cancel-checkout" class="button secondary" href=(cancel) { "Cancel and go back" }
        }
    };
    Page::new("Checkout", content).brand(Brand::Dana)
}

fn finished(session: &CheckoutSession, merchant: &str, state: SessionState) -> Page {
    let text = match state {
        SessionState::Complete => "Paid. Thank you!",
        _ => "This checkout has expired.",
    };
    let content = html! {
        h1 { "Checkout" }
        p id="merchant-name" { (merchant) }
        (items(session))
        p id="session-status" data-status=(state.as_str()) { (text) }
        @if state == SessionState::Complete {
            a id="return-to-merchant" class="button" href=(session.success_url) { "Back to the shop" }
        }
    };
    Page::new("Checkout", content).brand(Brand::Dana)
}
