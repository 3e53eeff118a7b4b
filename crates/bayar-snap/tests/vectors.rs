//! Golden vectors from snap.md §6 (`vectors/vectors.json`), reproduced exactly.
//!
//! RSA PKCS#1 v1.5 is deterministic, so signing with the demo key must give the
//! published bytes, not merely something that verifies.

use bayar_snap::canon::{body_hash_hex, minify};
use bayar_snap::sign::{
    asymmetric_string_to_sign, hmac_sign, hmac_verify, sign_asymmetric, sign_symmetric, sign_token,
    symmetric_string_to_sign, token_string_to_sign, verify_asymmetric, verify_symmetric,
    verify_token,
};
use bayar_snap::{Canon, PrivateKey, PublicKey};
use serde_json::Value;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/vectors/vectors.json"
));
const PRIVATE_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/vectors/midtrans_demo_private_pkcs8.pem"
));
const PUBLIC_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/vectors/midtrans_demo_public.pem"
));

/// The HMAC client secret of the Midtrans demos, used for V2, V6 and V8 (snap.md §6.1).
const SECRET: &[u8] = b"myclientsecret";

/// snap.md §6 "Hash-only vectors": DOKU's create-va body, the body of V7 and V8.
const V7_BODY: &str = r#"{"partnerServiceId":"  088899","customerNo":"12345678901234567890","virtualAccountNo":"  08889912345678901234567890","virtualAccountName":"Jokul Doe","virtualAccountEmail":"jokul@email.com","virtualAccountPhone":"6281828384858","trxId":"abcdefgh1234","totalAmount":{"value":"12345678.00","currency":"IDR"}}"#;

/// snap.md §6 V4: the received notification body and signature (not in vectors.json).
const V4_BODY: &str = r#"{"originalPartnerReferenceNo":"GP24043015193402809","originalReferenceNo":"A120240430081940S9vu8gSjaRID","merchantId":"G099333790","amount":{"value":"102800.00","currency":"IDR"},"latestTransactionStatus":"00","transactionStatusDesc":"SUCCESS","additionalInfo":{"refundHistory":[]}}"#;
const V4_SIG: &str = "RoJnP2tH/YiOhHM/lMVBMSAuzRmS8VrWdIy04Qqyb56daV7oWFMFoMMzqnjQ+q0MIUalYgU094GWQnCx2c29xb1kkqHhv2+iJ9xl6NjGmFGYqyvcKvUDAV83Y1Mw9JnsEcjcupdGw9/MRv/mm2GMrQ+BCZGfc4a46JDyPZbcY294vDGqs5rFBN6iYer5ro4cAQGo9hET2G82Y+j50vCyO/79GFE4vB1rvtu6PK2Bxi+vTYV8k7P7PS8tOPWM2O+kjiVWjwvLR99Botou+a8sxlQqZaihfWMKcByzV+Lgkr9cptpjys+1NIRWT1ad/sJBSLHyldzC3q2oRn5z5oZmyg==";

/// snap.md §6 "Hash-only vectors": Netzme's balance-inquiry body.
const NETZME_BODY: &str = r#"{"partnerReferenceNo":"2020102900000000000001","balanceTypes":["BALANCE"],"additionalInfo":{"accessToken":"fa8sjjEj813Y9JGoqwOeOPWbnt4CUpvIJbU1mMU4a11MNDZ7Sg5u9a"}}"#;

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors.json is valid JSON")
}

fn field<'a>(v: &'a Value, id: &str, name: &str) -> &'a str {
    v[id][name]
        .as_str()
        .unwrap_or_else(|| panic!("{id}.{name} missing"))
}

fn keys() -> (PrivateKey, PublicKey) {
    (
        PrivateKey::from_pem(PRIVATE_PEM).expect("demo private key"),
        PublicKey::from_pem(PUBLIC_PEM).expect("demo public key"),
    )
}

/// Splits `METHOD:path[:token]:hash:timestamp`. The timestamp contains ':' and the
/// path does not, so split from the left for the fixed fields.
fn split_sts(sts: &str, with_token: bool) -> (String, String, Option<String>, String, String) {
    let mut it = sts.splitn(if with_token { 5 } else { 4 }, ':');
    let method = it.next().unwrap().to_owned();
    let path = it.next().unwrap().to_owned();
    let token = with_token.then(|| it.next().unwrap().to_owned());
    let hash = it.next().unwrap().to_owned();
    let ts = it.next().unwrap().to_owned();
    (method, path, token, hash, ts)
}

#[test]
fn demo_key_pair_matches() {
    let (private, public) = keys();
    assert_eq!(private.public_key(), public);
    assert_eq!(public.bits(), 2048);
    assert_eq!(
        public.fingerprint_sha256(),
        "9c12a84a902354de8bc9efbbe86bb73442174c41b4cbab8d603456ced4dc5f37"
    );
    assert_eq!(public.to_pem(), PUBLIC_PEM.replace("\r\n", "\n"));
}

#[test]
fn token_vectors_v1_v5() {
    let v = vectors();
    let (private, public) = keys();
    for (id, client_id, ts) in [
        ("V1", "G1234325-SNAP", "2024-03-01T08:27:49.024Z"),
        (
            "V5",
            "82150823919040624621823174737537",
            "2020-12-17T10:55:00+07:00",
        ),
    ] {
        let sts = field(&v, id, "stringToSign");
        let sig = field(&v, id, "sig");
        assert_eq!(token_string_to_sign(client_id, ts), sts, "{id}");
        assert_eq!(private.sign(sts.as_bytes()).unwrap(), sig, "{id}");
        assert_eq!(sign_token(&private, client_id, ts).unwrap(), sig, "{id}");
        assert!(public.verify(sts.as_bytes(), sig), "{id}");
        assert_eq!(verify_token(&public, client_id, ts, sig), Ok(()), "{id}");
        // The timestamp is signed byte-for-byte: an equivalent instant does not verify.
        assert!(verify_token(&public, client_id, "2020-12-17T03:55:00Z", sig).is_err());
    }
}

#[test]
fn symmetric_v2() {
    let v = vectors();
    let body = field(&v, "V2", "minified");
    let sts = field(&v, "V2", "stringToSign");
    let sig = field(&v, "V2", "sig");
    assert_eq!(body_hash_hex(body.as_bytes()), field(&v, "V2", "bodyHash"));
    let (method, path, token, _, ts) = split_sts(sts, true);
    let token = token.unwrap();
    assert_eq!(
        symmetric_string_to_sign(&method, &path, &token, body.as_bytes(), &ts),
        sts
    );
    assert_eq!(hmac_sign(SECRET, sts), sig);
    assert!(hmac_verify(SECRET, sts, sig));
    assert_eq!(
        sign_symmetric(SECRET, &method, &path, &token, body.as_bytes(), &ts),
        sig
    );
    assert_eq!(
        verify_symmetric(SECRET, &method, &path, &token, body.as_bytes(), &ts, sig),
        Ok(Canon::Minified)
    );
    // The same body pretty-printed on the wire still verifies, via minify.
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(body).unwrap()).unwrap();
    assert_eq!(
        verify_symmetric(SECRET, &method, &path, &token, pretty.as_bytes(), &ts, sig),
        Ok(Canon::Minified)
    );
}

#[test]
fn symmetric_v6_empty_body_get() {
    let v = vectors();
    let sts = field(&v, "V6", "stringToSign");
    let sig = field(&v, "V6", "sig");
    let (method, path, token, hash, ts) = split_sts(sts, true);
    let token = token.unwrap();
    assert_eq!(method, "GET");
    assert_eq!(
        path,
        "/v1.0/transfer-va/report?endDate=2020-12-31&startDate=2020-12-01"
    );
    assert_eq!(hash, body_hash_hex(b""));
    assert_eq!(
        symmetric_string_to_sign(&method, &path, &token, b"", &ts),
        sts
    );
    assert_eq!(hmac_sign(SECRET, sts), sig);
    assert_eq!(
        sign_symmetric(SECRET, &method, &path, &token, b"", &ts),
        sig
    );
    assert_eq!(
        verify_symmetric(SECRET, &method, &path, &token, b"", &ts, sig),
        Ok(Canon::Minified)
    );
}

#[test]
fn asymmetric_v3() {
    let v = vectors();
    let (private, public) = keys();
    let body = field(&v, "V3", "minified");
    let sts = field(&v, "V3", "stringToSign");
    let sig = field(&v, "V3", "sig");
    assert_eq!(body_hash_hex(body.as_bytes()), field(&v, "V3", "bodyHash"));
    let (method, path, _, _, ts) = split_sts(sts, false);
    assert_eq!(
        asymmetric_string_to_sign(&method, &path, body.as_bytes(), &ts),
        sts
    );
    assert_eq!(private.sign(sts.as_bytes()).unwrap(), sig);
    assert_eq!(
        sign_asymmetric(&private, &method, &path, body.as_bytes(), &ts).unwrap(),
        sig
    );
    assert!(public.verify(sts.as_bytes(), sig));
    assert_eq!(
        verify_asymmetric(&public, &method, &path, body.as_bytes(), &ts, sig),
        Ok(Canon::Minified)
    );
}

#[test]
fn asymmetric_v4_received_notification() {
    let v = vectors();
    let (private, public) = keys();
    let sts = field(&v, "V4", "stringToSign");
    assert_eq!(
        body_hash_hex(V4_BODY.as_bytes()),
        field(&v, "V4", "bodyHash")
    );
    let (method, path, _, _, ts) = split_sts(sts, false);
    assert_eq!(
        asymmetric_string_to_sign(&method, &path, V4_BODY.as_bytes(), &ts),
        sts
    );
    // "verifies": true
    assert_eq!(v["V4"]["verifies"], Value::Bool(true));
    assert!(public.verify(sts.as_bytes(), V4_SIG));
    assert_eq!(
        verify_asymmetric(&public, &method, &path, V4_BODY.as_bytes(), &ts, V4_SIG),
        Ok(Canon::Minified)
    );
    // "resign_equal": true — Midtrans signed it with the demo key.
    assert_eq!(v["V4"]["resign_equal"], Value::Bool(true));
    assert_eq!(private.sign(sts.as_bytes()).unwrap(), V4_SIG);
}

#[test]
fn asymmetric_v7_and_symmetric_v8() {
    let v = vectors();
    let (private, public) = keys();
    assert_eq!(minify(V7_BODY.as_bytes()).as_ref(), V7_BODY.as_bytes());
    assert_eq!(
        body_hash_hex(V7_BODY.as_bytes()),
        field(&v, "V7", "bodyHash")
    );

    let sts7 = field(&v, "V7", "stringToSign");
    let sig7 = field(&v, "V7", "sig");
    let (method, path, _, _, ts) = split_sts(sts7, false);
    assert_eq!(
        asymmetric_string_to_sign(&method, &path, V7_BODY.as_bytes(), &ts),
        sts7
    );
    assert_eq!(private.sign(sts7.as_bytes()).unwrap(), sig7);
    assert_eq!(
        verify_asymmetric(&public, &method, &path, V7_BODY.as_bytes(), &ts, sig7),
        Ok(Canon::Minified)
    );

    let sts8 = field(&v, "V8", "stringToSign");
    let sig8 = field(&v, "V8", "sig");
    let (method, path, token, _, ts) = split_sts(sts8, true);
    let token = token.unwrap();
    assert_eq!(
        symmetric_string_to_sign(&method, &path, &token, V7_BODY.as_bytes(), &ts),
        sts8
    );
    assert_eq!(hmac_sign(SECRET, sts8), sig8);
    assert_eq!(
        verify_symmetric(
            SECRET,
            &method,
            &path,
            &token,
            V7_BODY.as_bytes(),
            &ts,
            sig8
        ),
        Ok(Canon::Minified)
    );
}

#[test]
fn hash_only_vectors() {
    assert_eq!(
        body_hash_hex(&minify(NETZME_BODY.as_bytes())),
        "e9295c3253c05560273ff305d9eea6abf77fff65229bf90b1781383c09c29d98"
    );
    assert_eq!(
        body_hash_hex(&minify(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

/// snap.md §6 "Suggested negative tests": each change must fail against V2/V6/V7/V8.
#[test]
fn suggested_negative_tests() {
    let v = vectors();
    let (_, public) = keys();

    // V2/V8 (HMAC) and V7 (RSA): flip one byte of the body.
    let body2 = field(&v, "V2", "minified").replacen("IDR", "IDS", 1);
    let (m, p, t, _, ts) = split_sts(field(&v, "V2", "stringToSign"), true);
    let t = t.unwrap();
    let sig2 = field(&v, "V2", "sig");
    assert!(verify_symmetric(SECRET, &m, &p, &t, body2.as_bytes(), &ts, sig2).is_err());
    // Add "Bearer " to the token.
    let body2 = field(&v, "V2", "minified");
    let bearer = format!("Bearer {t}");
    assert!(verify_symmetric(SECRET, &m, &p, &bearer, body2.as_bytes(), &ts, sig2).is_err());
    // Upper-case hex body hash.
    let upper = field(&v, "V2", "stringToSign").replace(
        field(&v, "V2", "bodyHash"),
        &field(&v, "V2", "bodyHash").to_uppercase(),
    );
    assert!(!hmac_verify(SECRET, &upper, sig2));

    // V6: reorder query params; swap the timestamp offset to Z.
    let (m, _, t, _, ts) = split_sts(field(&v, "V6", "stringToSign"), true);
    let t = t.unwrap();
    let sig6 = field(&v, "V6", "sig");
    let reordered = "/v1.0/transfer-va/report?startDate=2020-12-01&endDate=2020-12-31";
    assert!(verify_symmetric(SECRET, &m, reordered, &t, b"", &ts, sig6).is_err());
    let path6 = "/v1.0/transfer-va/report?endDate=2020-12-31&startDate=2020-12-01";
    let z = ts.replace("+07:00", "Z");
    assert!(verify_symmetric(SECRET, &m, path6, &t, b"", &z, sig6).is_err());

    // V7: flip one byte of the body; swap the offset.
    let (m, p, _, _, ts) = split_sts(field(&v, "V7", "stringToSign"), false);
    let sig7 = field(&v, "V7", "sig");
    let flipped = V7_BODY.replacen("Jokul", "Jokul!", 1);
    assert!(verify_asymmetric(&public, &m, &p, flipped.as_bytes(), &ts, sig7).is_err());
    let z = ts.replace("+07:00", "Z");
    assert!(verify_asymmetric(&public, &m, &p, V7_BODY.as_bytes(), &z, sig7).is_err());

    // V8: wrong secret.
    let (m, p, t, _, ts) = split_sts(field(&v, "V8", "stringToSign"), true);
    let t = t.unwrap();
    let sig8 = field(&v, "V8", "sig");
    assert!(
        verify_symmetric(b"myclientsecreT", &m, &p, &t, V7_BODY.as_bytes(), &ts, sig8).is_err()
    );
}
