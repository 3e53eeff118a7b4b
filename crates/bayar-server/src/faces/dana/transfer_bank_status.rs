//! Transfer to bank inquiry status, `POST /v1.0/emoney/transfer-bank-status.htm`
//! (reference/dana.md 2.3): what became of a transfer to a bank account, by the merchant's
//! `originalPartnerReferenceNo` (and/or bayar's `originalReferenceNo`); `serviceCode` is the
//! transfer's, `"43"`. DANA answers this operation under the generic service code `00`
//! (`2000000`, `4040001` in its fixtures), and so does bayar.
//!
//! Failed transfers are stored, so they are found here as `"06"`. Only bank transfers are
//! found: a top-up's reference is asked about with the top-up status.

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

const SERVICE: ServiceCode = ServiceCode::GENERIC;

/// What a refusal echoes.
const ECHO: &[&str] = &["originalPartnerReferenceNo", "serviceCode"];

/// `POST /v1.0/emoney/transfer-bank-status.htm`
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
    if body.required_str("serviceCode", 2)? != ServiceCode::EMONEY_TRANSFER_BANK.to_string() {
        return Err(SnapError::format(SERVICE, "serviceCode").into());
    }
    // Optional in DANA's model, but bayar finds transfers by the merchant's reference.
    let reference = body.required_str("originalPartnerReferenceNo", 64)?;
    let reference_no = body.optional_str("originalReferenceNo", 64)?;
    let not_found = || DanaError::new(SERVICE, Case::TransactionNotFound);
    let transfer = state
        .core
        .store()
        .disbursement_by_reference(&call.merchant.id, reference)
        .await
        .map_err(|e| guard::internal(SERVICE, &CoreError::from(e)))?
        // A top-up names its wallet's owner; a bank transfer names no customer of bayar's.
        .filter(|d| d.customer_id.is_none())
        .ok_or_else(not_found)?;
    if reference_no.is_some_and(|r| r != transfer.id.to_string()) {
        return Err(not_found());
    }
    let (status, description) = match transfer.status {
        DisbursementStatus::Succeeded => ("00", "Success"),
        DisbursementStatus::Failed => ("06", "Failed"),
    };
    Ok(reply::success(
        SERVICE,
        json!({
            "originalPartnerReferenceNo": transfer.partner_reference_no,
            "originalReferenceNo": transfer.id.to_string(),
            "serviceCode": ServiceCode::EMONEY_TRANSFER_BANK,
            "amount": reply::amount(transfer.amount),
            "latestTransactionStatus": status,
            "transactionStatusDesc": description,
            "additionalInfo": {},
        }),
    ))
}
