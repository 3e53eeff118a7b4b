//! Direct-debit refund (service 58): full or partial, several partials up to the paid amount.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::commands::{PaymentLookup, RefundPayment};
use bayar_core::ids::PaymentId;
use bayar_core::payment::PartnerReference;
use bayar_snap::{Case, ServiceCode};
use serde_json::json;

use super::{begin, respond};
use crate::app::AppState;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::DEBIT_REFUND;

/// `POST /direct-debit/core/v1/debit/refund`
pub async fn refund(
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
    let payment = match (
        body.optional_str("originalPartnerReferenceNo", 64)?,
        body.optional_str("originalReferenceNo", 64)?,
    ) {
        (Some(r), _) => PaymentLookup::PartnerReference(
            PartnerReference::parse(r)
                .map_err(|_| SnapError::format(SERVICE, "originalPartnerReferenceNo"))?,
        ),
        (None, Some(id)) => PaymentLookup::Id(
            id.parse::<PaymentId>()
                .map_err(|_| SnapError::new(SERVICE, Case::TransactionNotFound))?,
        ),
        (None, None) => return Err(SnapError::missing(SERVICE, "originalPartnerReferenceNo")),
    };
    let amount = body.amount("refundAmount")?;
    let partner_refund_no = PartnerReference::parse(body.required_str("partnerRefundNo", 64)?)
        .map_err(|_| SnapError::format(SERVICE, "partnerRefundNo"))?;
    let reason = body.optional_str("reason", 255)?.map(str::to_string);
    let outcome = state
        .core
        .run(call.claiming(RefundPayment {
            merchant_id: call.merchant.id,
            payment,
            partner_refund_no,
            amount,
            reason,
        }))
        .await
        .map_err(|e| match e {
            CoreError::PaymentNotFound => SnapError::new(SERVICE, Case::TransactionNotFound),
            CoreError::InconsistentRequest => SnapError::new(SERVICE, Case::InconsistentRequest),
            CoreError::InvalidPaymentState { .. } => {
                SnapError::new(SERVICE, Case::InvalidTransactionStatus)
            }
            CoreError::RefundExceedsPayment { refundable } => {
                SnapError::new(SERVICE, Case::TransactionNotPermitted)
                    .detail(format!("Refund exceeds the refundable amount {refundable}"))
            }
            CoreError::RefundNotAllowed => SnapError::new(SERVICE, Case::TransactionNotPermitted)
                .detail("Only one refund is allowed for this channel"),
            CoreError::InsufficientFunds => SnapError::new(SERVICE, Case::InsufficientFunds),
            CoreError::AmountOutOfRange { .. } => SnapError::format(SERVICE, "refundAmount.value"),
            other => guard::core_error(SERVICE, other),
        })?;
    // A repeat of the same refund answers as the original did (SNAP RC-3: success).
    let refund = outcome.refund;
    Ok(reply::success(
        SERVICE,
        json!({
            "refundAmount": reply::amount(refund.amount),
            "originalPartnerReferenceNo": outcome.payment.partner_reference_no,
            "originalReferenceNo": outcome.payment.id.to_string(),
            "refundNo": refund.id.to_string(),
            "partnerRefundNo": refund.partner_refund_no,
            "refundTime": bayar_snap::time::format_jakarta(refund.created_at),
        }),
    ))
}
