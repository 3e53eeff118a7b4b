//! The SNAP security checks, in the order of reference/snap.md 3.11: headers present and well
//! formed, caller known, token valid and the caller's own, timestamp inside the window,
//! signature, then `X-EXTERNAL-ID` replay. Body checks come after, in each operation.

use axum::http::HeaderMap;
use bayar_core::commands::{ClaimExternalId, Claimed};
use bayar_core::merchant::{ClientId, Merchant};
use bayar_core::{Core, CoreError};
use bayar_snap::{Canon, Case, ServiceCode};
use chrono::{DateTime, Utc};

use super::error::SnapError;
use super::headers::{
    self, AUTHORIZATION, CLIENT_KEY, EXTERNAL_ID, PARTNER_ID, SIGNATURE, TIMESTAMP,
};

/// Tunables of the SNAP checks.
#[derive(Clone, Debug)]
pub struct SnapConfig {
    /// How far `X-TIMESTAMP` may be from bayar's clock, in seconds, either way.
    pub clock_skew_secs: i64,
}

impl Default for SnapConfig {
    fn default() -> Self {
        Self {
            clock_skew_secs: 300,
        }
    }
}

/// Longest `X-EXTERNAL-ID` accepted: SNAP says 36, but DOKU's PHP SDK sends 58 characters.
const MAX_EXTERNAL_ID: usize = 64;

/// A transactional call that passed every check before its body.
#[derive(Debug)]
pub struct VerifiedCall {
    /// The calling merchant.
    pub merchant: Merchant,
    /// Its `X-EXTERNAL-ID`, to be claimed for the day by the operation's command.
    pub external_id: String,
    /// The path it was made on.
    pub path: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// Which body canonicalisation its signature matched.
    pub canon: Canon,
}

impl VerifiedCall {
    /// The command claiming this call's `X-EXTERNAL-ID` for its Jakarta day.
    pub fn claim(&self) -> ClaimExternalId {
        ClaimExternalId {
            merchant_id: self.merchant.id,
            day: bayar_snap::time::jakarta_date(self.received_at),
            external_id: self.external_id.clone(),
            path: self.path.clone(),
        }
    }

    /// `command` with this call's `X-EXTERNAL-ID` claimed in its own transaction: a request
    /// refused before it changed anything leaves its `X-EXTERNAL-ID` unused.
    pub fn claiming<C>(&self, command: C) -> Claimed<C> {
        Claimed {
            claim: self.claim(),
            command,
        }
    }
}

/// Claims the call's `X-EXTERNAL-ID` for operations that change nothing else (status, balance,
/// inquiries): a second use on the same Jakarta day is `409xx00 Conflict`.
pub async fn claim(
    core: &Core,
    call: &VerifiedCall,
    service: ServiceCode,
) -> Result<(), SnapError> {
    core.run(call.claim())
        .await
        .map_err(|e| core_error(service, e))
}

/// The answer to core errors every operation shares: a reused `X-EXTERNAL-ID` is a conflict;
/// anything else here is bayar's own (see [`internal`]).
pub fn core_error(service: ServiceCode, err: CoreError) -> SnapError {
    match err {
        CoreError::DuplicateExternalId => SnapError::new(service, Case::Conflict),
        other => internal(service, &other),
    }
}

/// Checks a token request (services 73 and 74): `X-TIMESTAMP`, `X-CLIENT-KEY`, and an RSA
/// `X-SIGNATURE` over `clientId|timestamp` with the merchant's public key.
pub async fn verify_token_request(
    core: &Core,
    config: &SnapConfig,
    request: &HeaderMap,
    service: ServiceCode,
) -> Result<Merchant, SnapError> {
    let timestamp = headers::required(request, TIMESTAMP, service)?;
    let client_key = headers::required(request, CLIENT_KEY, service)?;
    let signature = headers::required(request, SIGNATURE, service)?;
    let sent_at = parse_timestamp(timestamp, service)?;
    let merchant = known_client(core, client_key, service).await?;
    check_window(sent_at, config, service)?;
    bayar_snap::sign::verify_token(&merchant.public_key, client_key, timestamp, signature).map_err(
        |e| {
            tracing::info!(client_id = %merchant.client_id, reason = %e, "token request signature refused");
            SnapError::unauthorized(service, "Invalid Signature").note(e.to_string())
        },
    )?;
    Ok(merchant)
}

/// Checks a symmetric (HMAC-SHA512) transactional call: B2B token in `Authorization`, the
/// token's client in `X-PARTNER-ID`, timestamp window, signature over the body in any of the
/// canonical forms real SDKs sign, then claims `X-EXTERNAL-ID` for today.
pub async fn verify_symmetric_call(
    core: &Core,
    config: &SnapConfig,
    method: &str,
    path: &str,
    request: &HeaderMap,
    body: &[u8],
    service: ServiceCode,
) -> Result<VerifiedCall, SnapError> {
    let timestamp = headers::required(request, TIMESTAMP, service)?;
    let signature = headers::required(request, SIGNATURE, service)?;
    let partner_id = headers::required(request, PARTNER_ID, service)?;
    let external_id = headers::required(request, EXTERNAL_ID, service)?;
    let sent_at = parse_timestamp(timestamp, service)?;
    if external_id.len() > MAX_EXTERNAL_ID {
        return Err(SnapError::format(service, EXTERNAL_ID));
    }
    let token = headers::optional(request, AUTHORIZATION, service)?
        .map(headers::bearer)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| SnapError::new(service, Case::TokenNotFound))?;
    let now = Utc::now();
    let token_client = core.check_b2b_token(token, now).map_err(|e| {
        tracing::info!(reason = %e, "B2B token refused");
        SnapError::new(service, Case::InvalidToken)
    })?;
    if token_client.as_str() != partner_id {
        tracing::info!(token_client = %token_client, "X-PARTNER-ID differs from the token's client");
        return Err(SnapError::unauthorized(
            service,
            "X-PARTNER-ID does not match the access token",
        ));
    }
    let merchant = known_client(core, partner_id, service).await?;
    check_window(sent_at, config, service)?;
    let verify = |secret: &str| {
        bayar_snap::sign::verify_symmetric(
            secret.as_bytes(),
            method,
            path,
            token,
            body,
            timestamp,
            signature,
        )
    };
    let canon = match verify(merchant.client_secret.expose()) {
        Ok(canon) => canon,
        Err(first) => {
            // The cached secret failed: the secret may have just been rotated (a few seconds of
            // cache), or the merchant still signs with the previous one during its grace
            // period. Both are read fresh; each check is constant time.
            let secrets = core
                .client_secrets(&merchant.id)
                .await
                .map_err(|e| internal(service, &e))?;
            secrets
                .iter()
                .find_map(|s| verify(s.expose()).ok())
                .ok_or_else(|| {
                    tracing::info!(client_id = %merchant.client_id, reason = %first, "signature mismatch");
                    SnapError::unauthorized(service, "Invalid Signature").note(first.to_string())
                })?
        }
    };
    Ok(VerifiedCall {
        merchant,
        external_id: external_id.to_string(),
        path: path.to_string(),
        received_at: now,
        canon,
    })
}

/// The active binding named by the customer token in `Authorization-Customer` (with or
/// without `Bearer `): `401xx04` when absent, `401xx02` when unknown, expired or unbound.
pub async fn customer_binding(
    core: &Core,
    merchant: &Merchant,
    request: &HeaderMap,
    service: ServiceCode,
) -> Result<bayar_core::binding::Binding, SnapError> {
    let token = headers::optional(request, headers::AUTHORIZATION_CUSTOMER, service)?
        .map(headers::bearer)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| SnapError::new(service, Case::CustomerTokenNotFound))?;
    core.customer_binding(merchant, token)
        .await
        .map_err(|e| match e {
            CoreError::InvalidCustomerToken => SnapError::new(service, Case::InvalidCustomerToken),
            other => internal(service, &other),
        })
}

fn parse_timestamp(value: &str, service: ServiceCode) -> Result<DateTime<Utc>, SnapError> {
    bayar_snap::time::parse_timestamp(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| SnapError::format(service, TIMESTAMP))
}

fn check_window(
    sent_at: DateTime<Utc>,
    config: &SnapConfig,
    service: ServiceCode,
) -> Result<(), SnapError> {
    let skew = (Utc::now() - sent_at).num_seconds().abs();
    if skew > config.clock_skew_secs {
        tracing::info!(skew_secs = skew, "X-TIMESTAMP outside the window");
        return Err(SnapError::unauthorized(
            service,
            "X-TIMESTAMP outside the allowed window",
        ));
    }
    Ok(())
}

async fn known_client(
    core: &Core,
    client_id: &str,
    service: ServiceCode,
) -> Result<Merchant, SnapError> {
    let unknown = || SnapError::unauthorized(service, "Unknown client");
    let client_id = ClientId::parse(client_id).map_err(|_| unknown())?;
    core.merchant_by_client_id(&client_id)
        .await
        .map_err(|e| internal(service, &e))?
        .ok_or_else(unknown)
}

/// The answer when bayar did not do the request: `429xx00` when it was too busy to take it
/// (nothing was done; send it again shortly), else a failure of bayar itself, logged, and
/// `500xx01`.
pub fn internal(service: ServiceCode, err: &CoreError) -> SnapError {
    if let CoreError::Overloaded = err {
        // Not logged one by one: under overload that would be a line per refused request.
        return SnapError::new(service, Case::TooManyRequests);
    }
    tracing::error!(error = %err, "request failed inside bayar");
    SnapError::internal(service)
}

/// Checks an asymmetric (SHA256withRSA) transactional call, the way DANA authenticates every
/// SNAP request: no access token; the merchant named by `X-PARTNER-ID` signs
/// `METHOD:path:lowerhex(sha256(minify(body))):X-TIMESTAMP` with its private key, verified
/// with its registered public key. Order (DANA's): missing header `400xx02`, malformed
/// timestamp `400xx01`, unknown client / stale timestamp / bad signature `401xx00`, then
/// `X-EXTERNAL-ID` replay `409xx00`. Body checks come after, in each operation.
pub async fn verify_asymmetric_call(
    core: &Core,
    config: &SnapConfig,
    method: &str,
    path: &str,
    request: &HeaderMap,
    body: &[u8],
    service: ServiceCode,
) -> Result<VerifiedCall, SnapError> {
    let timestamp = headers::required(request, TIMESTAMP, service)?;
    let signature = headers::required(request, SIGNATURE, service)?;
    let partner_id = headers::required(request, PARTNER_ID, service)?;
    let external_id = headers::required(request, EXTERNAL_ID, service)?;
    let sent_at = parse_timestamp(timestamp, service)?;
    if external_id.len() > MAX_EXTERNAL_ID {
        return Err(SnapError::format(service, EXTERNAL_ID));
    }
    let merchant = known_client(core, partner_id, service).await?;
    check_window(sent_at, config, service)?;
    // `verify_asymmetric` tries the minified body first (DANA's rule, and what dana-python
    // signs while sending spaced JSON), then the raw and re-serialised forms. A value that is
    // not base64 of the key's length (the UAT's hex placeholder) is refused the same way.
    let canon = bayar_snap::sign::verify_asymmetric(
        &merchant.public_key,
        method,
        path,
        body,
        timestamp,
        signature,
    )
    .map_err(|e| {
        tracing::info!(client_id = %merchant.client_id, reason = %e, "signature mismatch");
        SnapError::unauthorized(service, "Invalid Signature").note(e.to_string())
    })?;
    let now = Utc::now();
    Ok(VerifiedCall {
        merchant,
        external_id: external_id.to_string(),
        path: path.to_string(),
        received_at: now,
        canon,
    })
}
