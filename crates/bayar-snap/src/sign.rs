//! SNAP strings-to-sign, signing, and verification.
//!
//! Three signatures exist (snap.md §3):
//! - token requests (services 73/74): SHA256withRSA over `clientId|X-TIMESTAMP`;
//! - symmetric transactions: HMAC-SHA512 keyed with the client secret over
//!   `METHOD:path:token:hex(sha256(body)):X-TIMESTAMP`;
//! - asymmetric transactions and notifications: SHA256withRSA over
//!   `METHOD:path:hex(sha256(body)):X-TIMESTAMP`.
//!
//! All signatures travel as standard base64. Verification decodes the signature once,
//! then tries every [`canon::candidates`](crate::canon::candidates) form of the body
//! and reports which one matched. HMAC comparison is constant-time. Inputs (method,
//! path, token, timestamp) are used byte-for-byte: the sender signed exactly what it
//! sent, so nothing is normalised here.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

pub use crate::canon::Canon;
use crate::canon::{body_hash_hex, candidates, minify};
use crate::keys::{KeyError, PrivateKey, PublicKey};

/// Length of an HMAC-SHA512 tag in bytes.
const HMAC_SHA512_LEN: usize = 64;

/// Longest base64 signature accepted: an RSA-8192 signature is 1368 characters.
const MAX_SIGNATURE_B64_LEN: usize = 2048;

/// Standard-alphabet base64 that tolerates stripped padding; the bytes still have to
/// match, so this costs no security.
const SIGNATURE_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a signature did not verify. Never contains the secret or the expected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not standard base64, or not the length the algorithm produces (e.g. a 64-hex
    /// string where an 88-character base64 HMAC was expected).
    #[error("signature is not standard base64 of the expected length")]
    Malformed,
    /// Well-formed, but matches none of the body forms tried.
    #[error("signature does not match{}", tried_suffix(.tried))]
    Mismatch {
        /// The body forms tried, in order (empty for token signatures, which sign no body).
        tried: Vec<Canon>,
    },
}

fn tried_suffix(tried: &[Canon]) -> String {
    if tried.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = tried.iter().map(|c| c.as_str()).collect();
    format!(" (tried {})", names.join(", "))
}

/// `METHOD:path:access_token:lowerhex(sha256(body)):timestamp`, the symmetric
/// string-to-sign. `body` is hashed as given; pass the canonical bytes.
pub fn symmetric_string_to_sign(
    method: &str,
    path: &str,
    access_token: &str,
    body: &[u8],
    timestamp: &str,
) -> String {
    let hash = body_hash_hex(body);
    format!("{method}:{path}:{access_token}:{hash}:{timestamp}")
}

/// `METHOD:path:lowerhex(sha256(body)):timestamp`, the asymmetric string-to-sign.
/// `body` is hashed as given; pass the canonical bytes.
pub fn asymmetric_string_to_sign(method: &str, path: &str, body: &[u8], timestamp: &str) -> String {
    let hash = body_hash_hex(body);
    format!("{method}:{path}:{hash}:{timestamp}")
}

/// `clientId|timestamp`, the access-token (services 73/74) string-to-sign.
pub fn token_string_to_sign(client_id: &str, timestamp: &str) -> String {
    format!("{client_id}|{timestamp}")
}

/// Decodes a base64 signature header; `None` if it is not base64 or absurdly long.
pub(crate) fn decode_signature(signature_b64: &str) -> Option<Vec<u8>> {
    let s = signature_b64.trim_ascii();
    if s.is_empty() || s.len() > MAX_SIGNATURE_B64_LEN {
        return None;
    }
    SIGNATURE_B64.decode(s).ok()
}

fn hmac_key(secret: &[u8]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA512, secret)
}

/// Base64 HMAC-SHA512 of `string_to_sign`, keyed with the secret's bytes as-is.
pub fn hmac_sign(secret: &[u8], string_to_sign: &str) -> String {
    STANDARD.encode(hmac::sign(&hmac_key(secret), string_to_sign.as_bytes()))
}

/// Whether `signature_b64` is the HMAC-SHA512 of `string_to_sign` under `secret`.
/// Constant-time; false on bad base64.
pub fn hmac_verify(secret: &[u8], string_to_sign: &str, signature_b64: &str) -> bool {
    decode_signature(signature_b64)
        .is_some_and(|sig| hmac::verify(&hmac_key(secret), string_to_sign.as_bytes(), &sig).is_ok())
}

/// Verifies a symmetric (HMAC-SHA512) transaction signature against every canonical
/// form of `raw_body`, returning the form that matched.
pub fn verify_symmetric(
    secret: &[u8],
    method: &str,
    path: &str,
    access_token: &str,
    raw_body: &[u8],
    timestamp: &str,
    signature_b64: &str,
) -> Result<Canon, SignatureError> {
    let sig = decode_signature(signature_b64)
        .filter(|s| s.len() == HMAC_SHA512_LEN)
        .ok_or(SignatureError::Malformed)?;
    let key = hmac_key(secret);
    let mut tried = Vec::with_capacity(3);
    for (canon, body) in candidates(raw_body) {
        let sts = symmetric_string_to_sign(method, path, access_token, &body, timestamp);
        if hmac::verify(&key, sts.as_bytes(), &sig).is_ok() {
            return Ok(canon);
        }
        tried.push(canon);
    }
    Err(SignatureError::Mismatch { tried })
}

/// Verifies an asymmetric (SHA256withRSA) transaction or notification signature
/// against every canonical form of `raw_body`, returning the form that matched.
pub fn verify_asymmetric(
    key: &PublicKey,
    method: &str,
    path: &str,
    raw_body: &[u8],
    timestamp: &str,
    signature_b64: &str,
) -> Result<Canon, SignatureError> {
    let sig = decode_rsa_signature(key, signature_b64)?;
    let mut tried = Vec::with_capacity(3);
    for (canon, body) in candidates(raw_body) {
        let sts = asymmetric_string_to_sign(method, path, &body, timestamp);
        if key.verify_bytes(sts.as_bytes(), &sig) {
            return Ok(canon);
        }
        tried.push(canon);
    }
    Err(SignatureError::Mismatch { tried })
}

/// Verifies an access-token request signature: SHA256withRSA over `clientId|timestamp`.
pub fn verify_token(
    key: &PublicKey,
    client_id: &str,
    timestamp: &str,
    signature_b64: &str,
) -> Result<(), SignatureError> {
    let sig = decode_rsa_signature(key, signature_b64)?;
    if key.verify_bytes(token_string_to_sign(client_id, timestamp).as_bytes(), &sig) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch { tried: Vec::new() })
    }
}

/// An RSA signature is exactly as long as the modulus.
fn decode_rsa_signature(key: &PublicKey, signature_b64: &str) -> Result<Vec<u8>, SignatureError> {
    let expected_len = usize::try_from(key.bits().div_ceil(8)).ok();
    decode_signature(signature_b64)
        .filter(|s| Some(s.len()) == expected_len)
        .ok_or(SignatureError::Malformed)
}

/// Signs an outgoing symmetric request: minifies `body`, then HMAC-SHA512 over the
/// symmetric string-to-sign.
pub fn sign_symmetric(
    secret: &[u8],
    method: &str,
    path: &str,
    access_token: &str,
    body: &[u8],
    timestamp: &str,
) -> String {
    let sts = symmetric_string_to_sign(method, path, access_token, &minify(body), timestamp);
    hmac_sign(secret, &sts)
}

/// Signs an outgoing asymmetric request or notification: minifies `body`, then
/// SHA256withRSA over the asymmetric string-to-sign.
pub fn sign_asymmetric(
    key: &PrivateKey,
    method: &str,
    path: &str,
    body: &[u8],
    timestamp: &str,
) -> Result<String, KeyError> {
    let sts = asymmetric_string_to_sign(method, path, &minify(body), timestamp);
    key.sign(sts.as_bytes())
}

/// Signs an access-token request: SHA256withRSA over `clientId|timestamp`.
pub fn sign_token(key: &PrivateKey, client_id: &str, timestamp: &str) -> Result<String, KeyError> {
    key.sign(token_string_to_sign(client_id, timestamp).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_to_sign() {
        assert_eq!(
            token_string_to_sign("G1234325-SNAP", "2024-03-01T08:27:49.024Z"),
            "G1234325-SNAP|2024-03-01T08:27:49.024Z"
        );
        assert_eq!(
            asymmetric_string_to_sign("GET", "/x", b"", "t"),
            "GET:/x:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:t"
        );
        assert_eq!(
            symmetric_string_to_sign("GET", "/x", "tok", b"", "t"),
            "GET:/x:tok:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:t"
        );
    }

    #[test]
    fn error_display() {
        let e = SignatureError::Mismatch {
            tried: vec![Canon::Minified, Canon::Raw, Canon::Reserialized],
        };
        assert_eq!(
            e.to_string(),
            "signature does not match (tried minified, raw, reserialized)"
        );
        assert_eq!(
            SignatureError::Mismatch { tried: vec![] }.to_string(),
            "signature does not match"
        );
    }

    #[test]
    fn symmetric_round_trip_and_malformed() {
        let sig = sign_symmetric(b"s", "POST", "/p", "t", b"{ \"a\": 1 }", "ts");
        assert_eq!(
            verify_symmetric(b"s", "POST", "/p", "t", b"{ \"a\": 1 }", "ts", &sig),
            Ok(Canon::Minified)
        );
        assert_eq!(
            verify_symmetric(b"s", "POST", "/p", "t", b"{}", "ts", "!!"),
            Err(SignatureError::Malformed)
        );
        assert!(!hmac_verify(b"s", "x", ""));
    }
}
