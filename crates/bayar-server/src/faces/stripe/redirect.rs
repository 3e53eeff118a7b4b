//! Back from the wallet page: the wallet page sends the customer's browser here (as the
//! payment's return URL, with `referenceNo` = the payment), and this sends it on to the
//! intent's `return_url` with what Stripe appends: `payment_intent`,
//! `payment_intent_client_secret` and `redirect_status` (`succeeded`, `failed`, `canceled`).
//! The client secret is the intent's browser-side credential; Stripe puts it in the same
//! place.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bayar_core::CoreError;
use bayar_core::ids::PaymentId;
use bayar_core::intent::IntentState;
use bayar_core::payment::Face;
use serde::Deserialize;

use crate::app::AppState;
use crate::pages::layout::see_other;

/// Where the wallet page returns to.
pub const PATH: &str = "/pages/stripe/return";

/// The query the wallet page appends (its other fields are not needed here).
#[derive(Deserialize)]
pub struct Back {
    /// The payment that was paid (or not).
    #[serde(rename = "referenceNo")]
    reference_no: String,
}

/// `GET /pages/stripe/return?referenceNo=pay_...`: 303 to the intent's `return_url`.
pub async fn back_to_merchant(
    State(state): State<AppState>,
    query: Result<Query<Back>, QueryRejection>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "unknown payment\n").into_response();
    let Ok(Query(back)) = query else {
        return not_found();
    };
    let Ok(payment_id) = back.reference_no.parse::<PaymentId>() else {
        return not_found();
    };
    match target(&state, payment_id).await {
        Ok(Some(url)) => see_other(&url),
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = %e, "stripe return: store failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "try again\n").into_response()
        }
    }
}

async fn target(state: &AppState, payment_id: PaymentId) -> Result<Option<String>, CoreError> {
    let store = state.core.store();
    let Some(payment) = store.payment(&payment_id).await? else {
        return Ok(None);
    };
    if payment.face != Face::Stripe {
        return Ok(None);
    }
    let Some(intent) = store.intent_of_payment(&payment_id).await? else {
        return Ok(None);
    };
    let state_now = intent.state(Some(&payment));
    // A checkout session's customer goes to its success URL once paid, and otherwise back
    // to the checkout page (to try again, or to give up there).
    if let Some(session) = store.session_of_intent(&intent.id).await? {
        return Ok(Some(match state_now {
            IntentState::Succeeded | IntentState::Processing => session
                .success_url
                .replace("{CHECKOUT_SESSION_ID}", &session.id.to_string()),
            _ => format!("{}/pages/checkout/{}", state.public_url, session.id),
        }));
    }
    let redirect_status = match state_now {
        IntentState::Succeeded | IntentState::Processing => "succeeded",
        IntentState::Canceled => "canceled",
        _ => "failed",
    };
    let Some(return_url) = intent.return_url.as_deref() else {
        return Ok(None);
    };
    let Ok(mut url) = url::Url::parse(return_url) else {
        return Ok(None);
    };
    url.query_pairs_mut().extend_pairs([
        ("payment_intent", intent.id.to_string().as_str()),
        (
            "payment_intent_client_secret",
            intent.client_secret.expose().as_str(),
        ),
        ("redirect_status", redirect_status),
    ]);
    Ok(Some(url.into()))
}
