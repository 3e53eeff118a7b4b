//! DANA e-wallet payments through DOKU (`EMONEY_DANA_SNAP`, the "jump app" payment): no
//! binding; the answer's `webRedirectUrl` sends the customer to bayar's hosted wallet page.

use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::commands::CreatePayment;
use bayar_core::payment::{Channel, Face, PartnerReference, PaymentStatus};
use bayar_snap::{Case, ServiceCode};
use chrono::Utc;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::faces::snap::body::Body;
use crate::faces::snap::headers;
use crate::faces::snap::{SnapError, VerifiedCall, guard, reply};

const SERVICE: ServiceCode = ServiceCode::DEBIT_PAYMENT;

/// Creates the payment and answers with the hosted wallet page's URL.
pub async fn create(
    state: &AppState,
    request: &HeaderMap,
    call: VerifiedCall,
    body: Body,
) -> Result<Response, SnapError> {
    // DOKU requires the customer's device for e-wallet payments.
    headers::required(request, "X-DEVICE-ID", SERVICE)?;
    let reference = PartnerReference::parse(body.required_str("partnerReferenceNo", 64)?)
        .map_err(|_| SnapError::format(SERVICE, "partnerReferenceNo"))?;
    let amount = body.amount("amount")?;
    let valid_until = valid_upto(&body)?;
    if let Some(point) = body.optional_str("pointOfInitiation", 20)?
        && !matches!(point.to_ascii_lowercase().as_str(), "app" | "pc" | "mweb")
    {
        return Err(SnapError::format(SERVICE, "pointOfInitiation"));
    }
    let return_url = pay_return(&body)?;
    let title = body
        .optional_str("additionalInfo.orderTitle", 255)?
        .map(str::to_string);
    let outcome = state
        .core
        .run(call.claiming(CreatePayment {
            merchant_id: call.merchant.id,
            partner_reference_no: reference,
            external_id: call.external_id.clone(),
            channel: Channel::DanaWallet,
            face: Face::Doku,
            amount,
            valid_until,
            title,
            return_url,
            notify_url: None,
        }))
        .await
        .map_err(|e| match e {
            CoreError::AmountOutOfRange { min, .. } if amount < min => {
                SnapError::new(SERVICE, Case::InvalidAmount)
            }
            CoreError::AmountOutOfRange { .. } => {
                SnapError::new(SERVICE, Case::ExceedsTransactionAmountLimit)
            }
            CoreError::InconsistentRequest => SnapError::new(SERVICE, Case::InconsistentRequest),
            other => guard::core_error(SERVICE, other),
        })?;
    let payment = outcome.payment;
    // SNAP RC-4: a repeat after success is a duplicate; a repeat while the customer has not
    // paid yet answers with the same page again.
    if outcome.replayed && payment.status == PaymentStatus::Succeeded {
        return Err(SnapError::new(SERVICE, Case::DuplicatePartnerReferenceNo));
    }
    if outcome.replayed && payment.status.is_final() {
        return Err(SnapError::new(SERVICE, Case::InvalidTransactionStatus));
    }
    Ok(reply::success(
        SERVICE,
        json!({
            "webRedirectUrl": format!("{}/pages/dana/pay/{}", state.public_url, payment.id),
            "partnerReferenceNo": payment.partner_reference_no,
            "referenceNo": payment.id.to_string(),
        }),
    ))
}

/// `validUpto` (DOKU's page) or `validUpTo` (the SDKs): a future RFC 3339 time, optional.
fn valid_upto(body: &Body) -> Result<Option<chrono::DateTime<Utc>>, SnapError> {
    let (field, value) = match body.optional_str("validUpto", 40)? {
        Some(v) => ("validUpto", Some(v)),
        None => ("validUpTo", body.optional_str("validUpTo", 40)?),
    };
    let Some(value) = value else {
        return Ok(None);
    };
    let at = bayar_snap::time::parse_timestamp(value)
        .map_err(|_| SnapError::format(SERVICE, field))?
        .with_timezone(&Utc);
    if at <= Utc::now() {
        return Err(SnapError::format(SERVICE, field));
    }
    Ok(Some(at))
}

/// The `PAY_RETURN` URL from `urlParam`, sent as one object (DOKU's page) or a list (the SDKs).
fn pay_return(body: &Body) -> Result<Option<String>, SnapError> {
    let params: Vec<&Value> = match body.get("urlParam") {
        None => return Ok(None),
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        Some(_) => return Err(SnapError::format(SERVICE, "urlParam")),
    };
    let mut found = None;
    for param in params {
        let text = |key: &str| param.get(key).and_then(Value::as_str);
        if text("type").is_some_and(|t| !t.eq_ignore_ascii_case("PAY_RETURN")) {
            return Err(SnapError::format(SERVICE, "urlParam.type"));
        }
        if text("isDeepLink").is_some_and(|d| !matches!(d, "Y" | "N")) {
            return Err(SnapError::format(SERVICE, "urlParam.isDeepLink"));
        }
        let url = text("url").ok_or_else(|| SnapError::missing(SERVICE, "urlParam.url"))?;
        // DOKU's own sample sends a bare host (`www.merchant.co.id`); browsers need a scheme.
        let absolute = if url.contains("://") {
            url.to_string()
        } else {
            format!("https://{url}")
        };
        match url::Url::parse(&absolute) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                found = Some(absolute);
            }
            _ => return Err(SnapError::format(SERVICE, "urlParam.url")),
        }
    }
    Ok(found)
}
