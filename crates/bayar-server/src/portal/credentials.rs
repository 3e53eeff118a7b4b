//! Credentials: the client id, the client secret (never shown again after it was made; a
//! rotation shows the new one once, and the previous one keeps verifying for 24 hours), the
//! merchant's RSA public key (upload a PEM, or generate a pair whose private key is shown
//! once), the gateway's public key for verifying bayar's signatures, and the secret API keys
//! of the Stripe-style API (named by their last 4 characters; rolling one shows the new key
//! once, and the previous ones keep authenticating for 24 hours).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bayar_core::api_key::{ApiKey, ApiKeySummary};
use bayar_core::merchant::Merchant;
use bayar_core::secret::Secret;
use bayar_snap::PublicKey;
use maud::{Markup, html};
use serde::Deserialize;

use super::balances::MerchantQuery;
use super::dashboard::pick_merchant;
use super::layout::{Nav, page};
use super::session::Session;
use super::{PortalError, chosen_merchant};
use crate::app::AppState;

/// A credentials form: which merchant, the CSRF token, and for an upload the key.
#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    merchant: String,
    #[serde(default)]
    public_key: String,
    #[serde(default)]
    csrf: String,
}

/// What the page shows once, after a post.
enum Once {
    Nothing,
    Secret(Secret<String>, String),
    ApiKey(ApiKey, String),
    PrivateKey(Secret<String>),
    KeySaved,
    KeyError(String),
}

/// `GET /portal/credentials`.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    query: Result<Query<MerchantQuery>, QueryRejection>,
) -> Result<Response, PortalError> {
    let Query(query) = query?;
    let Some(merchant) = chosen_merchant(&state, &session.user, query.merchant()).await? else {
        return pick_merchant(&state, &session, Nav::Credentials, "Credentials").await;
    };
    render(&state, &session, &merchant, Once::Nothing, StatusCode::OK).await
}

fn hidden(session: &Session, merchant: &Merchant) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(session.csrf());
        input type="hidden" name="merchant" value=(merchant.id);
    }
}

async fn render(
    state: &AppState,
    session: &Session,
    merchant: &Merchant,
    once: Once,
    status: StatusCode,
) -> Result<Response, PortalError> {
    let keys = state.core.api_keys(&merchant.id).await?;
    let content = html! {
        h1 { "Credentials · " (merchant.name.as_str()) }
        @match &once {
            Once::Secret(secret, until) => div class="once" id="shown-once" role="status" {
                p { strong { "Your new client secret, shown only this once:" } }
                p { code id="client-secret" { (secret.expose()) } }
                p class="muted" { "The previous secret keeps working until " (until) " (Jakarta time)." }
            },
            Once::ApiKey(key, until) => div class="once" id="shown-once" role="status" {
                p { strong { "Your new secret API key, shown only this once:" } }
                p { code id="api-key" { (key.expose()) } }
                p class="muted" { "The previous key keeps working until " (until) " (Jakarta time)." }
            },
            Once::PrivateKey(pem) => div class="once" id="shown-once" role="status" {
                p { strong { "Your new private key, shown only this once. bayar keeps only the public key." } }
                label for="private-key" { "Private key (PKCS#8 PEM)" }
                textarea id="private-key" readonly rows="10" { (pem.expose()) }
            },
            Once::KeySaved => p class="notice" id="notice" role="status" { "Public key saved." },
            Once::KeyError(text) => p class="error" id="form-error" role="alert" { (text) },
            Once::Nothing => {},
        }
        div class="card" {
            h2 { "SNAP client credentials" }
            dl class="facts" {
                dt { "Merchant id" } dd { code { (merchant.id) } }
                dt { "Client id (X-PARTNER-ID / X-CLIENT-KEY)" } dd { code id="client-id" { (merchant.client_id) } }
                dt { "Client secret" } dd { "Hidden: it was shown once when it was made. Rotate to get a new one." }
            }
            form method="post" action=(session.path("/portal/credentials/rotate")) {
                (hidden(session, merchant))
                button type="submit" class="danger" id="rotate" { "Rotate client secret" }
            }
        }
        div class="card" {
            h2 { "Your RSA public key" }
            p class="muted" { "bayar verifies your token requests and RSA-signed calls with it." }
            dl class="facts" {
                dt { "Size" } dd { (merchant.public_key.bits()) " bits" }
                dt { "SHA-256 fingerprint" } dd { code id="key-fingerprint" { (merchant.public_key.fingerprint_sha256()) } }
            }
            form method="post" action=(session.path("/portal/credentials/public-key")) {
                (hidden(session, merchant))
                label for="public-key" { "Upload a public key (PEM; line breaks and headers may be missing)" }
                textarea id="public-key" name="public_key" rows="6" required {}
                button type="submit" id="upload-key" { "Save public key" }
            }
            form method="post" action=(session.path("/portal/credentials/generate-key")) {
                (hidden(session, merchant))
                button type="submit" class="secondary" id="generate-key" { "Generate a new key pair" }
            }
        }
        div class="card" {
            h2 { "Stripe-style API keys" }
            p class="muted" { "Send a secret key as " code { "Authorization: Bearer sk_test_..." } " to the Stripe-style API (" code { "/v1/..." } "). bayar keeps only a hash of it." }
            (key_table(&keys))
            form method="post" action=(session.path("/portal/credentials/roll-api-key")) {
                (hidden(session, merchant))
                button type="submit" class="danger" id="roll-api-key" { "Roll secret key" }
            }
        }
        div class="card" {
            h2 { "bayar's public key" }
            p class="muted" { "Verify bayar's signed notifications and responses with it." }
            textarea id="gateway-key" readonly rows="9" aria-label="bayar's public key (PEM)" { (state.core.gateway_public_key().to_pem()) }
        }
    };
    Ok(page(session, Nav::Credentials, "Credentials", content)
        .status(status)
        .into_response())
}

/// The merchant's working keys, by their last 4 characters only.
fn key_table(keys: &[ApiKeySummary]) -> Markup {
    html! {
        @if keys.is_empty() {
            p id="api-keys" { "No secret key works now: roll one." }
        } @else {
            table id="api-keys" {
                thead { tr { th scope="col" { "Secret key" } th scope="col" { "Created" } th scope="col" { "Works until" } } }
                tbody {
                    @for k in keys {
                        tr {
                            td { code { "sk_test_…" (k.last4.as_deref().unwrap_or("····")) } }
                            td { (bayar_snap::time::format_jakarta(k.created_at)) }
                            td { @match k.expires_at {
                                Some(until) => (bayar_snap::time::format_jakarta(until)),
                                None => "Until rolled",
                            } }
                        }
                    }
                }
            }
        }
    }
}

async fn posted_merchant(
    state: &AppState,
    session: &Session,
    form: &KeyForm,
) -> Result<Merchant, PortalError> {
    session.check_csrf(&form.csrf)?;
    chosen_merchant(state, &session.user, Some(&form.merchant))
        .await?
        .ok_or(PortalError::NotFound)
}

/// `POST /portal/credentials/rotate`: a new client secret, shown once.
pub async fn rotate(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<KeyForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    let merchant = posted_merchant(&state, &session, &form).await?;
    let rotated = state.core.rotate_client_secret(&merchant).await?;
    let until = bayar_snap::time::format_jakarta(rotated.previous_valid_until);
    render(
        &state,
        &session,
        &merchant,
        Once::Secret(rotated.secret, until),
        StatusCode::OK,
    )
    .await
}

/// `POST /portal/credentials/roll-api-key`: a new secret API key, shown once; the previous
/// ones keep working for the grace period.
pub async fn roll_api_key(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<KeyForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    let merchant = posted_merchant(&state, &session, &form).await?;
    let rolled = state.core.roll_api_key(&merchant.id).await?;
    let until = bayar_snap::time::format_jakarta(rolled.previous_valid_until);
    render(
        &state,
        &session,
        &merchant,
        Once::ApiKey(rolled.key, until),
        StatusCode::OK,
    )
    .await
}

/// `POST /portal/credentials/public-key`: registers an uploaded public key.
pub async fn upload_key(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<KeyForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    let mut merchant = posted_merchant(&state, &session, &form).await?;
    let key = match PublicKey::from_pem(&form.public_key) {
        Ok(key) if key.bits() >= 2048 => key,
        Ok(_) => {
            return render(
                &state,
                &session,
                &merchant,
                Once::KeyError("The key is too short: use RSA of 2048 bits or more.".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => {
            return render(
                &state,
                &session,
                &merchant,
                Once::KeyError(format!("This is not an RSA public key: {e}.")),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    state
        .core
        .set_merchant_public_key(&merchant, key.clone())
        .await?;
    merchant.public_key = key;
    render(&state, &session, &merchant, Once::KeySaved, StatusCode::OK).await
}

/// `POST /portal/credentials/generate-key`: a new pair; the private key is shown once.
pub async fn generate_key(
    State(state): State<AppState>,
    session: Session,
    form: Result<Form<KeyForm>, FormRejection>,
) -> Result<Response, PortalError> {
    let Form(form) = form?;
    let mut merchant = posted_merchant(&state, &session, &form).await?;
    let pem = state.core.generate_merchant_key(&merchant).await?;
    if let Some(refreshed) = state
        .core
        .store()
        .merchant_by_id(&merchant.id)
        .await
        .map_err(bayar_core::CoreError::from)?
    {
        merchant = refreshed;
    }
    render(
        &state,
        &session,
        &merchant,
        Once::PrivateKey(pem),
        StatusCode::OK,
    )
    .await
}
