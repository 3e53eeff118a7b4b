//! Widget query user profile (OPEN_API `dana.member.query.queryUserProfile`,
//! `POST /dana/member/query/queryUserProfile.htm`, reference/dana.md 2.2): what the merchant
//! may know of a bound wallet, named by its customer token (`accessToken`, in the body as
//! dana-node sends it or in the head as dana-python does).
//!
//! Resources bayar holds: `BALANCE` (a JSON *string* `{"amount":"..","currency":"IDR"}`, as
//! the merchant resources are) and `MASK_DANA_ID` (the wallet's number, masked). Any other
//! resource type, an unknown, expired or unbound token, or a token of a binding that is not a
//! DANA wallet, is `F PARAM_ILLEGAL` naming the field, as OPEN_API answers (HTTP 200).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use bayar_core::CoreError;
use bayar_core::customer::{Customer, Rail};
use serde_json::{Map, Value, json};

use super::open_api::{self, Echo, Outcome};
use crate::app::AppState;
use crate::faces::snap::body::MAX_BODY;

/// The `head.function` of this operation, echoed exactly (the Python SDK checks it).
const FUNCTION: &str = "dana.member.query.queryUserProfile";

/// `POST /dana/member/query/queryUserProfile.htm`
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
    let kinds = call
        .body
        .get("userResources")
        .and_then(Value::as_array)
        .filter(|list| !list.is_empty() && list.len() <= 16)
        .ok_or_else(|| illegal("userResources"))?
        .iter()
        .map(|kind| kind.as_str().and_then(Resource::parse))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| illegal("userResources"))?;
    // In the body (dana-node) or the head (dana-python); when both, they must agree.
    let in_body = match call.body.get("accessToken") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.as_str()),
        Some(_) => return Err(illegal("accessToken")),
    };
    let in_head = call.head_access_token.as_ref().map(|t| t.expose().as_str());
    let token = match (in_body, in_head) {
        (Some(b), Some(h)) if b != h => return Err(illegal("accessToken")),
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => return Err(illegal("accessToken")),
    };
    if token.is_empty() || token.len() > 2048 {
        return Err(illegal("accessToken"));
    }
    let system_error = |e: CoreError| {
        tracing::error!(error = %e, "OPEN_API: user profile lookup failed");
        Outcome::SystemError
    };
    let binding = match state.core.customer_binding(&call.merchant, token).await {
        Ok(binding) => binding,
        Err(CoreError::InvalidCustomerToken) => return Err(illegal("accessToken")),
        Err(e) => return Err(system_error(e)),
    };
    let wallet = state
        .core
        .store()
        .customer(&binding.customer_id)
        .await
        .map_err(|e| system_error(e.into()))?
        .filter(|c| c.rail == Rail::Wallet)
        .ok_or_else(|| illegal("accessToken"))?;
    let mut infos = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let value = kind.value(state, &wallet).await.map_err(system_error)?;
        infos.push(json!({"resourceType": kind.name(), "value": value}));
    }
    let mut fields = Map::new();
    fields.insert("userResourceInfos".into(), Value::Array(infos));
    Ok(fields)
}

/// A resource of a wallet user that bayar holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resource {
    Balance,
    MaskedDanaId,
}

impl Resource {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "BALANCE" => Some(Self::Balance),
            "MASK_DANA_ID" => Some(Self::MaskedDanaId),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Balance => "BALANCE",
            Self::MaskedDanaId => "MASK_DANA_ID",
        }
    }

    async fn value(self, state: &AppState, wallet: &Customer) -> Result<String, CoreError> {
        Ok(match self {
            Self::Balance => {
                let posted = state
                    .core
                    .balance(&wallet.account)
                    .await?
                    .map_or(0, |b| b.posted);
                // A wallet never goes below zero (the ledger forbids it); clamp, never fail.
                let money =
                    bayar_snap::Money::from_minor(posted.max(0)).unwrap_or(bayar_snap::Money::ZERO);
                json!({"amount": money.to_string(), "currency": "IDR"}).to_string()
            }
            Self::MaskedDanaId => masked(wallet.phone.as_str()),
        })
    }
}

/// `0812****7890`: the number in the national form users know, the middle hidden.
fn masked(phone: &str) -> String {
    let national = format!("0{}", phone.strip_prefix("62").unwrap_or(phone));
    let head = national.get(..4).unwrap_or_default();
    let tail = national
        .get(national.len().saturating_sub(4)..)
        .unwrap_or_default();
    let hidden = national.len().saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "*".repeat(hidden))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dana_ids_are_masked_in_the_middle() {
        assert_eq!(masked("6281234567890"), "0812****7890");
        assert_eq!(masked("62811742234"), "0811**2234");
    }
}
