//! Bearer tokens: stateless, so any bayar process can check one without a database read.
//!
//! A token is `<kind>.<payload>.<mac>`: the payload (base64url) names the subject (a client id
//! for B2B tokens, a binding id for customer tokens), the expiry and a random nonce; the mac is
//! HMAC-SHA256 over the kind and payload with the gateway's token key, which every process
//! sharing the store loads. A token of one kind is never accepted as another.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use thiserror::Error;

use crate::secret::Secret;

/// Why a presented token was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token bayar issued (wrong shape, wrong MAC, wrong kind, or another key).
    #[error("token is not valid")]
    Invalid,
    /// A genuine token past its expiry.
    #[error("token has expired")]
    Expired,
}

/// What a token grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A merchant's B2B access token (subject: client id).
    B2b,
    /// A customer access token from an account binding (subject: binding id).
    Customer,
    /// A refresh token for customer access tokens (subject: binding id).
    Refresh,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            Self::B2b => "b2b",
            Self::Customer => "cus",
            Self::Refresh => "rt",
        }
    }
}

/// The key that MACs tokens.
pub struct TokenKey(hmac::Key);

impl TokenKey {
    /// A key from its raw bytes (at least 32).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

/// A freshly issued token.
#[derive(Debug)]
pub struct IssuedToken {
    /// The bearer token.
    pub token: Secret<String>,
    /// Lifetime in seconds.
    pub expires_in: u32,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Issues a token of `kind` for `subject`, valid for `ttl_secs` from `now`.
pub fn issue(
    key: &TokenKey,
    kind: TokenKind,
    subject: &str,
    now: DateTime<Utc>,
    ttl_secs: u32,
) -> IssuedToken {
    let mut nonce = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut nonce);
    let expires_at = now.timestamp() + i64::from(ttl_secs);
    let payload = URL_SAFE_NO_PAD.encode(format!(
        "{subject}|{expires_at}|{}",
        URL_SAFE_NO_PAD.encode(nonce)
    ));
    let signed = format!("{}.{payload}", kind.prefix());
    let mac = hmac::sign(&key.0, signed.as_bytes());
    IssuedToken {
        token: Secret::new(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()))),
        expires_in: ttl_secs,
        expires_at: DateTime::from_timestamp(expires_at, 0).unwrap_or(now),
    }
}

/// Checks a token of `kind` (without any `Bearer ` prefix) and returns its subject.
pub fn verify(
    key: &TokenKey,
    kind: TokenKind,
    token: &str,
    now: DateTime<Utc>,
) -> Result<String, TokenError> {
    let (signed, mac) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
    let (prefix, payload) = signed.split_once('.').ok_or(TokenError::Invalid)?;
    if prefix != kind.prefix() {
        return Err(TokenError::Invalid);
    }
    let mac = URL_SAFE_NO_PAD
        .decode(mac)
        .map_err(|_| TokenError::Invalid)?;
    hmac::verify(&key.0, signed.as_bytes(), &mac).map_err(|_| TokenError::Invalid)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Invalid)?;
    let payload = String::from_utf8(payload).map_err(|_| TokenError::Invalid)?;
    let mut fields = payload.split('|');
    let (Some(subject), Some(expires_at)) = (fields.next(), fields.next()) else {
        return Err(TokenError::Invalid);
    };
    let expires_at: i64 = expires_at.parse().map_err(|_| TokenError::Invalid)?;
    if now.timestamp() >= expires_at {
        return Err(TokenError::Expired);
    }
    Ok(subject.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn key(b: u8) -> TokenKey {
        TokenKey::from_bytes(&[b; 32])
    }

    #[test]
    fn issued_tokens_verify_until_expiry() {
        let now = Utc::now();
        let issued = issue(&key(1), TokenKind::B2b, "BRN-0001", now, 900);
        assert_eq!(issued.expires_in, 900);
        let token = issued.token.expose();
        assert_eq!(
            verify(&key(1), TokenKind::B2b, token, now),
            Ok("BRN-0001".into())
        );
        assert_eq!(
            verify(&key(1), TokenKind::B2b, token, now + Duration::seconds(899)),
            Ok("BRN-0001".into())
        );
        assert_eq!(
            verify(&key(1), TokenKind::B2b, token, now + Duration::seconds(900)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn forged_foreign_or_other_kind_tokens_are_invalid() {
        let now = Utc::now();
        let token = issue(&key(1), TokenKind::Customer, "bnd_1", now, 900)
            .token
            .expose()
            .clone();
        assert_eq!(
            verify(&key(2), TokenKind::Customer, &token, now),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify(&key(1), TokenKind::Refresh, &token, now),
            Err(TokenError::Invalid)
        );
        let relabelled = token.replacen("cus.", "rt.", 1);
        assert_eq!(
            verify(&key(1), TokenKind::Refresh, &relabelled, now),
            Err(TokenError::Invalid)
        );
        let forged = URL_SAFE_NO_PAD.encode(format!("bnd_2|{}|x", now.timestamp() + 900));
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = &forged;
        assert_eq!(
            verify(&key(1), TokenKind::Customer, &parts.join("."), now),
            Err(TokenError::Invalid)
        );
        for junk in ["", "cus", "cus..", "x.y.z", "Bearer x", "cus.a.b.c"] {
            assert_eq!(
                verify(&key(1), TokenKind::Customer, junk, now),
                Err(TokenError::Invalid)
            );
        }
    }

    #[test]
    fn two_tokens_for_the_same_subject_differ() {
        let now = Utc::now();
        let a = issue(&key(1), TokenKind::B2b, "BRN-0001", now, 900);
        let b = issue(&key(1), TokenKind::B2b, "BRN-0001", now, 900);
        assert_ne!(a.token, b.token);
    }
}
