//! Lenient PEM decoding of key text as merchants paste it.
//!
//! Keys arrive from dashboards, environment variables and JSON configs, so the text
//! may have literal `\n` escapes, CRLF line ends, surrounding quotes or whitespace, a
//! missing header and footer, or everything on one line. This module undoes those and
//! returns the DER bytes plus the block label, if any; deciding what the DER holds is
//! left to [`crate::keys`]. Nothing here echoes the input in an error.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Standard base64 that tolerates missing padding (some tools strip it).
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Upper bound on pasted key text; an 8192-bit private key PEM is about 6.5 KiB.
pub(crate) const MAX_KEY_TEXT_LEN: usize = 64 * 1024;

/// The PEM block label, classified; `None` in [`Decoded`] means no header was present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Label {
    /// `PRIVATE KEY` (PKCS#8).
    Pkcs8Private,
    /// `RSA PRIVATE KEY` (PKCS#1).
    RsaPrivate,
    /// `ENCRYPTED PRIVATE KEY`, or a legacy block with `Proc-Type: 4,ENCRYPTED`.
    Encrypted,
    /// `PUBLIC KEY` (SPKI).
    Public,
    /// `RSA PUBLIC KEY` (PKCS#1).
    RsaPublic,
    /// `CERTIFICATE` (X.509).
    Certificate,
    /// Another private key type (`EC PRIVATE KEY`, `OPENSSH PRIVATE KEY`, ...).
    OtherPrivate,
    /// Any other label.
    Other,
}

impl Label {
    fn classify(label: &str) -> Label {
        match label {
            "PRIVATE KEY" => Label::Pkcs8Private,
            "RSA PRIVATE KEY" => Label::RsaPrivate,
            "ENCRYPTED PRIVATE KEY" => Label::Encrypted,
            "PUBLIC KEY" => Label::Public,
            "RSA PUBLIC KEY" => Label::RsaPublic,
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => Label::Certificate,
            l if l.ends_with("PRIVATE KEY") => Label::OtherPrivate,
            _ => Label::Other,
        }
    }

    /// Whether the label names some kind of private key.
    pub(crate) fn is_private(self) -> bool {
        matches!(
            self,
            Label::Pkcs8Private | Label::RsaPrivate | Label::Encrypted | Label::OtherPrivate
        )
    }

    /// Whether the label names a public key or certificate.
    pub(crate) fn is_public(self) -> bool {
        matches!(self, Label::Public | Label::RsaPublic | Label::Certificate)
    }
}

/// Decoded key text.
pub(crate) struct Decoded {
    /// The block label, if the text had a `-----BEGIN ...-----` line.
    pub(crate) label: Option<Label>,
    /// The DER bytes.
    pub(crate) der: Vec<u8>,
}

/// Why key text could not be decoded to DER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PemError {
    /// Nothing but whitespace and quotes.
    Empty,
    /// Longer than [`MAX_KEY_TEXT_LEN`].
    TooLong,
    /// A `BEGIN` line without a matching `END` line.
    Unterminated,
    /// The body is not base64.
    NotBase64,
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// Decodes pasted key text (PEM with or without armour) to DER.
pub(crate) fn decode(text: &str) -> Result<Decoded, PemError> {
    if text.len() > MAX_KEY_TEXT_LEN {
        return Err(PemError::TooLong);
    }
    let text = normalise(text);
    let text = text.as_str();
    if text.is_empty() {
        return Err(PemError::Empty);
    }
    let (label, body) = match text.find(BEGIN) {
        Some(start) => {
            let after_begin = text.get(start + BEGIN.len()..).unwrap_or_default();
            let label_end = after_begin.find(DASHES).ok_or(PemError::Unterminated)?;
            let label_text = after_begin.get(..label_end).unwrap_or_default().trim();
            let rest = after_begin
                .get(label_end + DASHES.len()..)
                .unwrap_or_default();
            let body_end = rest.find(END).ok_or(PemError::Unterminated)?;
            let body = rest.get(..body_end).unwrap_or_default();
            let (encrypted, body) = strip_rfc1421_headers(body);
            let label = if encrypted {
                Label::Encrypted
            } else {
                Label::classify(label_text)
            };
            if label == Label::Encrypted {
                // Nothing to decode: the caller rejects encrypted keys by label.
                return Ok(Decoded {
                    label: Some(label),
                    der: Vec::new(),
                });
            }
            (Some(label), body)
        }
        None => (None, text),
    };
    // Backslashes are never base64; dropping them also repairs double-escaped
    // newlines (a literal backslash-backslash-n) whose first backslash survived
    // `normalise`.
    let compact: Vec<u8> = body
        .bytes()
        .filter(|&b| !b.is_ascii_whitespace() && b != b'\\')
        .collect();
    if compact.is_empty() {
        return Err(PemError::Empty);
    }
    let der = LENIENT_B64
        .decode(&compact)
        .map_err(|_| PemError::NotBase64)?;
    if der.is_empty() {
        return Err(PemError::Empty);
    }
    Ok(Decoded { label, der })
}

/// Undoes the damage copy-paste and config formats do to key text.
fn normalise(text: &str) -> String {
    let mut t = text.trim();
    // Quotes from JSON or shell configs, possibly nested ("'...'"), with whitespace
    // inside them.
    loop {
        let stripped = t
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .or_else(|| t.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')));
        match stripped {
            Some(s) => t = s.trim(),
            None => break,
        }
    }
    // Literal escape sequences from JSON or `.env` files, then CRLF.
    t.replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\\r", "\n")
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_owned()
}

/// Drops RFC 1421 header lines (`Proc-Type: ...`, `DEK-Info: ...`) from a legacy PEM
/// body and reports whether they mark the key as encrypted.
fn strip_rfc1421_headers(body: &str) -> (bool, &str) {
    if !body.contains(':') {
        return (false, body);
    }
    let encrypted = body.contains("ENCRYPTED");
    // Headers end at the first blank line; without one, everything after the last
    // header line is the body.
    if let Some(pos) = body.find("\n\n") {
        return (encrypted, body.get(pos..).unwrap_or_default());
    }
    let after_last_header = body
        .match_indices('\n')
        .map(|(i, _)| i)
        .find(|&i| !body.get(i..).unwrap_or_default().trim_start().contains(':'))
        .unwrap_or(body.len());
    (encrypted, body.get(after_last_header..).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_variants() {
        let der = b"\x30\x03\x02\x01\x00";
        let b64 = "MAMCAQA=";
        for text in [
            format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n"),
            format!("-----BEGIN PUBLIC KEY-----\r\n{b64}\r\n-----END PUBLIC KEY-----\r\n"),
            format!("\"-----BEGIN PUBLIC KEY-----\\n{b64}\\n-----END PUBLIC KEY-----\\n\""),
            format!("-----BEGIN PUBLIC KEY-----{b64}-----END PUBLIC KEY-----"),
            format!("  '{b64}'  "),
            "MAMCAQA".to_owned(),
            format!("-----BEGIN PUBLIC KEY-----\\\\n{b64}\\\\n-----END PUBLIC KEY-----"),
        ] {
            let d = decode(&text).unwrap();
            assert_eq!(d.der, der, "{text:?}");
        }
        assert_eq!(
            decode(&format!(
                "-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----"
            ))
            .unwrap()
            .label,
            Some(Label::Public)
        );
        assert_eq!(decode("MAMCAQA=").unwrap().label, None);
    }

    #[test]
    fn errors() {
        assert_eq!(decode("").err(), Some(PemError::Empty));
        assert_eq!(decode(" \"\" ").err(), Some(PemError::Empty));
        assert_eq!(
            decode("-----BEGIN PUBLIC KEY-----\nMAMCAQA=").err(),
            Some(PemError::Unterminated)
        );
        assert_eq!(decode("not base64!").err(), Some(PemError::NotBase64));
        assert_eq!(
            decode(&"A".repeat(MAX_KEY_TEXT_LEN + 1)).err(),
            Some(PemError::TooLong)
        );
    }

    #[test]
    fn legacy_encrypted_headers() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nMAMCAQA=\n-----END RSA PRIVATE KEY-----";
        let d = decode(text).unwrap();
        assert_eq!(d.label, Some(Label::Encrypted));
    }
}
