//! Stripe error objects: `{"error": {"type", "code", "message", "param"}}` with the HTTP
//! status Stripe uses for each type, so Stripe's client libraries raise their typed
//! exceptions (`InvalidRequestError`, `AuthenticationError`, `IdempotencyError`...).
//! Messages never carry a secret: keys are never echoed, internal failures say nothing.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bayar_core::CoreError;
use serde_json::json;

/// Stripe's error types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    /// Bad parameters, unknown objects, wrong states (400, 404).
    InvalidRequest,
    /// An `Idempotency-Key` reused with other parameters (400).
    Idempotency,
    /// bayar's own failure (500).
    Api,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request_error",
            Self::Idempotency => "idempotency_error",
            Self::Api => "api_error",
        }
    }
}

/// A refusal in the Stripe dialect: the one error type of this face.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StripeError {
    status: StatusCode,
    kind: ErrorType,
    code: Option<&'static str>,
    message: String,
    param: Option<String>,
}

impl StripeError {
    /// A 400 `invalid_request_error`.
    pub fn invalid_request(message: &str, param: Option<&str>) -> StripeError {
        StripeError {
            status: StatusCode::BAD_REQUEST,
            kind: ErrorType::InvalidRequest,
            code: None,
            message: message.to_string(),
            param: param.map(str::to_string),
        }
    }

    /// A required parameter is missing.
    pub fn missing(param: &str) -> StripeError {
        Self::invalid_request(&format!("Missing required param: {param}."), Some(param))
            .with_code("parameter_missing")
    }

    /// An object that does not exist for this merchant (or belongs to another: the same 404).
    pub fn no_such(object: &str, id: &str, param: &str) -> StripeError {
        StripeError {
            status: StatusCode::NOT_FOUND,
            ..Self::invalid_request(&format!("No such {object}: '{id}'"), Some(param))
        }
        .with_code("resource_missing")
    }

    /// A route that does not exist.
    pub fn unknown_route(method: &str, path: &str) -> StripeError {
        StripeError {
            status: StatusCode::NOT_FOUND,
            ..Self::invalid_request(
                &format!("Unrecognized request URL ({method}: {path})."),
                None,
            )
        }
    }

    /// No or a wrong API key (401). The message never repeats what was presented.
    pub fn authentication(message: &str) -> StripeError {
        StripeError {
            status: StatusCode::UNAUTHORIZED,
            ..Self::invalid_request(message, None)
        }
    }

    /// An `Idempotency-Key` reused with other parameters.
    pub fn idempotency() -> StripeError {
        StripeError {
            kind: ErrorType::Idempotency,
            ..Self::invalid_request(
                "Keys for idempotent requests can only be used with the same parameters they \
                 were first used with. Try using a key other than the one used on the original \
                 request.",
                None,
            )
        }
    }

    /// Too many requests in progress: nothing was done, the same request may be sent again
    /// shortly (429 `rate_limit`, which Stripe's libraries raise as their rate-limit error
    /// and retry when configured to).
    pub fn rate_limited() -> StripeError {
        StripeError {
            status: StatusCode::TOO_MANY_REQUESTS,
            ..Self::invalid_request(
                "Too many requests are in progress; nothing was done. Please retry shortly.",
                None,
            )
        }
        .with_code("rate_limit")
    }

    /// bayar failed; the request had no effect.
    pub fn internal() -> StripeError {
        StripeError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: ErrorType::Api,
            code: None,
            message: "An unexpected error occurred; the request had no effect. Try again."
                .to_string(),
            param: None,
        }
    }

    /// The same error with a `code`.
    pub fn with_code(self, code: &'static str) -> StripeError {
        StripeError {
            code: Some(code),
            ..self
        }
    }

    /// The parameter it names, if any.
    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<CoreError> for StripeError {
    fn from(err: CoreError) -> StripeError {
        match err {
            CoreError::AmountOutOfRange { min, max } => StripeError::invalid_request(
                &format!(
                    "Amount must be between {} and {} IDR.",
                    min.minor() / 100,
                    max.minor() / 100
                ),
                Some("amount"),
            )
            .with_code("amount_too_small"),
            CoreError::InconsistentRequest => StripeError::idempotency(),
            CoreError::InvalidIntentState { status } => StripeError::invalid_request(
                &format!(
                    "This PaymentIntent's status is {status}, which does not allow this \
                     operation."
                ),
                None,
            )
            .with_code("payment_intent_unexpected_state"),
            CoreError::PaymentMethodRequired => StripeError::invalid_request(
                "You cannot confirm this PaymentIntent because it's missing a payment method. \
                 Pass payment_method_data[type]=dana.",
                Some("payment_method_data"),
            )
            .with_code("payment_intent_unexpected_state"),
            CoreError::ReturnUrlRequired => StripeError::invalid_request(
                "DANA redirects the customer back to you: return_url is required to confirm.",
                Some("return_url"),
            )
            .with_code("parameter_missing"),
            CoreError::InvalidPaymentState { status } => StripeError::invalid_request(
                &format!("The payment is {status}, which does not allow this operation."),
                Some("payment_intent"),
            )
            .with_code("charge_not_refundable"),
            CoreError::RefundNotAllowed => StripeError::invalid_request(
                "DANA allows one refund per payment (no multiple partial refunds), and this \
                 payment has been refunded.",
                Some("payment_intent"),
            )
            .with_code("charge_already_refunded"),
            CoreError::RefundExceedsPayment { refundable } => StripeError::invalid_request(
                &format!(
                    "Refund amount is greater than the refundable amount ({} IDR).",
                    refundable.minor() / 100
                ),
                Some("amount"),
            )
            .with_code("amount_too_large"),
            CoreError::Overloaded => StripeError::rate_limited(),
            err if err.is_internal() => {
                tracing::error!(error = %err, "stripe face: internal failure");
                StripeError::internal()
            }
            err => {
                // Business refusals this face does not expect: answered, and logged for a look.
                tracing::warn!(error = %err, "stripe face: unexpected refusal");
                StripeError::invalid_request(&err.to_string(), None)
            }
        }
    }
}

impl IntoResponse for StripeError {
    fn into_response(self) -> Response {
        let mut error = serde_json::Map::new();
        error.insert("type".into(), self.kind.as_str().into());
        if let Some(code) = self.code {
            error.insert("code".into(), code.into());
        }
        error.insert("message".into(), self.message.into());
        if let Some(param) = self.param {
            error.insert("param".into(), param.into());
        }
        let response = (self.status, Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            return crate::app::busy(response);
        }
        response
    }
}
