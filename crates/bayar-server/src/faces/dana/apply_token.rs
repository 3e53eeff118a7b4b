//! Widget apply token (service 74), `POST /v1.0/access-token/b2b2c.htm` (reference/dana.md 2.2,
//! 7.6): the merchant exchanges the auth code its customer brought back from the wallet's OAuth
//! page (`crate::pages::dana_oauth`), or a refresh token, for customer tokens naming the
//! wallet binding.
//!
//! Signed like every SNAP token request: SHA256withRSA over `clientId|X-TIMESTAMP` with the
//! merchant's key ([`guard::verify_token_request`]). DANA's grant types are upper case
//! (`AUTHORIZATION_CODE`, `REFRESH_TOKEN`); either case is accepted. An auth code is exchanged
//! once ([`bayar_core::Core::redeem_auth_code`]); the refresh token renews the tokens for as
//! long as the binding lasts. A used, unknown or unbound code or refresh token, an expired
//! refresh token, or one of another merchant, is `4017400`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_snap::ServiceCode;
use bayar_snap::time::format_jakarta;
use serde_json::json;

use super::{DanaError, respond};
use crate::app::AppState;
use crate::faces::snap::body::Body;
use crate::faces::snap::body::MAX_BODY;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::ACCESS_TOKEN_B2B2C;

/// `POST /v1.0/access-token/b2b2c.htm`
pub async fn apply(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    respond(answer(&state, &headers, &body).await, &body, &[])
}

async fn answer(state: &AppState, headers: &HeaderMap, raw: &[u8]) -> Result<Response, DanaError> {
    let merchant = guard::verify_token_request(&state.core, &state.snap, headers, SERVICE).await?;
    if raw.len() > MAX_BODY {
        return Err(SnapError::new(SERVICE, bayar_snap::Case::BadRequest).into());
    }
    let body = Body::parse(raw, SERVICE)?;
    let grant = body.required_str("grantType", 32)?;
    let tokens = if grant.eq_ignore_ascii_case("AUTHORIZATION_CODE") {
        let code = body.required_str("authCode", 256)?;
        state.core.redeem_auth_code(&merchant, code).await
    } else if grant.eq_ignore_ascii_case("REFRESH_TOKEN") {
        let refresh = body.required_str("refreshToken", 512)?;
        state.core.refresh_customer_token(&merchant, refresh).await
    } else {
        return Err(SnapError::format(SERVICE, "grantType").into());
    }
    .map_err(|e| match e {
        CoreError::InvalidAuthCode => {
            SnapError::unauthorized(SERVICE, "Auth Code Used/Expired/Invalid")
        }
        other => guard::internal(SERVICE, &other),
    })?;
    Ok(reply::success(
        SERVICE,
        json!({
            "tokenType": "Bearer",
            "accessToken": tokens.access.token.expose(),
            "accessTokenExpiryTime": format_jakarta(tokens.access.expires_at),
            "refreshToken": tokens.refresh.token.expose(),
            "refreshTokenExpiryTime": format_jakarta(tokens.refresh.expires_at),
            "additionalInfo": {
                "userInfo": { "publicUserId": tokens.binding.customer_id.to_string() },
            },
        }),
    ))
}
