//! Merchants: who they are, how they authenticate, where they want to be told.

use std::fmt;

use bayar_snap::PublicKey;
use chrono::{DateTime, Utc};
use rand::Rng;
use rand::distributions::Alphanumeric;
use thiserror::Error;
use url::Url;

use crate::ids::MerchantId;
use crate::payment::Face;
use crate::secret::Secret;

/// Why a merchant attribute was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MerchantInputError {
    /// The name is empty or too long.
    #[error("merchant name must be 1 to 100 characters")]
    Name,
    /// A client id must be 1 to 36 letters, digits, `-` or `_`.
    #[error("client id must be 1 to 36 characters of A-Z, a-z, 0-9, '-' or '_'")]
    ClientId,
    /// A notification URL must be an absolute http(s) URL.
    #[error("notification URL must be an absolute http:// or https:// URL")]
    NotifyUrl,
}

/// A merchant's display name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantName(String);

impl MerchantName {
    /// Parses a name: trimmed, 1 to 100 characters.
    pub fn parse(name: &str) -> Result<Self, MerchantInputError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(MerchantInputError::Name);
        }
        Ok(Self(name.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id a merchant presents in `X-PARTNER-ID` / `X-CLIENT-KEY`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// Parses a client id as it arrives in a header.
    pub fn parse(s: &str) -> Result<Self, MerchantInputError> {
        let ok = !s.is_empty()
            && s.len() <= 36
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(MerchantInputError::ClientId)
        }
    }

    /// A fresh client id, `BYR-` and 20 digits (DOKU-like, accepted by every SDK).
    pub fn generate() -> Self {
        let mut rng = rand::thread_rng();
        let digits: String = (0..20)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect();
        Self(format!("BYR-{digits}"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

/// Where bayar posts a merchant's notifications.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyUrl(Url);

impl NotifyUrl {
    /// Parses an absolute http(s) URL.
    pub fn parse(s: &str) -> Result<Self, MerchantInputError> {
        let url = Url::parse(s).map_err(|_| MerchantInputError::NotifyUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(MerchantInputError::NotifyUrl);
        }
        Ok(Self(url))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A fresh client secret (the HMAC key of SNAP symmetric signatures): `SK-` and 40 alphanumerics.
pub fn generate_client_secret() -> Secret<String> {
    let body: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    Secret::new(format!("SK-{body}"))
}

/// A merchant as the core knows it.
#[derive(Clone, Debug)]
pub struct Merchant {
    /// bayar's id of the merchant.
    pub id: MerchantId,
    /// Display name.
    pub name: MerchantName,
    /// Presented in `X-PARTNER-ID` / `X-CLIENT-KEY`.
    pub client_id: ClientId,
    /// The HMAC key of SNAP symmetric signatures.
    pub client_secret: Secret<String>,
    /// Verifies the merchant's RSA signatures (token requests, DANA-style calls).
    pub public_key: PublicKey,
    /// Where notifications go, if the merchant set one.
    pub notify_url: Option<NotifyUrl>,
    /// Per-face notification URLs and the default return URL.
    pub urls: MerchantUrls,
    /// When the merchant was created.
    pub created_at: DateTime<Utc>,
}

impl Merchant {
    /// Where notifications about payments made through `face` go: the face's own URL when
    /// the merchant set one, else the default [`Merchant::notify_url`]. (The Stripe-style face
    /// sends to webhook endpoints instead.)
    pub fn notify_url_for(&self, face: Face) -> Option<&NotifyUrl> {
        let own = match face {
            Face::Doku => self.urls.doku_notify.as_ref(),
            Face::Dana => self.urls.dana_notify.as_ref(),
            Face::Stripe => None,
        };
        own.or(self.notify_url.as_ref())
    }
}

/// The URLs a merchant sets beyond the default notification URL (in the portal's settings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MerchantUrls {
    /// Notifications about DOKU-style payments, instead of the default.
    pub doku_notify: Option<NotifyUrl>,
    /// DANA finish notifies for orders that named no URL, instead of the default.
    pub dana_notify: Option<NotifyUrl>,
    /// Where the hosted wallet page sends the customer after a payment whose request named no
    /// return URL.
    pub return_url: Option<NotifyUrl>,
}

/// What it takes to create a merchant.
#[derive(Clone, Debug)]
pub struct NewMerchant {
    /// Display name.
    pub name: MerchantName,
    /// Where notifications go.
    pub notify_url: Option<NotifyUrl>,
    /// The merchant's own public key; when absent bayar generates a key pair for them.
    pub public_key: Option<PublicKey>,
}

/// A merchant just created, with what is shown once and never again.
#[derive(Debug)]
pub struct CreatedMerchant {
    /// The stored merchant (its secret included, for the one-time display).
    pub merchant: Merchant,
    /// The merchant's private key in PKCS#8 PEM, when bayar generated the pair.
    pub private_key_pem: Option<Secret<String>>,
    /// The merchant's secret API key for the Stripe-style API (only its hash is stored).
    pub secret_key: crate::api_key::ApiKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_face_without_its_own_notify_url_uses_the_default() {
        let url = |u: &str| Some(NotifyUrl::parse(u).unwrap());
        let mut merchant = Merchant {
            id: MerchantId::generate(),
            name: MerchantName::parse("Toko URL").unwrap(),
            client_id: ClientId::generate(),
            client_secret: generate_client_secret(),
            public_key: bayar_snap::PrivateKey::generate().unwrap().public_key(),
            notify_url: url("https://shop.example/notify"),
            urls: MerchantUrls {
                doku_notify: url("https://shop.example/doku"),
                ..MerchantUrls::default()
            },
            created_at: Utc::now(),
        };
        fn for_face(m: &Merchant, face: Face) -> Option<&str> {
            m.notify_url_for(face).map(NotifyUrl::as_str)
        }
        assert_eq!(
            for_face(&merchant, Face::Doku),
            Some("https://shop.example/doku")
        );
        assert_eq!(
            for_face(&merchant, Face::Dana),
            Some("https://shop.example/notify")
        );
        assert_eq!(
            for_face(&merchant, Face::Stripe),
            Some("https://shop.example/notify")
        );
        merchant.notify_url = None;
        assert_eq!(for_face(&merchant, Face::Dana), None);
        assert_eq!(
            for_face(&merchant, Face::Doku),
            Some("https://shop.example/doku")
        );
    }

    #[test]
    fn client_ids() {
        let id = ClientId::generate();
        assert_eq!(id.as_str().len(), 24);
        assert_eq!(ClientId::parse(id.as_str()), Ok(id));
        assert!(ClientId::parse("BRN-0001-1234567890").is_ok());
        assert_eq!(ClientId::parse(""), Err(MerchantInputError::ClientId));
        assert_eq!(ClientId::parse("a b"), Err(MerchantInputError::ClientId));
        assert_eq!(
            ClientId::parse(&"x".repeat(37)),
            Err(MerchantInputError::ClientId)
        );
    }

    #[test]
    fn notify_urls() {
        assert!(NotifyUrl::parse("https://shop.example/notify").is_ok());
        assert!(NotifyUrl::parse("http://127.0.0.1:9000/v1.0/debit/notify").is_ok());
        assert_eq!(
            NotifyUrl::parse("ftp://x/y"),
            Err(MerchantInputError::NotifyUrl)
        );
        assert_eq!(
            NotifyUrl::parse("/relative"),
            Err(MerchantInputError::NotifyUrl)
        );
    }

    #[test]
    fn secrets_are_fresh_and_long() {
        let a = generate_client_secret();
        let b = generate_client_secret();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
    }

    #[test]
    fn names() {
        assert_eq!(
            MerchantName::parse("  Toko Maju ").unwrap().as_str(),
            "Toko Maju"
        );
        assert_eq!(MerchantName::parse(" "), Err(MerchantInputError::Name));
    }
}
