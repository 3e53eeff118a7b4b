//! SNAP `X-EXTERNAL-ID` claims: one use per merchant per Jakarta day.

use chrono::{DateTime, NaiveDate, Utc};

use super::appends::EXTERNAL_IDS;
use super::{StoreError, Tx};
use crate::ids::MerchantId;

impl Tx {
    /// Records that `merchant` used `external_id` on `day`; `Ok(false)` when it already had.
    /// While the transaction defers checks the claim is written behind and taken as fresh
    /// (see [`Tx::insert_unless_taken`]).
    pub(crate) async fn claim_external_id(
        &mut self,
        merchant: &MerchantId,
        day: NaiveDate,
        external_id: &str,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let row = vec![
            merchant.to_string().into(),
            // `YYYY-MM-DD`, as `%Y-%m-%d` writes it.
            day.to_string().into(),
            external_id.into(),
            path.into(),
            now.timestamp_millis().into(),
        ];
        self.insert_unless_taken(&EXTERNAL_IDS, row).await
    }
}
