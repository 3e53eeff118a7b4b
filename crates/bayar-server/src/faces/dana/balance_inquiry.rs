//! Widget balance inquiry (service 11), `POST /v1.0/balance-inquiry.htm` (reference/dana.md
//! 2.2): the balance of the wallet a customer token's binding names.
//!
//! The customer token comes from `Authorization-Customer` (`Bearer …`) or, as dana-python
//! also sends it, `additionalInfo.accessToken` ([`super::customer_binding`]). The answer lists
//! one `accountInfos` entry, the wallet's `BALANCE`, with DANA's numeric account `status`
//! (`1` active, `7` frozen; the SDK's model allows at most four characters).

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::customer::CustomerStatus;
use bayar_snap::{Money, ServiceCode};
use serde_json::json;

use super::{DanaError, begin, customer_binding, respond};
use crate::app::AppState;
use crate::faces::snap::{guard, reply};

const SERVICE: ServiceCode = ServiceCode::BALANCE_INQUIRY;

/// What a refusal echoes.
const ECHO: &[&str] = &["partnerReferenceNo"];

/// `POST /v1.0/balance-inquiry.htm`
pub async fn inquiry(
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
    let (binding, customer) = customer_binding(state, &call, headers, &body, SERVICE).await?;
    let posted = state
        .core
        .balance(&customer.account)
        .await
        .map_err(|e| guard::internal(SERVICE, &e))?
        .map_or(0, |b| b.posted);
    // A wallet never goes below zero (the ledger forbids it); clamp rather than fail.
    let amount = reply::amount(Money::from_minor(posted.max(0)).unwrap_or(Money::ZERO));
    let mut fields = json!({
        "referenceNo": binding.id.to_string(),
        "accountInfos": [{
            "balanceType": "BALANCE",
            "amount": amount,
            "availableBalance": amount,
            "status": account_status(customer.status),
        }],
    });
    if let Some(reference) = body.optional_str("partnerReferenceNo", 64)? {
        fields["partnerReferenceNo"] = json!(reference);
    }
    Ok(reply::success(SERVICE, fields))
}

/// DANA's `accountInfos[].status` for a wallet's status.
fn account_status(status: CustomerStatus) -> &'static str {
    match status {
        CustomerStatus::Active => "1",
        CustomerStatus::Frozen => "7",
    }
}
