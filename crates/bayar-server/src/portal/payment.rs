//! A payment's detail: its facts, its timeline (created, paid, refunded, notified), the ledger
//! legs of its transfers, and every notification with each delivery attempt; a refund form
//! (the core's `RefundPayment`, the rules of the APIs) and a resend button per notification.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bayar_core::CoreError;
use bayar_core::commands::{PaymentLookup, RefundPayment};
use bayar_core::ids::{EventId, PaymentId};
use bayar_core::outbox::{Attempt, Event};
use bayar_core::payment::{PartnerReference, PaymentStatus};
use bayar_core::portal::PaymentDetail;
use bayar_snap::time::format_jakarta;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::layout::{Nav, page, status_badge};
use super::session::Session;
use super::{PortalError, idr, parse_amount};
use crate::app::AppState;
use crate::pages::layout::see_other;

/// The refund form.
#[derive(Deserialize)]
pub struct RefundForm {
    amount: String,
    #[serde(default)]
    reason: String,
    /// Drawn when the form was shown: a double submit is the same refund, replayed.
    refund_no: String,
    #[serde(default)]
    csrf: String,
}

/// The resend form.
#[derive(Deserialize)]
pub struct ResendForm {
    event: String,
    #[serde(default)]
    csrf: String,
}

/// What the page says after a post.
enum Flash<'a> {
    None,
    Notice(&'a str),
    Error(String),
}

async fn detail(
    state: &AppState,
    session: &Session,
    id: &str,
) -> Result<PaymentDetail, PortalError> {
    let id: PaymentId = id.parse().map_err(|_| PortalError::NotFound)?;
    state
        .core
        .portal_payment(&session.user, &id)
        .await?
        .ok_or(PortalError::NotFound)
}

/// `GET /portal/payments/{id}` (`?done=refund|resend` after a post).
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    query: Result<Query<std::collections::HashMap<String, String>>, QueryRejection>,
) -> Result<Response, PortalError> {
    let detail = detail(&state, &session, &id).await?;
    let Query(query) = query?;
    let done = query.get("done").map(String::as_str);
    let flash = match done {
        Some("refund") => Flash::Notice("Refund made."),
        Some("resend") => Flash::Notice("Notification queued again."),
        _ => Flash::None,
    };
    Ok(render(&session, &detail, flash, StatusCode::OK))
}

fn render(session: &Session, d: &PaymentDetail, flash: Flash<'_>, status: StatusCode) -> Response {
    let p = &d.payment;
    let refundable = p.amount.minor() - p.refunded.minor();
    let base = format!("/portal/payments/{}", p.id);
    let mut timeline: Vec<(DateTime<Utc>, String)> = vec![(p.created_at, "created".into())];
    if let Some(paid) = p.paid_at {
        timeline.push((paid, "paid".into()));
    }
    if matches!(
        p.status,
        PaymentStatus::Failed | PaymentStatus::Cancelled | PaymentStatus::Expired
    ) {
        timeline.push((p.updated_at, p.status.as_str().to_string()));
    }
    for r in &d.refunds {
        timeline.push((r.created_at, format!("refunded {}", idr(r.amount.minor()))));
    }
    for (event, _) in &d.events {
        if let Some(at) = event.delivered_at
            && copies_of(event, &d.events) == 0
        {
            timeline.push((at, format!("notified ({})", event.kind.as_str())));
        }
    }
    timeline.sort();
    let content = html! {
        p { a href=(session.path("/portal/payments")) { "← Payments" } }
        h1 { "Payment " (p.partner_reference_no) }
        @match &flash {
            Flash::Notice(text) => p class="notice" id="notice" role="status" { (text) },
            Flash::Error(text) => p class="error" id="form-error" role="alert" { (text) },
            Flash::None => {},
        }
        div class="grid" {
            div class="card" {
                dl class="facts" {
                    dt { "Status" } dd id="status" { (status_badge(p.status.as_str())) }
                    dt { "Amount" } dd id="amount" { (idr(p.amount.minor())) }
                    dt { "Fee" } dd { (idr(p.fee.minor())) }
                    dt { "Refunded" } dd id="refunded" { (idr(p.refunded.minor())) }
                    dt { "bayar id" } dd { code { (p.id) } }
                    dt { "Merchant reference" } dd { code { (p.partner_reference_no) } }
                    dt { "Channel" } dd { (p.channel.as_str()) }
                    dt { "API" } dd { (p.face.as_str()) }
                    @if let Some(failure) = p.failure { dt { "Failure" } dd { (failure.as_str()) } }
                }
            }
            div class="card" {
                h2 { "Timeline" }
                ol class="timeline" id="timeline" {
                    @for (at, what) in &timeline { li { (format_jakarta(*at)) " — " (what) } }
                }
            }
        }
        @if p.status == PaymentStatus::Succeeded && refundable > 0 {
            div class="card" {
                h2 { "Refund" }
                form method="post" action=(session.path(&format!("{base}/refund"))) {
                    input type="hidden" name="csrf" value=(session.csrf());
                    input type="hidden" name="refund_no" value=(format!("portal-{}", ulid::Ulid::new()));
                    label for="refund-amount" { "Amount (IDR), at most " (idr(refundable)) }
                    input id="refund-amount" name="amount" inputmode="decimal" required
                        value=(bayar_snap::Money::from_minor(refundable).map(|m| m.to_string()).unwrap_or_default());
                    label for="refund-reason" { "Reason (optional)" }
                    input id="refund-reason" name="reason" maxlength="200";
                    button type="submit" class="danger" id="refund" { "Refund" }
                }
            }
        }
        h2 { "Ledger" }
        div class="card scroll" {
            table id="ledger" {
                thead { tr { th { "Posted (Jakarta)" } th { "Transfer" } th { "Account" } th class="num" { "Amount" } } }
                tbody {
                    @for line in &d.ledger {
                        tr {
                            td { (format_jakarta(line.at)) }
                            td { code { (line.transfer_id) } br; span class="muted" { (line.memo) } }
                            td { code { (line.account) } }
                            td class="num" { (idr(line.amount)) }
                        }
                    }
                }
            }
        }
        h2 { "Notifications" }
        @if d.events.is_empty() { p class="muted" { "No notifications about this payment." } }
        @for (event, attempts) in &d.events {
            div class="card scroll" {
                p {
                    strong { (event.kind.as_str()) } " · " code { (event.id) } " · "
                    @if let Some(copy) = &event.copy {
                        "to " code { (copy.endpoint_id) } " · "
                    }
                    @match copies_of(event, &d.events) {
                        0 => {
                            @if event.delivered_at.is_some() { "delivered" }
                            @else if event.given_up_at.is_some() { "given up" }
                            @else { "pending" }
                        }
                        n => { "sent to " (n) " webhook endpoint(s), below" }
                    }
                }
                @if copies_of(event, &d.events) == 0 { (attempts_table(attempts)) }
                form method="post" action=(session.path(&format!("{base}/resend"))) {
                    input type="hidden" name="csrf" value=(session.csrf());
                    input type="hidden" name="event" value=(event.id);
                    button type="submit" class="secondary" { "Resend" }
                }
            }
        }
    };
    page(session, Nav::Payments, "Payment", content)
        .status(status)
        .into_response()
}

/// How many destinations' copies `event` was handed over to (see
/// [`bayar_core::outbox::EventCopy`]); such an event is delivered through them.
fn copies_of(event: &Event, events: &[(Event, Vec<Attempt>)]) -> usize {
    events
        .iter()
        .filter(|(e, _)| e.copy.as_ref().is_some_and(|c| c.of == event.id))
        .count()
}

/// A notification's delivery attempts (status, latency, response or error).
pub(super) fn attempts_table(attempts: &[Attempt]) -> Markup {
    html! {
        @if attempts.is_empty() {
            p class="muted" { "No delivery attempt yet." }
        } @else {
            table {
                thead { tr { th { "#" } th { "Started (Jakarta)" } th { "HTTP status" } th class="num" { "Latency" } th { "Response or error" } } }
                tbody {
                    @for a in attempts {
                        tr {
                            td { (a.attempt) }
                            td { (format_jakarta(a.started_at)) }
                            td { (a.http_status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())) }
                            td class="num" { (a.latency_ms) " ms" }
                            td { code { (a.error.as_deref().or(a.response_snippet.as_deref()).unwrap_or("")) } }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /portal/payments/{id}/refund`.
pub async fn refund(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<RefundForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    session.check_csrf(&form.csrf)?;
    let d = detail(&state, &session, &id).await?;
    let refuse = |d: &PaymentDetail, message: String| {
        render(
            &session,
            d,
            Flash::Error(message),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let Some(amount) = parse_amount(&form.amount) else {
        return Ok(refuse(
            &d,
            "Amount: enter rupiah like 10000 or 10000.50.".into(),
        ));
    };
    let Ok(refund_no) = PartnerReference::parse(&form.refund_no) else {
        return Ok(refuse(
            &d,
            "The form is out of date: reload the page.".into(),
        ));
    };
    let reason = form.reason.trim();
    if reason.chars().count() > 200 {
        return Ok(refuse(&d, "Reason: at most 200 characters.".into()));
    }
    let command = RefundPayment {
        merchant_id: d.payment.merchant_id,
        payment: PaymentLookup::Id(d.payment.id),
        partner_refund_no: refund_no,
        amount,
        reason: (!reason.is_empty()).then(|| reason.to_string()),
    };
    match state.core.run(command).await {
        Ok(_) => Ok(see_other(
            &session.path(&format!("/portal/payments/{}?done=refund", d.payment.id)),
        )),
        Err(e) if !e.is_internal() => Ok(refuse(&d, format!("Refund refused: {e}."))),
        Err(e) => Err(e.into()),
    }
}

/// `POST /portal/payments/{id}/resend`.
pub async fn resend(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<ResendForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    session.check_csrf(&form.csrf)?;
    let d = detail(&state, &session, &id).await?;
    let event: EventId = form.event.parse().map_err(|_| PortalError::NotFound)?;
    if !d.events.iter().any(|(e, _)| e.id == event) {
        return Err(PortalError::NotFound);
    }
    match state.core.resend_event(d.payment.merchant_id, event).await {
        Ok(_) => Ok(see_other(
            &session.path(&format!("/portal/payments/{}?done=resend", d.payment.id)),
        )),
        Err(CoreError::EventNotFound) => Err(PortalError::NotFound),
        Err(e) => Err(e.into()),
    }
}
