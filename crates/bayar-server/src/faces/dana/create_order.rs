//! Payment gateway create order (service 54), `POST /payment-gateway/v1.0/debit/payment-host-to-host.htm`
//! (reference/dana.md 2.1, 7.1), and the widget's payment, `POST
//! /rest/redirection/v1.0/debit/payment-host-to-host` (2.2), which differs only in what the
//! request must carry ([`Kind`]).
//!
//! Both scenarios of DANA's SDKs land here: REDIRECT (`CreateOrderByRedirectRequest`, no pay
//! options: the customer picks on DANA's cashier page) and API (`CreateOrderByApiRequest`,
//! with `payOptionDetails`). bayar's cashier is its hosted DANA-like wallet page, so an order
//! paid from the DANA balance (REDIRECT, or API with `payMethod` `BALANCE`) becomes a
//! [`Channel::DanaWallet`] payment and the answer's `webRedirectUrl` is that page. Other pay
//! options (virtual accounts, QRIS, cards, other e-wallets) need rails bayar does not have
//! yet: they are refused with `4055400 Requested Function Is Not Supported` before anything
//! is recorded, so the merchant can tell "not here" from "bad request".
//!
//! From the request: `validUpTo` is the customer's deadline (at most 30 minutes ahead in
//! sandbox, DANA's sandbox rule; a week otherwise), `urlParams` `PAY_RETURN` is where the page
//! sends the browser afterwards and `NOTIFICATION` where the finish notify goes (instead of
//! the merchant's registered notify URL), `additionalInfo.order.orderTitle` is what the page
//! shows.
//!
//! Idempotent per merchant and `partnerReferenceNo` (DANA's documented key): the same order
//! again answers `2005400` with the same `referenceNo`; other content (amount, title, URLs)
//! is `4045418 Inconsistent Request`. `validUpTo` is not compared, because a merchant retrying
//! a request it rebuilt computes a fresh deadline; the first one stands.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::commands::CreatePayment;
use bayar_core::merchant::NotifyUrl;
use bayar_core::payment::{Channel, Face, PartnerReference, Payment};
use bayar_snap::{Case, Money, ServiceCode};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{DanaError, begin, check_merchant_id, respond, sandbox};
use crate::app::AppState;
use crate::faces::snap::body::Body;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::DEBIT_PAYMENT;

/// What a refusal echoes.
const ECHO: &[&str] = &["partnerReferenceNo"];

/// How far ahead `validUpTo` may be in sandbox (dana-python's `date_validation.py`).
const SANDBOX_MAX_VALIDITY: Duration = Duration::minutes(30);

/// How far ahead `validUpTo` may be outside sandbox (dana-node's `ValidationUtil` limit).
const MAX_VALIDITY: Duration = Duration::days(7);

/// Longest order title kept (DANA's `orderTitle` is at most 64 characters; bayar's page
/// shows longer ones fine, so the limit is the looser one of the DOKU face).
const MAX_TITLE: usize = 255;

/// Longest URL accepted in `urlParams` (DANA: 512).
const MAX_URL: usize = 512;

/// How far ahead a widget payment's `validUpTo` may be (DANA's widget rule).
const WIDGET_MAX_VALIDITY: Duration = Duration::minutes(15);

/// Which of DANA's two order-creating operations a request came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The payment gateway's create order: `urlParams` required, `additionalInfo` optional.
    Gateway,
    /// The widget's payment (`WidgetPaymentRequest`): `urlParams` optional, `additionalInfo`
    /// with `productCode`, `order.orderTitle`, `mcc` and `envInfo` required, `validUpTo` at
    /// most 15 minutes ahead.
    Widget,
}

/// `POST /payment-gateway/v1.0/debit/payment-host-to-host.htm`
pub async fn create(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        answer(&state, uri.path(), &headers, &body, Kind::Gateway).await,
        &body,
        ECHO,
    )
}

/// `POST /rest/redirection/v1.0/debit/payment-host-to-host`
pub async fn widget_payment(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        answer(&state, uri.path(), &headers, &body, Kind::Widget).await,
        &body,
        ECHO,
    )
}

async fn answer(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
    raw: &[u8],
    kind: Kind,
) -> Result<Response, DanaError> {
    let (call, body) = begin(state, path, headers, raw, SERVICE).await?;
    let reference = PartnerReference::parse(body.required_str("partnerReferenceNo", 64)?)
        .map_err(|_| SnapError::format(SERVICE, "partnerReferenceNo"))?;
    check_merchant_id(&body, &call, SERVICE)?;
    let amount = body.amount("amount")?;
    let valid_until = valid_up_to(&body, state, kind)?;
    let urls = match kind {
        Kind::Widget if body.get("urlParams").is_none() => Urls::default(),
        _ => url_params(&body)?,
    };
    if kind == Kind::Widget {
        body.required_str("additionalInfo.productCode", 64)?;
        body.required_str("additionalInfo.order.orderTitle", MAX_TITLE)?;
        body.required_str("additionalInfo.mcc", 8)?;
        body.required_str("additionalInfo.envInfo.terminalType", 16)?;
    }
    env_info(&body)?;
    let title = body
        .optional_str("additionalInfo.order.orderTitle", MAX_TITLE)?
        .map(str::to_string);
    if let Some(scenario) = body.optional_str("additionalInfo.order.scenario", 16)?
        && !matches!(scenario, "REDIRECT" | "API")
    {
        return Err(SnapError::format(SERVICE, "additionalInfo.order.scenario").into());
    }
    pay_options(&body, amount)?;
    if kind == Kind::Widget
        && state.dana.sandbox
        && let Some(case) = sandbox::widget_payment(amount)
    {
        return Err(DanaError::new(SERVICE, case));
    }

    let outcome = state
        .core
        .run(call.claiming(CreatePayment {
            merchant_id: call.merchant.id,
            partner_reference_no: reference,
            external_id: call.external_id.clone(),
            channel: Channel::DanaWallet,
            face: Face::Dana,
            amount,
            valid_until: Some(valid_until),
            title: title.clone(),
            return_url: urls.pay_return.clone(),
            notify_url: urls.notification.clone(),
        }))
        .await
        .map_err(|e| match e {
            // Below DANA's minimum is a bad amount; above its maximum, DANA's limit code.
            CoreError::AmountOutOfRange { min, .. } if amount < min => {
                DanaError::from(SnapError::format(SERVICE, "amount.value"))
            }
            CoreError::AmountOutOfRange { .. } => {
                DanaError::new(SERVICE, Case::ExceedsTransactionAmountLimit)
            }
            CoreError::InconsistentRequest => DanaError::new(SERVICE, Case::InconsistentRequest),
            other => guard::core_error(SERVICE, other).into(),
        })?;
    let payment = outcome.payment;
    // The core compares what defines the money (channel, amount); DANA's "same data" also
    // covers what the merchant asked to be shown and told, and the API it used.
    let same = payment.face == Face::Dana
        && payment.title == title
        && payment.return_url == urls.pay_return
        && payment.notify_url == urls.notification;
    if outcome.replayed && !same {
        return Err(DanaError::new(SERVICE, Case::InconsistentRequest));
    }
    Ok(reply::success(
        SERVICE,
        json!({
            "referenceNo": payment.id.to_string(),
            "partnerReferenceNo": payment.partner_reference_no,
            "webRedirectUrl": web_redirect_url(&state.public_url, &payment),
        }),
    ))
}

/// `validUpTo`: mandatory, RFC 3339, in the future and within the widget's, sandbox or production limit
/// (with the allowed clock skew on top, since the merchant computed it on its own clock).
fn valid_up_to(body: &Body, state: &AppState, kind: Kind) -> Result<DateTime<Utc>, SnapError> {
    let value = body.required_str("validUpTo", 40)?;
    let at = bayar_snap::time::parse_timestamp(value)
        .map_err(|_| SnapError::format(SERVICE, "validUpTo"))?
        .with_timezone(&Utc);
    let now = Utc::now();
    let limit = if kind == Kind::Widget {
        WIDGET_MAX_VALIDITY
    } else if state.dana.sandbox {
        SANDBOX_MAX_VALIDITY
    } else {
        MAX_VALIDITY
    };
    let skew = Duration::seconds(state.snap.clock_skew_secs);
    if at <= now || at > now + limit + skew {
        return Err(SnapError::format(SERVICE, "validUpTo"));
    }
    Ok(at)
}

/// The URLs of `urlParams`.
#[derive(Debug, Default)]
struct Urls {
    /// `PAY_RETURN`: where the hosted page sends the browser when done.
    pay_return: Option<String>,
    /// `NOTIFICATION`: where the finish notify goes.
    notification: Option<String>,
}

/// `urlParams`: a mandatory list of `{url, type, isDeeplink}`, types `PAY_RETURN` and
/// `NOTIFICATION` (each at most once), absolute http(s) URLs.
fn url_params(body: &Body) -> Result<Urls, SnapError> {
    let list = match body.get("urlParams") {
        None => return Err(SnapError::missing(SERVICE, "urlParams")),
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(Value::Array(_)) => return Err(SnapError::missing(SERVICE, "urlParams")),
        Some(_) => return Err(SnapError::format(SERVICE, "urlParams")),
    };
    let mut urls = Urls::default();
    for param in list {
        let text = |key: &str| param.get(key).and_then(Value::as_str);
        let url = text("url")
            .filter(|u| !u.is_empty())
            .ok_or_else(|| SnapError::missing(SERVICE, "urlParams.url"))?;
        if url.len() > MAX_URL || NotifyUrl::parse(url).is_err() {
            return Err(SnapError::format(SERVICE, "urlParams.url"));
        }
        if text("isDeeplink").is_some_and(|d| !matches!(d, "Y" | "N")) {
            return Err(SnapError::format(SERVICE, "urlParams.isDeeplink"));
        }
        let slot = match text("type") {
            Some("PAY_RETURN") => &mut urls.pay_return,
            Some("NOTIFICATION") => &mut urls.notification,
            Some(_) => return Err(SnapError::format(SERVICE, "urlParams.type")),
            None => return Err(SnapError::missing(SERVICE, "urlParams.type")),
        };
        if slot.replace(url.to_string()).is_some() {
            return Err(SnapError::format(SERVICE, "urlParams.type"));
        }
    }
    Ok(urls)
}

/// `additionalInfo` is optional, but when sent its `mcc` and `envInfo.terminalType` are
/// mandatory (DANA's models), and the terminal type must be one of DANA's (reference/dana.md 5).
fn env_info(body: &Body) -> Result<(), SnapError> {
    if body.get("additionalInfo").is_none() {
        return Ok(());
    }
    body.required_str("additionalInfo.mcc", 8)?;
    match body.required_str("additionalInfo.envInfo.terminalType", 16)? {
        "APP" | "WEB" | "WAP" | "SYSTEM" => Ok(()),
        _ => Err(SnapError::format(
            SERVICE,
            "additionalInfo.envInfo.terminalType",
        )),
    }
}

/// `payOptionDetails` (API scenario): absent or empty means the customer chooses on the page;
/// otherwise every option must be the DANA balance, and their amounts must add up to the
/// order's. Anything else needs a rail bayar does not have: `4055400`.
fn pay_options(body: &Body, amount: Money) -> Result<(), DanaError> {
    let list = match body.get("payOptionDetails") {
        None => return Ok(()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(SnapError::format(SERVICE, "payOptionDetails").into()),
    };
    let mut total: i64 = 0;
    for option in list {
        let text = |key: &str| option.get(key).and_then(Value::as_str);
        let method = text("payMethod")
            .filter(|m| !m.is_empty())
            .ok_or_else(|| SnapError::missing(SERVICE, "payOptionDetails.payMethod"))?;
        if method != "BALANCE" {
            return Err(DanaError::new(SERVICE, Case::RequestedFunctionNotSupported));
        }
        let value = option
            .get("transAmount")
            .and_then(|a| a.get("value"))
            .and_then(Value::as_str)
            .ok_or_else(|| SnapError::missing(SERVICE, "payOptionDetails.transAmount.value"))?;
        let part = Money::parse(value)
            .map_err(|_| SnapError::format(SERVICE, "payOptionDetails.transAmount.value"))?;
        total = total.saturating_add(part.minor());
    }
    if !list.is_empty() && total != amount.minor() {
        return Err(SnapError::format(SERVICE, "payOptionDetails.transAmount.value").into());
    }
    Ok(())
}

/// The wallet page of `payment`, shaped like DANA's cashier URLs, which name their order in
/// the query (`bizNo`): dana-node's `generateCompletePaymentUrl` appends `&ott=...` to
/// `webRedirectUrl` as it is, so without a query the one-time token would land in the path.
fn web_redirect_url(public_url: &str, payment: &Payment) -> String {
    format!(
        "{public_url}/pages/dana/pay/{id}?bizNo={id}",
        id = payment.id
    )
}
