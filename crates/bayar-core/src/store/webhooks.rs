//! Webhook endpoint rows (the Stripe-style API).

use chrono::{DateTime, Utc};

use super::merchants::millis_to_time;
use super::{Store, StoreError, Tx, on_reader};
use crate::ids::MerchantId;
use crate::secret::Secret;
use crate::webhook::WebhookEndpoint;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    merchant_id: String,
    url: String,
    secret: String,
    enabled_events: String,
    created_at: i64,
}

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "webhook_endpoints",
        reason: reason.to_string(),
    }
}

impl TryFrom<Row> for WebhookEndpoint {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        Ok(WebhookEndpoint {
            id: row.id,
            merchant_id: row.merchant_id.parse().map_err(corrupt)?,
            url: row.url,
            secret: Secret::new(row.secret),
            enabled_events: serde_json::from_str(&row.enabled_events).map_err(corrupt)?,
            created_at: millis_to_time(row.created_at).map_err(corrupt)?,
        })
    }
}

impl Tx {
    /// Inserts an endpoint.
    pub(crate) async fn insert_webhook_endpoint(
        &mut self,
        e: &WebhookEndpoint,
    ) -> Result<(), StoreError> {
        let events = serde_json::to_string(&e.enabled_events).map_err(corrupt)?;
        self.query(
            "INSERT INTO webhook_endpoints (id, merchant_id, url, secret, enabled_events, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&e.id)
        .bind(e.merchant_id.to_string())
        .bind(&e.url)
        .bind(e.secret.expose())
        .bind(events)
        .bind(e.created_at.timestamp_millis())
        .execute()
        .await?;
        Ok(())
    }

    /// Deletes the merchant's live endpoint `id`; false when there is none.
    pub(crate) async fn delete_webhook_endpoint(
        &mut self,
        merchant: &MerchantId,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let deleted = self
            .query(
                "UPDATE webhook_endpoints SET deleted_at = $3
             WHERE id = $1 AND merchant_id = $2 AND deleted_at IS NULL",
            )
            .bind(id)
            .bind(merchant.to_string())
            .bind(now.timestamp_millis())
            .execute()
            .await?;
        Ok(deleted == 1)
    }
}

impl Store {
    /// The merchant's live endpoints, newest first.
    pub async fn webhook_endpoints(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let rows: Vec<Row> = on_reader!(self, pool => sqlx::query_as(
            "SELECT id, merchant_id, url, secret, enabled_events, created_at
             FROM webhook_endpoints WHERE merchant_id = $1 AND deleted_at IS NULL
             ORDER BY id DESC",
        )
        .bind(merchant.to_string())
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(WebhookEndpoint::try_from).collect()
    }
}
