//! DANA's OPEN_API envelope (reference/dana.md 3.3), used by merchant management and a few
//! widget operations: `{"request":{"head":{..},"body":{..}},"signature":"<b64>"}` in,
//! `{"response":{"head":{..},"body":{"resultInfo":{..},..}},"signature":"<b64>"}` out, always
//! HTTP 200 (a failure is `resultInfo.resultStatus:"F"`).
//!
//! The signature is SHA256withRSA over the JSON text of the `request` member **exactly as
//! sent**: dana-python signs `json.dumps(request)` with spaces, dana-node signs
//! `JSON.stringify` without, and both send what they signed. So the member is taken as a
//! raw slice of the body (`serde_json::value::RawValue`), never re-serialised. bayar signs
//! its `response` member the same way with the gateway key (the SDKs do not check it yet;
//! merchants verifying by hand can).
//!
//! The `resultCode`/`resultCodeId` pairs for failures are not published in the SDKs; bayar
//! uses DANA's well-known names (`PARAM_ILLEGAL`, `INVALID_SIGNATURE`, `SYSTEM_ERROR`) with
//! ids of its own choosing, listed in [`Outcome`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bayar_core::Core;
use bayar_core::merchant::{ClientId, Merchant};
use chrono::Utc;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::faces::snap::SnapConfig;

/// A result of an OPEN_API call, as `resultInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `S 00000000 SUCCESS`.
    Success,
    /// `F 00000004 PARAM_ILLEGAL`: the envelope or a body field is wrong (named in `resultMsg`).
    ParamIllegal(String),
    /// `F 00000006 INVALID_SIGNATURE`: unknown client, or a signature that does not verify.
    InvalidSignature,
    /// `U 00000900 SYSTEM_ERROR`: bayar failed; the outcome is unknown to the caller.
    SystemError,
}

impl Outcome {
    fn result_info(&self) -> Value {
        let (status, id, code, msg) = match self {
            Outcome::Success => ("S", "00000000", "SUCCESS", "success".to_string()),
            Outcome::ParamIllegal(what) => (
                "F",
                "00000004",
                "PARAM_ILLEGAL",
                format!("Illegal parameter {what}"),
            ),
            Outcome::InvalidSignature => (
                "F",
                "00000006",
                "INVALID_SIGNATURE",
                "Invalid signature".to_string(),
            ),
            Outcome::SystemError => ("U", "00000900", "SYSTEM_ERROR", "System error".to_string()),
        };
        json!({"resultStatus": status, "resultCodeId": id, "resultCode": code, "resultMsg": msg})
    }
}

/// An OPEN_API call whose envelope and signature checked out.
#[derive(Debug)]
pub struct Verified {
    /// The calling merchant, from `head.clientId`.
    pub merchant: Merchant,
    /// `request.body`.
    pub body: Value,
    /// `request.head.accessToken`: a customer token, where dana-python puts it for the
    /// widget's user profile query (dana-node sends it in the body).
    pub head_access_token: Option<bayar_core::secret::Secret<String>>,
}

/// What the response head echoes from the request; filled as far as the request was read.
#[derive(Debug, Default)]
pub struct Echo {
    client_id: Option<String>,
    req_msg_id: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    request: &'a RawValue,
    signature: Option<String>,
}

#[derive(Deserialize)]
struct RequestMember {
    head: Head,
    #[serde(default)]
    body: Value,
}

// `clientSecret` and `reserve` are sent too; the signature is the proof of identity, so the
// secret is neither needed nor read (and so never logged).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    function: Option<String>,
    client_id: Option<String>,
    req_time: Option<String>,
    req_msg_id: Option<String>,
    access_token: Option<String>,
}

/// Reads and verifies an OPEN_API request for `function`: envelope, `head.function`, client,
/// `reqTime` within the clock window, then the signature over the raw `request` member.
pub async fn verify(
    core: &Core,
    config: &SnapConfig,
    raw: &[u8],
    function: &str,
    echo: &mut Echo,
) -> Result<Verified, Outcome> {
    let illegal = |what: &str| Outcome::ParamIllegal(what.to_string());
    let envelope: Envelope<'_> = serde_json::from_slice(raw).map_err(|_| illegal("request"))?;
    let member: RequestMember =
        serde_json::from_str(envelope.request.get()).map_err(|_| illegal("request.head"))?;
    let head = member.head;
    echo.client_id = head.client_id.clone().filter(|c| c.len() <= 32);
    echo.req_msg_id = head.req_msg_id.clone().filter(|m| m.len() <= 64);
    if head.function.as_deref() != Some(function) {
        return Err(illegal("head.function"));
    }
    let client_id = head
        .client_id
        .as_deref()
        .and_then(|c| ClientId::parse(c).ok())
        .ok_or_else(|| illegal("head.clientId"))?;
    let sent_at = head
        .req_time
        .as_deref()
        .and_then(|t| bayar_snap::time::parse_timestamp(t).ok())
        .ok_or_else(|| illegal("head.reqTime"))?;
    let merchant = core
        .merchant_by_client_id(&client_id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "OPEN_API: merchant lookup failed");
            Outcome::SystemError
        })?
        .ok_or_else(|| {
            tracing::info!(client_id = %client_id, "OPEN_API: unknown client");
            Outcome::InvalidSignature
        })?;
    let skew = (Utc::now() - sent_at.with_timezone(&Utc))
        .num_seconds()
        .abs();
    if skew > config.clock_skew_secs {
        tracing::info!(skew_secs = skew, "OPEN_API: reqTime outside the window");
        return Err(illegal("head.reqTime"));
    }
    let signature = envelope.signature.unwrap_or_default();
    if !merchant
        .public_key
        .verify(envelope.request.get().as_bytes(), &signature)
    {
        tracing::info!(client_id = %merchant.client_id, "OPEN_API: signature mismatch");
        return Err(Outcome::InvalidSignature);
    }
    Ok(Verified {
        merchant,
        body: member.body,
        head_access_token: head.access_token.map(bayar_core::secret::Secret::new),
    })
}

/// The signed response envelope: `head` echoing `function`, `clientId` and `reqMsgId`,
/// `body` = `resultInfo` then `fields`. HTTP 200 whatever the outcome, as DANA answers.
pub fn respond(
    core: &Core,
    function: &str,
    echo: &Echo,
    outcome: &Outcome,
    fields: Map<String, Value>,
) -> Response {
    let mut head = Map::new();
    head.insert("version".into(), json!("2.0"));
    head.insert("function".into(), json!(function));
    if let Some(client_id) = &echo.client_id {
        head.insert("clientId".into(), json!(client_id));
    }
    head.insert(
        "respTime".into(),
        json!(bayar_snap::time::format_jakarta(Utc::now())),
    );
    if let Some(id) = &echo.req_msg_id {
        head.insert("reqMsgId".into(), json!(id));
    }
    let mut body = Map::new();
    body.insert("resultInfo".into(), outcome.result_info());
    body.extend(fields);
    let response = json!({ "head": head, "body": body }).to_string();
    // The signature covers these exact bytes, so the envelope is assembled as text around them.
    let text = match core.gateway_private_key().sign(response.as_bytes()) {
        Ok(signature) => format!(
            r#"{{"response":{response},"signature":{}}}"#,
            json!(signature)
        ),
        Err(e) => {
            tracing::error!(error = %e, "OPEN_API: signing the response failed");
            format!(r#"{{"response":{response}}}"#)
        }
    };
    let mut reply = (StatusCode::OK, text).into_response();
    reply.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_member_is_taken_verbatim() {
        let raw = br#"{"request": {"head": {"a": "\u00e9"}, "body": {}}, "signature": "x"}"#;
        let envelope: Envelope<'_> = serde_json::from_slice(raw).unwrap();
        assert_eq!(
            envelope.request.get(),
            r#"{"head": {"a": "\u00e9"}, "body": {}}"#
        );
    }

    #[test]
    fn result_infos() {
        assert_eq!(Outcome::Success.result_info()["resultStatus"], "S");
        let illegal = Outcome::ParamIllegal("x".into()).result_info();
        assert_eq!(illegal["resultCode"], "PARAM_ILLEGAL");
        assert_eq!(illegal["resultMsg"], "Illegal parameter x");
    }
}
