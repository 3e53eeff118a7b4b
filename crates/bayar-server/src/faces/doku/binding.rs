//! Account binding (service 07) and unbinding (service 09) of Allo-like bank accounts.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::commands::{BeginBinding, Unbind};
use bayar_core::customer::PhoneNumber;
use bayar_snap::{Case, ServiceCode};
use serde_json::json;

use super::{CHANNEL_ALLO, begin, respond};
use crate::app::AppState;
use crate::faces::snap::{SnapError, guard, reply};

const BIND: ServiceCode = ServiceCode::ACCOUNT_BINDING;
const UNBIND: ServiceCode = ServiceCode::ACCOUNT_UNBINDING;

/// `POST /direct-debit/core/v1/registration-account-binding`
pub async fn bind(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(begin_binding(&state, uri.path(), &headers, &body).await)
}

async fn begin_binding(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Response, SnapError> {
    let (call, body) = begin(state, path, headers, raw, BIND).await?;
    let phone = body.required_str("phoneNo", 16)?;
    let phone = PhoneNumber::parse(phone).map_err(|_| SnapError::format(BIND, "phoneNo"))?;
    let channel = body.required_str("additionalInfo.channel", 64)?;
    if channel != CHANNEL_ALLO {
        return Err(SnapError::format(BIND, "additionalInfo.channel"));
    }
    let cust_id_merchant = body.required_str("additionalInfo.custIdMerchant", 64)?;
    let success_url = redirect_url(&body, "additionalInfo.successRegistrationUrl")?;
    let failed_url = redirect_url(&body, "additionalInfo.failedRegistrationUrl")?;
    let binding = state
        .core
        .run(call.claiming(BeginBinding {
            merchant_id: call.merchant.id,
            rail: bayar_core::customer::Rail::Bank,
            phone,
            cust_id_merchant: cust_id_merchant.to_string(),
            success_url,
            failed_url,
        }))
        .await
        .map_err(|e| match e {
            CoreError::CustomerNotFound => {
                SnapError::new(BIND, Case::InvalidCardAccountCustomer).detail("phoneNo")
            }
            CoreError::AccountFrozen => SnapError::new(BIND, Case::InactiveCardAccountCustomer),
            CoreError::AlreadyBound => SnapError::new(BIND, Case::TransactionNotPermitted)
                .detail("Account already bound to another customer of this merchant"),
            other => guard::core_error(BIND, other),
        })?;
    Ok(reply::success(
        BIND,
        json!({
            "referenceNo": binding.id.to_string(),
            "redirectUrl": format!("{}/pages/allo/bind/{}", state.public_url, binding.id),
            "additionalInfo": {
                "custIdMerchant": binding.cust_id_merchant,
                // Python and Go read `status`, PHP `accountStatus`.
                "status": "PENDING",
                "accountStatus": "PENDING",
            },
        }),
    ))
}

/// An absolute http(s) URL the customer's browser is sent to.
fn redirect_url(body: &crate::faces::snap::body::Body, field: &str) -> Result<String, SnapError> {
    let url = body.required_str(field, 2048)?;
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(url.to_string())
        }
        _ => Err(SnapError::format(BIND, field)),
    }
}

/// `POST /direct-debit/core/v1/registration-account-unbinding`
pub async fn unbind(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(end_binding(&state, uri.path(), &headers, &body).await)
}

async fn end_binding(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Response, SnapError> {
    let (call, body) = begin(state, path, headers, raw, UNBIND).await?;
    // The binding is named by its customer access token.
    let token = body.required_str("tokenId", 2048)?;
    let binding = state
        .core
        .customer_binding(&call.merchant, crate::faces::snap::headers::bearer(token))
        .await
        .map_err(|e| match e {
            CoreError::InvalidCustomerToken => SnapError::new(UNBIND, Case::InvalidCustomerToken),
            other => guard::core_error(UNBIND, other),
        })?;
    let unbound = state
        .core
        .run(call.claiming(Unbind {
            merchant_id: call.merchant.id,
            binding_id: binding.id,
        }))
        .await
        .map_err(|e| match e {
            CoreError::BindingNotFound | CoreError::BindingNotActive => {
                SnapError::new(UNBIND, Case::InvalidCustomerToken)
            }
            other => guard::core_error(UNBIND, other),
        })?;
    Ok(reply::success(
        UNBIND,
        json!({ "referenceNo": unbound.id.to_string() }),
    ))
}
