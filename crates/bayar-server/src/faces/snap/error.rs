//! The SNAP error response: `{responseCode, responseMessage}`, HTTP status = first three digits.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bayar_snap::{Case, ResponseCode, ServiceCode};
use serde::Serialize;

/// A SNAP failure for one service, with the detail its message names (a field, a reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapError {
    /// The 7-digit code.
    pub code: ResponseCode,
    /// What the message names: a field for 400xx01/02, a reason for 401xx00.
    pub detail: Option<String>,
    /// Why, in more words than the wire message, for the merchant's API log only (e.g. which
    /// body forms a signature was checked against). Never a secret.
    pub note: Option<String>,
}

/// A response extension carrying [`SnapError::note`] to the API log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiLogNote(pub String);

impl SnapError {
    /// A failure of `service` with `case` and no detail.
    pub fn new(service: ServiceCode, case: Case) -> Self {
        Self {
            code: ResponseCode::new(service, case),
            detail: None,
            note: None,
        }
    }

    /// Adds a note for the merchant's API log (not sent on the wire).
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Names the field or reason in the message.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// `400xx02 Invalid Mandatory Field <field>`.
    pub fn missing(service: ServiceCode, field: &str) -> Self {
        Self::new(service, Case::InvalidMandatoryField).detail(field)
    }

    /// `400xx01 Invalid Field Format <field>`.
    pub fn format(service: ServiceCode, field: &str) -> Self {
        Self::new(service, Case::InvalidFieldFormat).detail(field)
    }

    /// `401xx00 Unauthorized. <reason>`.
    pub fn unauthorized(service: ServiceCode, reason: &str) -> Self {
        Self::new(service, Case::Unauthorized).detail(reason)
    }

    /// `500xx01 Internal Server Error`: the request had no effect and may be retried.
    pub fn internal(service: ServiceCode) -> Self {
        Self::new(service, Case::InternalServerError)
    }

    /// The `responseMessage` text.
    pub fn message(&self) -> String {
        self.code.message(self.detail.as_deref())
    }
}

/// The body of every SNAP error: exactly these two keys (the Python SDK rejects any other).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    response_code: String,
    response_message: String,
}

impl IntoResponse for SnapError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = Body {
            response_code: self.code.to_string(),
            response_message: self.message(),
        };
        let mut response = with_timestamp((status, Json(body)).into_response());
        if let Some(note) = self.note {
            response.extensions_mut().insert(ApiLogNote(note));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            response = crate::app::busy(response);
        }
        response
    }
}

/// Adds the `X-TIMESTAMP` response header SNAP requires on every response.
pub fn with_timestamp(mut response: Response) -> Response {
    let now = bayar_snap::time::format_jakarta(chrono::Utc::now());
    if let Ok(value) = HeaderValue::from_str(&now) {
        response.headers_mut().insert("x-timestamp", value);
    }
    response
}
