//! Bank account inquiry (service 42), `POST /v1.0/emoney/bank-account-inquiry.htm`
//! (reference/dana.md 2.3): before a transfer to a bank account, the merchant checks the
//! beneficiary account and the fee its deposit will be charged.
//!
//! bayar has no interbank directory: any well-formed account (a three-digit bank code, 5 to 34
//! digits) is answered as existing, under a name built from its last digits; in sandbox the
//! magic accounts of [`super::sandbox::bank`] give DANA's documented refusals. Nothing is
//! recorded but the call's `X-EXTERNAL-ID`.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_snap::{Case, ServiceCode};
use serde_json::{Map, Value, json};

use super::sandbox::{self, BankMagic};
use super::{DanaError, begin, beneficiary, respond, topup_amount};
use crate::app::AppState;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::EMONEY_BANK_ACCOUNT_INQUIRY;

/// What a refusal echoes.
const ECHO: &[&str] = &[
    "partnerReferenceNo",
    "customerNumber",
    "beneficiaryAccountNumber",
];

/// `POST /v1.0/emoney/bank-account-inquiry.htm`
pub async fn inquiry(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(
        answer(&state, uri.path(), &headers, &body).await,
        &body,
        ECHO,
    )
}

async fn answer(
    state: &AppState,
    path: &str,
    headers: &HeaderMap,
    raw: &[u8],
) -> Result<Response, DanaError> {
    let (call, body) = begin(state, path, headers, raw, SERVICE).await?;
    guard::claim(&state.core, &call, SERVICE).await?;
    let partner_reference_no = body.optional_str("partnerReferenceNo", 64)?;
    // The merchant's own number at DANA (the account the money leaves from); bayar knows the
    // merchant from the signature, so it is checked for form only.
    let customer_number = body.required_str("customerNumber", 32)?;
    let account = beneficiary(&body, SERVICE, "additionalInfo.beneficiaryBankCode")?;
    // DANA's sandbox answers this amount with "Insufficient Fund", past the maximum check.
    if state.dana.sandbox && body.amount("amount")? == sandbox::BANK_INQUIRY_INSUFFICIENT_AMOUNT {
        return Err(DanaError::new(SERVICE, Case::InsufficientFunds));
    }
    let amount = topup_amount(&body, SERVICE, &state.dana)?;
    body.required_str("additionalInfo.fundType", 64)?;
    if let Some(case) = state
        .dana
        .sandbox
        .then(|| sandbox::bank(account.number()))
        .flatten()
        .and_then(BankMagic::inquiry_refusal)
    {
        return Err(DanaError::new(SERVICE, case));
    }
    let fee = state
        .core
        .fees()
        .disbursement
        .on(amount)
        .ok_or_else(|| SnapError::format(SERVICE, "amount.value"))?;
    let mut fields = Map::new();
    if let Some(reference) = partner_reference_no {
        fields.insert("partnerReferenceNo".into(), json!(reference));
    }
    fields.extend([
        ("customerNumber".into(), json!(customer_number)),
        ("beneficiaryAccountNumber".into(), json!(account.number())),
        (
            "beneficiaryAccountName".into(),
            json!(account_name(account.number())),
        ),
        ("beneficiaryBankCode".into(), json!(account.bank_code())),
        ("amount".into(), reply::amount(amount)),
        (
            "additionalInfo".into(),
            json!({ "feeAmount": reply::amount(fee) }),
        ),
    ]);
    Ok(reply::success(SERVICE, Value::Object(fields)))
}

/// The name shown for a bank account: bayar holds no names of other banks' customers, so it
/// is built from the account's last four digits, enough for "is this the right account?".
fn account_name(number: &str) -> String {
    let tail = number
        .get(number.len().saturating_sub(4)..)
        .unwrap_or(number);
    format!("Bank Account {tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_show_the_last_four_digits() {
        assert_eq!(account_name("2460888509"), "Bank Account 8509");
    }
}
