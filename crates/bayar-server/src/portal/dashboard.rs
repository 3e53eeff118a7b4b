//! The overview: a merchant's balances and latest payments; for an operator, every merchant
//! with links into its pages.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bayar_core::portal::{PaymentFilter, Role, Scope};
use maud::{Markup, html};

use super::layout::{Nav, page, status_badge};
use super::session::Session;
use super::{PortalError, idr};
use crate::app::AppState;

/// `GET /portal`.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, PortalError> {
    let content = match session.user.role {
        Role::Operator => merchants(&state, &session).await?,
        Role::Merchant(id) => {
            let merchant = state
                .core
                .store()
                .merchant_by_id(&id)
                .await
                .map_err(bayar_core::CoreError::from)?
                .ok_or(PortalError::NotFound)?;
            let balances = state.core.portal_balances(&id).await?;
            let recent = state
                .core
                .portal_payments(Scope::Merchant(id), &PaymentFilter::default())
                .await?;
            html! {
                h1 { (merchant.name.as_str()) }
                div class="grid" {
                    div class="card" {
                        div class="muted" { "Available balance" }
                        div class="stat" id="available" { (idr(balances.available)) }
                    }
                    div class="card" {
                        div class="muted" { "Disbursement deposit" }
                        div class="stat" id="deposit" { (idr(balances.deposit)) }
                    }
                    div class="card" {
                        div class="muted" { "Client id" }
                        div { code { (merchant.client_id) } }
                        a href=(session.path("/portal/credentials")) { "Manage credentials" }
                    }
                }
                h2 { "Latest payments" }
                div class="card scroll" {
                    @if recent.payments.is_empty() {
                        p { "No payments yet. Create one through the API with your sandbox credentials." }
                    } @else {
                        table {
                            thead { tr { th { "Reference" } th { "Status" } th class="num" { "Amount" } th { "Created" } } }
                            tbody {
                                @for p in recent.payments.iter().take(10) {
                                    tr {
                                        td { a href=(session.path(&format!("/portal/payments/{}", p.id))) { (p.partner_reference_no) } }
                                        td { (status_badge(p.status.as_str())) }
                                        td class="num" { (idr(p.amount.minor())) }
                                        td { (bayar_snap::time::format_jakarta(p.created_at)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&session, Nav::Dashboard, "Overview", content).into_response())
}

/// The operator's overview: every merchant.
async fn merchants(state: &AppState, session: &Session) -> Result<Markup, PortalError> {
    let merchants = state.core.merchants().await?;
    Ok(html! {
        h1 { "Merchants" }
        p class="muted" { "You are the gateway's operator: you see every merchant." }
        div class="card scroll" {
            table {
                thead { tr { th { "Name" } th { "Merchant id" } th { "Client id" } th { "Pages" } } }
                tbody {
                    @for m in &merchants {
                        tr {
                            td { (m.name.as_str()) }
                            td { code { (m.id) } }
                            td { code { (m.client_id) } }
                            td {
                                a href=(session.path(&format!("/portal/payments?merchant={}", m.id))) { "Payments" } " · "
                                a href=(session.path(&format!("/portal/balances?merchant={}", m.id))) { "Balances" } " · "
                                a href=(session.path(&format!("/portal/credentials?merchant={}", m.id))) { "Credentials" }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// What a per-merchant page shows an operator who has not picked a merchant yet.
pub async fn pick_merchant(
    state: &AppState,
    session: &Session,
    nav: Nav,
    title: &str,
) -> Result<Response, PortalError> {
    let content = merchants(state, session).await?;
    Ok(page(
        session,
        nav,
        title,
        html! { p class="notice" { "Pick a merchant first." } (content) },
    )
    .into_response())
}
