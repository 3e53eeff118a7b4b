//! The merchant portal: the web application a merchant's staff (and the gateway's operator)
//! signs in to, served by `bayar serve` under `/portal`.
//!
//! Layout, one file per job:
//! - [`session`]: the session cookie, the signed-in [`session::Session`] extractor, and the
//!   CSRF token every form of a session carries;
//! - [`layout`]: the portal's HTML shell and navigation;
//! - [`auth`]: sign-up, login (with lockout), logout;
//! - [`dashboard`]: the overview (and, for operators, the list of merchants);
//! - [`payments`]: the searchable, paginated payments list;
//! - [`payment`]: a payment's detail (timeline, ledger, notifications), refund and resend;
//! - [`balances`]: available balance, deposit with sandbox top-up, statement CSV;
//! - [`credentials`]: client id, secret rotation, RSA keys, the gateway's public key;
//! - [`api_log`]: the middleware recording every signed call, its page and CSV download;
//! - [`checklist`]: the integration checklist, ticked from the API log;
//! - [`settings`]: the notification URL;
//! - [`reports`]: daily volume per channel, and the settlement file in USD.
//!
//! Like the faces, the portal only calls the core. Who may see what is the core's
//! [`bayar_core::portal::Scope`]: a merchant user's requests are scoped to its merchant, so a
//! guessed id of another merchant's payment answers 404 as any unknown id does. The pages need
//! no JavaScript and no external assets. [`PortalError`] is the portal's one error type.

pub mod api_log;
pub mod auth;
pub mod balances;
pub mod checklist;
pub mod credentials;
pub mod dashboard;
pub mod layout;
pub mod payment;
pub mod payments;
pub mod reports;
pub mod session;
pub mod settings;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bayar_core::CoreError;
use bayar_core::ids::MerchantId;
use bayar_core::merchant::Merchant;
use bayar_core::portal::{PortalUser, Role};
use maud::html;
use thiserror::Error;

use crate::app::AppState;
use crate::pages::Site;
use crate::pages::layout::see_other;

/// The largest form body the portal accepts: a PEM public key fits many times over.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// The portal's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(dashboard::show))
        .route("/portal/login", get(auth::login_page).post(auth::login))
        .route("/portal/signup", get(auth::signup_page).post(auth::signup))
        .route("/portal/logout", post(auth::logout))
        .route("/portal/payments", get(payments::list))
        .route("/portal/payments/{id}", get(payment::show))
        .route("/portal/payments/{id}/refund", post(payment::refund))
        .route("/portal/payments/{id}/resend", post(payment::resend))
        .route("/portal/balances", get(balances::show))
        .route("/portal/balances/topup", post(balances::top_up))
        .route("/portal/balances/statement.csv", get(balances::statement))
        .route("/portal/settings", get(settings::show).post(settings::save))
        .route("/portal/settings/webhooks", post(settings::create_endpoint))
        .route(
            "/portal/settings/webhooks/{id}/delete",
            post(settings::delete_endpoint),
        )
        .route("/portal/settings/test", post(settings::send_test))
        .route("/portal/reports", get(reports::show))
        .route("/portal/reports/settlement.csv", get(reports::settlement))
        .route("/portal/api-log", get(api_log::show))
        .route("/portal/api-log.csv", get(api_log::download))
        .route("/portal/credentials", get(credentials::show))
        .route("/portal/credentials/rotate", post(credentials::rotate))
        .route(
            "/portal/credentials/roll-api-key",
            post(credentials::roll_api_key),
        )
        .route(
            "/portal/credentials/public-key",
            post(credentials::upload_key),
        )
        .route(
            "/portal/credentials/generate-key",
            post(credentials::generate_key),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Why a portal request was refused or failed. Each renders as a page; none shows internal
/// details (or any secret) to the browser.
#[derive(Debug, Error)]
pub enum PortalError {
    /// No session: the browser is sent to the login page.
    #[error("not signed in")]
    SignedOut {
        /// Where the portal lives (for the login URL).
        site: Site,
    },
    /// No such thing, or not this user's to see (the same answer, so ids cannot be probed).
    #[error("not found")]
    NotFound,
    /// The form's CSRF token is missing or wrong.
    #[error("the form's CSRF token is missing or does not match")]
    Csrf,
    /// The form body could not be read.
    #[error("the form could not be read: {0}")]
    BadForm(#[from] FormRejection),
    /// The query string could not be read.
    #[error("the query could not be read: {0}")]
    BadQuery(#[from] QueryRejection),
    /// The core failed (business refusals are shown next to their form instead).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// bayar's own failure outside the core.
    #[error("{0}")]
    Internal(&'static str),
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let (status, title, text) = match &self {
            PortalError::SignedOut { site } => return see_other(&site.path("/portal/login")),
            PortalError::NotFound
            | PortalError::Core(
                CoreError::PaymentNotFound
                | CoreError::MerchantNotFound
                | CoreError::WebhookEndpointNotFound,
            ) => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it is not yours to see.",
            ),
            PortalError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form could not be accepted: it did not come from this portal, or the page \
                 is out of date. Nothing was changed. Go back, reload the page and try again.",
            ),
            PortalError::BadForm(rejection) => (
                rejection.status(),
                "Form not readable",
                "The form could not be read. Nothing was changed.",
            ),
            PortalError::BadQuery(_) => (
                StatusCode::BAD_REQUEST,
                "Address not readable",
                "The address of this page could not be read.",
            ),
            PortalError::Core(CoreError::Overloaded) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Very busy right now",
                "bayar has too many requests in progress. Nothing was changed; try again in a \
                 moment.",
            ),
            PortalError::Core(_) | PortalError::Internal(_) => {
                tracing::error!(error = %self, "portal request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The request failed inside bayar. Nothing was changed; try again in a moment.",
                )
            }
        };
        let response = layout::bare(
            title,
            html! {
                h1 { (title) }
                p id="portal-error" { (text) }
            },
        )
        .status(status)
        .into_response();
        if matches!(self, PortalError::Core(CoreError::Overloaded)) {
            return crate::app::busy(response);
        }
        response
    }
}

/// The merchant a page is about: a merchant user's own (another merchant named in the query is
/// [`PortalError::NotFound`]), or for an operator the one named in `?merchant=`; `None` when an
/// operator named none (the page then asks to pick one).
pub async fn chosen_merchant(
    state: &AppState,
    user: &PortalUser,
    named: Option<&str>,
) -> Result<Option<Merchant>, PortalError> {
    let named = match named.filter(|s| !s.is_empty()) {
        Some(text) => Some(
            text.parse::<MerchantId>()
                .map_err(|_| PortalError::NotFound)?,
        ),
        None => None,
    };
    let id = match (user.role, named) {
        (Role::Merchant(own), None) => own,
        (Role::Merchant(own), Some(id)) if id == own => own,
        (Role::Merchant(_), Some(_)) => return Err(PortalError::NotFound),
        (Role::Operator, Some(id)) => id,
        (Role::Operator, None) => return Ok(None),
    };
    let merchant = state
        .core
        .store()
        .merchant_by_id(&id)
        .await
        .map_err(CoreError::from)?
        .ok_or(PortalError::NotFound)?;
    Ok(Some(merchant))
}

/// Formats minor units as `IDR 10000.00` (negative amounts with a leading minus).
pub fn idr(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    match bayar_snap::Money::from_minor(minor.unsigned_abs().try_into().unwrap_or(i64::MAX)) {
        Ok(m) => format!("{sign}IDR {m}"),
        Err(_) => format!("{sign}IDR {minor} sen"),
    }
}

/// Parses an amount typed in a form: `10000`, `10000.5` or `10000.00` rupiah.
pub fn parse_amount(text: &str) -> Option<bayar_snap::Money> {
    let text = text.trim();
    let normal = match text.split_once('.') {
        None => format!("{text}.00"),
        Some((_, frac)) if frac.len() == 1 => format!("{text}0"),
        Some(_) => text.to_string(),
    };
    bayar_snap::Money::parse(&normal).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("10000").map(|m| m.minor()), Some(1_000_000));
        assert_eq!(parse_amount(" 10.5 ").map(|m| m.minor()), Some(1_050));
        assert_eq!(parse_amount("10.05").map(|m| m.minor()), Some(1_005));
        for bad in ["", "-1", "1e3", "1.234", "abc", "1,000"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(idr(1_000_000), "IDR 10000.00");
        assert_eq!(idr(-250), "-IDR 2.50");
    }
}
