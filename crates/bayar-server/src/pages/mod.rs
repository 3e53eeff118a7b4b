//! Hosted pages: the HTML that customers' browsers see, served by bayar on behalf of a rail.
//!
//! Today: the Allo-like bank's account-binding page (OTP, then PIN), which a merchant sends its
//! customer to through the `redirectUrl` of DOKU's registration-account-binding answer.
//! And the DANA-like wallet's payment page (phone number and PIN, pay or cancel), which a
//! merchant sends its customer to through the `webRedirectUrl` of DOKU's DANA payment answer.
//!
//! Layout:
//! - [`layout`]: the HTML shell and the security headers every page carries;
//! - [`csrf`]: double-submit CSRF tokens for the forms;
//! - [`allo_binding`]: the binding page and its two form posts.
//! - [`dana_wallet`]: the DANA-like wallet's payment page (phone + PIN), its pay and cancel
//!   posts.
//! - [`checkout`]: the hosted checkout page of the Stripe-style API's checkout sessions
//!   (line items, total, payment methods), which continues on the wallet page.
//! - [`dana_oauth`]: the DANA-like wallet's OAuth page (phone + PIN), which binds the wallet
//!   to a merchant and sends the browser back with an auth code.
//!
//! The pages need no JavaScript, keep everything inline (no external assets), and have stable
//! element ids and field names, documented in the README ("Hosted pages"), that merchants'
//! end-to-end tests can rely on.
//!
//! Like the faces, pages only call the core; [`PageError`] is their one error type.

pub mod allo_binding;
pub mod checkout;
pub mod csrf;
pub mod dana_oauth;
pub mod dana_wallet;
pub mod layout;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bayar_core::CoreError;
use maud::html;
use thiserror::Error;

use crate::app::AppState;
use layout::{Brand, Page};

/// The longest value any page form field may carry, in characters: every real value (a
/// six-digit OTP or PIN, a 43-character CSRF token) fits, and anything longer is refused
/// before it reaches the core.
pub const MAX_FIELD_CHARS: usize = 64;

/// The largest form body a page accepts, in bytes: a few short fields.
const MAX_BODY_BYTES: usize = 4 * 1024;

/// The hosted pages' routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pages/allo/bind/{id}", get(allo_binding::show))
        .route("/pages/allo/bind/{id}/otp", post(allo_binding::submit_otp))
        .route("/pages/allo/bind/{id}/pin", post(allo_binding::submit_pin))
        .route(
            "/pages/dana/oauth",
            get(dana_oauth::show).post(dana_oauth::login),
        )
        .route("/v1.0/get-auth-code", get(dana_oauth::get_auth_code))
        .route("/pages/dana/pay/{id}", get(dana_wallet::show))
        .route("/pages/dana/pay/{id}/pay", post(dana_wallet::pay))
        .route("/pages/dana/pay/{id}/cancel", post(dana_wallet::cancel))
        .route("/pages/checkout/{id}", get(checkout::show))
        .route("/pages/checkout/{id}/pay", post(checkout::pay))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Where the pages live as the customer's browser sees them, from the configured public URL.
///
/// Links, form actions and the CSRF cookie's path are built from it, so that bayar served
/// under a path prefix behind a proxy (`https://example.com/bayar`) keeps working.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The public URL's path without its trailing slash: `""` or e.g. `"/bayar"`.
    pub prefix: String,
    /// Whether the public URL is `https` (the CSRF cookie is then marked `Secure`).
    pub secure: bool,
}

impl Site {
    /// The site behind `public_url`; an unparsable URL means no prefix and no `Secure` flag.
    pub fn from_public_url(public_url: &str) -> Site {
        match url::Url::parse(public_url) {
            Ok(url) => Site {
                prefix: url.path().trim_end_matches('/').to_string(),
                secure: url.scheme() == "https",
            },
            Err(_) => Site {
                prefix: String::new(),
                secure: false,
            },
        }
    }

    /// An absolute path (`/pages/...`) as the browser must request it.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }
}

/// Why a page request was refused or failed. Each renders as a page of its own; none shows
/// internal details to the browser.
#[derive(Debug, Error)]
pub enum PageError {
    /// No such page (unknown or malformed binding id).
    #[error("page not found")]
    NotFound,
    /// The form body could not be read (wrong content type, not url-encoded, too large).
    #[error("the form could not be read: {0}")]
    BadForm(#[from] FormRejection),
    /// A form field is longer than [`MAX_FIELD_CHARS`].
    #[error("a form field is longer than {MAX_FIELD_CHARS} characters")]
    FieldTooLong,
    /// The form's CSRF token is missing or does not match the browser's cookie.
    #[error("the form's CSRF token is missing or does not match")]
    Csrf {
        /// The page to open again for a fresh form (a stale form, e.g. from a second tab
        /// that was given a new cookie, is one click from working again).
        retry: String,
    },
    /// The core refused or failed.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// bayar's own failure outside the core.
    #[error("{0}")]
    Internal(&'static str),
}

impl PageError {
    /// Refuses any field longer than [`MAX_FIELD_CHARS`] (counted in characters, not bytes).
    pub fn check_lengths(fields: &[&str]) -> Result<(), PageError> {
        if fields
            .iter()
            .any(|f| f.chars().nth(MAX_FIELD_CHARS).is_some())
        {
            Err(PageError::FieldTooLong)
        } else {
            Ok(())
        }
    }
}

impl IntoResponse for PageError {
    /// The error page in the bank's colours (see [`PageError::into_page`]).
    fn into_response(self) -> Response {
        self.into_page(Brand::Allo)
    }
}

impl PageError {
    /// The error page, shown as `brand`'s: a customer paying with the wallet must not be
    /// told that the bank failed.
    pub fn into_page(self, brand: Brand) -> Response {
        let retry = match &self {
            PageError::Csrf { retry } => Some(retry.clone()),
            _ => None,
        };
        let (status, title, text) = match &self {
            PageError::NotFound
            | PageError::Core(CoreError::BindingNotFound | CoreError::PaymentNotFound) => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "This link is not valid. Please start again from the merchant's app or website.",
            ),
            PageError::BadForm(rejection) => (
                rejection.status(),
                "Something went wrong",
                "Your answer could not be read. Please go back and try again.",
            ),
            PageError::FieldTooLong => (
                StatusCode::BAD_REQUEST,
                "Answer too long",
                "What you entered is too long. Please go back and enter the 6-digit code.",
            ),
            PageError::Csrf { .. } => (
                StatusCode::FORBIDDEN,
                "Session expired",
                "For your security this form could not be accepted: it did not come from this \
                 page, or the page is out of date. Nothing was changed.",
            ),
            PageError::Core(CoreError::Overloaded) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Very busy right now",
                "We are handling a great many payments right now. Nothing was changed; please \
                 try again in a moment.",
            ),
            PageError::Core(_) | PageError::Internal(_) => {
                // Logged here, once; the browser only learns that it failed.
                tracing::error!(error = %self, "hosted page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "We could not process your request. Nothing was changed; please try again \
                     in a moment.",
                )
            }
        };
        let content = html! {
            h1 { (title) }
            p id="page-error" { (text) }
            @if let Some(retry) = retry {
                a id="retry" class="button" href=(retry) { "Open the page again" }
            }
        };
        let response = Page::new(title, content)
            .status(status)
            .brand(brand)
            .into_response();
        if matches!(self, PageError::Core(CoreError::Overloaded)) {
            return crate::app::busy(response);
        }
        response
    }
}
