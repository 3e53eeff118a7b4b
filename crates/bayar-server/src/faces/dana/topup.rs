//! Customer top-up (service 38, "transfer to DANA"): money from the merchant's disbursement
//! deposit to a customer's DANA wallet, with the gateway's fee charged to the deposit on top.
//!
//! Idempotent by `partnerReferenceNo`: a repeat with the same number and amount returns the
//! original outcome (same `referenceNo`), success or failure; with other content
//! `4043818 Inconsistent Request`. Refusals by the rail (insufficient deposit `4033814`, frozen
//! wallet `4033805`) are recorded, so the status query finds them as failed ("06").

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::commands::{Disburse, DisbursementOutcome};
use bayar_core::customer::Rail;
use bayar_core::payment::{DisbursementStatus, FailureReason, PartnerReference};
use bayar_snap::{Case, ServiceCode};
use serde_json::json;

use super::sandbox::{self, TopupMagic};
use super::{DanaError, begin, customer_number, respond, topup_amount};
use crate::app::AppState;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::EMONEY_TOPUP;

/// What a refusal echoes.
const ECHO: &[&str] = &["partnerReferenceNo", "customerNumber"];

/// `POST /rest/v1.0/emoney/topup` and `/v1.0/emoney/topup.htm`
pub async fn topup(
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
    let phone = customer_number(&body, SERVICE)?;
    let amount = topup_amount(&body, SERVICE, &state.dana)?;
    // The merchant states the fee it expects (from account inquiry); what the deposit is
    // charged is bayar's configured fee, the one account inquiry quoted. The stated fee is
    // checked for form only.
    body.amount("feeAmount")?;
    body.required_str("additionalInfo.fundType", 64)?;

    let magic = state.dana.sandbox.then(|| sandbox::topup(&phone)).flatten();
    // A repeat must replay what was recorded, so the pre-checks that record nothing (magic
    // refusals, the wallet cap) apply to first attempts only.
    let seen = state
        .core
        .store()
        .disbursement_by_reference(&call.merchant.id, partner_reference_no.as_str())
        .await
        .map_err(|e| guard::internal(SERVICE, &CoreError::from(e)))?
        .is_some();
    if !seen {
        match magic {
            Some(TopupMagic::Frozen) => return Err(DanaError::new(SERVICE, Case::DoNotHonor)),
            Some(TopupMagic::GeneralError) => {
                return Err(DanaError::new(SERVICE, Case::GeneralError));
            }
            _ => {}
        }
        let customer = state
            .core
            .store()
            .customer_by_phone(Rail::Wallet, &phone)
            .await
            .map_err(|e| guard::internal(SERVICE, &CoreError::from(e)))?;
        if let Some(customer) = customer {
            super::check_wallet_cap(state, &customer, amount, SERVICE).await?;
        }
    }

    let outcome = state
        .core
        .run(call.claiming(Disburse {
            merchant_id: call.merchant.id,
            partner_reference_no,
            phone: phone.clone(),
            amount,
        }))
        .await
        .map_err(|e| match e {
            CoreError::CustomerNotFound => {
                DanaError::new(SERVICE, Case::InvalidCardAccountCustomer)
            }
            CoreError::InconsistentRequest => DanaError::new(SERVICE, Case::InconsistentRequest),
            other => guard::core_error(SERVICE, other).into(),
        })?;
    match magic {
        Some(TopupMagic::LostAnswer) if !outcome.replayed => {
            return Err(DanaError::new(SERVICE, Case::InternalServerError));
        }
        Some(TopupMagic::Timeout) if !outcome.replayed => {
            tokio::time::sleep(sandbox::TIMEOUT_HOLD).await;
        }
        _ => {}
    }
    render(&outcome, phone.as_str())
}

/// The wire answer for a disbursement, first time or replayed alike.
fn render(outcome: &DisbursementOutcome, phone: &str) -> Result<Response, DanaError> {
    let d = &outcome.disbursement;
    match (d.status, d.failure) {
        (DisbursementStatus::Succeeded, _) => Ok(reply::success(
            SERVICE,
            json!({
                "referenceNo": d.id.to_string(),
                "partnerReferenceNo": d.partner_reference_no,
                "customerNumber": phone,
                "amount": reply::amount(d.amount),
            }),
        )),
        (DisbursementStatus::Failed, Some(FailureReason::InsufficientFunds)) => {
            Err(DanaError::new(SERVICE, Case::InsufficientFunds))
        }
        // A frozen wallet, or a PIN lock (which a disbursement cannot cause, but a stored
        // row could carry): the payee's account refuses credits.
        (DisbursementStatus::Failed, _) => Err(DanaError::new(SERVICE, Case::DoNotHonor)),
    }
}
