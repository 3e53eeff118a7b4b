//! Direct-debit / e-wallet payment status (service 55), `POST /orders/v1.0/debit/status`.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::payment::{Payment, PaymentStatus, Refund};
use bayar_snap::{Case, ServiceCode};
use serde_json::{Value, json};

use super::{begin, respond};
use crate::app::AppState;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::DEBIT_STATUS;

/// `POST /orders/v1.0/debit/status`
pub async fn status(
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
    guard::claim(&state.core, &call, SERVICE).await?;
    match body.required_str("serviceCode", 2)? {
        // DOKU's SDKs all send "55"; the standard says the original service, "54".
        "55" | "54" => {}
        _ => return Err(SnapError::format(SERVICE, "serviceCode")),
    }
    let partner_ref = body.optional_str("originalPartnerReferenceNo", 64)?;
    let reference_no = body.optional_str("originalReferenceNo", 64)?;
    if partner_ref.is_none() && reference_no.is_none() {
        return Err(SnapError::missing(SERVICE, "originalPartnerReferenceNo"));
    }
    let store = state.core.store();
    let payment = store
        .find_payment(&call.merchant.id, partner_ref, reference_no)
        .await
        .map_err(|e| guard::internal(SERVICE, &e.into()))?
        .ok_or_else(|| SnapError::new(SERVICE, Case::TransactionNotFound))?;
    let refunds = store
        .refunds_of(&payment.id)
        .await
        .map_err(|e| guard::internal(SERVICE, &e.into()))?;
    Ok(reply::success(SERVICE, describe(&payment, &refunds)))
}

/// The status fields, with only keys DOKU's Python `CheckStatusResponse` accepts.
fn describe(payment: &Payment, refunds: &[Refund]) -> Value {
    let fully_refunded = payment.refunded == payment.amount;
    let (status, desc) = match payment.status {
        PaymentStatus::Succeeded if fully_refunded => ("04", "Refunded"),
        PaymentStatus::Succeeded => ("00", "Success"),
        PaymentStatus::Created => ("01", "Initiated"),
        PaymentStatus::Paying => ("02", "Paying"),
        PaymentStatus::Cancelled => ("05", "Cancelled"),
        PaymentStatus::Failed => ("06", "Failed"),
        PaymentStatus::Expired => ("06", "Expired"),
    };
    let mut fields = json!({
        "originalPartnerReferenceNo": payment.partner_reference_no,
        "originalReferenceNo": payment.id.to_string(),
        "originalExternalId": payment.external_id,
        "serviceCode": "54",
        "latestTransactionStatus": status,
        "transactionStatusDesc": desc,
        "transAmount": reply::amount(payment.amount),
        "feeAmount": reply::amount(payment.fee),
    });
    if let Some(paid_at) = payment.paid_at {
        fields["paidTime"] = json!(bayar_snap::time::format_jakarta(paid_at));
    }
    if !refunds.is_empty() {
        fields["refundHistory"] = refunds
            .iter()
            .map(|r| {
                json!({
                    "refundNo": r.id.to_string(),
                    "partnerReferenceNo": r.partner_refund_no,
                    "refundAmount": reply::amount(r.amount),
                    "refundStatus": "00",
                    "refundDate": bayar_snap::time::format_jakarta(r.created_at),
                    "reason": r.reason,
                })
            })
            .collect();
    }
    fields
}
