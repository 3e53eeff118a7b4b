//! Payment gateway cancel order (service 57), `POST /payment-gateway/v1.0/debit/cancel.htm`
//! (reference/dana.md 2.1, 7.3): the merchant closes an order its customer has not paid.
//!
//! An open order (waiting, or authorised with the money held) is cancelled and any hold
//! released; the finish notify then tells the merchant `05`. Cancelling again answers
//! `2005700` with the first cancellation's time (a merchant retrying after a lost answer must
//! not be told it failed). A paid or failed order cannot be cancelled: `4045700 Invalid
//! Transaction Status` (DANA's answer for a paid order; a paid order is refunded instead); an
//! expired one is `4035700 Transaction Expired`. Unknown orders are `4045701`. In sandbox, a
//! reference that spells one of DANA's cancel codes gets that answer ([`sandbox::cancel`]).

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::commands::Cancel;
use bayar_core::payment::{Payment, PaymentStatus};
use bayar_snap::time::format_jakarta;
use bayar_snap::{Case, ServiceCode};
use serde_json::json;

use super::{DanaError, begin, check_merchant_id, find_order, respond, sandbox};
use crate::app::AppState;
use crate::faces::snap::{guard, reply};

const SERVICE: ServiceCode = ServiceCode::DEBIT_CANCEL;

/// What a refusal echoes.
const ECHO: &[&str] = &["originalPartnerReferenceNo", "originalReferenceNo"];

/// `POST /payment-gateway/v1.0/debit/cancel.htm`
pub async fn cancel(
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
    let reference = body.required_str("originalPartnerReferenceNo", 64)?;
    check_merchant_id(&body, &call, SERVICE)?;
    body.optional_str("reason", 256)?;
    if state.dana.sandbox
        && let Some(case) = sandbox::cancel(reference)
    {
        if case != Case::InProgress {
            return Err(DanaError::new(SERVICE, case));
        }
        return Ok(reply::answer(
            SERVICE,
            case,
            json!({ "originalPartnerReferenceNo": reference }),
        ));
    }
    let order = find_order(state, &call, &body, SERVICE)
        .await?
        .ok_or_else(|| DanaError::new(SERVICE, Case::TransactionNotFound))?;
    let cancelled = state
        .core
        .run(call.claiming(Cancel {
            merchant_id: Some(call.merchant.id),
            payment_id: order.id,
        }))
        .await;
    let payment = match cancelled {
        Ok(payment) => payment,
        Err(CoreError::InvalidPaymentState { status }) => {
            refused_or_repeated(state, &call, status).await?;
            // Already cancelled: the stored order tells when.
            state
                .core
                .store()
                .payment(&order.id)
                .await
                .map_err(|e| guard::internal(SERVICE, &e.into()))?
                .unwrap_or(order)
        }
        Err(CoreError::PaymentNotFound) => {
            return Err(DanaError::new(SERVICE, Case::TransactionNotFound));
        }
        Err(other) => return Err(guard::core_error(SERVICE, other).into()),
    };
    Ok(render(&payment))
}

/// For an order that is already final: a repeat of a cancellation is answered as the first
/// (claiming the call's `X-EXTERNAL-ID`, which the refused command did not); anything else is
/// refused with DANA's code for that state.
async fn refused_or_repeated(
    state: &AppState,
    call: &crate::faces::snap::VerifiedCall,
    status: PaymentStatus,
) -> Result<(), DanaError> {
    match status {
        PaymentStatus::Cancelled => Ok(guard::claim(&state.core, call, SERVICE).await?),
        PaymentStatus::Expired => Err(DanaError::new(SERVICE, Case::TransactionExpired)),
        _ => Err(DanaError::new(SERVICE, Case::InvalidTransactionStatus)),
    }
}

fn render(payment: &Payment) -> Response {
    let mut fields = json!({
        "originalPartnerReferenceNo": payment.partner_reference_no,
        "originalReferenceNo": payment.id.to_string(),
        "cancelTime": format_jakarta(payment.updated_at),
        "transactionDate": format_jakarta(payment.created_at),
    });
    if payment.external_id.chars().count() <= 36 {
        fields["originalExternalId"] = json!(payment.external_id);
    }
    reply::success(SERVICE, fields)
}
