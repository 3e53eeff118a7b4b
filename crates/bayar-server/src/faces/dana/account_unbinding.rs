//! Widget account unbinding (service 09), `POST /v1.0/registration-account-unbinding.htm`
//! (reference/dana.md 2.2, 7.6): the merchant ends a wallet binding; its customer tokens stop
//! working at once.
//!
//! The binding is named by its customer token, from `Authorization-Customer` or
//! `additionalInfo.accessToken` ([`super::customer_binding`]); `merchantId` must name the
//! caller. Answers `2000900`.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::commands::Unbind;
use bayar_snap::{Case, ServiceCode};
use serde_json::json;

use super::{DanaError, begin, check_merchant_id, customer_binding, respond};
use crate::app::AppState;
use crate::faces::snap::{guard, reply};

const SERVICE: ServiceCode = ServiceCode::ACCOUNT_UNBINDING;

/// What a refusal echoes.
const ECHO: &[&str] = &["partnerReferenceNo", "merchantId"];

/// `POST /v1.0/registration-account-unbinding.htm`
pub async fn unbind(
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
    let (binding, _) = customer_binding(state, &call, headers, &body, SERVICE).await?;
    let unbound = state
        .core
        .run(call.claiming(Unbind {
            merchant_id: call.merchant.id,
            binding_id: binding.id,
        }))
        .await
        .map_err(|e| match e {
            CoreError::BindingNotFound | CoreError::BindingNotActive => {
                DanaError::new(SERVICE, Case::InvalidCustomerToken)
            }
            other => guard::core_error(SERVICE, other).into(),
        })?;
    let mut fields = json!({
        "referenceNo": unbound.id.to_string(),
        "merchantId": body.required_str("merchantId", 64)?,
        "unlinkResult": "success",
    });
    if let Some(reference) = body.optional_str("partnerReferenceNo", 64)? {
        fields["partnerReferenceNo"] = json!(reference);
    }
    Ok(reply::success(SERVICE, fields))
}
