//! Payment gateway query payment (service 55), `POST /payment-gateway/v1.0/debit/status.htm`
//! (reference/dana.md 2.1, 7.2): where an order stands.
//!
//! `latestTransactionStatus` follows DANA's payment-gateway values: `00` SUCCESS, `01` INIT,
//! `02` PAYING, `05` CANCELLED / CLOSED (cancelled by the merchant or the customer, or expired
//! unpaid), `06` FAILED (refused by the wallet). A refund does not change an order's status
//! here, as with DANA: the refunded amount shows in `additionalInfo.amountDetail`.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::payment::{Payment, PaymentStatus};
use bayar_snap::time::format_jakarta;
use bayar_snap::{Case, ServiceCode};
use serde_json::{Value, json};

use super::{DanaError, begin, check_merchant_id, find_order, respond};
use crate::app::AppState;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::DEBIT_STATUS;

/// What a refusal echoes.
const ECHO: &[&str] = &["originalPartnerReferenceNo", "originalReferenceNo"];

/// The sandbox `serviceCode` that forces `5005501` (reference/dana.md 8.2).
const SANDBOX_ERROR_SERVICE_CODE: &str = "AZ";

/// `POST /payment-gateway/v1.0/debit/status.htm`
pub async fn query(
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
    // The service code of what is asked about: orders are service 54.
    match body.required_str("serviceCode", 2)? {
        "54" => {}
        SANDBOX_ERROR_SERVICE_CODE if state.dana.sandbox => {
            return Err(DanaError::new(SERVICE, Case::InternalServerError));
        }
        _ => return Err(SnapError::format(SERVICE, "serviceCode").into()),
    }
    check_merchant_id(&body, &call, SERVICE)?;
    let payment = find_order(state, &call, &body, SERVICE)
        .await?
        .ok_or_else(|| DanaError::new(SERVICE, Case::TransactionNotFound))?;
    Ok(reply::success(SERVICE, describe(&payment)))
}

/// DANA's status code, description and `acquirementStatus` for a payment status.
pub fn status_of(status: PaymentStatus) -> (&'static str, &'static str, &'static str) {
    match status {
        PaymentStatus::Succeeded => ("00", "SUCCESS", "SUCCESS"),
        PaymentStatus::Created => ("01", "INIT", "INIT"),
        PaymentStatus::Paying => ("02", "PAYING", "PAYING"),
        PaymentStatus::Cancelled => ("05", "CANCELLED", "CANCELLED"),
        PaymentStatus::Expired => ("05", "CLOSED", "CLOSED"),
        PaymentStatus::Failed => ("06", "FAILED", "CLOSED"),
    }
}

/// The response fields for `payment` (every time `+07:00`, every amount two-decimal).
fn describe(payment: &Payment) -> Value {
    let (status, desc, acquirement) = status_of(payment.status);
    let mut amount_detail = json!({ "orderAmount": reply::amount(payment.amount) });
    if payment.paid_at.is_some() {
        amount_detail["payAmount"] = reply::amount(payment.amount);
        amount_detail["refundAmount"] = reply::amount(payment.refunded);
    }
    let mut additional = json!({
        "amountDetail": amount_detail,
        "statusDetail": { "acquirementStatus": acquirement },
    });
    // TimeDetail requires both times; every DANA order has a deadline (validUpTo is mandatory).
    if let Some(expiry) = payment.valid_until {
        let mut times = json!({
            "createdTime": format_jakarta(payment.created_at),
            "expiryTime": format_jakarta(expiry),
        });
        if let Some(paid_at) = payment.paid_at {
            times["paidTimes"] = json!([format_jakarta(paid_at)]);
        }
        if matches!(
            payment.status,
            PaymentStatus::Cancelled | PaymentStatus::Expired
        ) {
            times["cancelledTime"] = json!(format_jakarta(payment.updated_at));
        }
        additional["timeDetail"] = times;
    }
    let mut fields = json!({
        "originalPartnerReferenceNo": payment.partner_reference_no,
        "originalReferenceNo": payment.id.to_string(),
        "serviceCode": "54",
        "latestTransactionStatus": status,
        "transactionStatusDesc": desc,
        "transAmount": reply::amount(payment.amount),
        "amount": reply::amount(payment.amount),
        "feeAmount": reply::amount(payment.fee),
        "additionalInfo": additional,
    });
    // dana-python's model allows at most 32 characters here (dana-python's own X-EXTERNAL-IDs
    // have 36): a longer one is left out rather than failing the merchant's client.
    if payment.external_id.chars().count() <= 32 {
        fields["originalExternalId"] = json!(payment.external_id);
    }
    if let Some(paid_at) = payment.paid_at {
        fields["paidTime"] = json!(format_jakarta(paid_at));
    }
    if let Some(title) = &payment.title {
        fields["title"] = json!(title);
    }
    fields
}
