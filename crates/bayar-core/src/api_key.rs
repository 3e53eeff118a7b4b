//! Secret API keys (`sk_test_...`) of the Stripe-style API: a merchant's bearer credential.
//!
//! bayar keeps only the SHA-256 of a key: a key is 40 random alphanumerics (about 238 bits), so
//! a fast hash is as good as a slow one here, and it lets a request find its merchant by an
//! indexed lookup. The key itself is shown once, when the merchant is created.

use std::fmt;

use aws_lc_rs::{constant_time, digest};
use rand::Rng;
use rand::distributions::Alphanumeric;
use thiserror::Error;

use crate::secret::Secret;

/// The prefix of every secret key bayar issues (a sandbox: only test-mode keys exist).
pub const PREFIX: &str = "sk_test_";

/// Random characters after the prefix.
const BODY_LEN: usize = 40;

/// A presented string that cannot be a bayar secret key.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("not a secret API key")]
pub struct ApiKeyError;

/// A secret key as presented by a client, parsed once at the edge. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Secret<String>);

impl ApiKey {
    /// Parses a presented key: `sk_test_` and 1 to 128 ASCII letters or digits.
    pub fn parse(s: &str) -> Result<ApiKey, ApiKeyError> {
        let body = s.strip_prefix(PREFIX).ok_or(ApiKeyError)?;
        if body.is_empty() || body.len() > 128 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiKeyError);
        }
        Ok(ApiKey(Secret::new(s.to_string())))
    }

    /// A fresh key.
    pub fn generate() -> ApiKey {
        let body: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(BODY_LEN)
            .map(char::from)
            .collect();
        ApiKey(Secret::new(format!("{PREFIX}{body}")))
    }

    /// The key, for its one-time display to its merchant.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Its last 4 characters: what the portal names it by, revealing about 24 of its bits.
    pub fn last4(&self) -> String {
        let key = self.0.expose();
        key[key.len().saturating_sub(4)..].to_string()
    }

    /// What the store keeps of the key: its hash and its last 4 characters.
    pub fn stored(&self) -> StoredApiKey {
        StoredApiKey {
            hash: self.hash(),
            last4: self.last4(),
        }
    }

    /// What the store looks the key up by.
    pub fn hash(&self) -> ApiKeyHash {
        let hash = digest::digest(&digest::SHA256, self.0.expose().as_bytes());
        ApiKeyHash(hash.as_ref().iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// What the store keeps of a new key (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredApiKey {
    /// The key's hash.
    pub hash: ApiKeyHash,
    /// Its last 4 characters, for the portal.
    pub last4: String,
}

/// A merchant's live key as the portal shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeySummary {
    /// Its last 4 characters (`None` for keys made before bayar kept them).
    pub last4: Option<String>,
    /// When it was made.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it stops working (`None`: until it is rolled).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The lowercase hex SHA-256 of a secret key: what the store keeps and looks keys up by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    /// Wraps a hash read back from the store.
    pub(crate) fn from_stored(hash: String) -> ApiKeyHash {
        ApiKeyHash(hash)
    }

    /// The hash as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in constant time (the lookup found the row by this hash; comparing again
    /// keeps the decision itself free of early exits).
    pub fn matches(&self, other: &ApiKeyHash) -> bool {
        constant_time::verify_slices_are_equal(self.0.as_bytes(), other.0.as_bytes()).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_hash_and_never_print() {
        let key = ApiKey::generate();
        assert!(key.expose().starts_with("sk_test_"));
        assert_eq!(key.expose().len(), PREFIX.len() + BODY_LEN);
        let again = ApiKey::parse(key.expose()).unwrap();
        assert!(again.hash().matches(&key.hash()));
        assert!(!ApiKey::generate().hash().matches(&key.hash()));
        assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
        assert!(key.expose().ends_with(&key.last4()));
        assert_eq!(key.stored().last4.len(), 4);
        assert_eq!(ApiKey::parse("sk_live_abc"), Err(ApiKeyError));
        assert_eq!(ApiKey::parse("sk_test_"), Err(ApiKeyError));
        assert_eq!(ApiKey::parse("sk_test_a-b"), Err(ApiKeyError));
    }
}
