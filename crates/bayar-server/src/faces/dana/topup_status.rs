//! Customer top-up inquiry status (service 39): what became of a top-up, by the merchant's
//! `partnerReferenceNo`. This is how a merchant settles a top-up answered with `5003801` or
//! not answered at all (seed "Disbursement to Balance", step 6): failed top-ups are stored,
//! so they are found here as "06".

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::payment::DisbursementStatus;
use bayar_snap::{Case, ServiceCode};
use serde_json::json;

use super::{DanaError, begin, respond};
use crate::app::AppState;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::EMONEY_TOPUP_STATUS;

/// What a refusal echoes (DANA echoes `serviceCode` too, even when it is the bad field).
const ECHO: &[&str] = &["originalPartnerReferenceNo", "serviceCode"];

/// `POST /rest/v1.0/emoney/topup-status` and `/v1.0/emoney/topup-status.htm`
pub async fn status(
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
    let reference = body.required_str("originalPartnerReferenceNo", 64)?;
    // Only top-ups can be asked about here: their service code is "38".
    let service_code = body.required_str("serviceCode", 2)?;
    if service_code != ServiceCode::EMONEY_TOPUP.to_string() {
        return Err(SnapError::format(SERVICE, "serviceCode").into());
    }
    let reference_no = body.optional_str("originalReferenceNo", 64)?;
    let not_found = || DanaError::new(SERVICE, Case::TransactionNotFound);
    let disbursement = state
        .core
        .store()
        .disbursement_by_reference(&call.merchant.id, reference)
        .await
        .map_err(|e| guard::internal(SERVICE, &CoreError::from(e)))?
        // A top-up names its wallet's owner; a transfer to a bank names no customer of bayar's.
        .filter(|d| d.customer_id.is_some())
        .ok_or_else(not_found)?;
    // Both references given must name the same top-up.
    if reference_no.is_some_and(|r| r != disbursement.id.to_string()) {
        return Err(not_found());
    }
    let (status, description) = match disbursement.status {
        DisbursementStatus::Succeeded => ("00", "Success"),
        DisbursementStatus::Failed => ("06", "Failed"),
    };
    Ok(reply::success(
        SERVICE,
        json!({
            "originalPartnerReferenceNo": disbursement.partner_reference_no,
            "originalReferenceNo": disbursement.id.to_string(),
            "serviceCode": ServiceCode::EMONEY_TOPUP,
            "amount": reply::amount(disbursement.amount),
            "latestTransactionStatus": status,
            "transactionStatusDesc": description,
            "additionalInfo": {},
        }),
    ))
}
