//! DANA's own SNAP API, as DANA's official SDKs (dana-python, dana-node, dana-go) call it
//! (reference/dana.md): one file per operation.
//!
//! Authentication is DANA's: no access token; every SNAP call is signed SHA256withRSA with the
//! merchant's private key and checked by [`guard::verify_asymmetric_call`]. The OPEN_API
//! operations (merchant management) use DANA's older signed envelope ([`open_api`]). Errors
//! answer with DANA's codes and echo the request's identifying fields ([`error::DanaError`]).
//!
//! Covered so far:
//! - "Disbursement to Balance": the merchant's balance check (OPEN_API), DANA account inquiry
//!   (service 37), customer top-up (38) and top-up status (39), each on both path families
//!   the SDKs use;
//! - transfer to bank: bank account inquiry (42, [`bank_inquiry`]), transfer (43,
//!   [`transfer_bank`]) and its status ([`transfer_bank_status`]), from the same deposit;
//! - the payment gateway (Gapura hosted checkout): consult pay ([`consult_pay`]), create
//!   order (54, [`create_order`]), query payment (55, [`query_payment`]), cancel order (57,
//!   [`cancel_order`]) and refund order (58, [`refund_order`]). Orders are paid on bayar's hosted DANA-like wallet page; the
//!   finish notify (56) is sent by the notification worker (`crate::notify::dana`);
//! - the widget: the wallet's OAuth page binds a DANA wallet (`crate::pages::dana_oauth`),
//!   apply token (74, [`apply_token`]), apply OTT (49, [`apply_ott`]: a one-time pass to the
//!   wallet page), balance inquiry (11, [`balance_inquiry`]), query user profile (OPEN_API,
//!   [`query_user_profile`]), account unbinding (09, [`account_unbinding`]); widget payment
//!   (54, [`create_order`]) and its query, cancel and refund, answered by the payment
//!   gateway's operations on the widget's paths: a widget payment is an order like the
//!   gateway's, paid on the same wallet page;
//! - DANA's sandbox magic values ([`sandbox`]).

mod account_inquiry;
mod account_unbinding;
mod apply_ott;
mod apply_token;
mod balance_inquiry;
mod bank_inquiry;
mod cancel_order;
mod consult_pay;
mod create_order;
mod error;
mod merchant_resource;
mod open_api;
mod query_payment;
mod query_user_profile;
mod refund_order;
mod sandbox;
mod topup;
mod topup_status;
mod transfer_bank;
mod transfer_bank_status;

use axum::Router;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bayar_core::payment::{Face, Payment};
use bayar_snap::{Case, ServiceCode};

use crate::app::AppState;
use crate::faces::snap::body::Body;
use crate::faces::snap::{SnapError, VerifiedCall, guard};
pub use error::DanaError;

/// Settings of the DANA face.
#[derive(Clone, Debug)]
pub struct DanaConfig {
    /// Whether DANA's sandbox magic values (reference/dana.md 8.2: phone numbers and amounts
    /// that force a documented outcome) are honoured. On by default, since bayar is first a
    /// sandbox; a PJP running bayar as its gateway turns it off.
    pub sandbox: bool,
}

impl Default for DanaConfig {
    fn default() -> Self {
        Self { sandbox: true }
    }
}

/// The DANA face's routes. The disbursement operations answer on both path families: the
/// current SDKs use `/rest/v1.0/emoney/...`, npm dana-node 1.5.11 and DANA's web docs use
/// `/v1.0/emoney/*.htm`. The signature covers whichever path was sent.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/dana/merchant/queryMerchantResource.htm",
            post(merchant_resource::query),
        )
        .route(
            "/rest/v1.0/emoney/account-inquiry",
            post(account_inquiry::inquiry),
        )
        .route(
            "/v1.0/emoney/account-inquiry.htm",
            post(account_inquiry::inquiry),
        )
        .route("/rest/v1.0/emoney/topup", post(topup::topup))
        .route("/v1.0/emoney/topup.htm", post(topup::topup))
        .route("/rest/v1.0/emoney/topup-status", post(topup_status::status))
        .route("/v1.0/emoney/topup-status.htm", post(topup_status::status))
        .route(
            "/v1.0/emoney/bank-account-inquiry.htm",
            post(bank_inquiry::inquiry),
        )
        .route(
            "/v1.0/emoney/transfer-bank.htm",
            post(transfer_bank::transfer),
        )
        .route(
            "/v1.0/emoney/transfer-bank-status.htm",
            post(transfer_bank_status::status),
        )
        .route(
            "/v1.0/payment-gateway/consult-pay.htm",
            post(consult_pay::consult),
        )
        .route(
            "/payment-gateway/v1.0/debit/payment-host-to-host.htm",
            post(create_order::create),
        )
        .route(
            "/payment-gateway/v1.0/debit/status.htm",
            post(query_payment::query),
        )
        .route(
            "/payment-gateway/v1.0/debit/cancel.htm",
            post(cancel_order::cancel),
        )
        .route(
            "/payment-gateway/v1.0/debit/refund.htm",
            post(refund_order::refund),
        )
        .route("/v1.0/access-token/b2b2c.htm", post(apply_token::apply))
        .route(
            "/rest/redirection/v1.0/debit/payment-host-to-host",
            post(create_order::widget_payment),
        )
        .route("/rest/v1.1/debit/status", post(query_payment::query))
        .route("/v1.0/debit/cancel.htm", post(cancel_order::cancel))
        .route(refund_order::WIDGET_PATH, post(refund_order::refund))
        .route("/rest/v1.1/qr/apply-ott", post(apply_ott::apply))
        .route(
            "/dana/member/query/queryUserProfile.htm",
            post(query_user_profile::query),
        )
        .route("/v1.0/balance-inquiry.htm", post(balance_inquiry::inquiry))
        .route(
            "/v1.0/registration-account-unbinding.htm",
            post(account_unbinding::unbind),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::faces::snap::body::MAX_BODY * 4,
        ))
}

/// The DANA checks of a SNAP call (RSA signature, `X-EXTERNAL-ID`), then its body.
async fn begin(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
    raw: &[u8],
    service: ServiceCode,
) -> Result<(VerifiedCall, Body), SnapError> {
    let call = guard::verify_asymmetric_call(
        &state.core,
        &state.snap,
        "POST",
        path,
        headers,
        raw,
        service,
    )
    .await?;
    let body = Body::parse(raw, service)?;
    Ok((call, body))
}

/// Sends an operation's outcome: its response, or its error echoing `echo` from the request.
fn respond(outcome: Result<Response, DanaError>, raw: &[u8], echo: &[&str]) -> Response {
    outcome.unwrap_or_else(|e| e.echo_from(raw, echo).into_response())
}

/// The smallest top-up DANA accepts (`minAmount` of account inquiry).
const MIN_TOPUP: bayar_snap::Money = match bayar_snap::Money::from_minor(100) {
    Ok(m) => m,
    Err(_) => panic!("constant out of range"),
};

/// The largest single top-up (`maxAmount` of account inquiry; DANA sandbox: 20,000,000.00).
const MAX_TOPUP: bayar_snap::Money = match bayar_snap::Money::from_minor(2_000_000_000) {
    Ok(m) => m,
    Err(_) => panic!("constant out of range"),
};

/// The receiving wallet's `customerNumber`. DANA also allows naming the user by
/// `additionalInfo.accessToken` (a widget binding); bayar does not yet, so the number is
/// mandatory here, answered as DANA answers its absence (`400xx02 customerNumber`).
fn customer_number(
    body: &Body,
    service: ServiceCode,
) -> Result<bayar_core::customer::PhoneNumber, SnapError> {
    let number = body.required_str("customerNumber", 32)?;
    bayar_core::customer::PhoneNumber::parse(number)
        .map_err(|_| SnapError::format(service, "customerNumber"))
}

/// The top-up `amount`, within DANA's per-transaction limits: below the minimum is a format
/// error of the amount, above the maximum `403xx02` (DANA's "Exceed maximum limit amount").
/// In sandbox the magic [`sandbox::INSUFFICIENT_FUND_AMOUNT`] passes, to fail at the deposit.
fn topup_amount(
    body: &Body,
    service: ServiceCode,
    config: &DanaConfig,
) -> Result<bayar_snap::Money, DanaError> {
    let amount = body.amount("amount")?;
    if amount < MIN_TOPUP {
        return Err(SnapError::format(service, "amount.value").into());
    }
    let magic = config.sandbox && amount == sandbox::INSUFFICIENT_FUND_AMOUNT;
    if amount > MAX_TOPUP && !magic {
        return Err(DanaError::new(service, Case::ExceedsTransactionAmountLimit));
    }
    Ok(amount)
}

/// Sandbox only: refuses (`403xx02`) a top-up that would take the wallet above DANA's balance
/// cap. Read before the command runs, so concurrent top-ups can pass it together; the core
/// has no such limit (see [`sandbox`]).
async fn check_wallet_cap(
    state: &AppState,
    customer: &bayar_core::customer::Customer,
    amount: bayar_snap::Money,
    service: ServiceCode,
) -> Result<(), DanaError> {
    // The magic insufficient-fund amount is meant to reach the deposit and fail there.
    if !state.dana.sandbox || amount == sandbox::INSUFFICIENT_FUND_AMOUNT {
        return Ok(());
    }
    let balance = state
        .core
        .balance(&customer.account)
        .await
        .map_err(|e| guard::internal(service, &e))?
        .map_or(0, |b| b.posted);
    let after = i128::from(balance) + i128::from(amount.minor());
    if after > i128::from(sandbox::WALLET_BALANCE_CAP.minor()) {
        return Err(DanaError::new(service, Case::ExceedsTransactionAmountLimit));
    }
    Ok(())
}

/// The beneficiary of a bank transfer or its inquiry: `beneficiaryAccountNumber` and the bank
/// code at `bank_code_path` (the inquiry has it in `additionalInfo`, the transfer at the top).
fn beneficiary(
    body: &Body,
    service: ServiceCode,
    bank_code_path: &str,
) -> Result<bayar_core::payment::BankAccount, SnapError> {
    use bayar_core::payment::{BankAccount, BankAccountError};
    let number = body.required_str("beneficiaryAccountNumber", 34)?;
    let bank_code = body.required_str(bank_code_path, 8)?;
    BankAccount::parse(bank_code, number).map_err(|e| match e {
        BankAccountError::BankCode => SnapError::format(service, bank_code_path),
        BankAccountError::Number => SnapError::format(service, "beneficiaryAccountNumber"),
    })
}

/// Checks the body's `merchantId` names the calling merchant. DANA gives each merchant a
/// merchant id besides its client id; bayar's is the merchant's `mch_...` id, and the client id
/// (`X-PARTNER-ID`) is accepted too, since DANA's sandbox credentials often use one number for
/// both. Anything else is `404xx08 Invalid Merchant`: a merchant never reaches another's orders.
fn check_merchant_id(
    body: &Body,
    call: &VerifiedCall,
    service: ServiceCode,
) -> Result<(), DanaError> {
    let named = body.required_str("merchantId", 64)?;
    if named == call.merchant.id.to_string() || named == call.merchant.client_id.as_str() {
        Ok(())
    } else {
        Err(DanaError::new(service, Case::InvalidMerchant))
    }
}

/// The calling merchant's payment-gateway order named by `originalPartnerReferenceNo` and/or
/// `originalReferenceNo` (both, when given, must name the same order). Only orders made
/// through DANA's API count: a payment the merchant made through another face is not a DANA
/// order, and answering for it would mix two providers' state machines.
async fn find_order(
    state: &AppState,
    call: &VerifiedCall,
    body: &Body,
    service: ServiceCode,
) -> Result<Option<Payment>, DanaError> {
    let partner_reference = body.optional_str("originalPartnerReferenceNo", 64)?;
    let reference_no = body.optional_str("originalReferenceNo", 64)?;
    if partner_reference.is_none() && reference_no.is_none() {
        return Err(SnapError::missing(service, "originalPartnerReferenceNo").into());
    }
    let payment = state
        .core
        .store()
        .find_payment(&call.merchant.id, partner_reference, reference_no)
        .await
        .map_err(|e| guard::internal(service, &e.into()))?;
    Ok(payment.filter(|p| p.face == Face::Dana))
}

/// The active wallet binding named by the call's customer token: `Authorization-Customer`
/// (`Bearer …`) or, as DANA also accepts it, `additionalInfo.accessToken`; when both are sent
/// they must agree. No token is `401xx04`; an unknown, expired or unbound one, one of another
/// merchant, or one binding something other than a DANA wallet, `401xx02`. With the wallet's
/// owner.
async fn customer_binding(
    state: &AppState,
    call: &VerifiedCall,
    headers: &HeaderMap,
    body: &Body,
    service: ServiceCode,
) -> Result<(bayar_core::binding::Binding, bayar_core::customer::Customer), DanaError> {
    use crate::faces::snap::headers as snap_headers;
    let from_header =
        snap_headers::optional(headers, snap_headers::AUTHORIZATION_CUSTOMER, service)?
            .map(snap_headers::bearer)
            .filter(|t| !t.is_empty());
    let from_body = body
        .optional_str("additionalInfo.accessToken", 2048)?
        .filter(|t| !t.is_empty());
    let token = match (from_header, from_body) {
        (Some(h), Some(b)) if h != b => {
            return Err(DanaError::new(service, Case::InvalidCustomerToken));
        }
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => return Err(DanaError::new(service, Case::CustomerTokenNotFound)),
    };
    let binding = state
        .core
        .customer_binding(&call.merchant, token)
        .await
        .map_err(|e| match e {
            bayar_core::CoreError::InvalidCustomerToken => {
                DanaError::new(service, Case::InvalidCustomerToken)
            }
            other => guard::internal(service, &other).into(),
        })?;
    // A binding of the merchant's bank customers (DOKU's Allo binding) is no DANA wallet.
    let customer = state
        .core
        .store()
        .customer(&binding.customer_id)
        .await
        .map_err(|e| guard::internal(service, &e.into()))?
        .filter(|c| c.rail == bayar_core::customer::Rail::Wallet)
        .ok_or_else(|| DanaError::new(service, Case::InvalidCustomerToken))?;
    Ok((binding, customer))
}
