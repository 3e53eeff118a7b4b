//! Balances: what the merchant has collected (available), its disbursement deposit (MDA) with
//! a sandbox top-up (the core's `FundDeposit`: a balanced transfer from the outside world),
//! and the statement of every ledger entry on both accounts as CSV.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use bayar_core::commands::FundDeposit;
use bayar_core::ledger::AccountId;
use bayar_core::merchant::Merchant;
use bayar_snap::time::format_jakarta;
use maud::html;
use serde::Deserialize;

use super::dashboard::pick_merchant;
use super::layout::{Nav, page};
use super::session::Session;
use super::{PortalError, chosen_merchant, idr, parse_amount};
use crate::app::AppState;
use crate::pages::layout::see_other;

/// Which merchant (operators only).
#[derive(Debug, Default, Deserialize)]
pub struct MerchantQuery {
    merchant: Option<String>,
    done: Option<String>,
}

impl MerchantQuery {
    /// The merchant id named, if any.
    pub fn merchant(&self) -> Option<&str> {
        self.merchant.as_deref()
    }

    /// What the previous post did (`?done=...`), if it said.
    pub fn done(&self) -> Option<&str> {
        self.done.as_deref()
    }
}

/// The top-up form.
#[derive(Deserialize)]
pub struct TopUpForm {
    #[serde(default)]
    merchant: String,
    amount: String,
    /// Drawn when the form was shown: a double submit tops up once.
    reference: String,
    #[serde(default)]
    csrf: String,
}

/// The biggest sandbox top-up: IDR 1 000 000 000.00.
const MAX_TOP_UP: i64 = 100_000_000_000;

fn with_merchant(path: &str, merchant: &Merchant) -> String {
    format!("{path}?merchant={}", merchant.id)
}

/// `GET /portal/balances`.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<MerchantQuery>, QueryRejection>,
) -> Result<Response, PortalError> {
    let Query(query) = query?;
    let Some(merchant) = chosen_merchant(&state, &session.user, query.merchant.as_deref()).await?
    else {
        return pick_merchant(&state, &session, Nav::Balances, "Balances").await;
    };
    let notice = (query.done() == Some("topup")).then_some("Deposit topped up.");
    render(&state, &session, &merchant, notice, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    session: &Session,
    merchant: &Merchant,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, PortalError> {
    let balances = state.core.portal_balances(&merchant.id).await?;
    let content = html! {
        h1 { "Balances · " (merchant.name.as_str()) }
        @if let Some(text) = notice { p class="notice" id="notice" role="status" { (text) } }
        @if let Some(text) = error { p class="error" id="form-error" role="alert" { (text) } }
        div class="grid" {
            div class="card" {
                div class="muted" { "Available balance" }
                div class="stat" id="available" { (idr(balances.available)) }
                p class="muted" { "Collected from payments, net of fees; refunds draw on it." }
            }
            div class="card" {
                div class="muted" { "Disbursement deposit (MDA)" }
                div class="stat" id="deposit" { (idr(balances.deposit)) }
                form method="post" action=(session.path("/portal/balances/topup")) {
                    input type="hidden" name="csrf" value=(session.csrf());
                    input type="hidden" name="merchant" value=(merchant.id);
                    input type="hidden" name="reference" value=(format!("portal-{}", ulid::Ulid::new()));
                    label for="topup-amount" { "Sandbox top-up amount (IDR)" }
                    input id="topup-amount" name="amount" inputmode="decimal" required placeholder="1000000";
                    button type="submit" id="topup" { "Top up" }
                }
            }
        }
        h2 { "Statement" }
        p {
            a class="button secondary" id="statement" download
                href=(session.path(&with_merchant("/portal/balances/statement.csv", merchant))) {
                "Download statement (CSV)"
            }
        }
    };
    Ok(page(session, Nav::Balances, "Balances", content)
        .status(status)
        .into_response())
}

/// `POST /portal/balances/topup`.
pub async fn top_up(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<TopUpForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    session.check_csrf(&form.csrf)?;
    let merchant = chosen_merchant(&state, &session.user, Some(&form.merchant))
        .await?
        .ok_or(PortalError::NotFound)?;
    let amount = parse_amount(&form.amount).filter(|a| (1..=MAX_TOP_UP).contains(&a.minor()));
    let reference_ok = form.reference.len() <= 64
        && form
            .reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let (Some(amount), true) = (amount, reference_ok) else {
        return render(
            &state,
            &session,
            &merchant,
            None,
            Some("Amount: enter rupiah from 0.01 to 1000000000, like 1000000 or 250000.50."),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    state
        .core
        .run(FundDeposit {
            merchant_id: merchant.id,
            amount,
            reference: form.reference,
        })
        .await?;
    Ok(see_other(&session.path(&format!(
        "/portal/balances?merchant={}&done=topup",
        merchant.id
    ))))
}

/// `GET /portal/balances/statement.csv`: every posted entry on the merchant's accounts.
pub async fn statement(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<MerchantQuery>, QueryRejection>,
) -> Result<Response, PortalError> {
    let Query(query) = query?;
    let merchant = chosen_merchant(&state, &session.user, query.merchant.as_deref())
        .await?
        .ok_or(PortalError::NotFound)?;
    let lines = state.core.statement(&merchant.id).await?;
    let available = AccountId::merchant_available(&merchant.id);
    let mut csv = String::from("posted_at,transfer_id,memo,account,amount,currency\r\n");
    for line in &lines {
        let account = if line.account == available {
            "available"
        } else {
            "deposit"
        };
        let amount = idr(line.amount).replace("IDR ", "");
        let fields = [
            format_jakarta(line.at),
            line.transfer_id.clone(),
            line.memo.clone(),
            account.to_string(),
            amount,
            "IDR".to_string(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&row.join(","));
        csv.push_str("\r\n");
    }
    let mut response = (StatusCode::OK, csv).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!("attachment; filename=\"statement-{}.csv\"", merchant.id);
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition)
            .map_err(|_| PortalError::Internal("statement file name is not a header value"))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// One CSV field (RFC 4180), quoted when needed. A text field a spreadsheet would take for a
/// formula (`=`, `+`, `@`) is prefixed with `'`; amounts are numbers and keep their minus.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-100.00"), "-100.00");
    }
}
