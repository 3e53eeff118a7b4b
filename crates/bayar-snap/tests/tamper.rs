//! Tampered, malformed and hostile signatures must fail cleanly, never panic.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bayar_snap::sign::{
    hmac_sign, hmac_verify, sign_asymmetric, sign_symmetric, verify_asymmetric, verify_symmetric,
    verify_token,
};
use bayar_snap::{Canon, PrivateKey, PublicKey, SignatureError};

const PRIVATE_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/vectors/midtrans_demo_private_pkcs8.pem"
));

/// The UAT suite's placeholder `X-SIGNATURE` (64 hex characters, dana.md §3.1).
const HEX_PLACEHOLDER: &str = "85be817c55b2c135157c7e89f52499bf0c25ad6eeebe04a986e8c862561b19a5";

const BODY: &[u8] =
    br#"{"partnerReferenceNo":"INV-1","amount":{"value":"10000.00","currency":"IDR"}}"#;
const TS: &str = "2024-05-02T14:43:08+07:00";

fn demo() -> (PrivateKey, PublicKey) {
    let key = PrivateKey::from_pem(PRIVATE_PEM).unwrap();
    let public = key.public_key();
    (key, public)
}

/// Flips one bit in every byte position in turn, re-encoding as valid base64.
fn flipped_variants(sig_b64: &str) -> Vec<String> {
    let bytes = STANDARD.decode(sig_b64).unwrap();
    (0..bytes.len())
        .map(|i| {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            STANDARD.encode(b)
        })
        .collect()
}

#[test]
fn flipped_hmac_signature_fails() {
    let sig = sign_symmetric(
        b"secret",
        "POST",
        "/v1.0/debit/payment-host-to-host",
        "tok",
        BODY,
        TS,
    );
    assert_eq!(
        verify_symmetric(
            b"secret",
            "POST",
            "/v1.0/debit/payment-host-to-host",
            "tok",
            BODY,
            TS,
            &sig
        ),
        Ok(Canon::Minified)
    );
    for bad in flipped_variants(&sig) {
        assert_eq!(
            verify_symmetric(
                b"secret",
                "POST",
                "/v1.0/debit/payment-host-to-host",
                "tok",
                BODY,
                TS,
                &bad
            ),
            Err(SignatureError::Mismatch {
                tried: vec![Canon::Minified]
            })
        );
    }
}

#[test]
fn flipped_rsa_signature_fails() {
    let (key, public) = demo();
    let sig = sign_asymmetric(&key, "POST", "/v1.0/debit/notify", BODY, TS).unwrap();
    assert_eq!(
        verify_asymmetric(&public, "POST", "/v1.0/debit/notify", BODY, TS, &sig),
        Ok(Canon::Minified)
    );
    // Every 16th position keeps the test quick while covering the whole signature.
    for bad in flipped_variants(&sig).into_iter().step_by(16) {
        assert!(matches!(
            verify_asymmetric(&public, "POST", "/v1.0/debit/notify", BODY, TS, &bad),
            Err(SignatureError::Mismatch { .. })
        ));
    }
}

#[test]
fn wrong_secret_or_key_fails() {
    let sig = sign_symmetric(b"secret", "POST", "/p", "tok", BODY, TS);
    let err = verify_symmetric(b"Secret", "POST", "/p", "tok", BODY, TS, &sig).unwrap_err();
    assert_eq!(err.to_string(), "signature does not match (tried minified)");
    assert!(!err.to_string().contains(&sig));

    let (key, _) = demo();
    let other = PrivateKey::generate().unwrap().public_key();
    let sig = sign_asymmetric(&key, "POST", "/p", BODY, TS).unwrap();
    assert!(verify_asymmetric(&other, "POST", "/p", BODY, TS, &sig).is_err());
}

#[test]
fn mismatch_lists_every_form_tried() {
    let pretty = b"{ \"u\" : \"http:\\/\\/x\" }";
    let err =
        verify_symmetric(b"s", "POST", "/p", "t", pretty, TS, &hmac_sign(b"s", "x")).unwrap_err();
    assert_eq!(
        err,
        SignatureError::Mismatch {
            tried: vec![Canon::Minified, Canon::Raw, Canon::Reserialized]
        }
    );
    assert_eq!(
        err.to_string(),
        "signature does not match (tried minified, raw, reserialized)"
    );
}

#[test]
fn reserialized_form_matches_when_sender_escaped_differently() {
    // PHP-style sender: signs JSON with `/` unescaped but sends `\/`.
    let signed = br#"{"redirectUrl":"https://merchant.example/return"}"#;
    let sent = br#"{"redirectUrl":"https:\/\/merchant.example\/return"}"#;
    let sig = sign_symmetric(b"s", "POST", "/p", "t", signed, TS);
    assert_eq!(
        verify_symmetric(b"s", "POST", "/p", "t", sent, TS, &sig),
        Ok(Canon::Reserialized)
    );
    let (key, public) = demo();
    let sig = sign_asymmetric(&key, "POST", "/p", signed, TS).unwrap();
    assert_eq!(
        verify_asymmetric(&public, "POST", "/p", sent, TS, &sig),
        Ok(Canon::Reserialized)
    );
}

#[test]
fn raw_form_matches_when_sender_signed_whitespace() {
    // A sender that hashed its pretty-printed bytes verbatim.
    let sent = b"{ \"a\": 1 }";
    let sts = bayar_snap::sign::symmetric_string_to_sign("POST", "/p", "t", sent, TS);
    let sig = hmac_sign(b"s", &sts);
    assert_eq!(
        verify_symmetric(b"s", "POST", "/p", "t", sent, TS, &sig),
        Ok(Canon::Raw)
    );
}

#[test]
fn hex_placeholder_and_garbage_are_malformed() {
    let (_, public) = demo();
    let garbage = [
        HEX_PLACEHOLDER,
        "",
        "   ",
        "not base64!",
        "====",
        "a",
        "é",
        "\u{0}",
        "AAAA",
    ];
    for sig in garbage {
        assert_eq!(
            verify_symmetric(b"s", "POST", "/p", "t", BODY, TS, sig),
            Err(SignatureError::Malformed),
            "{sig:?}"
        );
        assert_eq!(
            verify_asymmetric(&public, "POST", "/p", BODY, TS, sig),
            Err(SignatureError::Malformed),
            "{sig:?}"
        );
        assert_eq!(
            verify_token(&public, "client", TS, sig),
            Err(SignatureError::Malformed)
        );
        assert!(!hmac_verify(b"s", "x", sig));
        assert!(!public.verify(b"x", sig));
    }
    let huge = "A".repeat(1 << 20);
    assert_eq!(
        verify_symmetric(b"s", "POST", "/p", "t", BODY, TS, &huge),
        Err(SignatureError::Malformed)
    );
    assert!(!public.verify(b"x", &huge));
    assert_eq!(
        SignatureError::Malformed.to_string(),
        "signature is not standard base64 of the expected length"
    );
}

#[test]
fn hex_encoded_hmac_is_not_accepted() {
    // DOKU's docs show hex; the SDKs send base64. A hex HMAC must not verify.
    let sts = bayar_snap::sign::symmetric_string_to_sign("POST", "/p", "t", BODY, TS);
    let raw = STANDARD.decode(hmac_sign(b"s", &sts)).unwrap();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    assert!(verify_symmetric(b"s", "POST", "/p", "t", BODY, TS, &hex).is_err());
}
