//! The portal's commands: users and sessions, credential changes, re-sent notifications.

use bayar_snap::PublicKey;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;

use super::CreateMerchant;
use crate::api_key::StoredApiKey;
use crate::error::CoreError;
use crate::ids::{EventId, MerchantId, UserId};
use crate::merchant::{Merchant, MerchantUrls, NotifyUrl};
use crate::outbox::{EventKind, NewEvent};
use crate::portal::{ApiCall, LOCKOUT, MAX_FAILED_LOGINS, PortalUser};
use crate::secret::Secret;
use crate::store::Tx;
use crate::writer::{Command, Context};

/// Signs up: the merchant (with its ledger accounts) and its first portal user together, so a
/// taken email leaves no merchant behind.
#[derive(Clone, Debug)]
pub struct SignUp {
    /// The user, whose role names `merchant`.
    pub user: PortalUser,
    /// Its argon2id hash.
    pub password_hash: String,
    /// The new merchant.
    pub merchant: Merchant,
    /// What the store keeps of the merchant's first secret API key.
    pub api_key: StoredApiKey,
}

impl Command for SignUp {
    /// False when the merchant's random client id clashed (draw another and retry).
    type Output = bool;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<bool, CoreError>> {
        Box::pin(async move {
            let create = CreateMerchant {
                merchant: self.merchant.clone(),
                api_key: self.api_key.clone(),
            };
            if !create.execute(tx, ctx).await? {
                return Ok(false);
            }
            if !tx
                .insert_portal_user(&self.user, &self.password_hash, ctx.now())
                .await?
            {
                // The savepoint rollback takes the merchant away with it.
                return Err(CoreError::EmailTaken);
            }
            Ok(true)
        })
    }
}

/// Creates a portal user (operator, or staff of an existing merchant).
#[derive(Clone, Debug)]
pub struct CreateUser {
    /// The user.
    pub user: PortalUser,
    /// Its argon2id hash.
    pub password_hash: String,
}

impl Command for CreateUser {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            if tx
                .insert_portal_user(&self.user, &self.password_hash, ctx.now())
                .await?
            {
                Ok(())
            } else {
                Err(CoreError::EmailTaken)
            }
        })
    }
}

/// Records a login attempt whose password was already checked: a failure is counted (the
/// fifth in a row locks the account); a success clears the count and opens the session.
#[derive(Clone, Debug)]
pub struct RecordLogin {
    /// Who tried.
    pub user_id: UserId,
    /// The hash of the new session's token when the password was right, `None` when wrong.
    pub session: Option<String>,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

impl Command for RecordLogin {
    /// Whether the login succeeded (a right password, and no lock taken meanwhile).
    type Output = bool;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<bool, CoreError>> {
        Box::pin(async move {
            let now = ctx.now();
            match &self.session {
                None => {
                    tx.count_failed_login(&self.user_id, MAX_FAILED_LOGINS, now + LOCKOUT)
                        .await?;
                    Ok(false)
                }
                Some(hash) => {
                    if !tx.clear_failed_logins(&self.user_id, now).await? {
                        return Err(CoreError::LockedOut);
                    }
                    tx.insert_portal_session(hash, &self.user_id, now, self.expires_at)
                        .await?;
                    Ok(true)
                }
            }
        })
    }
}

/// Ends a session (logout).
#[derive(Clone, Debug)]
pub struct DeleteSession {
    /// The hash of the session's token.
    pub token_hash: String,
}

impl Command for DeleteSession {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            tx.delete_session(&self.token_hash, ctx.now()).await?;
            Ok(())
        })
    }
}

/// Replaces a merchant's client secret, keeping the current one valid for a grace period.
#[derive(Clone, Debug)]
pub struct RotateSecret {
    /// Whose.
    pub merchant_id: MerchantId,
    /// The new secret.
    pub secret: Secret<String>,
    /// Until when the current one keeps verifying.
    pub previous_valid_until: DateTime<Utc>,
}

impl Command for RotateSecret {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        _ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            if tx
                .rotate_client_secret(&self.merchant_id, &self.secret, self.previous_valid_until)
                .await?
            {
                Ok(())
            } else {
                Err(CoreError::MerchantNotFound)
            }
        })
    }
}

/// Registers a merchant's RSA public key (it verifies the merchant's RSA signatures).
#[derive(Clone, Debug)]
pub struct SetPublicKey {
    /// Whose.
    pub merchant_id: MerchantId,
    /// The key.
    pub public_key: PublicKey,
}

impl Command for SetPublicKey {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        _ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            if tx
                .set_public_key(&self.merchant_id, &self.public_key)
                .await?
            {
                Ok(())
            } else {
                Err(CoreError::MerchantNotFound)
            }
        })
    }
}

/// Queues a copy of one of the merchant's notifications, due now.
#[derive(Clone, Debug)]
pub struct ResendEvent {
    /// Whose (an event of another merchant is not found).
    pub merchant_id: MerchantId,
    /// Which.
    pub event_id: EventId,
}

impl Command for ResendEvent {
    /// The copy's id.
    type Output = EventId;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<EventId, CoreError>> {
        Box::pin(async move {
            let event = tx
                .merchant_event(&self.merchant_id, &self.event_id)
                .await?
                .ok_or(CoreError::EventNotFound)?;
            // A destination's copy is resent to that destination only; an original goes
            // everywhere it went the first time.
            if let Some(copy) = &event.copy {
                return Ok(tx.insert_copy(&event, &copy.endpoint_id, ctx.now()).await?);
            }
            let copy = NewEvent {
                merchant_id: event.merchant_id,
                kind: event.kind,
                subject_id: event.subject_id,
                payload: event.payload,
            };
            Ok(tx.insert_event(&copy, ctx.now()))
        })
    }
}

/// Appends calls to their merchants' API logs.
#[derive(Clone, Debug)]
pub struct RecordApiCalls {
    /// The calls, oldest first.
    pub calls: Vec<ApiCall>,
}

impl Command for RecordApiCalls {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        _ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            tx.insert_api_calls(&self.calls).await?;
            Ok(())
        })
    }

    fn bookkeeping(&self) -> bool {
        true
    }
}

/// Sets or clears where a merchant's notifications and customers go.
#[derive(Clone, Debug)]
pub struct SetMerchantUrls {
    /// Whose.
    pub merchant_id: MerchantId,
    /// The default notification URL; `None` stops notifications without a face's own URL.
    pub notify_url: Option<NotifyUrl>,
    /// The per-face notification URLs and the default return URL.
    pub urls: MerchantUrls,
}

impl Command for SetMerchantUrls {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        _ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            if tx
                .set_merchant_urls(&self.merchant_id, self.notify_url.as_ref(), &self.urls)
                .await?
            {
                Ok(())
            } else {
                Err(CoreError::MerchantNotFound)
            }
        })
    }
}

/// Rolls the merchant's secret API key: records the new one and makes the current ones stop
/// working at the end of their grace period.
#[derive(Clone, Debug)]
pub struct RollApiKey {
    /// Whose.
    pub merchant_id: MerchantId,
    /// What the store keeps of the new key.
    pub key: StoredApiKey,
    /// Until when the current keys keep working.
    pub previous_valid_until: DateTime<Utc>,
}

impl Command for RollApiKey {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            // Expire first, so the new key is not caught by it.
            tx.expire_api_keys(&self.merchant_id, self.previous_valid_until)
                .await?;
            tx.insert_api_key(&self.merchant_id, &self.key, ctx.now())
                .await?;
            Ok(())
        })
    }
}

/// Queues a test notification to the merchant, due now: delivered in bayar's own dialect to
/// its notification URL, with its attempts recorded like any other event.
#[derive(Clone, Debug)]
pub struct SendTestNotification {
    /// To whom.
    pub merchant_id: MerchantId,
}

impl Command for SendTestNotification {
    /// The event's id.
    type Output = EventId;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<EventId, CoreError>> {
        Box::pin(async move {
            let event = NewEvent {
                merchant_id: self.merchant_id,
                kind: EventKind::Test,
                // The merchant is the subject: the portal finds the latest test by it.
                subject_id: self.merchant_id.to_string(),
                payload: serde_json::json!({
                    "message": "A test notification from the bayar merchant portal.",
                }),
            };
            Ok(tx.insert_event(&event, ctx.now()))
        })
    }
}
