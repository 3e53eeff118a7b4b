//! Transfer to bank (service 43), `POST /v1.0/emoney/transfer-bank.htm` (reference/dana.md
//! 2.3): money from the merchant's disbursement deposit to an account at another bank, with
//! the gateway's fee charged to the deposit on top. The money leaves bayar through the world
//! account (bayar does not model interbank clearing).
//!
//! Idempotent by `partnerReferenceNo` (required here, though optional in DANA's model: without
//! it a retry could pay twice), with the top-up's rules: a repeat returns the original outcome,
//! other content `4044318 Inconsistent Request`; an insufficient deposit (`4034314`) is
//! recorded as failed, so the status query finds it. Sandbox magic accounts give DANA's
//! refusals ([`super::sandbox::bank`]).

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::commands::{DisburseToBank, DisbursementOutcome};
use bayar_core::payment::{DisbursementStatus, PartnerReference};
use bayar_snap::time::format_jakarta;
use bayar_snap::{Case, ServiceCode};
use serde_json::json;

use super::sandbox::{self, BankMagic};
use super::{DanaError, begin, beneficiary, respond, topup_amount};
use crate::app::AppState;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::EMONEY_TRANSFER_BANK;

/// What a refusal echoes.
const ECHO: &[&str] = &[
    "partnerReferenceNo",
    "customerNumber",
    "beneficiaryAccountNumber",
];

/// `POST /v1.0/emoney/transfer-bank.htm`
pub async fn transfer(
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
    let partner_reference_no =
        PartnerReference::parse(body.required_str("partnerReferenceNo", 64)?)
            .map_err(|_| SnapError::format(SERVICE, "partnerReferenceNo"))?;
    body.required_str("customerNumber", 32)?;
    let account = beneficiary(&body, SERVICE, "beneficiaryBankCode")?;
    let amount = topup_amount(&body, SERVICE, &state.dana)?;
    body.required_str("additionalInfo.fundType", 64)?;

    let magic = state
        .dana
        .sandbox
        .then(|| sandbox::bank(account.number()))
        .flatten();
    // As for top-ups: magic refusals record nothing, so they apply to first attempts only and
    // a repeat replays what was recorded.
    let seen = state
        .core
        .store()
        .disbursement_by_reference(&call.merchant.id, partner_reference_no.as_str())
        .await
        .map_err(|e| guard::internal(SERVICE, &CoreError::from(e)))?
        .is_some();
    if !seen && let Some(case) = magic.and_then(BankMagic::transfer_refusal) {
        return Err(DanaError::new(SERVICE, case));
    }
    let outcome = state
        .core
        .run(call.claiming(DisburseToBank {
            merchant_id: call.merchant.id,
            partner_reference_no,
            account,
            amount,
        }))
        .await
        .map_err(|e| match e {
            CoreError::InconsistentRequest => DanaError::new(SERVICE, Case::InconsistentRequest),
            other => guard::core_error(SERVICE, other).into(),
        })?;
    if magic == Some(BankMagic::LostAnswer) && !outcome.replayed {
        return Err(DanaError::new(SERVICE, Case::InternalServerError));
    }
    render(&outcome)
}

/// The wire answer for a transfer, first time or replayed alike.
fn render(outcome: &DisbursementOutcome) -> Result<Response, DanaError> {
    let d = &outcome.disbursement;
    match d.status {
        DisbursementStatus::Succeeded => Ok(reply::success(
            SERVICE,
            json!({
                "referenceNo": d.id.to_string(),
                "partnerReferenceNo": d.partner_reference_no,
                "transactionDate": format_jakarta(d.created_at),
            }),
        )),
        // A bank account outside bayar cannot refuse a credit: only the deposit can fail.
        DisbursementStatus::Failed => Err(DanaError::new(SERVICE, Case::InsufficientFunds)),
    }
}
