//! Authentication: a secret API key (`sk_test_...`) as `Authorization: Bearer <key>` or as the
//! user name of HTTP Basic (`<key>:`), Stripe's two ways. The store keeps only the key's hash;
//! a key rolled in the portal keeps working until the end of its grace period.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use bayar_core::CoreError;
use bayar_core::api_key::ApiKey;
use bayar_core::ids::MerchantId;

use super::error::StripeError;
use crate::app::AppState;

/// The merchant whose secret key the request carries.
pub async fn merchant(state: &AppState, headers: &HeaderMap) -> Result<MerchantId, StripeError> {
    let key = presented_key(headers)?;
    let found = state
        .core
        .store()
        .merchant_id_by_api_key(&key.hash(), chrono::Utc::now())
        .await
        .map_err(CoreError::from)?;
    found.ok_or_else(|| StripeError::authentication("Invalid API Key provided."))
}

fn presented_key(headers: &HeaderMap) -> Result<ApiKey, StripeError> {
    let value = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            StripeError::authentication(
                "You did not provide an API key. Provide your secret key as \
                 'Authorization: Bearer sk_test_...'.",
            )
        })?;
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    let key = if scheme.eq_ignore_ascii_case("bearer") {
        credentials.to_string()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .ok_or_else(|| StripeError::authentication("Invalid Basic authorization header."))?;
        decoded
            .split_once(':')
            .map_or(decoded.as_str(), |(user, _)| user)
            .to_string()
    } else {
        return Err(StripeError::authentication(
            "Invalid authorization scheme: use Bearer or Basic.",
        ));
    };
    ApiKey::parse(&key).map_err(|_| StripeError::authentication("Invalid API Key provided."))
}
