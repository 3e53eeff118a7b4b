//! Widget apply OTT (service 49), `POST /rest/v1.1/qr/apply-ott` (reference/dana.md 2.2,
//! 7.6): a one-time token for a bound wallet customer, which the merchant appends to the
//! widget payment's `webRedirectUrl` (`ott=`, as the SDKs' `generateCompletePaymentUrl` does)
//! so the customer arrives on the hosted wallet page already identified
//! (`crate::pages::dana_wallet`).
//!
//! The binding is named by its customer token ([`super::customer_binding`]). `userResources`
//! must ask for `"OTT"`, the one resource bayar issues. The token is single use and short-lived
//! (`bayar_core::binding::ONE_TIME_TOKEN_TTL_SECS`); bayar keeps only its hash, and it is
//! claimed with the call's `X-EXTERNAL-ID` in one commit.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::commands::IssueOneTimeToken;
use bayar_core::customer::CustomerStatus;
use bayar_snap::{Case, ServiceCode};
use serde_json::{Value, json};

use super::{DanaError, begin, customer_binding, respond};
use crate::app::AppState;
use crate::faces::snap::body::Body;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::APPLY_OTT;

/// The one resource type bayar issues.
const OTT: &str = "OTT";

/// What a refusal echoes.
const ECHO: &[&str] = &["partnerReferenceNo"];

/// `POST /rest/v1.1/qr/apply-ott`
pub async fn apply(
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
    asks_for_ott(&body)?;
    body.required_str("additionalInfo.deviceId", 400)?;
    let (binding, customer) = customer_binding(state, &call, headers, &body, SERVICE).await?;
    // A frozen wallet cannot pay, so it gets no pass to the payment page either.
    if customer.status == CustomerStatus::Frozen {
        return Err(DanaError::new(SERVICE, Case::DoNotHonor));
    }
    let (issue, ott) = IssueOneTimeToken::new(call.merchant.id, binding.id, chrono::Utc::now());
    state
        .core
        .run(call.claiming(issue))
        .await
        .map_err(|e| match e {
            // Unbound between the token check and the commit.
            CoreError::InvalidCustomerToken => DanaError::new(SERVICE, Case::InvalidCustomerToken),
            other => guard::core_error(SERVICE, other).into(),
        })?;
    Ok(reply::success(
        SERVICE,
        json!({ "userResources": [{ "resourceType": OTT, "value": ott.expose() }] }),
    ))
}

/// `userResources`: a list of resource types that includes `"OTT"` (absent or empty:
/// `400xx02`; not a list of strings, or without `"OTT"`: `400xx01`).
fn asks_for_ott(body: &Body) -> Result<(), SnapError> {
    const FIELD: &str = "userResources";
    let resources = match body.get(FIELD) {
        None => return Err(SnapError::missing(SERVICE, FIELD)),
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(SnapError::missing(SERVICE, FIELD));
        }
        Some(Value::Array(items)) => items,
        Some(_) => return Err(SnapError::format(SERVICE, FIELD)),
    };
    let mut wants_ott = false;
    for item in resources {
        match item.as_str() {
            Some(s) if s.chars().count() <= 64 => wants_ott |= s == OTT,
            _ => return Err(SnapError::format(SERVICE, FIELD)),
        }
    }
    if wants_ott {
        Ok(())
    } else {
        Err(SnapError::format(SERVICE, FIELD))
    }
}
