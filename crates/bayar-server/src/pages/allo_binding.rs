//! The Allo-like bank's account-binding page: the customer proves the account is theirs with
//! the OTP "sent by SMS" (shown on the page in the sandbox), then their PIN, and is sent back
//! to the merchant.
//!
//! - `GET  /pages/allo/bind/{id}`: the step the binding is at (OTP form, PIN form, or a final
//!   page);
//! - `POST /pages/allo/bind/{id}/otp` (`otp`, `csrf`): right -> 303 to the page (PIN step);
//!   wrong -> the form again with `#error`; expired or too many wrong answers -> 303 to the
//!   merchant's failed URL;
//! - `POST /pages/allo/bind/{id}/pin` (`pin`, `csrf`): right -> 303 to the merchant's success
//!   URL with `authCode`; wrong -> the form again; too many -> 303 to the failed URL.
//!
//! The merchant's URLs get `referenceNo` (the binding id), `status` (`SUCCESS` or `FAILED`)
//! and, on success, `authCode` and `custIdMerchant` appended to their own query.
//!
//! Answers in the wrong format (not six digits) are refused on the page and not counted as
//! wrong tries. Logs name the binding and the outcome, never an OTP, PIN or auth code.

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bayar_core::binding::{Binding, BindingStatus};
use bayar_core::commands::{Answer, SubmitOtp};
use bayar_core::customer::{PhoneNumber, Pin};
use bayar_core::ids::BindingId;
use bayar_core::{Core, CoreError};
use maud::{Markup, html};
use serde::Deserialize;

use super::csrf::{self, CsrfToken};
use super::layout::{Page, see_other};
use super::{PageError, Site};
use crate::app::AppState;

/// Digits in an OTP and in a PIN.
const CODE_DIGITS: usize = 6;

/// The OTP form's fields (no `Debug`: the OTP is a secret).
#[derive(Deserialize)]
pub struct OtpForm {
    /// What the customer typed.
    #[serde(default)]
    otp: String,
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
}

/// The PIN form's fields (no `Debug`: never printed).
#[derive(Deserialize)]
pub struct PinForm {
    /// What the customer typed.
    #[serde(default)]
    pin: String,
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
}

/// `GET /pages/allo/bind/{id}`: the step the binding is at.
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let site = Site::from_public_url(&state.public_url);
    let binding = load(&state.core, parse_id(id)?).await?;
    let view = View::of(&state.core, binding, site).await?;
    let page = match view.binding.status {
        BindingStatus::Otp | BindingStatus::Pin => {
            let issued = csrf::issue(&headers, &view.site)?;
            view.form(&issued.token, None).cookie(issued.set_cookie)
        }
        BindingStatus::Active | BindingStatus::Failed | BindingStatus::Unbound => view.done(),
    };
    Ok(page.into_response())
}

/// `POST /pages/allo/bind/{id}/otp`: checks the OTP.
pub async fn submit_otp(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    form: Result<Form<OtpForm>, FormRejection>,
) -> Result<Response, PageError> {
    let site = Site::from_public_url(&state.public_url);
    let binding_id = parse_id(id)?;
    let Form(form) = form?;
    PageError::check_lengths(&[&form.otp, &form.csrf])?;
    let token = csrf::verify(&headers, &form.csrf).ok_or_else(|| PageError::Csrf {
        retry: site.path(&format!("/pages/allo/bind/{binding_id}")),
    })?;
    let binding = load(&state.core, binding_id).await?;
    let view = View::of(&state.core, binding, site).await?;
    if view.binding.status != BindingStatus::Otp {
        // A repeated or stale post: show where the binding stands now.
        return Ok(see_other(&view.page_path()));
    }
    let otp = form.otp.trim();
    if !is_code(otp) {
        return Ok(view
            .form(&token, Some("Enter the 6-digit code from the SMS."))
            .status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    }
    let answer = state
        .core
        .run(SubmitOtp {
            binding_id,
            otp: otp.to_string(),
        })
        .await;
    match answer {
        Ok(Answer::Accepted { .. }) => {
            tracing::info!(binding = %binding_id, "binding page: OTP accepted");
            Ok(see_other(&view.page_path()))
        }
        Ok(Answer::Wrong { remaining }) => {
            tracing::info!(binding = %binding_id, remaining, "binding page: wrong OTP");
            let message = format!("That code is not right. {}", tries_left(remaining));
            Ok(view
                .form(&token, Some(&message))
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response())
        }
        Ok(answer @ (Answer::Expired | Answer::Locked)) => {
            tracing::info!(binding = %binding_id, outcome = ?answer, "binding page: binding failed at the OTP");
            Ok(view.back_to_merchant_failed())
        }
        Err(CoreError::BindingNotActive) => Ok(see_other(&view.page_path())),
        Err(e) => Err(e.into()),
    }
}

/// `POST /pages/allo/bind/{id}/pin`: checks the PIN; on success the binding is active and the
/// browser goes back to the merchant with the auth code.
pub async fn submit_pin(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    form: Result<Form<PinForm>, FormRejection>,
) -> Result<Response, PageError> {
    let site = Site::from_public_url(&state.public_url);
    let binding_id = parse_id(id)?;
    let Form(form) = form?;
    PageError::check_lengths(&[&form.pin, &form.csrf])?;
    let token = csrf::verify(&headers, &form.csrf).ok_or_else(|| PageError::Csrf {
        retry: site.path(&format!("/pages/allo/bind/{binding_id}")),
    })?;
    let binding = load(&state.core, binding_id).await?;
    let view = View::of(&state.core, binding, site).await?;
    if view.binding.status != BindingStatus::Pin {
        return Ok(see_other(&view.page_path()));
    }
    let Ok(pin) = Pin::parse(&form.pin) else {
        return Ok(view
            .form(&token, Some("Your PIN is 6 digits."))
            .status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    };
    match state.core.submit_binding_pin(binding_id, pin).await {
        Ok(Answer::Accepted {
            binding,
            auth_code: Some(code),
        }) => {
            tracing::info!(binding = %binding_id, "binding page: PIN accepted, binding active");
            let reference_no = binding.id.to_string();
            let params = [
                ("authCode", code.expose().as_str()),
                ("referenceNo", reference_no.as_str()),
                ("custIdMerchant", binding.cust_id_merchant.as_str()),
                ("status", "SUCCESS"),
            ];
            match merchant_url(&binding.success_url, &params) {
                Some(url) => Ok(see_other(&url)),
                None => {
                    // The face that began the binding should have refused such a URL; this is the
                    // guard for when it did not. The binding is active all the same.
                    tracing::warn!(binding = %binding_id, "binding page: success URL unusable; showing the final page");
                    Ok(view.with(*binding).done().into_response())
                }
            }
        }
        Ok(Answer::Accepted {
            auth_code: None, ..
        }) => Err(PageError::Internal(
            "an accepted PIN did not activate the binding",
        )),
        Ok(Answer::Wrong { remaining }) => {
            tracing::info!(binding = %binding_id, remaining, "binding page: wrong PIN");
            let message = format!("That PIN is not right. {}", tries_left(remaining));
            Ok(view
                .form(&token, Some(&message))
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response())
        }
        Ok(answer @ (Answer::Expired | Answer::Locked)) => {
            tracing::info!(binding = %binding_id, outcome = ?answer, "binding page: binding failed at the PIN");
            Ok(view.back_to_merchant_failed())
        }
        // A double submit: the first post already moved the binding on.
        Err(CoreError::BindingNotActive) => Ok(see_other(&view.page_path())),
        Err(e) => Err(e.into()),
    }
}

/// The binding id from the URL; anything else (not an id, not even UTF-8) is a page that
/// does not exist.
fn parse_id(path: Result<Path<String>, PathRejection>) -> Result<BindingId, PageError> {
    let Path(id) = path.map_err(|_| PageError::NotFound)?;
    id.parse().map_err(|_| PageError::NotFound)
}

async fn load(core: &Core, id: BindingId) -> Result<Binding, PageError> {
    core.store()
        .binding(&id)
        .await
        .map_err(CoreError::from)?
        .ok_or(PageError::NotFound)
}

/// Exactly six ASCII digits.
fn is_code(s: &str) -> bool {
    s.len() == CODE_DIGITS && s.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn tries_left(remaining: u32) -> String {
    match remaining {
        1 => "You have 1 try left.".to_string(),
        n => format!("You have {n} tries left."),
    }
}

/// `raw` with `params` appended to its query (existing parameters and fragment kept), or
/// `None` when it is not an absolute `http(s)` URL: nothing else may become a link or a
/// redirect target (no `javascript:`).
pub(super) fn merchant_url(raw: &str, params: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.query_pairs_mut().extend_pairs(params);
    Some(url.into())
}

/// `+62 812-****-7890`: enough for the customer to recognise their number, not to learn it.
pub(super) fn mask_phone(phone: &PhoneNumber) -> String {
    let digits = phone.as_str();
    let national = digits.strip_prefix("62").unwrap_or(digits);
    let head = national.get(..3).unwrap_or_default();
    let tail = national
        .get(national.len().saturating_sub(4)..)
        .unwrap_or_default();
    let hidden = national.len().saturating_sub(head.len() + tail.len());
    format!("+62 {head}-{}-{tail}", "*".repeat(hidden))
}

/// What a binding page shows, gathered once per request.
#[derive(Clone)]
struct View {
    binding: Binding,
    merchant: String,
    masked_phone: String,
    site: Site,
}

impl View {
    async fn of(core: &Core, binding: Binding, site: Site) -> Result<View, PageError> {
        let store = core.store();
        let merchant = store
            .merchant_by_id(&binding.merchant_id)
            .await
            .map_err(CoreError::from)?
            .map(|m| m.name.as_str().to_string())
            .unwrap_or_else(|| "The merchant".to_string());
        let masked_phone = store
            .customer(&binding.customer_id)
            .await
            .map_err(CoreError::from)?
            .map(|c| mask_phone(&c.phone))
            .unwrap_or_default();
        Ok(View {
            binding,
            merchant,
            masked_phone,
            site,
        })
    }

    /// The same view of the binding as it is now.
    fn with(self, binding: Binding) -> View {
        View { binding, ..self }
    }

    fn page_path(&self) -> String {
        self.site
            .path(&format!("/pages/allo/bind/{}", self.binding.id))
    }

    /// The form of the step the binding is at, with an error from the last answer.
    fn form(&self, token: &CsrfToken, error: Option<&str>) -> Page {
        match self.binding.status {
            BindingStatus::Pin => Page::new("Enter your PIN", self.pin_form(token, error)),
            _ => Page::new("Enter the code", self.otp_form(token, error)),
        }
    }

    fn otp_form(&self, token: &CsrfToken, error: Option<&str>) -> Markup {
        let b = &self.binding;
        let expires = b
            .otp_expires_at
            .with_timezone(&bayar_snap::time::jakarta())
            .format("%H:%M");
        let described_by = if error.is_some() {
            "error otp-hint"
        } else {
            "otp-hint"
        };
        html! {
            h1 { "Link your Allo Bank account" }
            p {
                strong { (self.merchant) } " wants to link your Allo Bank account for direct debit payments."
            }
            p {
                "We sent a 6-digit code by SMS to "
                strong id="masked-phone" class="nowrap" { (self.masked_phone) } "."
            }
            div class="sandbox" role="note" aria-labelledby="sandbox-label" {
                strong id="sandbox-label" { "Sandbox: no SMS is sent." }
                " The code a real bank would text you:"
                code id="sandbox-otp" { (b.otp.expose()) }
            }
            @if let Some(error) = error {
                p id="error" class="error" role="alert" { (error) }
            }
            form method="post" action=(self.site.path(&format!("/pages/allo/bind/{}/otp", b.id))) {
                input type="hidden" name=(csrf::FIELD) value=(token.as_str());
                label for="otp" { "Verification code" }
                input id="otp" name="otp" type="text" inputmode="numeric"
                    autocomplete="one-time-code" pattern="[0-9]{6}" minlength="6" maxlength="6"
                    required autofocus aria-describedby=(described_by)
                    aria-invalid=[error.map(|_| "true")];
                p id="otp-hint" class="hint" { "The code expires at " (expires) " WIB." }
                button id="submit-otp" type="submit" { "Continue" }
            }
        }
    }

    fn pin_form(&self, token: &CsrfToken, error: Option<&str>) -> Markup {
        let b = &self.binding;
        let described_by = if error.is_some() {
            "error pin-hint"
        } else {
            "pin-hint"
        };
        html! {
            h1 { "Enter your Allo Bank PIN" }
            p {
                "Confirm linking your account to " strong { (self.merchant) } " with your 6-digit PIN."
            }
            @if let Some(error) = error {
                p id="error" class="error" role="alert" { (error) }
            }
            form method="post" action=(self.site.path(&format!("/pages/allo/bind/{}/pin", b.id))) {
                input type="hidden" name=(csrf::FIELD) value=(token.as_str());
                label for="pin" { "PIN" }
                input id="pin" name="pin" type="password" inputmode="numeric"
                    autocomplete="off" pattern="[0-9]{6}" minlength="6" maxlength="6"
                    required autofocus aria-describedby=(described_by)
                    aria-invalid=[error.map(|_| "true")];
                p id="pin-hint" class="hint" {
                    "Allo Bank never asks for your PIN by phone, SMS or chat."
                }
                button id="submit-pin" type="submit" { "Link account" }
            }
        }
    }

    /// The final page of a binding that is active, failed or unbound.
    fn done(&self) -> Page {
        let b = &self.binding;
        let (title, class, text) = match b.status {
            BindingStatus::Active => (
                "Account linked",
                "status-ok",
                format!(
                    "Your Allo Bank account is linked to {}. You can close this page.",
                    self.merchant
                ),
            ),
            BindingStatus::Failed => (
                "Linking failed",
                "status-bad",
                "Your account was not linked: the code expired or there were too many wrong \
                 answers. Please start again from the merchant."
                    .to_string(),
            ),
            BindingStatus::Unbound => (
                "Link removed",
                "status-bad",
                format!("This account link to {} has been removed.", self.merchant),
            ),
            // Not reached: pending bindings get their form; say something sensible anyway.
            BindingStatus::Otp | BindingStatus::Pin => (
                "Linking in progress",
                "",
                "Please go back and finish linking your account.".to_string(),
            ),
        };
        let back = (b.status == BindingStatus::Failed)
            .then(|| self.failed_url())
            .flatten();
        Page::new(
            title,
            html! {
                h1 class=(class) { (title) }
                p id="binding-status" data-status=(b.status.as_str()) { (text) }
                @if let Some(back) = back {
                    a id="return-to-merchant" class="button" href=(back) {
                        "Return to " (self.merchant)
                    }
                }
            },
        )
    }

    /// The merchant's failed URL with `referenceNo` and `status=FAILED`, when usable.
    fn failed_url(&self) -> Option<String> {
        let reference_no = self.binding.id.to_string();
        merchant_url(
            &self.binding.failed_url,
            &[("referenceNo", reference_no.as_str()), ("status", "FAILED")],
        )
    }

    /// 303 to the merchant's failed URL, or the final page when that URL is unusable.
    fn back_to_merchant_failed(&self) -> Response {
        match self.failed_url() {
            Some(url) => see_other(&url),
            None => {
                tracing::warn!(binding = %self.binding.id, "binding page: failed URL unusable; showing the final page");
                // The core failed it in the same call; show it as it now stands.
                let failed = Binding {
                    status: BindingStatus::Failed,
                    ..self.binding.clone()
                };
                self.clone().with(failed).done().into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_urls_keep_their_query_and_refuse_other_schemes() {
        let params = [("referenceNo", "bnd_1"), ("status", "FAILED")];
        assert_eq!(
            merchant_url("https://shop.example/back?order=7&x=a%20b#top", &params).unwrap(),
            "https://shop.example/back?order=7&x=a%20b&referenceNo=bnd_1&status=FAILED#top"
        );
        assert_eq!(
            merchant_url("http://127.0.0.1:9/ok", &[("authCode", "a+b&c")]).unwrap(),
            "http://127.0.0.1:9/ok?authCode=a%2Bb%26c"
        );
        assert!(merchant_url("javascript:alert(1)", &params).is_none());
        assert!(merchant_url("/relative", &params).is_none());
        assert!(merchant_url("", &params).is_none());
    }

    #[test]
    fn phones_are_masked() {
        let phone = PhoneNumber::parse("081234567890").unwrap();
        assert_eq!(mask_phone(&phone), "+62 812-****-7890");
        let short = PhoneNumber::parse("0812345678").unwrap();
        assert_eq!(mask_phone(&short), "+62 812-**-5678");
    }

    #[test]
    fn codes_and_tries() {
        assert!(is_code("012345"));
        assert!(!is_code("12345"));
        assert!(!is_code("1234567"));
        assert!(!is_code("12345a"));
        assert!(!is_code("١٢٣٤٥٦"));
        assert_eq!(tries_left(1), "You have 1 try left.");
        assert_eq!(tries_left(2), "You have 2 tries left.");
    }
}
