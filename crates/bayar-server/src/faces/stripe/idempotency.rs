//! `Idempotency-Key` on POSTs: the first request's response is stored with the change it
//! made (core idempotency, one transaction); the same key with the same parameters replays
//! that status and body (with `Idempotent-Replayed: true`); with other parameters it is an
//! `idempotency_error`. Keys are kept 24 hours. Parameters are compared as a canonical tree,
//! so a form request and its JSON twin are the same request.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bayar_core::idempotency::{IdempotencyKey, Idempotent, StoredResponse};
use bayar_core::writer::Command;
use serde_json::Value;

use super::Call;
use super::error::StripeError;
use crate::app::AppState;

/// The scope of this face's keys in the core's idempotency records.
const SCOPE: &str = "stripe";

/// Longest key accepted (Stripe's limit).
const MAX_KEY_LEN: usize = 255;

/// The `Idempotency-Key` header, if sent.
pub fn key(headers: &HeaderMap) -> Result<Option<String>, StripeError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN => Ok(Some(k.to_string())),
        _ => Err(StripeError::invalid_request(
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            None,
        )),
    }
}

/// Runs `command` for `call` (once per key, when it has one) and answers with `render` of
/// its outcome, or the stored answer of the first request with the same key.
pub async fn run<C, R>(
    state: &AppState,
    call: &Call,
    path: &str,
    command: C,
    render: R,
) -> Result<Response, StripeError>
where
    C: Command,
    R: Fn(&C::Output) -> Value + Send + Sync + 'static,
{
    let Some(key) = &call.idempotency_key else {
        let output = state.core.run(command).await?;
        return Ok(json(StatusCode::OK, render(&output).to_string(), false));
    };
    let request = format!("POST {path}\n{}", call.params.canonical());
    let key = IdempotencyKey::new(call.merchant, SCOPE, key.clone(), request.as_bytes());
    let stored = move |output: &C::Output| StoredResponse {
        status: StatusCode::OK.as_u16(),
        body: render(output).to_string(),
    };
    Ok(
        match state.core.run_idempotent(key, command, stored).await? {
            Idempotent::Fresh(_, response) => stored_response(response, false),
            Idempotent::Replayed(response) => stored_response(response, true),
        },
    )
}

fn stored_response(response: StoredResponse, replayed: bool) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    json(status, response.body, replayed)
}

fn json(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}
