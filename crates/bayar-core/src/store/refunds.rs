//! Refund rows.

use super::intents::{fetch_page, into_page, page_clause};
use super::merchants::millis_to_time;
use super::{Store, StoreError, Tx, on_reader};
use crate::ids::{MerchantId, PaymentId};
use crate::intent::{Cursor, ListPage, PageRequest};
use crate::payment::Face;
use crate::payment::Refund;

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    payment_id: String,
    merchant_id: String,
    partner_refund_no: String,
    amount: i64,
    reason: Option<String>,
    fingerprint: String,
    created_at: i64,
}

const COLUMNS: &str =
    "id, payment_id, merchant_id, partner_refund_no, amount, reason, fingerprint, created_at";

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "refunds",
        reason: reason.to_string(),
    }
}

impl Row {
    fn into_refund(self) -> Result<(Refund, String), StoreError> {
        Ok((
            Refund {
                id: self.id.parse().map_err(corrupt)?,
                payment_id: self.payment_id.parse().map_err(corrupt)?,
                merchant_id: self.merchant_id.parse().map_err(corrupt)?,
                partner_refund_no: self.partner_refund_no,
                amount: bayar_snap::Money::from_minor(self.amount).map_err(corrupt)?,
                reason: self.reason,
                created_at: millis_to_time(self.created_at).map_err(corrupt)?,
            },
            self.fingerprint,
        ))
    }
}

impl Tx {
    /// Inserts a refund, or returns the one already holding its `partnerRefundNo` with its
    /// request fingerprint.
    pub(crate) async fn insert_refund(
        &mut self,
        r: &Refund,
        fingerprint: &str,
    ) -> Result<Option<(Refund, String)>, StoreError> {
        let result = self.query(
            "INSERT INTO refunds (id, payment_id, merchant_id, partner_refund_no, amount, reason,
                                  fingerprint, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT DO NOTHING",
        )
        .bind(r.id.to_string())
        .bind(r.payment_id.to_string())
        .bind(r.merchant_id.to_string())
        .bind(&r.partner_refund_no)
        .bind(r.amount.minor())
        .bind(r.reason.as_deref())
        .bind(fingerprint)
        .bind(r.created_at.timestamp_millis())
        .execute()
        .await?;
        match result {
            1 => Ok(None),
            _ => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM refunds WHERE merchant_id = $1 AND partner_refund_no = $2"
                );
                let row: Row = self
                    .query(&sql)
                    .bind(r.merchant_id.to_string())
                    .bind(&r.partner_refund_no)
                    .fetch_one()
                    .await?;
                row.into_refund().map(Some)
            }
        }
    }
}

/// A payment's refunds, oldest first (through `refunds_by_payment`).
fn of_payment_sql() -> String {
    format!("SELECT {COLUMNS} FROM refunds WHERE payment_id = $1 ORDER BY id")
}

impl Store {
    /// The refunds of a payment, oldest first.
    pub async fn refunds_of(&self, payment: &PaymentId) -> Result<Vec<Refund>, StoreError> {
        let sql = of_payment_sql();
        let rows: Vec<Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(payment.to_string())
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|r| r.into_refund().map(|(r, _)| r))
            .collect()
    }

    /// The merchant's refund with `partnerRefundNo`, if any.
    pub async fn refund_by_reference(
        &self,
        merchant: &MerchantId,
        partner_refund_no: &str,
    ) -> Result<Option<Refund>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM refunds WHERE merchant_id = $1 AND partner_refund_no = $2"
        );
        let row: Option<Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(merchant.to_string())
            .bind(partner_refund_no)
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(Row::into_refund).transpose()?.map(|(r, _)| r))
    }

    /// One page of the merchant's refunds of payments made through `face`, newest first by
    /// their `partnerRefundNo` (the face's own refund id, sortable).
    pub async fn refunds_of_face(
        &self,
        merchant: &MerchantId,
        face: Face,
        page: &PageRequest,
    ) -> Result<ListPage<Refund>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM refunds WHERE merchant_id = $1
               AND payment_id IN (SELECT id FROM payments WHERE face = '{}') {}",
            face.as_str(),
            page_clause("partner_refund_no", &page.cursor)
        );
        let rows: Vec<Row> = fetch_page!(self, &sql, merchant, page)?;
        let items = rows
            .into_iter()
            .map(|r| r.into_refund().map(|(r, _)| r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(items, page))
    }
}

#[cfg(test)]
mod tests {
    use crate::store::postgres::generic_plan;
    use crate::store::sqlite::query_plan;
    use crate::testing;

    #[tokio::test]
    async fn a_payments_refunds_are_read_through_an_index_not_a_scan() {
        let sql = super::of_payment_sql();
        let sqlite = testing::sqlite().await;
        let plan = query_plan(&sqlite.store, &sql).await;
        assert_eq!(
            plan,
            ["SEARCH refunds USING INDEX refunds_by_payment (payment_id=?)"],
            "SQLite must neither scan the table nor sort"
        );

        let Some(t) = testing::postgres().await else {
            return;
        };
        let plan = generic_plan(&t.store, &sql, "'pay_1'").await;
        // PostgreSQL may still sort the few rows it found (a bitmap scan): that is cheap.
        assert!(plan.contains("refunds_by_payment"), "{plan}");
        assert!(!plan.contains("Seq Scan"), "{plan}");
    }
}
