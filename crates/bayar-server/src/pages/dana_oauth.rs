//! The DANA-like wallet's OAuth page (DANA's "get auth code", reference/dana.md 2.2): the
//! wallet user sees which merchant asks for access to their wallet, logs in with the wallet's
//! phone number and PIN, and is sent back to the merchant with an auth code, which the
//! merchant exchanges for customer tokens at `/v1.0/access-token/b2b2c.htm`.
//!
//! - `GET /pages/dana/oauth?partnerId=…&redirectUrl=…&state=…&scopes=…&externalId=…`: the
//!   login form. These are the parameters of the URL dana-python's `Util.generate_oauth_url`
//!   builds; `GET /v1.0/get-auth-code?…` (that URL with only its host replaced) redirects here.
//!   `partnerId` is the merchant's client id (`X-PARTNER-ID`); `redirectUrl` must be an
//!   absolute http(s) URL.
//! - `POST /pages/dana/oauth` (`phone`, `pin`, `csrf`, the parameters above as hidden fields,
//!   and `attempt` after a wrong PIN): authorized -> 303 to `redirectUrl?authCode=…&state=…`;
//!   wrong PIN -> the form again with `#error` and the tries left (422); the third wrong PIN ->
//!   a final page (403), the binding failed.
//!
//! The rules live in the core ([`bayar_core::Core::authorize_wallet`]): a wallet binding begun
//! at its PIN step, activated by the right PIN. Wrong PINs are counted on the binding the
//! hidden `attempt` names; an unknown phone number gets the same words as a wrong PIN and is
//! not counted. Logs name the merchant and the binding, never a phone number, PIN or code.

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bayar_core::commands::Answer;
use bayar_core::customer::{PhoneNumber, Pin};
use bayar_core::ids::BindingId;
use bayar_core::merchant::{ClientId, Merchant};
use bayar_core::{CoreError, WalletAuthorization};
use maud::html;
use serde::Deserialize;

use super::allo_binding::{merchant_url, tries_left};
use super::csrf::{self, CsrfToken};
use super::layout::{Brand, Page, see_other};
use super::{PageError, Site};
use crate::app::AppState;

/// The words for a wrong PIN and for an unknown phone number alike.
const WRONG_LOGIN: &str = "The phone number or PIN is wrong.";

/// Longest `redirectUrl` accepted.
const MAX_URL: usize = 2048;

/// Longest `state`, `scopes` or `externalId` accepted.
const MAX_PARAM: usize = 256;

/// What the merchant's OAuth URL carries (dana-python's `Util.generate_oauth_url`); other
/// parameters (`channelId`, `timestamp`, `isSnapBI`, `merchantId`, seamless data) are ignored.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct OauthParams {
    /// The merchant's client id.
    #[serde(default, rename = "partnerId")]
    partner_id: String,
    /// Where the browser goes back with the auth code.
    #[serde(default, rename = "redirectUrl")]
    redirect_url: String,
    /// The merchant's opaque value, returned as is.
    #[serde(default)]
    state: String,
    /// The access asked for, shown to the user.
    #[serde(default)]
    scopes: String,
    /// The merchant's reference of this request.
    #[serde(default, rename = "externalId")]
    external_id: String,
}

/// The login form's fields (no `Debug`: the PIN is a secret).
#[derive(Deserialize)]
pub struct LoginForm {
    /// The wallet's phone number as typed.
    #[serde(default)]
    phone: String,
    /// The wallet's PIN as typed.
    #[serde(default)]
    pin: String,
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
    /// The binding of an earlier wrong PIN on this page.
    #[serde(default)]
    attempt: String,
    /// The OAuth parameters, carried through the form.
    #[serde(flatten)]
    params: OauthParams,
}

/// `GET /v1.0/get-auth-code?…`: DANA's OAuth address, sent on to the page with its query.
pub async fn get_auth_code(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    let site = Site::from_public_url(&state.public_url);
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    see_other(&site.path(&format!("/pages/dana/oauth{query}")))
}

/// `GET /pages/dana/oauth`: the login form.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<OauthParams>, QueryRejection>,
) -> Response {
    branded(show_page(&state, &headers, params).await)
}

/// `POST /pages/dana/oauth`: logs in and authorizes.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    branded(submit(&state, &headers, form).await)
}

fn branded(outcome: Result<Response, PageError>) -> Response {
    outcome.unwrap_or_else(|e| e.into_page(Brand::Dana))
}

async fn show_page(
    state: &AppState,
    headers: &HeaderMap,
    params: Result<Query<OauthParams>, QueryRejection>,
) -> Result<Response, PageError> {
    let Query(params) = params.map_err(|_| PageError::NotFound)?;
    let site = Site::from_public_url(&state.public_url);
    let merchant = merchant(state, &params).await?;
    let issued = csrf::issue(headers, &site)?;
    Ok(
        form(&site, &merchant, &params, &issued.token, "", None, None)
            .cookie(issued.set_cookie)
            .into_response(),
    )
}

async fn submit(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    let site = Site::from_public_url(&state.public_url);
    let Form(form) = form?;
    PageError::check_lengths(&[&form.phone, &form.pin, &form.csrf, &form.attempt])?;
    let params = form.params;
    let merchant = merchant(state, &params).await?;
    let token = csrf::verify(headers, &form.csrf).ok_or_else(|| PageError::Csrf {
        retry: retry_path(&site, &params),
    })?;
    let typed_phone = form.phone.trim();
    let again = |error: &str, attempt: Option<BindingId>| {
        form_page(
            &site,
            &merchant,
            &params,
            &token,
            typed_phone,
            error,
            attempt,
        )
    };
    let Ok(phone) = PhoneNumber::parse(typed_phone) else {
        return Ok(again(
            "Enter the mobile number of your DANA account, e.g. 0812 3456 7890.",
            None,
        ));
    };
    let Ok(pin) = Pin::parse(&form.pin) else {
        return Ok(again("Your PIN is 6 digits.", form.attempt.parse().ok()));
    };
    let outcome = state
        .core
        .authorize_wallet(WalletAuthorization {
            merchant_id: merchant.id,
            phone,
            pin,
            attempt: form.attempt.parse().ok(),
            reference: params.external_id.clone(),
            redirect_url: params.redirect_url.clone(),
        })
        .await;
    match outcome {
        Ok((
            binding,
            Answer::Accepted {
                auth_code: Some(code),
                ..
            },
        )) => {
            tracing::info!(merchant = %merchant.id, %binding, "dana oauth: authorized");
            let back = merchant_url(
                &params.redirect_url,
                &[("authCode", code.expose()), ("state", &params.state)],
            )
            .ok_or(PageError::NotFound)?;
            Ok(see_other(&back))
        }
        Ok((binding, Answer::Wrong { remaining })) => {
            tracing::info!(merchant = %merchant.id, %binding, remaining, "dana oauth: wrong PIN");
            let message = format!("{WRONG_LOGIN} {}", tries_left(remaining));
            Ok(again(&message, Some(binding)))
        }
        Ok((binding, Answer::Locked | Answer::Expired | Answer::Accepted { .. })) => {
            tracing::info!(merchant = %merchant.id, %binding, "dana oauth: refused, binding failed");
            Ok(refused(
                "The PIN was entered wrongly too many times. Nothing was linked; please start \
                 again from the merchant's app or website.",
            ))
        }
        Err(CoreError::CustomerNotFound) => {
            tracing::info!(merchant = %merchant.id, "dana oauth: unknown phone number");
            Ok(again(WRONG_LOGIN, None))
        }
        Err(CoreError::AccountFrozen) => {
            Ok(refused("Your DANA account is frozen. Please contact DANA."))
        }
        // A stale `attempt` (double submit, or the binding already ended).
        Err(CoreError::BindingNotActive) => Ok(refused(
            "This login was already completed or has ended. Please start again from the \
             merchant's app or website.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// The merchant named by `partnerId`, when the parameters are usable: an unknown merchant or
/// a `redirectUrl` that is not an absolute http(s) URL is a link that does not exist.
async fn merchant(state: &AppState, params: &OauthParams) -> Result<Merchant, PageError> {
    let usable = params.redirect_url.len() <= MAX_URL
        && [&params.state, &params.scopes, &params.external_id]
            .iter()
            .all(|p| p.len() <= MAX_PARAM)
        && merchant_url(&params.redirect_url, &[]).is_some();
    if !usable {
        return Err(PageError::NotFound);
    }
    let client_id = ClientId::parse(&params.partner_id).map_err(|_| PageError::NotFound)?;
    state
        .core
        .merchant_by_client_id(&client_id)
        .await?
        .ok_or(PageError::NotFound)
}

/// The page again, for a fresh form.
fn retry_path(site: &Site, params: &OauthParams) -> String {
    let mut url = url::Url::parse("http://bayar.invalid/").expect("constant URL");
    url.query_pairs_mut().extend_pairs([
        ("partnerId", params.partner_id.as_str()),
        ("redirectUrl", params.redirect_url.as_str()),
        ("state", params.state.as_str()),
        ("scopes", params.scopes.as_str()),
        ("externalId", params.external_id.as_str()),
    ]);
    site.path(&format!(
        "/pages/dana/oauth?{}",
        url.query().unwrap_or_default()
    ))
}

/// The form again, answering 422 with `error`.
fn form_page(
    site: &Site,
    merchant: &Merchant,
    params: &OauthParams,
    token: &CsrfToken,
    phone: &str,
    error: &str,
    attempt: Option<BindingId>,
) -> Response {
    form(site, merchant, params, token, phone, Some(error), attempt)
        .status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response()
}

/// A final refusal (403).
fn refused(text: &str) -> Response {
    let content = html! {
        h1 class="status-bad" { "Not linked" }
        p id="oauth-refused" class="error" { (text) }
    };
    Page::new("Not linked", content)
        .status(StatusCode::FORBIDDEN)
        .brand(Brand::Dana)
        .into_response()
}

/// The login form.
fn form(
    site: &Site,
    merchant: &Merchant,
    params: &OauthParams,
    token: &CsrfToken,
    phone: &str,
    error: Option<&str>,
    attempt: Option<BindingId>,
) -> Page {
    let attempt = attempt.map(|a| a.to_string()).unwrap_or_default();
    let scopes: Vec<&str> = params
        .scopes
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let content = html! {
        h1 { "Link your DANA account" }
        p id="merchant-name" { (merchant.name.as_str()) " asks to link your DANA account." }
        @if !scopes.is_empty() {
            ul id="scopes" class="hint" {
                @for scope in &scopes { li { (scope) } }
            }
        }
        @if let Some(error) = error {
            p id="error" class="error" role="alert" { (error) }
        }
        form method="post" action=(site.path("/pages/dana/oauth")) {
            input type="hidden" name=(csrf::FIELD) value=(token.as_str());
            input type="hidden" name="attempt" value=(attempt);
            input type="hidden" name="partnerId" value=(params.partner_id);
            input type="hidden" name="redirectUrl" value=(params.redirect_url);
            input type="hidden" name="state" value=(params.state);
            input type="hidden" name="scopes" value=(params.scopes);
            input type="hidden" name="externalId" value=(params.external_id);
            label for="phone" { "DANA phone number" }
            input id="phone" name="phone" class="text" type="tel" inputmode="numeric"
                autocomplete="tel" maxlength="20" placeholder="0812 3456 7890" required
                value=(phone) autofocus[phone.is_empty()];
            label for="pin" { "PIN" }
            input id="pin" name="pin" type="password" inputmode="numeric"
                autocomplete="off" pattern="[0-9]{6}" minlength="6" maxlength="6"
                required autofocus[!phone.is_empty()] aria-describedby="pin-hint"
                aria-invalid=[error.map(|_| "true")];
            p id="pin-hint" class="hint" {
                "DANA never asks for your PIN by phone, SMS or chat."
            }
            button id="submit-login" type="submit" { "Link account" }
        }
    };
    Page::new("Link your DANA account", content).brand(Brand::Dana)
}
