//! DANA account inquiry (service 37, "Account Inquiry – Customer Top Up"): before a top-up,
//! the merchant checks that the number belongs to an active DANA wallet and learns the
//! limits and the fee. Nothing is recorded.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::customer::{CustomerStatus, Rail};
use bayar_snap::{Case, ServiceCode};
use serde_json::{Map, Value, json};

use super::sandbox::{self, InquiryMagic};
use super::{DanaError, MAX_TOPUP, MIN_TOPUP, begin, customer_number, respond, topup_amount};
use crate::app::AppState;
use crate::faces::snap::{SnapError, guard, reply};

const SERVICE: ServiceCode = ServiceCode::EMONEY_ACCOUNT_INQUIRY;

/// What a refusal echoes (DANA's fixtures echo the number asked about).
const ECHO: &[&str] = &["partnerReferenceNo", "customerNumber"];

/// `POST /rest/v1.0/emoney/account-inquiry` and `/v1.0/emoney/account-inquiry.htm`
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
    let phone = customer_number(&body, SERVICE)?;
    let amount = topup_amount(&body, SERVICE, &state.dana)?;
    body.required_str("additionalInfo.fundType", 64)?;
    let do_not_honor = |reason| DanaError::new(SERVICE, Case::DoNotHonor).result_msg(reason);
    match state
        .dana
        .sandbox
        .then(|| sandbox::inquiry(&phone))
        .flatten()
    {
        Some(InquiryMagic::Frozen) => return Err(do_not_honor("PAYEE_USER_STATUS_DISABLE")),
        Some(InquiryMagic::Unregistered) => return Err(do_not_honor("PAYEE_USER_NOT_EXIST")),
        None => {}
    }
    let customer = state
        .core
        .store()
        .customer_by_phone(Rail::Wallet, &phone)
        .await
        .map_err(|e| guard::internal(SERVICE, &CoreError::from(e)))?
        .ok_or_else(|| do_not_honor("PAYEE_USER_NOT_EXIST"))?;
    if customer.status == CustomerStatus::Frozen {
        return Err(do_not_honor("PAYEE_USER_STATUS_DISABLE"));
    }
    super::check_wallet_cap(state, &customer, amount, SERVICE).await?;
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
        ("customerNumber".into(), json!(phone.as_str())),
        ("customerName".into(), json!(display_name(phone.as_str()))),
        ("minAmount".into(), reply::amount(MIN_TOPUP)),
        ("maxAmount".into(), reply::amount(MAX_TOPUP)),
        ("amount".into(), reply::amount(amount)),
        ("feeAmount".into(), reply::amount(fee)),
        ("feeType".into(), json!("ADMIN_FEE")),
    ]);
    Ok(reply::success(SERVICE, Value::Object(fields)))
}

/// The name shown for a wallet. bayar's simulated wallets hold no names, so this is DANA's
/// masked style built from the number, enough for a merchant to show "is this you?".
fn display_name(phone: &str) -> String {
    let tail = phone.get(phone.len().saturating_sub(4)..).unwrap_or(phone);
    format!("DANA User {tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_shows_the_last_four_digits() {
        assert_eq!(display_name("62811742234"), "DANA User 2234");
    }
}
