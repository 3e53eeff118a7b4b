//! Query merchant resource (OPEN_API `dana.merchant.queryMerchantResource`, DANA's "Check
//! Disbursement Account"): the merchant's balances, so it can see whether its disbursement
//! deposit covers the top-ups it is about to make.
//!
//! Resources: `MERCHANT_DEPOSIT_BALANCE` (the disbursement deposit, what top-ups draw on),
//! `MERCHANT_AVAILABLE_BALANCE` (settled payment proceeds) and `MERCHANT_TOTAL_BALANCE` (the
//! two together). Each value is a JSON *string* `{"amount":"..","currency":"IDR"}`, as DANA's
//! model describes it.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use bayar_core::ledger::AccountId;
use bayar_core::merchant::Merchant;
use serde_json::{Map, Value, json};

use super::open_api::{self, Echo, Outcome};
use crate::app::AppState;
use crate::faces::snap::body::MAX_BODY;

/// The `head.function` of this operation, echoed exactly (the Python SDK checks it).
const FUNCTION: &str = "dana.merchant.queryMerchantResource";

/// `POST /dana/merchant/queryMerchantResource.htm`
pub async fn query(State(state): State<AppState>, body: Bytes) -> Response {
    let mut echo = Echo::default();
    let (outcome, fields) = match answer(&state, &body, &mut echo).await {
        Ok(fields) => (Outcome::Success, fields),
        Err(outcome) => (outcome, Map::new()),
    };
    open_api::respond(&state.core, FUNCTION, &echo, &outcome, fields)
}

async fn answer(
    state: &AppState,
    raw: &[u8],
    echo: &mut Echo,
) -> Result<Map<String, Value>, Outcome> {
    if raw.len() > MAX_BODY {
        return Err(Outcome::ParamIllegal("request".into()));
    }
    let call = open_api::verify(&state.core, &state.snap, raw, FUNCTION, echo).await?;
    let illegal = |what: &str| Outcome::ParamIllegal(what.to_string());
    // A merchant may only ask about itself; DANA's merchantId is bayar's merchant id.
    match call.body.get("requestMerchantId").and_then(Value::as_str) {
        Some(id) if id == call.merchant.id.to_string() => {}
        _ => return Err(illegal("requestMerchantId")),
    }
    let kinds = call
        .body
        .get("merchantResourceInfoList")
        .and_then(Value::as_array)
        .filter(|list| !list.is_empty() && list.len() <= 3)
        .ok_or_else(|| illegal("merchantResourceInfoList"))?;
    let mut infos = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let kind = kind
            .as_str()
            .and_then(Resource::parse)
            .ok_or_else(|| illegal("merchantResourceInfoList"))?;
        let minor = kind.balance(state, &call.merchant).await?;
        let money = bayar_snap::Money::from_minor(minor.max(0)).unwrap_or(bayar_snap::Money::ZERO);
        let value = json!({"amount": money.to_string(), "currency": "IDR"}).to_string();
        infos.push(json!({"resourceType": kind.name(), "value": value}));
    }
    let mut fields = Map::new();
    fields.insert("merchantResourceInformations".into(), Value::Array(infos));
    Ok(fields)
}

/// A balance a merchant can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resource {
    Deposit,
    Available,
    Total,
}

impl Resource {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "MERCHANT_DEPOSIT_BALANCE" => Some(Self::Deposit),
            "MERCHANT_AVAILABLE_BALANCE" => Some(Self::Available),
            "MERCHANT_TOTAL_BALANCE" => Some(Self::Total),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Deposit => "MERCHANT_DEPOSIT_BALANCE",
            Self::Available => "MERCHANT_AVAILABLE_BALANCE",
            Self::Total => "MERCHANT_TOTAL_BALANCE",
        }
    }

    /// The balance in minor units: what can be spent now (posted minus held).
    async fn balance(self, state: &AppState, merchant: &Merchant) -> Result<i64, Outcome> {
        let of = |account: AccountId| async move {
            state
                .core
                .balance(&account)
                .await
                .map(|b| b.map_or(0, |b| b.available()))
                .map_err(|e| {
                    tracing::error!(error = %e, "OPEN_API: balance lookup failed");
                    Outcome::SystemError
                })
        };
        let deposit = || of(AccountId::merchant_deposit(&merchant.id));
        let available = || of(AccountId::merchant_available(&merchant.id));
        Ok(match self {
            Self::Deposit => deposit().await?,
            Self::Available => available().await?,
            Self::Total => deposit().await?.saturating_add(available().await?),
        })
    }
}
