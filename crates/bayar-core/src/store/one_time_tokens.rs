//! One-time token rows (DANA's apply OTT), kept by hash.

use chrono::{DateTime, Utc};

use super::{StoreError, Tx};
use crate::ids::BindingId;

impl Tx {
    /// Records an issued one-time token for `binding`, valid until `expires_at`.
    pub(crate) async fn insert_one_time_token(
        &mut self,
        hash: &str,
        binding: &BindingId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.query(
            "INSERT INTO one_time_tokens (token_hash, binding_id, expires_at, used_at, created_at)
             VALUES ($1, $2, $3, NULL, $4)",
        )
        .bind(hash)
        .bind(binding.to_string())
        .bind(expires_at.timestamp_millis())
        .bind(now.timestamp_millis())
        .execute()
        .await?;
        Ok(())
    }

    /// The binding of an unused, unexpired one-time token, if `hash` is one.
    pub(crate) async fn usable_one_time_token(
        &mut self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<BindingId>, StoreError> {
        let row: Option<(String,)> = self
            .query(
                "SELECT binding_id FROM one_time_tokens
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(hash)
            .bind(now.timestamp_millis())
            .fetch_optional()
            .await?;
        row.map(|(id,)| {
            id.parse().map_err(|_| StoreError::Corrupt {
                table: "one_time_tokens",
                reason: format!("bad binding id {id}"),
            })
        })
        .transpose()
    }

    /// Marks a one-time token used; false when it already was (or has expired meanwhile).
    pub(crate) async fn use_one_time_token(
        &mut self,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = self
            .query(
                "UPDATE one_time_tokens SET used_at = $2
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(hash)
            .bind(now.timestamp_millis())
            .execute()
            .await?;
        Ok(n == 1)
    }
}
