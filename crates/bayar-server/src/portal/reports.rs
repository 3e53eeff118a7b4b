//! Reports: succeeded payments per Jakarta day and channel (count and volume, with a bar per
//! row), and the settlement file that converts the net IDR of each day into USD, the
//! settlement currency of the WooshPay seed, with an FX rate table the merchant types in.
//!
//! Money stays integer: a rate is IDR (with sen) per 1 USD, and a day's USD cents are
//! `net_sen * 100 / rate_sen`, rounded half up, in 128-bit integers. Refunds are listed, not
//! netted: a refund settles on the day it is made, not on the payment's day.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use bayar_core::merchant::Merchant;
use bayar_core::store::DailyVolume;
use chrono::{Days, NaiveDate, Utc};
use maud::html;
use serde::Deserialize;

use super::balances::csv_field;
use super::dashboard::pick_merchant;
use super::layout::{Nav, page};
use super::payments::jakarta_midnight;
use super::session::Session;
use super::{PortalError, chosen_merchant, idr, parse_amount};
use crate::app::AppState;

/// The longest range a report covers, in days.
const MAX_DAYS: u64 = 366;

/// The report's query, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    merchant: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// IDR per 1 USD for days without their own rate.
    rate: Option<String>,
    /// Lines of `YYYY-MM-DD RATE`.
    rates: Option<String>,
}

/// A parsed report request.
#[derive(Debug)]
struct Report {
    from: NaiveDate,
    to: NaiveDate,
    default_rate: Option<i64>,
    rates: BTreeMap<NaiveDate, i64>,
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    let mut parts = text.trim().splitn(3, '-');
    NaiveDate::from_ymd_opt(
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    )
}

/// A rate: IDR (sen allowed) per 1 USD, more than zero.
fn parse_rate(text: &str) -> Option<i64> {
    parse_amount(text).map(|m| m.minor()).filter(|sen| *sen > 0)
}

/// A non-empty, trimmed field.
fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl ReportQuery {
    fn parse(&self) -> Result<Report, String> {
        let today = Utc::now()
            .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).ok_or("timezone")?)
            .date_naive();
        let to = match given(&self.to) {
            Some(t) => parse_date(t).ok_or("To: enter a date")?,
            None => today,
        };
        let from = match given(&self.from) {
            Some(f) => parse_date(f).ok_or("From: enter a date")?,
            None => to.checked_sub_days(Days::new(29)).unwrap_or(to),
        };
        if from > to || (to - from).num_days() >= MAX_DAYS as i64 {
            return Err(format!(
                "From must be before To, at most {MAX_DAYS} days apart"
            ));
        }
        let default_rate = match given(&self.rate) {
            Some(r) => {
                Some(parse_rate(r).ok_or("Default rate: enter IDR per 1 USD, like 16250.00")?)
            }
            None => None,
        };
        let mut rates = BTreeMap::new();
        for (n, line) in self.rates.as_deref().unwrap_or("").lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let parsed = line
                .split_once(char::is_whitespace)
                .and_then(|(d, r)| Some((parse_date(d)?, parse_rate(r.trim())?)));
            let (day, rate) = parsed.ok_or_else(|| {
                format!(
                    "Rate table line {}: write YYYY-MM-DD RATE, like 2026-11-20 16250.00",
                    n + 1
                )
            })?;
            rates.insert(day, rate);
        }
        Ok(Report {
            from,
            to,
            default_rate,
            rates,
        })
    }
}

impl Report {
    fn rate_on(&self, day: NaiveDate) -> Option<i64> {
        self.rates.get(&day).copied().or(self.default_rate)
    }
}

/// USD cents of `sen` IDR at `rate_sen` IDR sen per USD, rounded half up.
fn to_usd_cents(sen: i64, rate_sen: i64) -> i64 {
    let n = i128::from(sen) * 100;
    let d = i128::from(rate_sen);
    i64::try_from((2 * n + d) / (2 * d)).unwrap_or(i64::MAX)
}

fn usd(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

async fn load(
    state: &AppState,
    report: &Report,
    merchant: &Merchant,
) -> Result<Vec<DailyVolume>, PortalError> {
    let from = jakarta_midnight(&report.from.to_string(), 0).ok_or(PortalError::NotFound)?;
    let until = jakarta_midnight(&report.to.to_string(), 1).ok_or(PortalError::NotFound)?;
    Ok(state.core.daily_volume(&merchant.id, from, until).await?)
}

/// `GET /portal/reports`.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, PortalError> {
    let Query(query) = query?;
    let Some(merchant) = chosen_merchant(&state, &session.user, query.merchant.as_deref()).await?
    else {
        return pick_merchant(&state, &session, Nav::Reports, "Reports").await;
    };
    let (report, error) = match query.parse() {
        Ok(report) => (Some(report), None),
        Err(e) => (None, Some(e)),
    };
    let rows = match &report {
        Some(report) => load(&state, report, &merchant).await?,
        None => Vec::new(),
    };
    let max = rows.iter().map(|r| r.amount).max().unwrap_or(0).max(1);
    let text = |f: &Option<String>| f.clone().unwrap_or_default();
    let csv_query = {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("merchant", &merchant.id.to_string());
        for (name, value) in [
            ("from", &query.from),
            ("to", &query.to),
            ("rate", &query.rate),
            ("rates", &query.rates),
        ] {
            if let Some(v) = value {
                q.append_pair(name, v);
            }
        }
        q.finish()
    };
    let content = html! {
        h1 { "Reports · " (merchant.name.as_str()) }
        @if let Some(error) = &error { p class="error" id="form-error" role="alert" { (error) } }
        form class="card filters" method="get" action=(session.path("/portal/reports")) {
            input type="hidden" name="merchant" value=(merchant.id);
            div { label for="from" { "From (Jakarta date)" } input id="from" name="from" type="date" value=(text(&query.from)); }
            div { label for="to" { "To (Jakarta date)" } input id="to" name="to" type="date" value=(text(&query.to)); }
            div { label for="rate" { "Default rate (IDR per 1 USD)" } input id="rate" name="rate" inputmode="decimal" placeholder="16250.00" value=(text(&query.rate)); }
            div {
                label for="rates" { "Rates per day (YYYY-MM-DD RATE, one a line)" }
                textarea id="rates" name="rates" rows="3" { (text(&query.rates)) }
            }
            div { button type="submit" id="run-report" { "Show" } }
        }
        @if let Some(report) = &report {
            p class="muted" { "Succeeded payments paid from " (report.from) " to " (report.to) " (Jakarta days)." }
            p {
                a class="button secondary" id="settlement" download
                    href={ (session.path("/portal/reports/settlement.csv")) "?" (csv_query) } {
                    "Download settlement (CSV, USD)"
                }
            }
            div class="card scroll" {
                @if rows.is_empty() {
                    p id="no-volume" { "No succeeded payments in this range." }
                } @else {
                    table id="volume" {
                        thead { tr { th { "Day" } th { "Channel" } th class="num" { "Count" } th class="num" { "Volume" } th { "" } } }
                        tbody {
                            @for r in &rows {
                                @let width = i128::from(r.amount) * 100 / i128::from(max);
                                tr {
                                    td { (r.day) }
                                    td { (r.channel) }
                                    td class="num" { (r.count) }
                                    td class="num" { (idr(r.amount)) }
                                    td style="min-width:8rem" aria-hidden="true" {
                                        div style={ "background:#1c3fa8;height:.8rem;border-radius:.2rem;width:" (width) "%" } {}
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(page(&session, Nav::Reports, "Reports", content)
        .status(status)
        .into_response())
}

/// `GET /portal/reports/settlement.csv`: net IDR per day and channel, and its USD value at
/// the day's rate (empty where no rate was given).
pub async fn settlement(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, PortalError> {
    let Query(query) = query?;
    let merchant = chosen_merchant(&state, &session.user, query.merchant.as_deref())
        .await?
        .ok_or(PortalError::NotFound)?;
    let report = match query.parse() {
        Ok(report) => report,
        Err(e) => return Ok((StatusCode::BAD_REQUEST, e).into_response()),
    };
    let rows = load(&state, &report, &merchant).await?;
    let mut csv = String::from(
        "day,channel,count,gross_idr,fee_idr,net_idr,refunded_idr,idr_per_usd,net_usd\r\n",
    );
    let amount = |sen: i64| idr(sen).replace("IDR ", "");
    for r in &rows {
        let net = r.amount - r.fee;
        let rate = report.rate_on(r.day);
        let fields = [
            r.day.to_string(),
            r.channel.clone(),
            r.count.to_string(),
            amount(r.amount),
            amount(r.fee),
            amount(net),
            amount(r.refunded),
            rate.map(amount).unwrap_or_default(),
            rate.map(|rate| usd(to_usd_cents(net, rate)))
                .unwrap_or_default(),
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
    let disposition = format!(
        "attachment; filename=\"settlement-{}-{}-{}.csv\"",
        merchant.id, report.from, report.to
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition)
            .map_err(|_| PortalError::Internal("settlement file name is not a header value"))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_conversion_is_integer_and_rounds_half_up() {
        // IDR 16,250.00 at 16,250.00 per USD is USD 1.00.
        assert_eq!(to_usd_cents(1_625_000, 1_625_000), 100);
        // IDR 81.25 is half a cent: up.
        assert_eq!(to_usd_cents(8_125, 1_625_000), 1);
        assert_eq!(to_usd_cents(8_124, 1_625_000), 0);
        // IDR 9,999,999,999,999.99 does not overflow.
        assert_eq!(to_usd_cents(999_999_999_999_999, 1_625_000), 61_538_461_538);
        assert_eq!(usd(61_538_461_538), "615384615.38");
    }

    #[test]
    fn rate_tables() {
        let q = ReportQuery {
            from: Some("2026-11-01".into()),
            to: Some("2026-11-30".into()),
            rate: Some("16000".into()),
            rates: Some("2026-11-20 16250.50\n\n2026-11-21\t16300".into()),
            ..ReportQuery::default()
        };
        let r = q.parse().unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        assert_eq!(r.rate_on(day(20)), Some(1_625_050));
        assert_eq!(r.rate_on(day(21)), Some(1_630_000));
        assert_eq!(r.rate_on(day(22)), Some(1_600_000));
        let bad = ReportQuery {
            rates: Some("2026-11-20 lots".into()),
            ..ReportQuery::default()
        };
        assert!(bad.parse().unwrap_err().contains("line 1"));
        let zero = ReportQuery {
            rate: Some("0".into()),
            ..ReportQuery::default()
        };
        assert!(zero.parse().is_err());
        let backwards = ReportQuery {
            from: Some("2026-11-30".into()),
            to: Some("2026-11-01".into()),
            ..ReportQuery::default()
        };
        assert!(backwards.parse().is_err());
    }
}
