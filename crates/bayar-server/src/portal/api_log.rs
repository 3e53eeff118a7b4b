//! The API log: a middleware that records every call naming a merchant (`X-PARTNER-ID` or
//! `X-CLIENT-KEY`) with its answer, and the portal page and file that show it (the seeds'
//! "verification proof").
//!
//! Recorded: method, path (no query), HTTP status, the SNAP `responseCode` and
//! `responseMessage` (why a call failed, in bayar's own words, with the guard's
//! [`ApiLogNote`] when it left one: which canonical body forms a signature was tried against),
//! latency. Never headers or
//! bodies: they carry tokens, signatures and, in DANA's OPEN_API envelope, the client secret.
//! The row is written after the answer has gone, through the group-commit writer, so the log
//! adds no latency to the call.

use std::time::Instant;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bayar_core::merchant::{ClientId, Merchant};
use bayar_core::portal::{ApiCall, PAGE_SIZE};
use bayar_snap::time::format_jakarta;
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::balances::csv_field;
use super::checklist;
use super::dashboard::pick_merchant;
use super::layout::{Nav, page};
use super::session::Session;
use super::{PortalError, chosen_merchant};
use crate::app::AppState;
use crate::faces::snap::error::ApiLogNote;

/// Largest response body read back for its `responseCode` (SNAP answers are far smaller).
const MAX_LOGGED_BODY: usize = 256 * 1024;

/// Most calls in one downloaded file.
const MAX_DOWNLOAD: usize = 10_000;

/// Records the call if it names a merchant bayar knows; passes everything else through.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client = ["x-partner-id", "x-client-key"]
        .iter()
        .find_map(|name| request.headers().get(*name))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| ClientId::parse(v).ok());
    let Some(client) = client else {
        return next.run(request).await;
    };
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let at = Utc::now();
    let started = Instant::now();
    let response = next.run(request).await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_LOGGED_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "API log: the response body could not be read");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "response body unreadable",
            )
                .into_response();
        }
    };
    let json: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
    let text = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(|v| v.as_str())
            .map(|s| s.chars().take(200).collect::<String>())
    };
    let response_code = text("responseCode");
    // The wire message, and the guard's note of why when it left one (which body forms a
    // signature was checked against: never the secret or the signature).
    let note = parts.extensions.get::<ApiLogNote>().map(|n| n.0.clone());
    let message = match (text("responseMessage"), note) {
        (Some(message), Some(note)) => Some(format!("{message}: {note}")),
        (message, None) => message,
        (None, note) => note,
    };
    let http_status = parts.status.as_u16();
    let core = state.core.clone();
    tokio::spawn(async move {
        let merchant = match core.merchant_by_client_id(&client).await {
            Ok(Some(merchant)) => merchant,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "API log: merchant lookup failed");
                return;
            }
        };
        let call = ApiCall {
            id: ulid::Ulid::new().to_string(),
            merchant_id: merchant.id,
            at,
            method,
            path,
            http_status,
            response_code,
            message,
            latency_ms,
        };
        if let Err(e) = core.record_api_call(call).await {
            tracing::warn!(error = %e, "API log: the call could not be recorded");
        }
    });
    Response::from_parts(parts, Body::from(bytes))
}

/// The page's query.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    merchant: Option<String>,
    before: Option<String>,
}

async fn merchant_of(
    state: &AppState,
    session: &Session,
    query: &LogQuery,
) -> Result<Option<Merchant>, PortalError> {
    chosen_merchant(state, &session.user, query.merchant.as_deref()).await
}

/// `GET /portal/api-log`: the checklist, then the calls, newest first.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Response, PortalError> {
    let Query(query) = query?;
    let Some(merchant) = merchant_of(&state, &session, &query).await? else {
        return pick_merchant(&state, &session, Nav::ApiLog, "API log").await;
    };
    let before = query.before.as_deref().filter(|b| !b.is_empty());
    let mut calls = state
        .core
        .api_log(&merchant.id, before, PAGE_SIZE + 1)
        .await?;
    let more = calls.len() > PAGE_SIZE;
    calls.truncate(PAGE_SIZE);
    let outcomes = state.core.api_outcomes(&merchant.id).await?;
    let list = checklist::tick(&outcomes);
    let base = format!("/portal/api-log?merchant={}", merchant.id);
    let content = html! {
        h1 { "API log · " (merchant.name.as_str()) }
        h2 { "Integration checklist" }
        p class="muted" { "Ticked from your calls: exercise each scenario in the sandbox before going live." }
        (checklist::render(&list))
        h2 { "Calls" }
        p {
            a class="button secondary" id="download-log" download
                href=(session.path(&format!("/portal/api-log.csv?merchant={}", merchant.id))) {
                "Download the log (CSV)"
            }
        }
        div class="card scroll" {
            @if calls.is_empty() {
                p id="no-calls" { "No signed calls yet." }
            } @else {
                table id="calls" {
                    thead { tr {
                        th { "At (Jakarta)" } th { "Call" } th { "HTTP" } th { "responseCode" }
                        th { "Message" } th class="num" { "Latency" }
                    } }
                    tbody {
                        @for c in &calls {
                            tr {
                                td { (format_jakarta(c.at)) }
                                td { code { (c.method) " " (c.path) } }
                                td { (c.http_status) }
                                td { code { (c.response_code.as_deref().unwrap_or("")) } }
                                td { (c.message.as_deref().unwrap_or("")) }
                                td class="num" { (c.latency_ms) " ms" }
                            }
                        }
                    }
                }
            }
            @if more {
                @if let Some(last) = calls.last() {
                    div class="pager" {
                        a id="older-calls" href=(session.path(&format!("{base}&before={}", last.id))) { "Older calls" }
                    }
                }
            }
        }
    };
    Ok(page(&session, Nav::ApiLog, "API log", content).into_response())
}

/// `GET /portal/api-log.csv`: the latest calls as a file.
pub async fn download(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<LogQuery>, QueryRejection>,
) -> Result<Response, PortalError> {
    let Query(query) = query?;
    let merchant = merchant_of(&state, &session, &query)
        .await?
        .ok_or(PortalError::NotFound)?;
    let calls = state.core.api_log(&merchant.id, None, MAX_DOWNLOAD).await?;
    let mut csv =
        String::from("at,method,path,http_status,response_code,response_message,latency_ms\r\n");
    for c in calls.iter().rev() {
        let fields = [
            format_jakarta(c.at),
            c.method.clone(),
            c.path.clone(),
            c.http_status.to_string(),
            c.response_code.clone().unwrap_or_default(),
            c.message.clone().unwrap_or_default(),
            c.latency_ms.to_string(),
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
    let disposition = format!("attachment; filename=\"api-log-{}.csv\"", merchant.id);
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition)
            .map_err(|_| PortalError::Internal("log file name is not a header value"))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
