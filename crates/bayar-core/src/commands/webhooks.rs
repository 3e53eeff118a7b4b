//! Webhook endpoint commands (the Stripe-style API).

use futures_util::future::BoxFuture;

use crate::error::CoreError;
use crate::ids::MerchantId;
use crate::store::Tx;
use crate::webhook::WebhookEndpoint;
use crate::writer::{Command, Context};

/// Creates a webhook endpoint.
#[derive(Clone, Debug)]
pub struct CreateWebhookEndpoint {
    /// The endpoint (see [`WebhookEndpoint::new`]).
    pub endpoint: WebhookEndpoint,
}

impl Command for CreateWebhookEndpoint {
    type Output = WebhookEndpoint;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        _ctx: &'t Context,
    ) -> BoxFuture<'t, Result<WebhookEndpoint, CoreError>> {
        Box::pin(async move {
            tx.insert_webhook_endpoint(&self.endpoint).await?;
            Ok(self.endpoint.clone())
        })
    }
}

/// Deletes a webhook endpoint: it receives nothing more.
#[derive(Clone, Debug)]
pub struct DeleteWebhookEndpoint {
    /// Whose endpoint.
    pub merchant_id: MerchantId,
    /// Which (`we_...`).
    pub id: String,
}

impl Command for DeleteWebhookEndpoint {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<(), CoreError>> {
        Box::pin(async move {
            if tx
                .delete_webhook_endpoint(&self.merchant_id, &self.id, ctx.now())
                .await?
            {
                Ok(())
            } else {
                Err(CoreError::WebhookEndpointNotFound)
            }
        })
    }
}
