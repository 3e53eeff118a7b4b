//! Idempotency for requests without a natural key (Stripe-style `Idempotency-Key`): the first
//! request's response is stored in the transaction of the change it describes; a repeat with
//! the same parameters gets that response back, a repeat with other parameters is refused.
//!
//! Only successful outcomes are stored: a refused request rolls back with its savepoint, so a
//! retry is evaluated afresh.

use aws_lc_rs::digest;
use futures_util::future::BoxFuture;

use crate::error::CoreError;
use crate::ids::MerchantId;
use crate::store::{Claimed, Tx};
use crate::writer::{Command, Context};

/// How long a key and its response are kept: a repeat after this runs afresh (Stripe: 24 h).
pub const KEEP_FOR: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// A key as a merchant sent it, with the fingerprint of its request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Whose key.
    pub merchant_id: MerchantId,
    /// Which API the key belongs to (keys of different APIs never collide).
    pub scope: &'static str,
    /// The key.
    pub key: String,
    /// Digest of the request's parameters.
    pub fingerprint: String,
}

impl IdempotencyKey {
    /// A key whose fingerprint is the SHA-256 of `request` (e.g. method, path and body).
    pub fn new(merchant_id: MerchantId, scope: &'static str, key: String, request: &[u8]) -> Self {
        let hash = digest::digest(&digest::SHA256, request);
        Self {
            merchant_id,
            scope,
            key,
            fingerprint: hash.as_ref().iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// A response as the face will send it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// Body, as sent.
    pub body: String,
}

/// The outcome of an idempotent command.
#[derive(Debug)]
pub enum Idempotent<T> {
    /// It ran now; this is the response that was stored.
    Fresh(T, StoredResponse),
    /// It had run before; this is what it answered then.
    Replayed(StoredResponse),
}

/// Wraps a command so that it runs once per key.
pub struct WithKey<C, R> {
    /// The key.
    pub key: IdempotencyKey,
    /// The command.
    pub command: C,
    /// Renders the command's outcome as the response to store.
    pub render: R,
}

impl<C, R> Command for WithKey<C, R>
where
    C: Command,
    R: Fn(&C::Output) -> StoredResponse + Send + Sync + 'static,
{
    type Output = Idempotent<C::Output>;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Self::Output, CoreError>> {
        Box::pin(async move {
            match tx.claim_idempotency(&self.key, ctx.now()).await? {
                Claimed::Existing {
                    fingerprint,
                    response,
                } => {
                    if fingerprint == self.key.fingerprint {
                        Ok(Idempotent::Replayed(response))
                    } else {
                        Err(CoreError::InconsistentRequest)
                    }
                }
                Claimed::Fresh => {
                    let output = self.command.execute(tx, ctx).await?;
                    let response = (self.render)(&output);
                    tx.store_idempotent_response(&self.key, &response).await?;
                    Ok(Idempotent::Fresh(output, response))
                }
            }
        })
    }
}
