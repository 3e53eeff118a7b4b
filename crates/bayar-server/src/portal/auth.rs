//! Sign-up, login and logout.
//!
//! The login and sign-up forms come before any session, so they carry the hosted pages'
//! double-submit CSRF token (a cookie scoped to `/portal`). A wrong password and an unknown
//! email get the same answer; the fifth failure in a row locks the account for 15 minutes
//! (the core counts, in the same transaction as nothing else, so concurrent guesses all count).
//! Sign-up creates a merchant with sandbox credentials and shows its client secret and private
//! key once, on the answer to the sign-up post, never again.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::header::{self, HeaderMap};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bayar_core::CoreError;
use bayar_core::merchant::MerchantName;
use bayar_core::portal::{Email, Password};
use maud::{Markup, html};
use serde::Deserialize;

use super::PortalError;
use super::layout::bare;
use super::session::{self, Session};
use crate::app::AppState;
use crate::pages::layout::see_other;
use crate::pages::{Site, csrf};

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// The sign-up form.
#[derive(Deserialize)]
pub struct SignupForm {
    business: String,
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// The form post of a signed-in page that carries nothing but its CSRF token.
#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

fn site(state: &AppState) -> Site {
    Site::from_public_url(&state.public_url)
}

/// A fresh (or the browser's) pre-session CSRF token for the portal's forms.
fn issue(headers: &HeaderMap, site: &Site) -> Result<csrf::Issued, PortalError> {
    csrf::issue_under(headers, site, "/portal")
        .map_err(|_| PortalError::Internal("the system random generator failed"))
}

fn login_form(site: &Site, token: &str, email: &str, error: Option<&str>) -> Markup {
    html! {
        h1 { "Log in" }
        @if let Some(error) = error { p class="error" id="form-error" role="alert" { (error) } }
        form method="post" action=(site.path("/portal/login")) {
            input type="hidden" name="csrf" value=(token);
            label for="email" { "Email" }
            input id="email" name="email" type="email" autocomplete="username" required value=(email);
            label for="password" { "Password" }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            button type="submit" id="login" { "Log in" }
        }
        p class="muted" { "No account yet? " a href=(site.path("/portal/signup")) { "Sign up" } }
    }
}

fn signup_form(site: &Site, token: &str, form: Option<&SignupForm>, error: Option<&str>) -> Markup {
    let business = form.map_or("", |f| f.business.as_str());
    let email = form.map_or("", |f| f.email.as_str());
    html! {
        h1 { "Create a merchant account" }
        p class="muted" { "You get sandbox credentials at once: a client id, a client secret and an RSA key pair." }
        @if let Some(error) = error { p class="error" id="form-error" role="alert" { (error) } }
        form method="post" action=(site.path("/portal/signup")) {
            input type="hidden" name="csrf" value=(token);
            label for="business" { "Business name" }
            input id="business" name="business" type="text" autocomplete="organization" required maxlength="100" value=(business);
            label for="email" { "Email" }
            input id="email" name="email" type="email" autocomplete="username" required value=(email);
            label for="password" { "Password " span class="muted" { "(at least 10 characters)" } }
            input id="password" name="password" type="password" autocomplete="new-password" required minlength="10" maxlength="128";
            button type="submit" id="signup" { "Create account" }
        }
        p class="muted" { "Already have an account? " a href=(site.path("/portal/login")) { "Log in" } }
    }
}

/// `GET /portal/login`.
pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PortalError> {
    let site = site(&state);
    let issued = issue(&headers, &site)?;
    Ok(
        bare("Log in", login_form(&site, issued.token.as_str(), "", None))
            .cookie(issued.set_cookie)
            .into_response(),
    )
}

/// `POST /portal/login`: a session and the overview, or the form again with why not.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    let site = site(&state);
    let token = csrf::verify(&headers, &form.csrf).ok_or(PortalError::Csrf)?;
    let refuse = |status: StatusCode, message: &str| {
        bare(
            "Log in",
            login_form(&site, token.as_str(), &form.email, Some(message)),
        )
        .status(status)
        .into_response()
    };
    let wrong = "The email or password is wrong.";
    let (Ok(email), Ok(password)) = (Email::parse(&form.email), Password::parse(&form.password))
    else {
        return Ok(refuse(StatusCode::UNAUTHORIZED, wrong));
    };
    match state.core.log_in(&email, password).await {
        Ok(login) => {
            let mut response = see_other(&site.path("/portal"));
            response.headers_mut().append(
                header::SET_COOKIE,
                session::set_cookie(&login.token, &site)?,
            );
            Ok(response)
        }
        Err(CoreError::LoginRefused) => Ok(refuse(StatusCode::UNAUTHORIZED, wrong)),
        Err(CoreError::LockedOut) => Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins: this account is locked for 15 minutes.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// `GET /portal/signup`.
pub async fn signup_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PortalError> {
    let site = site(&state);
    let issued = issue(&headers, &site)?;
    Ok(bare(
        "Sign up",
        signup_form(&site, issued.token.as_str(), None, None),
    )
    .cookie(issued.set_cookie)
    .into_response())
}

/// `POST /portal/signup`: a new merchant and its first user, signed in, with the credentials
/// shown this once.
pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignupForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    let site = site(&state);
    let token = csrf::verify(&headers, &form.csrf).ok_or(PortalError::Csrf)?;
    let refuse = |message: &str| {
        bare(
            "Sign up",
            signup_form(&site, token.as_str(), Some(&form), Some(message)),
        )
        .status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response()
    };
    let name = match MerchantName::parse(&form.business) {
        Ok(name) => name,
        Err(e) => return Ok(refuse(&format!("Business name: {e}."))),
    };
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(e) => return Ok(refuse(&format!("Email: {e}."))),
    };
    let password = match Password::parse(&form.password) {
        Ok(password) => password,
        Err(e) => return Ok(refuse(&format!("Password: {e}."))),
    };
    let (_, created) = match state.core.sign_up(email.clone(), password, name).await {
        Ok(done) => done,
        Err(CoreError::EmailTaken) => {
            return Ok(refuse(
                "An account with this email already exists: log in instead.",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    // The password was just checked by the sign-up itself; logging in now opens the session.
    let password = Password::parse(&form.password)
        .map_err(|_| PortalError::Internal("a parsed password no longer parses"))?;
    let login = state.core.log_in(&email, password).await?;
    let merchant = &created.merchant;
    let content = html! {
        h1 { "Welcome, " (merchant.name.as_str()) }
        p class="notice" { "Your sandbox merchant is ready." }
        div class="once" id="shown-once" {
            p { strong { "Copy these now: the client secret, the secret API key and the private key are shown only this once." } }
            dl class="facts" {
                dt { "Merchant id" } dd { code id="merchant-id" { (merchant.id) } }
                dt { "Client id" } dd { code id="client-id" { (merchant.client_id) } }
                dt { "Client secret" } dd { code id="client-secret" { (merchant.client_secret.expose()) } }
                dt { "Secret API key (Stripe-style API)" } dd { code id="secret-key" { (created.secret_key.expose()) } }
            }
            @if let Some(pem) = &created.private_key_pem {
                label for="private-key" { "Your private key (PKCS#8 PEM)" }
                textarea id="private-key" readonly rows="8" { (pem.expose()) }
            }
        }
        a class="button" id="continue" href=(site.path("/portal")) { "Continue to the portal" }
    };
    let cookie: HeaderValue = session::set_cookie(&login.token, &site)?;
    Ok(bare("Welcome", content)
        .cookie(Some(cookie))
        .into_response())
}

/// `POST /portal/logout`: ends the session and forgets the cookie.
pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    session.check_csrf(&form.csrf)?;
    state.core.log_out(session.token()).await?;
    let mut response = see_other(&session.path("/portal/login"));
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::clear_cookie(&session.site)?);
    Ok(response)
}
