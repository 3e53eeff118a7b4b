//! Property tests: round trips, and "never panics" on arbitrary input.

use std::sync::OnceLock;

use bayar_snap::canon::{candidates, minify, reserialize};
use bayar_snap::code::{RawResponseCode, ResponseCodeError};
use bayar_snap::sign::{
    hmac_sign, hmac_verify, sign_asymmetric, sign_symmetric, verify_asymmetric, verify_symmetric,
};
use bayar_snap::time::parse_timestamp;
use bayar_snap::{Canon, Case, Money, PrivateKey, PublicKey, ResponseCode, ServiceCode};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn rsa_key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate().expect("RSA-2048 generation"))
}

/// JSON objects with awkward strings (spaces, quotes, backslashes, unicode).
fn json_object() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[ a-zA-Z0-9\"\\\\/\t\né{}:,]{0,12}".prop_map(Value::String),
        Just(Value::Null),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z \"]{1,8}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    });
    prop::collection::vec(("[a-zA-Z]{1,10}", value), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>()))
}

fn header_text() -> impl Strategy<Value = String> {
    "[ -~]{0,40}"
}

proptest! {
    #[test]
    fn hmac_sign_then_verify(
        secret in prop::collection::vec(any::<u8>(), 0..80),
        method in "(GET|POST|PUT|DELETE)",
        path in "/[a-z0-9/._?=&-]{0,40}",
        token in header_text(),
        body in prop::collection::vec(any::<u8>(), 0..200),
        ts in header_text(),
    ) {
        let sig = sign_symmetric(&secret, &method, &path, &token, &body, &ts);
        prop_assert_eq!(
            verify_symmetric(&secret, &method, &path, &token, &body, &ts, &sig),
            Ok(Canon::Minified)
        );
        prop_assert!(hmac_verify(&secret, &ts, &hmac_sign(&secret, &ts)));
        let mut other = secret.clone();
        // Not 0: HMAC zero-pads short keys, so a trailing zero byte yields the same key.
        other.push(1);
        prop_assert!(verify_symmetric(&other, &method, &path, &token, &body, &ts, &sig).is_err());
    }

    #[test]
    fn pretty_body_verifies_against_compact_signature(obj in json_object(), secret in "[a-z]{1,20}") {
        let compact = serde_json::to_string(&obj).unwrap();
        let pretty = serde_json::to_string_pretty(&obj).unwrap();
        let ts = "2020-12-17T10:55:00+07:00";
        let sig = sign_symmetric(secret.as_bytes(), "POST", "/v1.0/debit/notify", "tok", compact.as_bytes(), ts);
        prop_assert_eq!(
            verify_symmetric(secret.as_bytes(), "POST", "/v1.0/debit/notify", "tok", pretty.as_bytes(), ts, &sig),
            Ok(Canon::Minified)
        );
        let minified = minify(pretty.as_bytes());
        prop_assert_eq!(minified.as_ref(), compact.as_bytes());
        prop_assert_eq!(reserialize(pretty.as_bytes()), Some(compact.into_bytes()));
    }

    #[test]
    fn minify_never_panics_and_is_idempotent(raw in prop::collection::vec(any::<u8>(), 0..300)) {
        let once = minify(&raw).into_owned();
        let twice = minify(&once);
        prop_assert_eq!(twice.as_ref(), once.as_slice());
        let c: Vec<_> = candidates(&raw).collect();
        prop_assert!(!c.is_empty() && c[0].0 == Canon::Minified);
        prop_assert!(c.len() <= 3);
    }

    #[test]
    fn minify_idempotent_on_json_like_text(raw in "[ \t\r\n\"\\\\{}\\[\\]:,a-z0-9]{0,80}") {
        let once = minify(raw.as_bytes()).into_owned();
        let twice = minify(&once);
        prop_assert_eq!(twice.as_ref(), once.as_slice());
    }

    #[test]
    fn money_round_trips(minor in 0..=Money::MAX.minor()) {
        let m = Money::from_minor(minor).unwrap();
        let s = m.to_string();
        prop_assert_eq!(Money::parse(&s), Ok(m));
        prop_assert_eq!(format!("{m:?}"), s.clone());
        let json = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    }

    #[test]
    fn non_money_strings_are_rejected(s in "\\PC{0,20}") {
        let strict = regex_like_money(&s);
        match Money::parse(&s) {
            Ok(m) => {
                prop_assert!(strict, "accepted {:?}", s);
                prop_assert_eq!(m.to_string(), s);
            }
            Err(e) => {
                prop_assert!(!strict, "rejected valid {:?}", s);
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn near_money_strings_are_classified(s in "[-+0-9. ,]{0,18}") {
        let strict = regex_like_money(&s);
        prop_assert_eq!(Money::parse(&s).is_ok(), strict);
    }

    #[test]
    fn parse_timestamp_never_panics(s in "\\PC{0,40}") {
        if let Err(e) = parse_timestamp(&s) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn parse_timestamp_near_misses(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T t][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:?[0-9]{2})?") {
        let _ = parse_timestamp(&s);
    }

    #[test]
    fn response_code_parsing_never_panics(s in "\\PC{0,10}") {
        match s.parse::<ResponseCode>() {
            Ok(code) => prop_assert_eq!(code.to_string(), s.clone()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let _ = s.parse::<RawResponseCode>();
    }

    #[test]
    fn key_import_never_panics(s in "\\PC{0,200}") {
        let _ = PrivateKey::from_pem(&s);
        let _ = PublicKey::from_pem(&s);
    }

    #[test]
    fn key_der_import_never_panics(der in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = PrivateKey::from_der(&der);
        let _ = PublicKey::from_der(&der);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn rsa_sign_then_verify(
        path in "/[a-z0-9/-]{0,30}",
        body in prop::collection::vec(any::<u8>(), 0..120),
        ts in header_text(),
    ) {
        let key = rsa_key();
        let public = key.public_key();
        let sig = sign_asymmetric(key, "POST", &path, &body, &ts).unwrap();
        prop_assert_eq!(
            verify_asymmetric(&public, "POST", &path, &body, &ts, &sig),
            Ok(Canon::Minified)
        );
        prop_assert!(verify_asymmetric(&public, "PUT", &path, &body, &ts, &sig).is_err());
    }
}

#[test]
fn http_status_is_the_first_three_digits() {
    let services = [
        ServiceCode::GENERIC,
        ServiceCode::ACCOUNT_BINDING,
        ServiceCode::VA_INQUIRY,
        ServiceCode::DEBIT_PAYMENT,
        ServiceCode::ACCESS_TOKEN_B2B,
        ServiceCode::OTP,
        ServiceCode::new(99).unwrap(),
    ];
    for case in Case::ALL {
        for service in services {
            let code = ResponseCode::new(service, case);
            let s = code.to_string();
            assert_eq!(s.len(), 7, "{s}");
            assert_eq!(s[..3].parse::<u16>().unwrap(), code.http_status(), "{s}");
            assert_eq!(&s[3..5], format!("{:02}", service.get()), "{s}");
            assert_eq!(s[5..].parse::<u8>().unwrap(), case.case_code(), "{s}");
            assert_eq!(s.parse::<ResponseCode>(), Ok(code));
            assert!(!code.message(None).is_empty());
        }
    }
    assert_eq!(
        "9990000".parse::<ResponseCode>(),
        Err(ResponseCodeError::UnknownCase { http: 999, case: 0 })
    );
}

/// Reference implementation of `^(0|[1-9][0-9]{0,12})\.[0-9]{2}$` without a regex crate.
fn regex_like_money(s: &str) -> bool {
    let Some((int, frac)) = s.split_once('.') else {
        return false;
    };
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    frac.len() == 2
        && digits(frac)
        && digits(int)
        && (int == "0" || (!int.is_empty() && int.len() <= 13 && !int.starts_with('0')))
}
