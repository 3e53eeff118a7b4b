//! SNAP `X-EXTERNAL-ID` claims: one use per merchant per Jakarta day.

use chrono::{DateTime, NaiveDate, Utc};

use super::{StoreError, Tx};
use crate::ids::MerchantId;

impl Tx {
    /// Records that `merchant` used `external_id` on `day`; `Ok(false)` when it already had.
    pub(crate) async fn claim_external_id(
        &mut self,
        merchant: &MerchantId,
        day: NaiveDate,
        external_id: &str,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .query(
                "INSERT INTO external_ids (merchant_id, day, external_id, path, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
            )
            .bind(merchant.to_string())
            // `YYYY-MM-DD`, as `%Y-%m-%d` writes it.
            .bind(day.to_string())
            .bind(external_id)
            .bind(path)
            .bind(now.timestamp_millis())
            .execute()
            .await?;
        Ok(result == 1)
    }
}
