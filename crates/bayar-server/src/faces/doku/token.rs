//! Access tokens: B2B (service 73) and B2B2C (service 74).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use bayar_core::CoreError;
use bayar_snap::ServiceCode;
use chrono::Utc;
use serde_json::json;

use super::respond;
use crate::app::AppState;
use crate::faces::snap::body::Body;
use crate::faces::snap::{SnapError, guard, reply};

const B2B: ServiceCode = ServiceCode::ACCESS_TOKEN_B2B;
const B2B2C: ServiceCode = ServiceCode::ACCESS_TOKEN_B2B2C;

/// `POST /authorization/v1/access-token/b2b`
pub async fn b2b(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    respond(issue_b2b(&state, &headers, &body).await)
}

async fn issue_b2b(
    state: &AppState,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Response, SnapError> {
    let merchant = guard::verify_token_request(&state.core, &state.snap, headers, B2B).await?;
    let body = Body::parse(raw, B2B)?;
    grant_type(&body, B2B, &["client_credentials"])?;
    let issued = state.core.issue_b2b_token(&merchant, Utc::now());
    // `expiresIn` is a number (the Python SDK subtracts from it) and `additionalInfo` a string
    // (the Go SDK types it so).
    let mut response = reply::success(
        B2B,
        json!({
            "accessToken": issued.token.expose(),
            "tokenType": "Bearer",
            "expiresIn": issued.expires_in,
            "additionalInfo": "",
        }),
    );
    if let Ok(client) = HeaderValue::from_str(merchant.client_id.as_str()) {
        response.headers_mut().insert("x-client-key", client);
    }
    Ok(response)
}

/// `POST /authorization/v1/access-token/b2b2c`
pub async fn b2b2c(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    respond(exchange_b2b2c(&state, &headers, &body).await)
}

/// Exchanges an auth code from an account binding (again and again while the binding is active,
/// as DOKU's Python SDK does before every call) or a refresh token for customer tokens.
async fn exchange_b2b2c(
    state: &AppState,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Response, SnapError> {
    let merchant = guard::verify_token_request(&state.core, &state.snap, headers, B2B2C).await?;
    let body = Body::parse(raw, B2B2C)?;
    let grant = grant_type(&body, B2B2C, &["authorization_code", "refresh_token"])?;
    let tokens = if grant == "authorization_code" {
        let code = body.required_str("authCode", 256)?;
        state.core.exchange_auth_code(&merchant, code).await
    } else {
        let refresh = body.required_str("refreshToken", 512)?;
        state.core.refresh_customer_token(&merchant, refresh).await
    }
    .map_err(|e| match e {
        CoreError::InvalidAuthCode => {
            SnapError::unauthorized(B2B2C, "Auth Code Used/Expired/Invalid")
        }
        other => guard::internal(B2B2C, &other),
    })?;
    Ok(reply::success(
        B2B2C,
        json!({
            "accessToken": tokens.access.token.expose(),
            "tokenType": "Bearer",
            "accessTokenExpiryTime": bayar_snap::time::format_jakarta(tokens.access.expires_at),
            "refreshToken": tokens.refresh.token.expose(),
            "refreshTokenExpiryTime": bayar_snap::time::format_jakarta(tokens.refresh.expires_at),
            "additionalInfo": {},
        }),
    ))
}

/// `grantType`, matched case-insensitively against `allowed` (SDKs send lower case, the
/// standard upper case); returns the lower-case form.
fn grant_type(
    body: &Body,
    service: ServiceCode,
    allowed: &[&'static str],
) -> Result<&'static str, SnapError> {
    let grant = body.required_str("grantType", 32)?;
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(grant))
        .copied()
        .ok_or_else(|| SnapError::format(service, "grantType"))
}
