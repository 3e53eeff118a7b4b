//! DANA's error response: `{responseCode, responseMessage, <echoed request fields>,
//! additionalInfo?}`, HTTP status = the code's first three digits (the SDKs map the status to
//! their exception types, reference/dana.md 6).
//!
//! Unlike the bare SNAP error (which DOKU's SDK requires to hold exactly two keys), DANA's
//! errors echo the request's identifying fields, `partnerReferenceNo` and, for account
//! inquiry, `customerNumber`, so a merchant can match a refusal to its request.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bayar_snap::{Case, ResponseCode, ServiceCode};
use serde_json::{Map, Value};

use crate::faces::snap::SnapError;
use crate::faces::snap::error::with_timestamp;

/// Longest echoed value: identifiers are at most 64 characters in DANA's models, so anything
/// longer is not echoed rather than reflected back at any length.
const MAX_ECHO_CHARS: usize = 64;

/// A DANA failure: the SNAP code and message, plus what DANA adds around them.
#[derive(Debug)]
pub struct DanaError {
    snap: SnapError,
    // Boxed: most errors carry none, and every handler returns this by value.
    extra: Box<Extra>,
}

/// What DANA adds to the SNAP code and message.
#[derive(Debug, Default)]
struct Extra {
    echo: Map<String, Value>,
    additional_info: Option<Value>,
}

impl From<SnapError> for DanaError {
    fn from(snap: SnapError) -> Self {
        Self {
            snap,
            extra: Box::default(),
        }
    }
}

impl DanaError {
    /// A failure of `service` with `case` and no detail.
    pub fn new(service: ServiceCode, case: Case) -> Self {
        SnapError::new(service, case).into()
    }

    /// Adds `additionalInfo.resultMsg`, DANA's machine-readable reason (for example
    /// `PAYEE_USER_STATUS_DISABLE` on a frozen account).
    pub fn result_msg(mut self, msg: &str) -> Self {
        self.extra.additional_info = Some(serde_json::json!({ "resultMsg": msg }));
        self
    }

    /// The response code.
    pub fn code(&self) -> ResponseCode {
        self.snap.code
    }

    /// Copies the string members named in `fields` from the request body `raw`, when it is a
    /// JSON object. Best effort by design: a header error comes before the body is read, and
    /// a body too broken to parse simply echoes nothing.
    pub fn echo_from(mut self, raw: &[u8], fields: &[&str]) -> Self {
        if fields.is_empty() {
            return self;
        }
        let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(raw) else {
            return self;
        };
        for field in fields {
            if let Some(Value::String(value)) = request.get(*field)
                && value.chars().count() <= MAX_ECHO_CHARS
            {
                self.extra
                    .echo
                    .insert((*field).to_string(), Value::String(value.clone()));
            }
        }
        self
    }
}

impl IntoResponse for DanaError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.snap.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = Map::new();
        body.insert(
            "responseCode".into(),
            Value::String(self.snap.code.to_string()),
        );
        body.insert("responseMessage".into(), Value::String(self.snap.message()));
        let Extra {
            echo,
            additional_info,
        } = *self.extra;
        body.extend(echo);
        if let Some(info) = additional_info {
            body.insert("additionalInfo".into(), info);
        }
        with_timestamp((status, Json(Value::Object(body))).into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVC: ServiceCode = ServiceCode::EMONEY_TOPUP;

    #[test]
    fn echoes_only_short_string_members() {
        let raw = format!(
            r#"{{"partnerReferenceNo":"INV-1","customerNumber":7,"notes":"{}"}}"#,
            "x".repeat(65)
        );
        let err = DanaError::new(SVC, Case::InsufficientFunds).echo_from(
            raw.as_bytes(),
            &["partnerReferenceNo", "customerNumber", "notes"],
        );
        assert_eq!(err.code().to_string(), "4033814");
        assert_eq!(
            Value::Object(err.extra.echo),
            serde_json::json!({"partnerReferenceNo": "INV-1"})
        );
    }

    #[test]
    fn broken_bodies_echo_nothing() {
        let err = DanaError::new(SVC, Case::BadRequest).echo_from(b"{", &["partnerReferenceNo"]);
        assert!(err.extra.echo.is_empty());
    }
}
