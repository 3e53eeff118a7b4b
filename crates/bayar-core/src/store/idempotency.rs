//! Idempotency records: a key, the request's fingerprint and the stored response.

use chrono::{DateTime, Utc};

use super::{StoreError, Tx};
use crate::idempotency::{IdempotencyKey, KEEP_FOR, StoredResponse};

/// What claiming a key found.
pub(crate) enum Claimed {
    /// The key is new and now reserved by this transaction.
    Fresh,
    /// The key was used before: its fingerprint and response.
    Existing {
        /// Fingerprint of the first request.
        fingerprint: String,
        /// What it was answered.
        response: StoredResponse,
    },
}

impl Tx {
    /// Reserves `key`. On PostgreSQL a concurrent claim of the same key waits for this
    /// transaction and then sees the stored response, so only one request ever runs.
    pub(crate) async fn claim_idempotency(
        &mut self,
        key: &IdempotencyKey,
        now: DateTime<Utc>,
    ) -> Result<Claimed, StoreError> {
        // A key past its keeping time is forgotten before the claim, so it can be used again.
        self.query(
            "DELETE FROM idempotency
             WHERE merchant_id = $1 AND scope = $2 AND key = $3 AND created_at <= $4",
        )
        .bind(key.merchant_id.to_string())
        .bind(key.scope)
        .bind(&key.key)
        .bind((now - KEEP_FOR).timestamp_millis())
        .execute()
        .await?;
        let inserted = self.query(
            "INSERT INTO idempotency (merchant_id, scope, key, fingerprint, status, body, created_at)
             VALUES ($1, $2, $3, $4, 0, '', $5) ON CONFLICT DO NOTHING",
        )
        .bind(key.merchant_id.to_string())
        .bind(key.scope)
        .bind(&key.key)
        .bind(&key.fingerprint)
        .bind(now.timestamp_millis())
        .execute()
        .await?;
        if inserted == 1 {
            return Ok(Claimed::Fresh);
        }
        let (fingerprint, status, body): (String, i64, String) = self
            .query(
                "SELECT fingerprint, status, body FROM idempotency
             WHERE merchant_id = $1 AND scope = $2 AND key = $3",
            )
            .bind(key.merchant_id.to_string())
            .bind(key.scope)
            .bind(&key.key)
            .fetch_one()
            .await?;
        Ok(Claimed::Existing {
            fingerprint,
            response: StoredResponse {
                status: u16::try_from(status).map_err(|_| StoreError::Corrupt {
                    table: "idempotency",
                    reason: format!("status {status}"),
                })?,
                body,
            },
        })
    }

    /// Stores the response for a key this transaction claimed.
    pub(crate) async fn store_idempotent_response(
        &mut self,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        self.query(
            "UPDATE idempotency SET status = $4, body = $5
             WHERE merchant_id = $1 AND scope = $2 AND key = $3",
        )
        .bind(key.merchant_id.to_string())
        .bind(key.scope)
        .bind(&key.key)
        .bind(i64::from(response.status))
        .bind(&response.body)
        .execute()
        .await?;
        Ok(())
    }
}
