//! The payments list: search by reference, status, channel, date range (Jakarta days) and
//! amount; newest first, [`bayar_core::portal::PAGE_SIZE`] a page, keyset pagination (the
//! next page starts after the last id shown, so page 100 costs what page 1 does).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bayar_core::ids::{MerchantId, PaymentId};
use bayar_core::payment::{Channel, PaymentStatus};
use bayar_core::portal::{PaymentFilter, PortalUser, Role, Scope};
use chrono::{DateTime, Days, FixedOffset, NaiveDate, Utc};
use maud::html;
use serde::Deserialize;

use super::layout::{Nav, page, status_badge};
use super::session::Session;
use super::{PortalError, idr, parse_amount};
use crate::app::AppState;

/// Every status, for the filter's choices.
const STATUSES: [PaymentStatus; 6] = [
    PaymentStatus::Created,
    PaymentStatus::Paying,
    PaymentStatus::Succeeded,
    PaymentStatus::Failed,
    PaymentStatus::Cancelled,
    PaymentStatus::Expired,
];

/// Every channel, for the filter's choices.
const CHANNELS: [Channel; 2] = [Channel::AlloDirectDebit, Channel::DanaWallet];

/// The list's query string, as typed; every field optional.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    merchant: Option<String>,
    reference: Option<String>,
    status: Option<String>,
    channel: Option<String>,
    from: Option<String>,
    to: Option<String>,
    min: Option<String>,
    max: Option<String>,
    before: Option<String>,
}

/// A non-empty, trimmed field.
fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Midnight in Jakarta at the start of `date` (`YYYY-MM-DD`) plus `days`.
pub(super) fn jakarta_midnight(date: &str, days: u64) -> Option<DateTime<Utc>> {
    let mut parts = date.splitn(3, '-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    let day = NaiveDate::from_ymd_opt(y, m, d)?.checked_add_days(Days::new(days))?;
    let jakarta = FixedOffset::east_opt(7 * 3600)?;
    Some(
        day.and_hms_opt(0, 0, 0)?
            .and_local_timezone(jakarta)
            .single()?
            .with_timezone(&Utc),
    )
}

impl ListQuery {
    /// The scope and filter, or the first field that does not parse.
    fn parse(&self, user: &PortalUser) -> Result<(Scope, PaymentFilter), &'static str> {
        let merchant = match given(&self.merchant) {
            Some(text) => Some(text.parse::<MerchantId>().map_err(|_| "Merchant")?),
            None => None,
        };
        if let (Role::Merchant(own), Some(named)) = (user.role, merchant)
            && own != named
        {
            return Err("Merchant");
        }
        let filter = PaymentFilter {
            reference: given(&self.reference).map(str::to_string),
            status: given(&self.status)
                .map(str::parse)
                .transpose()
                .map_err(|_| "Status")?,
            channel: given(&self.channel)
                .map(str::parse)
                .transpose()
                .map_err(|_| "Channel")?,
            from: given(&self.from)
                .map(|d| jakarta_midnight(d, 0).ok_or("From"))
                .transpose()?,
            until: given(&self.to)
                .map(|d| jakarta_midnight(d, 1).ok_or("To"))
                .transpose()?,
            min_amount: given(&self.min)
                .map(|a| parse_amount(a).ok_or("Minimum amount"))
                .transpose()?,
            max_amount: given(&self.max)
                .map(|a| parse_amount(a).ok_or("Maximum amount"))
                .transpose()?,
            before: given(&self.before)
                .map(|p| p.parse::<PaymentId>().map_err(|_| "Page"))
                .transpose()?,
        };
        Ok((user.scope(merchant), filter))
    }

    /// The query string of the page after `next`, keeping the filters.
    fn next_page(&self, next: &PaymentId) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let fields = [
            ("merchant", &self.merchant),
            ("reference", &self.reference),
            ("status", &self.status),
            ("channel", &self.channel),
            ("from", &self.from),
            ("to", &self.to),
            ("min", &self.min),
            ("max", &self.max),
        ];
        for (name, value) in fields {
            if let Some(value) = given(value) {
                query.append_pair(name, value);
            }
        }
        query.append_pair("before", &next.to_string());
        query.finish()
    }
}

/// `GET /portal/payments`.
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, PortalError> {
    let Query(query) = query?;
    let parsed = query.parse(&session.user);
    let (status, error, page_of) = match &parsed {
        Ok((scope, filter)) => (
            StatusCode::OK,
            None,
            Some(state.core.portal_payments(*scope, filter).await?),
        ),
        Err(field) => (
            StatusCode::BAD_REQUEST,
            Some(format!("{field}: this value is not valid.")),
            None,
        ),
    };
    let value = |field: &Option<String>| field.clone().unwrap_or_default();
    let chosen = |field: &Option<String>, option: &str| given(field) == Some(option);
    let operator = session.user.role == Role::Operator;
    let content = html! {
        h1 { "Payments" }
        form class="card filters" method="get" action=(session.path("/portal/payments")) role="search" {
            @if operator {
                div { label for="merchant" { "Merchant id" } input id="merchant" name="merchant" value=(value(&query.merchant)); }
            }
            div { label for="reference" { "Reference" } input id="reference" name="reference" placeholder="partnerReferenceNo or pay_…" value=(value(&query.reference)); }
            div {
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" { "Any" }
                    @for s in STATUSES { option value=(s.as_str()) selected[chosen(&query.status, s.as_str())] { (s.as_str()) } }
                }
            }
            div {
                label for="channel" { "Channel" }
                select id="channel" name="channel" {
                    option value="" { "Any" }
                    @for c in CHANNELS { option value=(c.as_str()) selected[chosen(&query.channel, c.as_str())] { (c.as_str()) } }
                }
            }
            div { label for="from" { "From (Jakarta date)" } input id="from" name="from" type="date" value=(value(&query.from)); }
            div { label for="to" { "To (Jakarta date)" } input id="to" name="to" type="date" value=(value(&query.to)); }
            div { label for="min" { "Minimum amount (IDR)" } input id="min" name="min" inputmode="decimal" value=(value(&query.min)); }
            div { label for="max" { "Maximum amount (IDR)" } input id="max" name="max" inputmode="decimal" value=(value(&query.max)); }
            div { button type="submit" id="search" { "Search" } }
        }
        @if let Some(error) = &error { p class="error" id="form-error" role="alert" { (error) } }
        @if let Some(found) = &page_of {
            div class="card scroll" {
                @if found.payments.is_empty() {
                    p id="no-payments" { "No payments match." }
                } @else {
                    table id="payments" {
                        thead { tr {
                            th { "Reference" } th { "bayar id" } th { "Status" } th { "Channel" }
                            th class="num" { "Amount" } th class="num" { "Refunded" } th { "Created (Jakarta)" }
                            @if operator { th { "Merchant" } }
                        } }
                        tbody {
                            @for p in &found.payments {
                                tr {
                                    td { a href=(session.path(&format!("/portal/payments/{}", p.id))) { (p.partner_reference_no) } }
                                    td { code { (p.id) } }
                                    td { (status_badge(p.status.as_str())) }
                                    td { (p.channel.as_str()) }
                                    td class="num" { (idr(p.amount.minor())) }
                                    td class="num" { (idr(p.refunded.minor())) }
                                    td { (bayar_snap::time::format_jakarta(p.created_at)) }
                                    @if operator { td { code { (p.merchant_id) } } }
                                }
                            }
                        }
                    }
                }
                div class="pager" {
                    @if given(&query.before).is_some() {
                        a href=(session.path("/portal/payments")) { "Newest" }
                    }
                    @if let Some(next) = &found.next {
                        a id="next-page" href={ (session.path("/portal/payments")) "?" (query.next_page(next)) } { "Older payments" }
                    }
                }
            }
        }
    };
    Ok(page(&session, Nav::Payments, "Payments", content)
        .status(status)
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jakarta_days() {
        let start = jakarta_midnight("2026-01-31", 0).unwrap();
        assert_eq!(start.to_rfc3339(), "2026-01-30T17:00:00+00:00");
        let end = jakarta_midnight("2026-01-31", 1).unwrap();
        assert_eq!(end.to_rfc3339(), "2026-01-31T17:00:00+00:00");
        assert!(jakarta_midnight("2026-02-30", 0).is_none());
        assert!(jakarta_midnight("yesterday", 0).is_none());
    }
}
