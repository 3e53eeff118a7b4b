//! Balance inquiry (service 11) of a bound Allo-like bank account.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::ledger::AccountId;
use bayar_snap::{Money, ServiceCode};
use serde_json::json;

use super::{begin, respond};
use crate::app::AppState;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::BALANCE_INQUIRY;

/// `POST /direct-debit/core/v1/balance-inquiry`
pub async fn inquiry(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(answer(&state, uri.path(), &headers, &body).await)
}

async fn answer(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Response, SnapError> {
    let (call, _body) = begin(state, path, headers, raw, SERVICE).await?;
    guard::claim(&state.core, &call, SERVICE).await?;
    let binding = guard::customer_binding(&state.core, &call.merchant, headers, SERVICE).await?;
    let balance = state
        .core
        .balance(&AccountId::customer(&binding.customer_id))
        .await
        .map_err(|e| guard::internal(SERVICE, &e))?
        .ok_or_else(|| SnapError::internal(SERVICE))?;
    let money = |minor: i64| reply::amount(Money::from_minor(minor.max(0)).unwrap_or(Money::ZERO));
    Ok(reply::success(
        SERVICE,
        json!({
            "accountInfos": [{
                "balanceType": "CASH",
                "amount": money(balance.available()),
                "flatAmount": money(balance.posted),
                "holdAmount": money(balance.pending_debits),
            }],
        }),
    ))
}
