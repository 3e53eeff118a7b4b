//! The DANA-like wallet's payment page: the customer sees who is asking for how much, logs in
//! with their wallet's phone number and PIN, and pays, or cancels; then the browser goes back
//! to the merchant's `PAY_RETURN` URL.
//!
//! - `GET  /pages/dana/pay/{id}`: the login form while the payment waits; a final page (its
//!   status, why it failed, a link back to the merchant) once it has ended. With `?ott=` (a
//!   one-time token from DANA's apply OTT, for a wallet bound to the payment's merchant) the
//!   customer arrives identified: the token is used up, the form names their wallet (masked)
//!   and asks only for the PIN. A used, expired or foreign token gets the ordinary form, its
//!   `#error` saying why;
//! - `POST /pages/dana/pay/{id}/pay` (`phone`, `pin`, `csrf`): paid -> 303 to the merchant's
//!   return URL with `status=SUCCESS`; wrong PIN -> the form again with `#error` and the tries
//!   left (422); any other end (the third wrong PIN, too little balance, a frozen wallet, past
//!   `validUpto`) -> 303 to the page, which then shows the final page;
//! - `POST /pages/dana/pay/{id}/cancel` (`csrf`): 303 to the return URL with
//!   `status=CANCELLED`.
//!
//! The return URL keeps its own query and gets `partnerReferenceNo`, `referenceNo` (bayar's
//! payment id) and `status` (`SUCCESS`, `FAILED`, `EXPIRED` or `CANCELLED`) appended. Without a
//! usable return URL the browser is sent to the final page instead.
//!
//! Every other end goes through the page (post/redirect/get) rather than straight to the
//! merchant, so the customer reads why the payment did not go through, and a reload never posts
//! the PIN again.
//!
//! An unknown phone number gets the same words as a wrong PIN and is not counted (there is no
//! payment-wide wallet to count it against). Answers in the wrong format (a PIN that is not six
//! digits, a phone number that is not Indonesian mobile) are refused on the page, uncounted.
//! Logs name the payment and the outcome, never a phone number or PIN.

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bayar_core::commands::{Cancel, WalletOutcome};
use bayar_core::customer::{PhoneNumber, Pin};
use bayar_core::ids::PaymentId;
use bayar_core::payment::{Channel, FailureReason, Payment, PaymentStatus};
use bayar_core::{Core, CoreError};
use bayar_snap::Money;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::allo_binding::{mask_phone, merchant_url, tries_left};
use super::csrf::{self, CsrfToken};
use super::layout::{Brand, Page, see_other};
use super::{PageError, Site};
use crate::app::AppState;

/// The words for a wrong PIN and for an unknown phone number alike.
const WRONG_LOGIN: &str = "The phone number or PIN is wrong.";

/// The login form's fields (no `Debug`: the PIN is a secret).
#[derive(Deserialize)]
pub struct PayForm {
    /// The wallet's phone number as typed.
    #[serde(default)]
    phone: String,
    /// The wallet's PIN as typed.
    #[serde(default)]
    pin: String,
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
}

/// Why the ordinary form shows although the link carried a one-time token.
const OTT_REFUSED: &str =
    "This sign-in link has expired or was already used. Log in with your phone number and PIN.";

/// The page's query: DANA's one-time token (no `Debug`: it is a secret until used).
#[derive(Deserialize)]
pub struct PageQuery {
    /// The one-time token, when the merchant appended one.
    ott: Option<String>,
}

/// The cancel form's one field.
#[derive(Deserialize)]
pub struct CancelForm {
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
}

/// `GET /pages/dana/pay/{id}`: the login form, or the final page.
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<PageQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    // A malformed query is no token at all: the ordinary page.
    let ott = query
        .ok()
        .and_then(|Query(q)| q.ott)
        .filter(|t| !t.is_empty());
    branded(show_page(&state, id, ott.as_deref(), &headers).await)
}

/// `POST /pages/dana/pay/{id}/pay`: logs in and pays.
pub async fn pay(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    form: Result<Form<PayForm>, FormRejection>,
) -> Response {
    branded(submit_pay(&state, id, &headers, form).await)
}

/// `POST /pages/dana/pay/{id}/cancel`: the customer gives up; the merchant hears of it.
pub async fn cancel(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    form: Result<Form<CancelForm>, FormRejection>,
) -> Response {
    branded(submit_cancel(&state, id, &headers, form).await)
}

/// A page, or the error page in the wallet's colours.
fn branded(outcome: Result<Response, PageError>) -> Response {
    outcome.unwrap_or_else(|e| e.into_page(Brand::Dana))
}

async fn show_page(
    state: &AppState,
    id: Result<Path<String>, PathRejection>,
    ott: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let site = Site::from_public_url(&state.public_url);
    let payment = load(&state.core, parse_id(id)?).await?;
    let view = View::of(&state.core, payment, site).await?;
    if view.payment.status == PaymentStatus::Created && !view.overdue() {
        let issued = csrf::issue(headers, &view.site)?;
        let form = match ott {
            None => view.form(&issued.token, "", None),
            Some(ott) => match identified(&state.core, &view.payment, ott).await? {
                Some(wallet) => view.identified_form(&issued.token, &wallet),
                None => view.form(&issued.token, "", Some(OTT_REFUSED)),
            },
        };
        return Ok(form.cookie(issued.set_cookie).into_response());
    }
    Ok(view.done().into_response())
}

/// The wallet a one-time token identifies, using the token up; `None` when it is unknown,
/// used, expired, or of a binding that is not an active DANA wallet binding of the payment's
/// merchant. Logs say which payment, never the token.
async fn identified(
    core: &Core,
    payment: &Payment,
    ott: &str,
) -> Result<Option<PhoneNumber>, PageError> {
    if ott.chars().count() > 64 {
        return Ok(None);
    }
    let binding = match core.redeem_one_time_token(payment.merchant_id, ott).await {
        Ok(binding) => binding,
        Err(CoreError::InvalidCustomerToken) => {
            tracing::info!(payment = %payment.id, "wallet page: one-time token refused");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let wallet = core
        .store()
        .customer(&binding.customer_id)
        .await
        .map_err(CoreError::from)?
        .filter(|c| c.rail == bayar_core::customer::Rail::Wallet);
    tracing::info!(payment = %payment.id, identified = wallet.is_some(), "wallet page: one-time token used");
    Ok(wallet.map(|c| c.phone))
}

async fn submit_pay(
    state: &AppState,
    id: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    form: Result<Form<PayForm>, FormRejection>,
) -> Result<Response, PageError> {
    let site = Site::from_public_url(&state.public_url);
    let payment_id = parse_id(id)?;
    let Form(form) = form?;
    PageError::check_lengths(&[&form.phone, &form.pin, &form.csrf])?;
    let token = csrf::verify(headers, &form.csrf).ok_or_else(|| PageError::Csrf {
        retry: page_path(&site, payment_id),
    })?;
    let payment = load(&state.core, payment_id).await?;
    let view = View::of(&state.core, payment, site).await?;
    if view.payment.status != PaymentStatus::Created {
        // A repeated or stale post (another tab paid or cancelled): show where it stands.
        return Ok(see_other(&view.page_path()));
    }
    let typed_phone = form.phone.trim();
    let Ok(phone) = PhoneNumber::parse(typed_phone) else {
        return Ok(view
            .form(
                &token,
                typed_phone,
                Some("Enter the mobile number of your DANA account, e.g. 0812 3456 7890."),
            )
            .status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    };
    let Ok(pin) = Pin::parse(&form.pin) else {
        return Ok(view
            .form(&token, typed_phone, Some("Your PIN is 6 digits."))
            .status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response());
    };
    match state.core.pay_with_wallet(payment_id, &phone, pin).await {
        Ok(WalletOutcome::Done(paid)) if paid.status == PaymentStatus::Succeeded => {
            tracing::info!(payment = %payment_id, "wallet page: paid");
            Ok(view.with(paid).back_to_merchant())
        }
        Ok(WalletOutcome::Done(ended)) => {
            tracing::info!(
                payment = %payment_id,
                status = %ended.status,
                failure = ended.failure.map(FailureReason::as_str),
                "wallet page: payment ended without paying"
            );
            Ok(see_other(&view.page_path()))
        }
        Ok(WalletOutcome::WrongPin { remaining }) => {
            tracing::info!(payment = %payment_id, remaining, "wallet page: wrong PIN");
            let message = format!("{WRONG_LOGIN} {}", tries_left(remaining));
            Ok(view
                .form(&token, typed_phone, Some(&message))
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response())
        }
        Ok(WalletOutcome::Locked(_)) => {
            tracing::info!(payment = %payment_id, "wallet page: third wrong PIN, payment failed");
            Ok(see_other(&view.page_path()))
        }
        Err(CoreError::CustomerNotFound) => {
            // Not counted: the tries protect a wallet's PIN, and no wallet was involved.
            tracing::info!(payment = %payment_id, "wallet page: unknown phone number");
            Ok(view
                .form(&token, typed_phone, Some(WRONG_LOGIN))
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response())
        }
        // A double submit: the first post already ended the payment.
        Err(CoreError::InvalidPaymentState { .. }) => Ok(see_other(&view.page_path())),
        Err(e) => Err(e.into()),
    }
}

async fn submit_cancel(
    state: &AppState,
    id: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    form: Result<Form<CancelForm>, FormRejection>,
) -> Result<Response, PageError> {
    let site = Site::from_public_url(&state.public_url);
    let payment_id = parse_id(id)?;
    let Form(form) = form?;
    PageError::check_lengths(&[&form.csrf])?;
    csrf::verify(headers, &form.csrf).ok_or_else(|| PageError::Csrf {
        retry: page_path(&site, payment_id),
    })?;
    let payment = load(&state.core, payment_id).await?;
    let view = View::of(&state.core, payment, site).await?;
    // Past its deadline the payment expired, whatever the customer clicks now; the page says
    // so, and the sweeper records it (with the merchant's notification) within moments.
    if view.payment.status != PaymentStatus::Created || view.overdue() {
        return Ok(see_other(&view.page_path()));
    }
    match state
        .core
        .run(Cancel {
            merchant_id: None,
            payment_id,
        })
        .await
    {
        Ok(cancelled) => {
            tracing::info!(payment = %payment_id, "wallet page: cancelled by the customer");
            Ok(view.with(cancelled).back_to_merchant())
        }
        Err(CoreError::InvalidPaymentState { .. }) => Ok(see_other(&view.page_path())),
        Err(e) => Err(e.into()),
    }
}

/// The payment id from the URL; anything else is a page that does not exist.
fn parse_id(path: Result<Path<String>, PathRejection>) -> Result<PaymentId, PageError> {
    let Path(id) = path.map_err(|_| PageError::NotFound)?;
    id.parse().map_err(|_| PageError::NotFound)
}

/// The payment, if it is one the wallet page is for: a direct-debit payment's id does not
/// open a wallet login.
async fn load(core: &Core, id: PaymentId) -> Result<Payment, PageError> {
    core.store()
        .payment(&id)
        .await
        .map_err(CoreError::from)?
        .filter(|p| p.channel == Channel::DanaWallet)
        .ok_or(PageError::NotFound)
}

fn page_path(site: &Site, id: PaymentId) -> String {
    site.path(&format!("/pages/dana/pay/{id}"))
}

/// `Rp 10.000,00`: how Indonesians write an amount (dots group thousands, comma decimals).
fn rupiah(amount: Money) -> String {
    let minor = amount.minor().unsigned_abs();
    let units = (minor / 100).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3);
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    let sign = if amount.minor() < 0 { "-" } else { "" };
    format!("{sign}Rp {grouped},{:02}", minor % 100)
}

/// The `status` the merchant's return URL gets for a payment's state.
fn return_status(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Succeeded => "SUCCESS",
        PaymentStatus::Failed => "FAILED",
        PaymentStatus::Expired => "EXPIRED",
        PaymentStatus::Cancelled => "CANCELLED",
        PaymentStatus::Created | PaymentStatus::Paying => "PENDING",
    }
}

/// What a wallet page shows, gathered once per request.
#[derive(Clone)]
struct View {
    payment: Payment,
    merchant: String,
    /// The merchant's default redirect URL, for payments whose request named none.
    default_return: Option<String>,
    site: Site,
}

impl View {
    async fn of(core: &Core, payment: Payment, site: Site) -> Result<View, PageError> {
        let merchant = core
            .store()
            .merchant_by_id(&payment.merchant_id)
            .await
            .map_err(CoreError::from)?;
        let default_return = merchant
            .as_ref()
            .and_then(|m| m.urls.return_url.as_ref())
            .map(|u| u.as_str().to_string());
        let merchant = merchant.map_or_else(
            || "The merchant".to_string(),
            |m| m.name.as_str().to_string(),
        );
        Ok(View {
            payment,
            merchant,
            default_return,
            site,
        })
    }

    /// The same view of the payment as it is now.
    fn with(self, payment: Payment) -> View {
        View { payment, ..self }
    }

    fn page_path(&self) -> String {
        page_path(&self.site, self.payment.id)
    }

    /// Whether the customer's time is up (the sweeper may not have recorded it yet).
    fn overdue(&self) -> bool {
        self.payment
            .valid_until
            .is_some_and(|deadline| deadline <= Utc::now())
    }

    /// The merchant's return URL (the payment's own, else the merchant's default) with the
    /// payment's reference and `status`, when usable.
    fn return_url(&self) -> Option<String> {
        let p = &self.payment;
        let reference_no = p.id.to_string();
        merchant_url(
            p.return_url.as_deref().or(self.default_return.as_deref())?,
            &[
                ("partnerReferenceNo", p.partner_reference_no.as_str()),
                ("referenceNo", reference_no.as_str()),
                ("status", return_status(p.status)),
            ],
        )
    }

    /// 303 to the merchant's return URL, or to the final page without a usable one.
    fn back_to_merchant(&self) -> Response {
        match self.return_url() {
            Some(url) => see_other(&url),
            None => see_other(&self.page_path()),
        }
    }

    /// Who, what and how much: the lines above the form and on the final page.
    fn summary(&self) -> Markup {
        let p = &self.payment;
        html! {
            dl class="summary" {
                dt { "Merchant" }
                dd id="merchant-name" { (self.merchant) }
                @if let Some(title) = &p.title {
                    dt { "Order" }
                    dd id="order-title" { (title) }
                }
                dt { "Amount" }
                dd id="amount" class="amount" data-value=(p.amount) { (rupiah(p.amount)) }
                dd class="hint" { "IDR " span id="amount-exact" { (p.amount) } }
            }
        }
    }

    /// The login form, with what the customer typed as phone number and an error.
    fn form(&self, token: &CsrfToken, phone: &str, error: Option<&str>) -> Page {
        let p = &self.payment;
        let deadline = p.valid_until.map(|at| {
            at.with_timezone(&bayar_snap::time::jakarta())
                .format("%d %b %Y, %H:%M")
                .to_string()
        });
        let described_by = if error.is_some() {
            "error pin-hint"
        } else {
            "pin-hint"
        };
        let content = html! {
            h1 { "Pay with DANA" }
            (self.summary())
            @if let Some(deadline) = deadline {
                p id="valid-until" class="hint" { "Pay before " (deadline) " WIB." }
            }
            @if let Some(error) = error {
                p id="error" class="error" role="alert" { (error) }
            }
            form method="post" action=(self.site.path(&format!("/pages/dana/pay/{}/pay", p.id))) {
                input type="hidden" name=(csrf::FIELD) value=(token.as_str());
                label for="phone" { "DANA phone number" }
                input id="phone" name="phone" class="text" type="tel" inputmode="numeric"
                    autocomplete="tel" maxlength="20" placeholder="0812 3456 7890" required
                    value=(phone) autofocus[phone.is_empty()];
                label for="pin" { "PIN" }
                input id="pin" name="pin" type="password" inputmode="numeric"
                    autocomplete="off" pattern="[0-9]{6}" minlength="6" maxlength="6"
                    required autofocus[!phone.is_empty()] aria-describedby=(described_by)
                    aria-invalid=[error.map(|_| "true")];
                p id="pin-hint" class="hint" {
                    "DANA never asks for your PIN by phone, SMS or chat."
                }
                button id="submit-pay" type="submit" { "Pay " (rupiah(p.amount)) }
            }
            form method="post" action=(self.site.path(&format!("/pages/dana/pay/{}/cancel", p.id))) {
                input type="hidden" name=(csrf::FIELD) value=(token.as_str());
                button id="submit-cancel" class="secondary" type="submit" { "Cancel payment" }
            }
        };
        Page::new("Pay with DANA", content).brand(Brand::Dana)
    }

    /// The login form of a customer a one-time token identified: their wallet shown masked,
    /// its number sent back in a hidden field, only the PIN asked for.
    fn identified_form(&self, token: &CsrfToken, wallet: &PhoneNumber) -> Page {
        let p = &self.payment;
        let content = html! {
            h1 { "Pay with DANA" }
            (self.summary())
            p id="wallet-user" class="hint" {
                "Paying from DANA account "
                strong id="masked-phone" class="nowrap" { (mask_phone(wallet)) } "."
            }
            form method="post" action=(self.site.path(&format!("/pages/dana/pay/{}/pay", p.id))) {
                input type="hidden" name=(csrf::FIELD) value=(token.as_str());
                input type="hidden" name="phone" value=(wallet.as_str());
                label for="pin" { "PIN" }
                input id="pin" name="pin" type="password" inputmode="numeric"
                    autocomplete="off" pattern="[0-9]{6}" minlength="6" maxlength="6"
                    required autofocus aria-describedby="pin-hint";
                p id="pin-hint" class="hint" {
                    "DANA never asks for your PIN by phone, SMS or chat."
                }
                button id="submit-pay" type="submit" { "Pay " (rupiah(p.amount)) }
            }
            form method="post" action=(self.site.path(&format!("/pages/dana/pay/{}/cancel", p.id))) {
                input type="hidden" name=(csrf::FIELD) value=(token.as_str());
                button id="submit-cancel" class="secondary" type="submit" { "Cancel payment" }
            }
        };
        Page::new("Pay with DANA", content).brand(Brand::Dana)
    }

    /// The page of a payment that has ended (or is past its deadline, awaiting the sweeper).
    fn done(&self) -> Page {
        let mut shown = self.payment.clone();
        if shown.status == PaymentStatus::Created && self.overdue() {
            shown.status = PaymentStatus::Expired;
        }
        let view = self.clone().with(shown);
        let p = &view.payment;
        let (title, class, text) = match p.status {
            PaymentStatus::Succeeded => (
                "Payment successful",
                "status-ok",
                format!("You paid {} to {}.", rupiah(p.amount), view.merchant),
            ),
            PaymentStatus::Failed => (
                "Payment failed",
                "status-bad",
                "Nothing was paid.".to_string(),
            ),
            PaymentStatus::Expired => (
                "Payment expired",
                "status-bad",
                "The time to pay this order ran out; nothing was paid. Please order again \
                 from the merchant."
                    .to_string(),
            ),
            PaymentStatus::Cancelled => (
                "Payment cancelled",
                "status-bad",
                "You cancelled this payment; nothing was paid.".to_string(),
            ),
            // Authorised and being captured, in the same moment: a reload will show the end.
            PaymentStatus::Created | PaymentStatus::Paying => (
                "Payment in progress",
                "",
                "Your payment is being processed. Reload this page in a moment.".to_string(),
            ),
        };
        let reason = (p.status == PaymentStatus::Failed).then_some(match p.failure {
            Some(FailureReason::InsufficientFunds) => (
                "insufficient_funds",
                "Your DANA balance is not enough for this payment. Top up and order again.",
            ),
            Some(FailureReason::AccountFrozen) => (
                "account_frozen",
                "Your DANA account is frozen. Please contact DANA.",
            ),
            Some(FailureReason::PinLocked) => {
                ("pin_locked", "The PIN was entered wrongly too many times.")
            }
            None => ("unknown", "The payment could not be completed."),
        });
        let back = p.status.is_final().then(|| view.return_url()).flatten();
        let content = html! {
            h1 class=(class) { (title) }
            (view.summary())
            p id="payment-status" data-status=(p.status.as_str()) { (text) }
            @if let Some((code, words)) = reason {
                p id="failure-reason" class="error" data-reason=(code) { (words) }
            }
            p class="hint" { "Reference " span id="reference-no" class="nowrap" { (p.id) } }
            @if let Some(back) = back {
                a id="return-to-merchant" class="button" href=(back) {
                    "Return to " (view.merchant)
                }
            }
        };
        Page::new(title, content).brand(Brand::Dana)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_the_indonesian_way() {
        let idr = |s: &str| Money::parse(s).unwrap();
        assert_eq!(rupiah(idr("10000.00")), "Rp 10.000,00");
        assert_eq!(rupiah(idr("100.00")), "Rp 100,00");
        assert_eq!(rupiah(idr("0.05")), "Rp 0,05");
        assert_eq!(rupiah(idr("1234567.89")), "Rp 1.234.567,89");
        assert_eq!(rupiah(idr("300000000.00")), "Rp 300.000.000,00");
    }

    #[test]
    fn return_statuses() {
        assert_eq!(return_status(PaymentStatus::Succeeded), "SUCCESS");
        assert_eq!(return_status(PaymentStatus::Failed), "FAILED");
        assert_eq!(return_status(PaymentStatus::Expired), "EXPIRED");
        assert_eq!(return_status(PaymentStatus::Cancelled), "CANCELLED");
    }
}
