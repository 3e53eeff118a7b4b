//! Payment host-to-host (service 54). The channel picks the rail: `DIRECT_DEBIT_ALLO_SNAP`
//! debits the bound bank account at once; `EMONEY_DANA_SNAP` creates a payment the customer
//! completes on the hosted wallet page (`webRedirectUrl`).

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::commands::{CreatePayment, DebitNow};
use bayar_core::payment::{Channel, Face, FailureReason, PartnerReference, PaymentStatus};
use bayar_snap::{Case, ServiceCode};
use serde_json::json;

use super::{CHANNEL_ALLO, CHANNEL_DANA, begin, respond};
use crate::app::AppState;
use crate::faces::snap::VerifiedCall;
use crate::faces::snap::body::Body;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::DEBIT_PAYMENT;

/// `POST /direct-debit/core/v1/debit/payment-host-to-host`
pub async fn pay(
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
    let (call, body) = begin(state, path, headers, raw, SERVICE).await?;
    match body.required_str("additionalInfo.channel", 64)? {
        CHANNEL_ALLO => debit_allo(state, headers, call, body).await,
        CHANNEL_DANA => super::dana_payment::create(state, headers, call, body).await,
        _ => Err(SnapError::new(SERVICE, Case::RequestedFunctionNotSupported)),
    }
}

async fn debit_allo(
    state: &AppState,
    headers: &HeaderMap,
    call: VerifiedCall,
    body: Body,
) -> Result<Response, SnapError> {
    let binding = guard::customer_binding(&state.core, &call.merchant, headers, SERVICE).await?;
    let reference = body.required_str("partnerReferenceNo", 64)?;
    let reference = PartnerReference::parse(reference)
        .map_err(|_| SnapError::format(SERVICE, "partnerReferenceNo"))?;
    let amount = body.amount("amount")?;
    body.optional_str("additionalInfo.remarks", 40)?;
    let outcome = state
        .core
        .run(call.claiming(DebitNow {
            payment: CreatePayment {
                merchant_id: call.merchant.id,
                partner_reference_no: reference,
                external_id: call.external_id.clone(),
                channel: Channel::AlloDirectDebit,
                face: Face::Doku,
                amount,
                valid_until: None,
                title: None,
                return_url: None,
                notify_url: None,
            },
            customer_id: binding.customer_id,
            cust_id_merchant: Some(binding.cust_id_merchant),
        }))
        .await
        .map_err(|e| match e {
            CoreError::AmountOutOfRange { .. } => {
                SnapError::new(SERVICE, Case::ExceedsTransactionAmountLimit)
            }
            CoreError::InconsistentRequest => SnapError::new(SERVICE, Case::InconsistentRequest),
            CoreError::CustomerNotFound => SnapError::new(SERVICE, Case::InvalidCustomerToken),
            other => guard::core_error(SERVICE, other),
        })?;
    let payment = outcome.payment;
    match (payment.status, payment.failure) {
        // SNAP RC-4: the same reference after a success is a duplicate, not a second debit.
        (PaymentStatus::Succeeded, _) if outcome.replayed => {
            Err(SnapError::new(SERVICE, Case::DuplicatePartnerReferenceNo))
        }
        (PaymentStatus::Succeeded, _) => Ok(reply::success(
            SERVICE,
            // No `additionalInfo` here: the Python SDK's PaymentResponse rejects it.
            json!({
                "partnerReferenceNo": payment.partner_reference_no,
                "referenceNo": payment.id.to_string(),
            }),
        )),
        (_, Some(FailureReason::InsufficientFunds)) => {
            Err(SnapError::new(SERVICE, Case::InsufficientFunds))
        }
        (_, Some(FailureReason::AccountFrozen | FailureReason::PinLocked)) => {
            Err(SnapError::new(SERVICE, Case::InactiveCardAccountCustomer))
        }
        _ => Err(SnapError::new(SERVICE, Case::InvalidTransactionStatus)),
    }
}
