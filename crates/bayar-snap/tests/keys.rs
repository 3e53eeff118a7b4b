//! Key import leniency and rejection: the forms merchants actually paste.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bayar_snap::{KeyError, PrivateKey, PublicKey};

const PRIVATE_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/vectors/midtrans_demo_private_pkcs8.pem"
));
const PUBLIC_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/vectors/midtrans_demo_public.pem"
));

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $name
        ))
    };
}

/// V1's published signature: proves a parsed key is the demo key, not just some key.
const V1_STS: &[u8] = b"G1234325-SNAP|2024-03-01T08:27:49.024Z";
const V1_SIG: &str = "WzW49tYIgKIBmBi/gVBHGLAkhEaZlXM11zcZxAiyHji6TLPjPbwLu3Z45it25AIeG0XDItcdTSkds47zFEMh6IP0PXPIP1+Ey4RmX/o2fuYRF/xBHvfvKnMmANMTS1axsXBSW3EHqYpbVrkCcqNnB3u+wu63us9WIhRZaWgxgQ2PJLaiVHIwgu9u7jxkWX7Bg4rerZH3RKdQfIJAAJsSN13efR7VdSAyzU7QaKjgislxrLqmesYNJkbD03XLjHdo6YWuzAVV7xdZRpLiGkIAkW7luXTBZYBO+4oENZAPQYzrLeN1qRY1Sr7BgLONCA2QA26BB6SYW4R7qofS9+RyOQ==";

fn assert_demo_private(text: &str, what: &str) {
    let key = PrivateKey::from_pem(text).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(key.sign(V1_STS).unwrap(), V1_SIG, "{what}");
}

fn assert_demo_public(text: &str, what: &str) {
    let key = PublicKey::from_pem(text).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(key.verify(V1_STS, V1_SIG), "{what}");
    assert_eq!(key.to_pem(), PUBLIC_PEM.replace("\r\n", "\n"), "{what}");
}

/// The base64 body of a PEM block, lines joined.
fn body_of(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
}

#[test]
fn private_key_text_variants() {
    let crlf = PRIVATE_PEM.replace('\n', "\r\n");
    let escaped = PRIVATE_PEM.trim_end().replace('\n', "\\n");
    let quoted_escaped = format!("\"{escaped}\\n\"");
    let one_line_armour = PRIVATE_PEM.replace('\n', "");
    let body_lines = PRIVATE_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("\n");
    let body_one_line = body_of(PRIVATE_PEM);
    let indented = format!("\n\t  {PRIVATE_PEM}  \n");
    for (text, what) in [
        (PRIVATE_PEM.to_owned(), "PKCS#8 file"),
        (crlf, "CRLF"),
        (escaped, "literal \\n"),
        (quoted_escaped, "quoted with literal \\n"),
        (one_line_armour, "armour on one line"),
        (body_lines, "no header, many lines"),
        (body_one_line, "no header, one line"),
        (indented, "surrounding whitespace"),
        (
            fixture!("midtrans_demo_private_pkcs1.pem").to_owned(),
            "PKCS#1",
        ),
        (
            fixture!("midtrans_demo_private_pkcs1.pem").replace('\n', "\\n"),
            "PKCS#1 with literal \\n",
        ),
        (
            body_of(fixture!("midtrans_demo_private_pkcs1.pem")),
            "PKCS#1 bare body",
        ),
    ] {
        assert_demo_private(&text, what);
    }
}

#[test]
fn private_key_der_and_export() {
    let der = STANDARD.decode(body_of(PRIVATE_PEM)).unwrap();
    let key = PrivateKey::from_der(&der).unwrap();
    assert_eq!(key.sign(V1_STS).unwrap(), V1_SIG);
    let pkcs1 = STANDARD
        .decode(body_of(fixture!("midtrans_demo_private_pkcs1.pem")))
        .unwrap();
    let from_pkcs1 = PrivateKey::from_der(&pkcs1).unwrap();
    // Export of a PKCS#1 import is PKCS#8 and re-imports to the same key.
    let exported = from_pkcs1.to_pkcs8_pem();
    assert!(exported.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(exported.ends_with("-----END PRIVATE KEY-----\n"));
    assert_demo_private(&exported, "re-imported export");
}

#[test]
fn public_key_text_variants() {
    let crlf = PUBLIC_PEM.replace('\n', "\r\n");
    let escaped = format!("'{}'", PUBLIC_PEM.replace('\n', "\\n"));
    for (text, what) in [
        (PUBLIC_PEM.to_owned(), "SPKI"),
        (crlf, "CRLF"),
        (escaped, "single-quoted literal \\n"),
        (body_of(PUBLIC_PEM), "bare SPKI body"),
        (
            fixture!("midtrans_demo_public_pkcs1.pem").to_owned(),
            "PKCS#1 RSA PUBLIC KEY",
        ),
        (
            body_of(fixture!("midtrans_demo_public_pkcs1.pem")),
            "bare PKCS#1 body",
        ),
        (
            fixture!("midtrans_demo_cert.pem").to_owned(),
            "X.509 certificate",
        ),
    ] {
        assert_demo_public(&text, what);
    }
    let der = STANDARD.decode(body_of(PUBLIC_PEM)).unwrap();
    let key = PublicKey::from_der(&der).unwrap();
    assert_eq!(key.spki_der(), der.as_slice());
}

#[test]
fn wrong_kind_is_reported() {
    let want_private = KeyError::WrongKind {
        expected: "a private key",
        found: "a public key",
    };
    let want_public = KeyError::WrongKind {
        expected: "a public key",
        found: "a private key",
    };
    assert_eq!(PrivateKey::from_pem(PUBLIC_PEM).err(), Some(want_private));
    assert_eq!(
        PrivateKey::from_pem(&body_of(PUBLIC_PEM)).err(),
        Some(want_private)
    );
    assert_eq!(
        PrivateKey::from_pem(&body_of(fixture!("midtrans_demo_public_pkcs1.pem"))).err(),
        Some(want_private)
    );
    assert_eq!(PublicKey::from_pem(PRIVATE_PEM).err(), Some(want_public));
    assert_eq!(
        PublicKey::from_pem(&body_of(PRIVATE_PEM)).err(),
        Some(want_public)
    );
    assert_eq!(
        PublicKey::from_pem(&body_of(fixture!("midtrans_demo_private_pkcs1.pem"))).err(),
        Some(want_public)
    );
    assert!(matches!(
        PrivateKey::from_pem(fixture!("midtrans_demo_cert.pem")),
        Err(KeyError::WrongKind {
            found: "a certificate",
            ..
        })
    ));
}

#[test]
fn unsupported_keys_are_rejected_with_reasons() {
    let cases: [(Result<(), KeyError>, KeyError); 9] = [
        (
            PrivateKey::from_pem(fixture!("rsa1024_pkcs1.pem")).map(drop),
            KeyError::UnsupportedSize,
        ),
        (
            PublicKey::from_pem(fixture!("rsa1024_public.pem")).map(drop),
            KeyError::UnsupportedSize,
        ),
        (
            PrivateKey::from_pem(fixture!("ec_p256.pem")).map(drop),
            KeyError::NotRsa,
        ),
        (
            PrivateKey::from_pem(fixture!("ec_p256_pkcs8.pem")).map(drop),
            KeyError::NotRsa,
        ),
        (
            PublicKey::from_pem(fixture!("ec_p256_public.pem")).map(drop),
            KeyError::NotRsa,
        ),
        (
            PrivateKey::from_pem(fixture!("ed25519.pem")).map(drop),
            KeyError::NotRsa,
        ),
        (
            PrivateKey::from_pem(fixture!("midtrans_demo_private_encrypted.pem")).map(drop),
            KeyError::Encrypted,
        ),
        (
            PrivateKey::from_pem(fixture!("midtrans_demo_private_pkcs1_encrypted.pem")).map(drop),
            KeyError::Encrypted,
        ),
        (
            PrivateKey::from_pem(
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
            )
            .map(drop),
            KeyError::UnsupportedFormat,
        ),
    ];
    for (i, (got, want)) in cases.into_iter().enumerate() {
        assert_eq!(got, Err(want), "case {i}");
    }
}

#[test]
fn garbage_gives_key_error_without_echo() {
    let truncated = &PRIVATE_PEM[..PRIVATE_PEM.len() / 2];
    let inputs = [
        "",
        "   ",
        "\"\"",
        "hello",
        "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\n@@@@\n-----END PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCVZu2WHd4z5tbe",
        truncated,
    ];
    for input in inputs {
        let private = PrivateKey::from_pem(input).expect_err(input);
        let public = PublicKey::from_pem(input).expect_err(input);
        for e in [private, public] {
            let msg = e.to_string();
            assert!(!msg.is_empty());
            assert!(!msg.contains("MII"), "error echoes input: {msg}");
        }
    }
    assert_eq!(
        PrivateKey::from_pem(truncated).err(),
        Some(KeyError::Unterminated)
    );
}

#[test]
fn debug_never_prints_key_material() {
    let key = PrivateKey::from_pem(PRIVATE_PEM).unwrap();
    let debug = format!("{key:?}");
    assert_eq!(debug, "PrivateKey(RSA-2048, redacted)");
    let body = body_of(PRIVATE_PEM);
    for window in body.as_bytes().windows(8).step_by(8) {
        assert!(!debug.contains(std::str::from_utf8(window).unwrap()));
    }
    let public = format!("{:?}", key.public_key());
    assert!(public.starts_with("PublicKey(RSA-2048, sha256:9c12a84a902354de"));
    assert!(!public.contains("MII"));
}
