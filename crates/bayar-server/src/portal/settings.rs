//! Settings: where bayar posts the merchant's SNAP notifications (a default URL, and one per
//! face for DOKU- and DANA-style payments when the merchant wants them apart; a payment's own URL
//! from its request still wins), where the hosted wallet page sends customers back when the
//! payment's request named no URL, a test notification to the default URL (queued through the
//! core; the page shows the latest one with its attempts), and the webhook endpoints of the
//! Stripe-style API (created with the API's rules; the signing secret is shown once, on the
//! page answering the create).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bayar_core::commands::{CreateWebhookEndpoint, DeleteWebhookEndpoint};
use bayar_core::merchant::{Merchant, MerchantUrls, NotifyUrl};
use bayar_core::webhook::WebhookEndpoint;
use bayar_snap::time::format_jakarta;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::balances::MerchantQuery;
use super::dashboard::pick_merchant;
use super::layout::{Nav, page};
use super::payment::attempts_table;
use super::session::Session;
use super::{PortalError, chosen_merchant};
use crate::app::AppState;
use crate::faces::stripe::events::TYPES;
use crate::faces::stripe::webhook_endpoints::{valid_event, valid_url};
use crate::pages::layout::see_other;

/// The longest URL the forms accept (what the notification URL accepts too).
const MAX_URL_LEN: usize = 500;

/// A URL field of the settings form.
struct UrlField {
    /// The form field's name.
    name: &'static str,
    /// Its element id.
    id: &'static str,
    label: &'static str,
    placeholder: &'static str,
    hint: &'static str,
}

/// The URL fields, in the order of the form (and of [`Typed::urls`]).
const URL_FIELDS: [UrlField; 4] = [
    UrlField {
        name: "notify_url",
        id: "notify-url",
        label: "Notification URL",
        placeholder: "https://shop.example/v1.0/debit/notify",
        hint: "bayar posts signed payment and refund notifications here, retrying until your server answers 2xx. Leave empty to stop them.",
    },
    UrlField {
        name: "doku_notify_url",
        id: "doku-notify-url",
        label: "DOKU-style notification URL",
        placeholder: "https://shop.example/doku/v1.0/debit/notify",
        hint: "For payments made through the DOKU API, instead of the notification URL. Optional.",
    },
    UrlField {
        name: "dana_notify_url",
        id: "dana-notify-url",
        label: "DANA finish-notify URL",
        placeholder: "https://shop.example/dana/finish-notify",
        hint: "For DANA orders whose request named no notification URL, instead of the notification URL. Optional.",
    },
    UrlField {
        name: "return_url",
        id: "return-url",
        label: "Default redirect URL",
        placeholder: "https://shop.example/payment/done",
        hint: "Where the hosted wallet page sends your customer after a payment whose request named no return URL. Optional.",
    },
];

/// An empty field clears the URL; anything else must be an absolute http(s) URL.
fn parse_url(typed: &str) -> Result<Option<NotifyUrl>, ()> {
    if typed.is_empty() {
        return Ok(None);
    }
    match NotifyUrl::parse(typed) {
        Ok(url) if typed.len() <= MAX_URL_LEN => Ok(Some(url)),
        _ => Err(()),
    }
}

/// The settings form.
#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    merchant: String,
    #[serde(default)]
    notify_url: String,
    #[serde(default)]
    doku_notify_url: String,
    #[serde(default)]
    dana_notify_url: String,
    #[serde(default)]
    return_url: String,
    #[serde(default)]
    csrf: String,
}

/// A form naming only its merchant (delete an endpoint, send a test notification).
#[derive(Deserialize)]
pub struct MerchantForm {
    #[serde(default)]
    merchant: String,
    #[serde(default)]
    csrf: String,
}

/// What the page says above its cards.
enum Flash {
    Nothing,
    Notice(&'static str),
    Error(String),
    /// A webhook endpoint was just created: its secret, shown this once.
    Created(WebhookEndpoint),
}

/// What a refused form had typed, to fill it in again.
#[derive(Default)]
struct Typed {
    /// The URL fields of the settings form, or `None` to show what is stored.
    urls: Option<[String; 4]>,
    endpoint_url: String,
    events: Vec<String>,
}

/// `GET /portal/settings`.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<MerchantQuery>, QueryRejection>,
) -> Result<Response, PortalError> {
    let Query(query) = query?;
    let Some(merchant) = chosen_merchant(&state, &session.user, query.merchant()).await? else {
        return pick_merchant(&state, &session, Nav::Settings, "Settings").await;
    };
    let flash = match query.done() {
        Some("saved") => Flash::Notice("Settings saved."),
        Some("deleted") => Flash::Notice("Webhook endpoint deleted."),
        Some("test-queued") => Flash::Notice(
            "Test notification queued: bayar delivers it to your notification URL now.",
        ),
        _ => Flash::Nothing,
    };
    render(
        &state,
        &session,
        &merchant,
        Typed::default(),
        flash,
        StatusCode::OK,
    )
    .await
}

async fn render(
    state: &AppState,
    session: &Session,
    merchant: &Merchant,
    mut typed: Typed,
    flash: Flash,
    status: StatusCode,
) -> Result<Response, PortalError> {
    let urls = typed.urls.take().unwrap_or_else(|| {
        let shown =
            |url: Option<&NotifyUrl>| url.map(|u| u.as_str().to_string()).unwrap_or_default();
        [
            shown(merchant.notify_url.as_ref()),
            shown(merchant.urls.doku_notify.as_ref()),
            shown(merchant.urls.dana_notify.as_ref()),
            shown(merchant.urls.return_url.as_ref()),
        ]
    });
    let endpoints = state
        .core
        .store()
        .webhook_endpoints(&merchant.id)
        .await
        .map_err(bayar_core::CoreError::from)?;
    let last_test = state.core.last_test_notification(&merchant.id).await?;
    let hidden = html! {
        input type="hidden" name="csrf" value=(session.csrf());
        input type="hidden" name="merchant" value=(merchant.id);
    };
    let content = html! {
        h1 { "Settings · " (merchant.name.as_str()) }
        @match &flash {
            Flash::Notice(text) => p class="notice" id="notice" role="status" { (text) },
            Flash::Error(text) => p class="error" id="form-error" role="alert" { (text) },
            Flash::Created(e) => div class="once" id="shown-once" role="status" {
                p { strong { "Webhook endpoint " code { (e.id) } " created. Its signing secret, shown only this once:" } }
                p { code id="webhook-secret" { (e.secret.expose()) } }
                p class="muted" { "Verify the Stripe-Signature header of each delivery with it." }
            },
            Flash::Nothing => {},
        }
        div class="card" {
            h2 { "SNAP notifications and redirects" }
            form method="post" action=(session.path("/portal/settings")) {
                (hidden)
                @for (field, value) in URL_FIELDS.iter().zip(&urls) {
                    label for=(field.id) { (field.label) }
                    input id=(field.id) name=(field.name) type="url" value=(value)
                        placeholder=(field.placeholder) aria-describedby=(format!("{}-hint", field.id));
                    p class="muted" id=(format!("{}-hint", field.id)) { (field.hint) }
                }
                button type="submit" id="save-settings" { "Save" }
            }
            form method="post" action=(session.path("/portal/settings/test")) {
                (hidden)
                button type="submit" class="secondary" id="send-test" { "Send test notification" }
            }
            (test_notification(last_test.as_ref()))
        }
        div class="card" {
            h2 { "Webhook endpoints (Stripe-style API)" }
            (endpoint_table(session, merchant, &endpoints))
            form method="post" action=(session.path("/portal/settings/webhooks")) {
                (hidden)
                label for="endpoint-url" { "Endpoint URL" }
                input id="endpoint-url" name="url" type="url" required value=(typed.endpoint_url)
                    placeholder="https://shop.example/stripe/webhook";
                fieldset {
                    legend { "Events to send" }
                    @for kind in std::iter::once("*").chain(TYPES.iter().copied()) {
                        @let id = if kind == "*" { "event-all".to_string() } else { format!("event-{}", kind.replace('.', "-")) };
                        label for=(id) {
                            input type="checkbox" id=(id) name="enabled_events" value=(kind)
                                checked[typed.events.iter().any(|e| e == kind)];
                            " " @if kind == "*" { "All events (*)" } @else { code { (kind) } }
                        }
                    }
                }
                button type="submit" id="create-endpoint" { "Add endpoint" }
            }
        }
    };
    Ok(page(session, Nav::Settings, "Settings", content)
        .status(status)
        .into_response())
}

/// The latest test notification and its attempts.
fn test_notification(
    last: Option<&(bayar_core::outbox::Event, Vec<bayar_core::outbox::Attempt>)>,
) -> Markup {
    html! {
        @if let Some((event, attempts)) = last {
            div id="last-test" {
                p {
                    "Last test notification: " code { (event.id) } " · " (format_jakarta(event.created_at)) " · "
                    @if event.delivered_at.is_some() { "delivered" }
                    @else if event.given_up_at.is_some() { "given up" }
                    @else { "pending" }
                }
                (attempts_table(attempts))
            }
        }
    }
}

/// The merchant's live endpoints: no secret (it was shown once, at the create).
fn endpoint_table(session: &Session, merchant: &Merchant, endpoints: &[WebhookEndpoint]) -> Markup {
    html! {
        @if endpoints.is_empty() {
            p class="muted" id="endpoints" { "No webhook endpoint yet." }
        } @else {
            div class="scroll" {
                table id="endpoints" {
                    thead { tr { th scope="col" { "Endpoint" } th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "Created (Jakarta)" } th scope="col" { span class="visually-hidden" { "Delete" } } } }
                    tbody {
                        @for e in endpoints {
                            tr {
                                td { code { (e.id) } }
                                td { (e.url) }
                                td { (e.enabled_events.join(", ")) }
                                td { (format_jakarta(e.created_at)) }
                                td {
                                    form method="post" action=(session.path(&format!("/portal/settings/webhooks/{}/delete", e.id))) {
                                        input type="hidden" name="csrf" value=(session.csrf());
                                        input type="hidden" name="merchant" value=(merchant.id);
                                        button type="submit" class="danger" aria-label=(format!("Delete {}", e.id)) { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The merchant a form names, once its CSRF token checked out.
async fn posted_merchant(
    state: &AppState,
    session: &Session,
    csrf: &str,
    merchant: &str,
) -> Result<Merchant, PortalError> {
    session.check_csrf(csrf)?;
    chosen_merchant(state, &session.user, Some(merchant))
        .await?
        .ok_or(PortalError::NotFound)
}

/// `POST /portal/settings`.
pub async fn save(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<SettingsForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    let merchant = posted_merchant(&state, &session, &form.csrf, &form.merchant).await?;
    let typed = [
        form.notify_url,
        form.doku_notify_url,
        form.dana_notify_url,
        form.return_url,
    ]
    .map(|url| url.trim().to_string());
    let mut parsed = Vec::with_capacity(URL_FIELDS.len());
    for (field, url) in URL_FIELDS.iter().zip(&typed) {
        match parse_url(url) {
            Ok(url) => parsed.push(url),
            Err(()) => {
                let message = format!(
                    "{}: enter an absolute http:// or https:// URL.",
                    field.label
                );
                let typed = Typed {
                    urls: Some(typed),
                    ..Typed::default()
                };
                return render(
                    &state,
                    &session,
                    &merchant,
                    typed,
                    Flash::Error(message),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        }
    }
    let [notify_url, doku_notify, dana_notify, return_url]: [Option<NotifyUrl>; 4] = parsed
        .try_into()
        .map_err(|_| PortalError::Internal("one parsed URL per field"))?;
    let urls = MerchantUrls {
        doku_notify,
        dana_notify,
        return_url,
    };
    state
        .core
        .set_merchant_urls(&merchant, notify_url, urls)
        .await?;
    Ok(see_other(&session.path(&format!(
        "/portal/settings?merchant={}&done=saved",
        merchant.id
    ))))
}

/// `POST /portal/settings/webhooks`: a new endpoint (the API's rules: an absolute http(s) URL,
/// `*` or the face's event types); the answer shows its signing secret once.
///
/// The form repeats `enabled_events`, one per ticked box, so it is read as pairs.
pub async fn create_endpoint(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(pairs) = form?;
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let merchant = posted_merchant(&state, &session, value("csrf"), value("merchant")).await?;
    let url = value("url").trim().to_string();
    let events: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "enabled_events")
        .map(|(_, v)| v.clone())
        .collect();
    let problem = if url.len() > MAX_URL_LEN || !valid_url(&url) {
        Some("Endpoint URL: enter an absolute http:// or https:// URL.".to_string())
    } else if events.is_empty() {
        Some("Events: tick at least one event (or all events).".to_string())
    } else {
        events
            .iter()
            .find(|e| !valid_event(e))
            .map(|e| format!("Events: {e} is not an event type bayar sends."))
    };
    if let Some(problem) = problem {
        let typed = Typed {
            endpoint_url: url,
            events,
            ..Typed::default()
        };
        return render(
            &state,
            &session,
            &merchant,
            typed,
            Flash::Error(problem),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let created = state
        .core
        .run(CreateWebhookEndpoint {
            endpoint: WebhookEndpoint::new(merchant.id, url, events, Utc::now()),
        })
        .await?;
    render(
        &state,
        &session,
        &merchant,
        Typed::default(),
        Flash::Created(created),
        StatusCode::OK,
    )
    .await
}

/// `POST /portal/settings/webhooks/{id}/delete`: another merchant's id is not found.
pub async fn delete_endpoint(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    form: Result<Form<MerchantForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    let merchant = posted_merchant(&state, &session, &form.csrf, &form.merchant).await?;
    state
        .core
        .run(DeleteWebhookEndpoint {
            merchant_id: merchant.id,
            id,
        })
        .await?;
    Ok(see_other(&session.path(&format!(
        "/portal/settings?merchant={}&done=deleted",
        merchant.id
    ))))
}

/// `POST /portal/settings/test`: queues a test notification to the merchant's URL.
pub async fn send_test(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<MerchantForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    let merchant = posted_merchant(&state, &session, &form.csrf, &form.merchant).await?;
    state.core.send_test_notification(&merchant.id).await?;
    Ok(see_other(&session.path(&format!(
        "/portal/settings?merchant={}&done=test-queued",
        merchant.id
    ))))
}
