//! Gateway key rows.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;

use super::{Store, StoreError, on_writer};
use crate::gateway::StoredGatewayKeys;
use crate::secret::Secret;

const KEY_ID: &str = "gateway";

#[derive(sqlx::FromRow)]
struct Row {
    private_key_pem: String,
    token_key: String,
}

impl Store {
    /// Loads the gateway keys, storing `fresh` first if there are none yet. Safe when several
    /// processes start at once: the first insert wins and everyone loads that one.
    pub(crate) async fn gateway_keys_or_insert(
        &self,
        fresh: impl FnOnce() -> Result<StoredGatewayKeys, bayar_snap::KeyError>,
    ) -> Result<Result<StoredGatewayKeys, bayar_snap::KeyError>, StoreError> {
        if let Some(found) = self.load_gateway_keys().await? {
            return Ok(Ok(found));
        }
        let fresh = match fresh() {
            Ok(keys) => keys,
            Err(e) => return Ok(Err(e)),
        };
        let token_key = BASE64.encode(fresh.token_key.expose());
        on_writer!(self, pool => sqlx::query(
            "INSERT INTO gateway_keys (id, private_key_pem, token_key, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(KEY_ID)
        .bind(fresh.private_key_pem.expose())
        .bind(&token_key)
        .bind(Utc::now().timestamp_millis())
        .execute(pool)
        .await
        .map(|_| ()))?;
        let stored = self.load_gateway_keys().await?.ok_or(StoreError::Corrupt {
            table: "gateway_keys",
            reason: "row missing right after insert".into(),
        })?;
        Ok(Ok(stored))
    }

    async fn load_gateway_keys(&self) -> Result<Option<StoredGatewayKeys>, StoreError> {
        // The writer sees its own latest commit; readers might lag on a fresh SQLite file.
        let row: Option<Row> = on_writer!(self, pool => sqlx::query_as(
            "SELECT private_key_pem, token_key FROM gateway_keys WHERE id = $1",
        )
        .bind(KEY_ID)
        .fetch_optional(pool)
        .await)?;
        row.map(|row| {
            let token_key = BASE64
                .decode(&row.token_key)
                .map_err(|_| StoreError::Corrupt {
                    table: "gateway_keys",
                    reason: "token_key is not base64".into(),
                })?;
            Ok(StoredGatewayKeys {
                private_key_pem: Secret::new(row.private_key_pem),
                token_key: Secret::new(token_key),
            })
        })
        .transpose()
    }
}
