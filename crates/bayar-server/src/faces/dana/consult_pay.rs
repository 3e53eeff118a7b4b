//! Payment gateway consult pay, `POST /v1.0/payment-gateway/consult-pay.htm` (reference/dana.md
//! 2.1): which pay methods the merchant can offer for an amount before creating the order.
//!
//! bayar's DANA cashier pays from the DANA balance only (other pay options need rails bayar
//! does not have, see [`super::create_order`]), so the answer lists `BALANCE`. DANA's fixtures
//! answer success as `2005700` and refusals under the generic service code (`4000001`,
//! `4000002`); bayar does the same.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_snap::ServiceCode;
use serde_json::json;

use super::{DanaError, begin, check_merchant_id, respond};
use crate::app::AppState;
use crate::faces::snap::{guard, reply};

/// The service code of refusals (DANA's fixtures: `4000001`, `4000002`).
const SERVICE: ServiceCode = ServiceCode::GENERIC;

/// The service code of the success answer (DANA's fixture: `2005700`).
const SUCCESS_SERVICE: ServiceCode = ServiceCode::DEBIT_CANCEL;

/// What a refusal echoes.
const ECHO: &[&str] = &["merchantId"];

/// `POST /v1.0/payment-gateway/consult-pay.htm`
pub async fn consult(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        answer(&state, uri.path(), &headers, &body).await,
        &body,
        ECHO,
    )
}

async fn answer(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Response, DanaError> {
    let (call, body) = begin(state, path, headers, raw, SERVICE).await?;
    guard::claim(&state.core, &call, SERVICE).await?;
    check_merchant_id(&body, &call, SERVICE)?;
    body.amount("amount")?;
    body.required_str("additionalInfo.envInfo.terminalType", 16)?;
    Ok(reply::success(
        SUCCESS_SERVICE,
        json!({ "paymentInfos": [{ "payMethod": "BALANCE", "promoInfos": [] }] }),
    ))
}
