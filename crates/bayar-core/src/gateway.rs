//! The gateway's own key material, created on first run and shared through the store by every
//! bayar process: the RSA key pair that signs token requests and notifications to merchants,
//! and the key that MACs access tokens.

use bayar_snap::{PrivateKey, PublicKey};
use rand::RngCore;

use crate::secret::Secret;
use crate::token::TokenKey;

/// The gateway's keys.
#[derive(Debug)]
pub struct GatewayKeys {
    /// Signs what bayar sends as the provider (notifications, token requests to merchants).
    pub private_key: PrivateKey,
    /// Given to merchants to verify bayar's signatures.
    pub public_key: PublicKey,
    /// MACs access tokens.
    pub token_key: TokenKey,
}

/// Gateway key material as stored.
pub(crate) struct StoredGatewayKeys {
    pub private_key_pem: Secret<String>,
    pub token_key: Secret<Vec<u8>>,
}

impl StoredGatewayKeys {
    /// Fresh key material for a new installation.
    pub(crate) fn generate() -> Result<Self, bayar_snap::KeyError> {
        let private_key = PrivateKey::generate()?;
        let mut token_key = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut token_key);
        Ok(Self {
            private_key_pem: Secret::new(private_key.to_pkcs8_pem()),
            token_key: Secret::new(token_key),
        })
    }

    /// Parses the stored form into usable keys.
    pub(crate) fn load(&self) -> Result<GatewayKeys, bayar_snap::KeyError> {
        let private_key = PrivateKey::from_pem(self.private_key_pem.expose())?;
        let public_key = private_key.public_key();
        Ok(GatewayKeys {
            private_key,
            public_key,
            token_key: TokenKey::from_bytes(self.token_key.expose()),
        })
    }
}
