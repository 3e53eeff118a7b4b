//! RSA keys for SHA256withRSA (RSASSA-PKCS1-v1_5 with SHA-256) SNAP signatures.
//!
//! Import is deliberately lenient about the text (see the `pem` module: escaped
//! newlines, CRLF, quotes, missing armour) and about the container: private keys as
//! PKCS#8 or PKCS#1, public keys as SPKI, PKCS#1 or inside an X.509 certificate. The
//! DER type is detected by trying parsers, not by trusting the label. Import is strict
//! about the key itself: RSA only, 2048 to 8192 bits, unencrypted.
//!
//! Neither `Debug` nor any error prints key material.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    KeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaParameters,
    RsaSubjectPublicKey, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::pem::{self, Label, PemError};

/// Smallest RSA modulus accepted, in bits (SNAP mandates 2048).
const MIN_BITS: u32 = 2048;
/// Largest RSA modulus accepted, in bits (the verifier's upper bound).
const MAX_BITS: u32 = 8192;

/// Why a key could not be imported, generated or used. Never contains key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text is empty (or only whitespace and quotes).
    #[error("key text is empty")]
    Empty,
    /// The text is far longer than any RSA key.
    #[error("key text is too long to be an RSA key")]
    TooLong,
    /// The text is neither PEM nor base64 DER.
    #[error("key text is not PEM or base64 (check that the whole key was copied)")]
    NotPem,
    /// A `-----BEGIN` line without its `-----END` line.
    #[error("key text has a BEGIN line but no END line (the key looks truncated)")]
    Unterminated,
    /// An encrypted private key.
    #[error("private key is encrypted; export it without a passphrase as PKCS#8 or PKCS#1")]
    Encrypted,
    /// A container this crate cannot read (e.g. OpenSSH's own private key format).
    #[error("unsupported key format; use PEM (PKCS#8 or PKCS#1 private key, SPKI public key)")]
    UnsupportedFormat,
    /// A public key where a private key was expected, or the reverse.
    #[error("expected {expected} but got {found}")]
    WrongKind {
        /// What the caller asked for.
        expected: &'static str,
        /// What the text holds.
        found: &'static str,
    },
    /// A key for another algorithm (EC, Ed25519, DSA, RSA-PSS-only).
    #[error("not an RSA key; SNAP signatures use RSA (SHA256withRSA)")]
    NotRsa,
    /// An RSA key outside 2048 to 8192 bits.
    #[error("unsupported RSA key size; SNAP uses 2048-bit keys (2048 to 8192 bits accepted)")]
    UnsupportedSize,
    /// DER that is not a valid RSA key in any supported container.
    #[error("key data is not a valid RSA key (tried PKCS#8, PKCS#1, SPKI and X.509)")]
    Malformed,
    /// The system could not generate a key.
    #[error("RSA key generation failed")]
    Generation,
    /// The signing operation failed.
    #[error("RSA signing failed")]
    Signing,
}

impl From<PemError> for KeyError {
    fn from(e: PemError) -> KeyError {
        match e {
            PemError::Empty => KeyError::Empty,
            PemError::TooLong => KeyError::TooLong,
            PemError::Unterminated => KeyError::Unterminated,
            PemError::NotBase64 => KeyError::NotPem,
        }
    }
}

/// Maps aws-lc-rs rejections that carry a useful reason.
fn rejected(e: aws_lc_rs::error::KeyRejected) -> Option<KeyError> {
    match e.description_() {
        "TooSmall" | "TooLarge" => Some(KeyError::UnsupportedSize),
        "WrongAlgorithm" => Some(KeyError::NotRsa),
        _ => None,
    }
}

/// An RSA private key for SHA256withRSA signing.
///
/// Cloning is cheap and shares the key. `Debug` prints only the size.
#[derive(Clone)]
pub struct PrivateKey {
    pair: Arc<RsaKeyPair>,
    public: PublicKey,
}

impl PrivateKey {
    /// Generates a fresh RSA-2048 key.
    pub fn generate() -> Result<PrivateKey, KeyError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generation)?;
        PrivateKey::from_pair(pair)
    }

    /// Imports a private key from pasted text: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`) PEM, or bare base64 DER, tolerating literal `\n`,
    /// CRLF, surrounding quotes and whitespace.
    pub fn from_pem(text: &str) -> Result<PrivateKey, KeyError> {
        let decoded = pem::decode(text)?;
        match decoded.label {
            Some(Label::Encrypted) => return Err(KeyError::Encrypted),
            Some(l) if l.is_public() => {
                return Err(KeyError::WrongKind {
                    expected: "a private key",
                    found: if l == Label::Certificate {
                        "a certificate"
                    } else {
                        "a public key"
                    },
                });
            }
            _ => {}
        }
        PrivateKey::from_der(&decoded.der).map_err(|e| match (e, decoded.label) {
            (KeyError::Malformed, Some(Label::OtherPrivate)) => {
                if decoded.der.starts_with(b"openssh-key-v1") {
                    KeyError::UnsupportedFormat
                } else {
                    KeyError::NotRsa
                }
            }
            (e, _) => e,
        })
    }

    /// Imports a DER private key, PKCS#8 or PKCS#1 (detected by trying both).
    pub fn from_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let pkcs8 = match RsaKeyPair::from_pkcs8(der) {
            Ok(pair) => return PrivateKey::from_pair(pair),
            Err(e) => e,
        };
        let pkcs1 = match RsaKeyPair::from_der(der) {
            Ok(pair) => return PrivateKey::from_pair(pair),
            Err(e) => e,
        };
        // Explain the failure from the structure's shape, most specific first.
        match der::shape(der) {
            Some(der::Shape::Pkcs8 { rsa: false }) => return Err(KeyError::NotRsa),
            Some(der::Shape::Spki { .. }) => {
                return Err(KeyError::WrongKind {
                    expected: "a private key",
                    found: "a public key",
                });
            }
            Some(der::Shape::Certificate { .. }) => {
                return Err(KeyError::WrongKind {
                    expected: "a private key",
                    found: "a certificate",
                });
            }
            _ => {}
        }
        if let Some(e) = rejected(pkcs8).or_else(|| rejected(pkcs1)) {
            return Err(e);
        }
        if RsaSubjectPublicKey::from_der(der).is_ok() {
            return Err(KeyError::WrongKind {
                expected: "a private key",
                found: "a public key",
            });
        }
        Err(KeyError::Malformed)
    }

    fn from_pair(pair: RsaKeyPair) -> Result<PrivateKey, KeyError> {
        let public = PublicKey::from_rsa(pair.public_key())?;
        // Proves up front that export works, so `to_pkcs8_pem` cannot fail later.
        pair.as_der().map_err(|_| KeyError::Malformed)?;
        Ok(PrivateKey {
            pair: Arc::new(pair),
            public,
        })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.public.bits
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// Exports the key as PKCS#8 PEM (`BEGIN PRIVATE KEY`, 64-character lines).
    pub fn to_pkcs8_pem(&self) -> String {
        match self.pair.as_der() {
            Ok(der) => pem_armour("PRIVATE KEY", der.as_ref()),
            // Unreachable: `from_pair` checked that this key exports.
            Err(_) => String::new(),
        }
    }

    /// Signs `message` with SHA256withRSA (PKCS#1 v1.5) and returns standard padded
    /// base64, the `X-SIGNATURE` form. Deterministic: the same input gives the same
    /// signature.
    pub fn sign(&self, message: &[u8]) -> Result<String, KeyError> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
            .map_err(|_| KeyError::Signing)?;
        Ok(STANDARD.encode(sig))
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(RSA-{}, redacted)", self.public.bits)
    }
}

/// An RSA public key (stored as SPKI DER) for verifying SHA256withRSA signatures.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    spki: Vec<u8>,
    bits: u32,
}

impl PublicKey {
    /// Imports a public key from pasted text: SPKI (`BEGIN PUBLIC KEY`), PKCS#1
    /// (`BEGIN RSA PUBLIC KEY`) or an X.509 certificate (`BEGIN CERTIFICATE`, its key
    /// is used; the certificate itself is not validated), or bare base64 DER, with the
    /// same text leniency as [`PrivateKey::from_pem`].
    pub fn from_pem(text: &str) -> Result<PublicKey, KeyError> {
        let decoded = pem::decode(text)?;
        match decoded.label {
            // Refuse rather than derive: a private key pasted into a public-key field
            // is a leak worth surfacing.
            Some(l) if l.is_private() => Err(KeyError::WrongKind {
                expected: "a public key",
                found: "a private key",
            }),
            _ => PublicKey::from_der(&decoded.der),
        }
    }

    /// Imports a DER public key: SPKI, PKCS#1 `RSAPublicKey`, or an X.509 certificate.
    pub fn from_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let shape = der::shape(der);
        let key_der = match shape {
            Some(der::Shape::Certificate { spki }) => spki,
            _ => der,
        };
        match RsaSubjectPublicKey::from_der(key_der) {
            Ok(key) => PublicKey::from_rsa(&key),
            Err(e) => Err(match (shape, der::shape(key_der)) {
                (_, Some(der::Shape::Spki { rsa: false })) => KeyError::NotRsa,
                (Some(der::Shape::Pkcs8 { .. }), _) => KeyError::WrongKind {
                    expected: "a public key",
                    found: "a private key",
                },
                _ if RsaKeyPair::from_der(der).is_ok() => KeyError::WrongKind {
                    expected: "a public key",
                    found: "a private key",
                },
                _ => rejected(e).unwrap_or(KeyError::Malformed),
            }),
        }
    }

    fn from_rsa(key: &RsaSubjectPublicKey) -> Result<PublicKey, KeyError> {
        // `as_ref` is the PKCS#1 `RSAPublicKey`, which is what the size query takes.
        let bits =
            RsaParameters::public_modulus_len(key.as_ref()).map_err(|_| KeyError::Malformed)?;
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(KeyError::UnsupportedSize);
        }
        let spki = key.as_der().map_err(|_| KeyError::Malformed)?;
        Ok(PublicKey {
            spki: spki.as_ref().to_vec(),
            bits,
        })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The SubjectPublicKeyInfo DER bytes.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// Lower-case hex SHA-256 of the SPKI DER, for logs and key pinning.
    pub fn fingerprint_sha256(&self) -> String {
        crate::canon::body_hash_hex(&self.spki)
    }

    /// Exports the key as SPKI PEM (`BEGIN PUBLIC KEY`, 64-character lines).
    pub fn to_pem(&self) -> String {
        pem_armour("PUBLIC KEY", &self.spki)
    }

    /// Whether `signature_b64` (standard base64) is a valid SHA256withRSA signature of
    /// `message`. False on bad base64 or any other problem; never panics.
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        crate::sign::decode_signature(signature_b64)
            .is_some_and(|sig| self.verify_bytes(message, &sig))
    }

    /// Whether `signature` (raw bytes) is a valid SHA256withRSA signature of `message`.
    pub fn verify_bytes(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.spki)
            .verify(message, signature)
            .is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fp = self.fingerprint_sha256();
        write!(
            f,
            "PublicKey(RSA-{}, sha256:{})",
            self.bits,
            fp.get(..16).unwrap_or(&fp)
        )
    }
}

/// Wraps DER in PEM armour with 64-character base64 lines.
fn pem_armour(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len().saturating_add(b64.len() / 64 + 80));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Base64 output is ASCII, so 64-byte chunks are valid UTF-8.
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Just enough DER reading to tell key containers apart and to find the key inside a
/// certificate. Every read is bounds-checked; malformed input yields `None`.
mod der {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const OID: u8 = 0x06;
    const OCTET_STRING: u8 = 0x04;
    const BIT_STRING: u8 = 0x03;
    const CONTEXT_0: u8 = 0xa0;
    /// rsaEncryption, 1.2.840.113549.1.1.1.
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

    /// The container a DER blob looks like.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Shape<'a> {
        /// PKCS#8 `PrivateKeyInfo`; `rsa` if its algorithm is rsaEncryption.
        Pkcs8 { rsa: bool },
        /// `SubjectPublicKeyInfo`; `rsa` if its algorithm is rsaEncryption.
        Spki { rsa: bool },
        /// X.509 certificate, with its embedded SPKI element.
        Certificate { spki: &'a [u8] },
    }

    /// One element: tag, contents, the whole element, and what follows it.
    struct Tlv<'a> {
        tag: u8,
        content: &'a [u8],
        whole: &'a [u8],
        rest: &'a [u8],
    }

    fn read(input: &[u8]) -> Option<Tlv<'_>> {
        let (&tag, after_tag) = input.split_first()?;
        let (&first, after_len0) = after_tag.split_first()?;
        let (len, body) = if first < 0x80 {
            (usize::from(first), after_len0)
        } else {
            let n = usize::from(first & 0x7f);
            // Four length bytes already allow 4 GiB; keys are a few KiB.
            if n == 0 || n > 4 {
                return None;
            }
            let (len_bytes, body) = after_len0.split_at_checked(n)?;
            let len = len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, body)
        };
        let (content, rest) = body.split_at_checked(len)?;
        let header_len = input.len().checked_sub(body.len())?;
        let whole = input.get(..header_len.checked_add(len)?)?;
        Some(Tlv {
            tag,
            content,
            whole,
            rest,
        })
    }

    fn expect(input: &[u8], tag: u8) -> Option<Tlv<'_>> {
        read(input).filter(|t| t.tag == tag)
    }

    /// Whether an `AlgorithmIdentifier` SEQUENCE names rsaEncryption; `None` if it is
    /// not an AlgorithmIdentifier at all.
    fn algorithm_is_rsa(alg: &Tlv<'_>) -> Option<bool> {
        if alg.tag != SEQUENCE {
            return None;
        }
        let oid = expect(alg.content, OID)?;
        Some(oid.content == RSA_ENCRYPTION)
    }

    pub(super) fn shape(der: &[u8]) -> Option<Shape<'_>> {
        let outer = expect(der, SEQUENCE)?;
        let first = read(outer.content)?;
        match first.tag {
            // PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm, OCTET STRING }
            INTEGER => {
                let alg = read(first.rest)?;
                let rsa = algorithm_is_rsa(&alg)?;
                expect(alg.rest, OCTET_STRING)?;
                Some(Shape::Pkcs8 { rsa })
            }
            SEQUENCE => {
                // SubjectPublicKeyInfo ::= SEQUENCE { algorithm, BIT STRING }
                if let Some(rsa) = algorithm_is_rsa(&first)
                    && expect(first.rest, BIT_STRING).is_some()
                {
                    return Some(Shape::Spki { rsa });
                }
                // Certificate ::= SEQUENCE { tbsCertificate, ... } where
                // tbsCertificate ::= SEQUENCE { [0] version OPTIONAL, serial,
                //   signature, issuer, validity, subject, subjectPublicKeyInfo, ... }
                let mut field = read(first.content)?;
                if field.tag == CONTEXT_0 {
                    field = read(field.rest)?;
                }
                if field.tag != INTEGER {
                    return None;
                }
                let signature = expect(field.rest, SEQUENCE)?;
                let issuer = expect(signature.rest, SEQUENCE)?;
                let validity = expect(issuer.rest, SEQUENCE)?;
                let subject = expect(validity.rest, SEQUENCE)?;
                let spki = expect(subject.rest, SEQUENCE)?;
                Some(Shape::Certificate { spki: spki.whole })
            }
            _ => None,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_lengths_safely() {
            assert!(read(&[]).is_none());
            assert!(read(&[0x30]).is_none());
            assert!(read(&[0x30, 0x85, 0, 0, 0, 0, 1]).is_none());
            assert!(read(&[0x30, 0x82, 0xff]).is_none());
            assert!(read(&[0x30, 0x05, 1, 2]).is_none());
            let t = read(&[0x30, 0x81, 0x01, 0x00, 0xaa]).unwrap();
            assert_eq!(
                (t.tag, t.content, t.whole, t.rest),
                (0x30, &[0u8][..], &[0x30, 0x81, 0x01, 0x00][..], &[0xaa][..])
            );
        }

        #[test]
        fn shapes() {
            // SPKI with id-ecPublicKey.
            let ec = [
                0x30, 0x0e, 0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x03,
                0x01, 0x00,
            ];
            assert_eq!(shape(&ec), Some(Shape::Spki { rsa: false }));
            assert_eq!(shape(b"garbage"), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_round_trips() {
        let key = PrivateKey::generate().unwrap();
        assert_eq!(key.bits(), 2048);
        assert_eq!(format!("{key:?}"), "PrivateKey(RSA-2048, redacted)");
        let pem = key.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let again = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let public = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
        assert_eq!(public, key.public_key());
        let sig = key.sign(b"hello").unwrap();
        assert!(public.verify(b"hello", &sig));
        assert!(!public.verify(b"hellO", &sig));
        assert!(!public.verify(b"hello", "***"));
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(PrivateKey::from_pem("").err(), Some(KeyError::Empty));
        assert_eq!(
            PrivateKey::from_pem("hello world!").err(),
            Some(KeyError::NotPem)
        );
        assert_eq!(
            PrivateKey::from_pem("AAAA").err(),
            Some(KeyError::Malformed)
        );
        assert_eq!(PublicKey::from_pem("AAAA").err(), Some(KeyError::Malformed));
        assert_eq!(PublicKey::from_der(&[]).err(), Some(KeyError::Malformed));
        assert_eq!(
            PrivateKey::from_der(&[0x30]).err(),
            Some(KeyError::Malformed)
        );
        assert_eq!(
            PrivateKey::from_pem(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----"
            )
            .err(),
            Some(KeyError::Encrypted)
        );
    }
}
