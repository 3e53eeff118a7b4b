//! DOKU's SNAP API, as DOKU's official SDKs call it (reference/doku.md): one file per
//! operation. Each translates the wire request into a core command and the core's outcome into
//! DOKU's codes and response shapes (only the keys the SDKs accept).

mod balance;
mod binding;
mod dana_payment;
mod debit_status;
mod payment;
mod refund;
mod token;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bayar_snap::ServiceCode;

use crate::app::AppState;
use crate::faces::snap::body::Body;
use crate::faces::snap::{SnapError, VerifiedCall, guard};

/// The Allo Bank direct-debit channel of DOKU's API.
const CHANNEL_ALLO: &str = "DIRECT_DEBIT_ALLO_SNAP";
/// The DANA e-wallet channel of DOKU's API.
const CHANNEL_DANA: &str = "EMONEY_DANA_SNAP";

/// The DOKU face's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/authorization/v1/access-token/b2b", post(token::b2b))
        .route("/authorization/v1/access-token/b2b2c", post(token::b2b2c))
        .route(
            "/direct-debit/core/v1/registration-account-binding",
            post(binding::bind),
        )
        .route(
            "/direct-debit/core/v1/registration-account-unbinding",
            post(binding::unbind),
        )
        .route(
            "/direct-debit/core/v1/balance-inquiry",
            post(balance::inquiry),
        )
        .route(
            "/direct-debit/core/v1/debit/payment-host-to-host",
            post(payment::pay),
        )
        .route("/direct-debit/core/v1/debit/refund", post(refund::refund))
        // DOKU's archived DANA paths serve the same operations.
        .route(
            "/direct-debit/merchant/dana/v1.0/debit/payment-host-to-host",
            post(payment::pay),
        )
        .route(
            "/direct-debit/merchant/dana/v1.0/debit/refund",
            post(refund::refund),
        )
        .route("/orders/v1.0/debit/status", post(debit_status::status))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::faces::snap::body::MAX_BODY * 4,
        ))
}

/// The SNAP checks of a transactional call (HMAC, B2B token, `X-EXTERNAL-ID`), then its body.
async fn begin(
    state: &AppState,
    path: &str,
    headers: &axum::http::HeaderMap,
    raw: &[u8],
    service: ServiceCode,
) -> Result<(VerifiedCall, Body), SnapError> {
    let call = guard::verify_symmetric_call(
        &state.core,
        &state.snap,
        "POST",
        path,
        headers,
        raw,
        service,
    )
    .await?;
    let body = Body::parse(raw, service)?;
    Ok((call, body))
}

/// Sends an operation's outcome: its response, or its SNAP error.
fn respond(outcome: Result<Response, SnapError>) -> Response {
    outcome.unwrap_or_else(IntoResponse::into_response)
}
