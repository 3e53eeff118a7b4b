//! SNAP success responses: `responseCode` and `responseMessage` first, then the operation's
//! fields, HTTP status from the code, and the `X-TIMESTAMP` header.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bayar_snap::{Case, ResponseCode, ServiceCode};
use serde_json::{Map, Value};

use super::error::with_timestamp;

/// `200xx00 Successful` with `fields` after the code and message.
pub fn success(service: ServiceCode, fields: Value) -> Response {
    answer(service, Case::Successful, fields)
}

/// A non-error answer of `case` (`200xx00`, or `202xx00 Request In Progress`) with `fields`
/// after the code and message.
pub fn answer(service: ServiceCode, case: Case, fields: Value) -> Response {
    let code = ResponseCode::new(service, case);
    let mut body = Map::new();
    body.insert("responseCode".into(), Value::String(code.to_string()));
    body.insert("responseMessage".into(), Value::String(code.message(None)));
    if let Value::Object(fields) = fields {
        body.extend(fields);
    }
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::OK);
    with_timestamp((status, Json(Value::Object(body))).into_response())
}

/// A SNAP amount object.
pub fn amount(money: bayar_snap::Money) -> Value {
    serde_json::json!({ "value": money.to_string(), "currency": "IDR" })
}
