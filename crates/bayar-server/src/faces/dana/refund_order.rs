//! Payment gateway refund order (service 58), `POST /payment-gateway/v1.0/debit/refund.htm`
//! (reference/dana.md 2.1, 7.4): money back from the merchant to the customer's wallet.
//!
//! DANA allows one refund per order, full or partial: a second is `4035815 Transaction Not
//! Permitted`. Idempotent by `partnerRefundNo`: the same refund again answers `2005800` as the
//! first did; the number reused for another order or amount is `4045818 Inconsistent
//! Request`. An unpaid order is `4045800 Invalid Transaction Status`, an unknown one
//! `4045801`, a merchant whose available balance cannot cover it `4035814`.
//!
//! The widget's refund, `POST /v1.0/debit/refund.htm`, is the same operation, except that its
//! `additionalInfo.envInfo.terminalType` is required (`RefundOrderRequestAdditionalInfo`).

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::commands::{PaymentLookup, RefundPayment};
use bayar_core::payment::PartnerReference;
use bayar_snap::time::format_jakarta;
use bayar_snap::{Case, ServiceCode};
use serde_json::json;

use super::{DanaError, begin, check_merchant_id, find_order, respond, sandbox};
use crate::app::AppState;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::DEBIT_REFUND;

/// What a refusal echoes.
const ECHO: &[&str] = &["originalPartnerReferenceNo", "partnerRefundNo"];

/// The widget's refund path.
pub const WIDGET_PATH: &str = "/v1.0/debit/refund.htm";

/// `POST /payment-gateway/v1.0/debit/refund.htm` and `POST /v1.0/debit/refund.htm`
pub async fn refund(
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
    check_merchant_id(&body, &call, SERVICE)?;
    body.required_str("originalPartnerReferenceNo", 64)?;
    if path == WIDGET_PATH {
        body.required_str("additionalInfo.envInfo.terminalType", 16)?;
    }
    let partner_refund_no = PartnerReference::parse(body.required_str("partnerRefundNo", 64)?)
        .map_err(|_| SnapError::format(SERVICE, "partnerRefundNo"))?;
    let amount = body.amount("refundAmount")?;
    let reason = body.optional_str("reason", 256)?.map(str::to_string);
    let order = find_order(state, &call, &body, SERVICE)
        .await?
        .ok_or_else(|| DanaError::new(SERVICE, Case::TransactionNotFound))?;
    if state.dana.sandbox
        && let Some(case) = sandbox::refund(amount)
    {
        if case != Case::InProgress {
            return Err(DanaError::new(SERVICE, case));
        }
        // Accepted, not done: the fields the SDKs require of a refund answer, nothing moved.
        return Ok(reply::answer(
            SERVICE,
            case,
            json!({
                "originalPartnerReferenceNo": order.partner_reference_no,
                "originalReferenceNo": order.id.to_string(),
                "partnerRefundNo": partner_refund_no.as_str(),
                "refundAmount": reply::amount(amount),
            }),
        ));
    }
    let outcome = state
        .core
        .run(call.claiming(RefundPayment {
            merchant_id: call.merchant.id,
            payment: PaymentLookup::Id(order.id),
            partner_refund_no,
            amount,
            reason,
        }))
        .await
        .map_err(|e| match e {
            CoreError::PaymentNotFound => DanaError::new(SERVICE, Case::TransactionNotFound),
            CoreError::InconsistentRequest => DanaError::new(SERVICE, Case::InconsistentRequest),
            CoreError::InvalidPaymentState { .. } => {
                DanaError::new(SERVICE, Case::InvalidTransactionStatus)
            }
            CoreError::RefundNotAllowed => SnapError::new(SERVICE, Case::TransactionNotPermitted)
                .detail("Only one refund is allowed per order")
                .into(),
            CoreError::RefundExceedsPayment { refundable } => {
                SnapError::new(SERVICE, Case::TransactionNotPermitted)
                    .detail(format!("Refund exceeds the refundable amount {refundable}"))
                    .into()
            }
            CoreError::InsufficientFunds => DanaError::new(SERVICE, Case::InsufficientFunds),
            CoreError::AmountOutOfRange { .. } => {
                SnapError::format(SERVICE, "refundAmount.value").into()
            }
            other => guard::core_error(SERVICE, other).into(),
        })?;
    let (refund, payment) = (outcome.refund, outcome.payment);
    let mut fields = json!({
        "originalPartnerReferenceNo": payment.partner_reference_no,
        "originalReferenceNo": payment.id.to_string(),
        "partnerRefundNo": refund.partner_refund_no,
        "refundNo": refund.id.to_string(),
        "refundAmount": reply::amount(refund.amount),
        "refundTime": format_jakarta(refund.created_at),
    });
    if payment.external_id.chars().count() <= 36 {
        fields["originalExternalId"] = json!(payment.external_id);
    }
    Ok(reply::success(SERVICE, fields))
}
