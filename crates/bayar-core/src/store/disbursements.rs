//! Disbursement rows.

use super::merchants::millis_to_time;
use super::{Store, StoreError, Tx, on_reader};
use crate::ids::MerchantId;
use crate::payment::Disbursement;

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    merchant_id: String,
    partner_reference_no: String,
    customer_id: Option<String>,
    amount: i64,
    fee: i64,
    status: String,
    failure: Option<String>,
    fingerprint: String,
    created_at: i64,
}

const COLUMNS: &str = "id, merchant_id, partner_reference_no, customer_id, amount, fee, status,
    failure, fingerprint, created_at";

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "disbursements",
        reason: reason.to_string(),
    }
}

impl Row {
    fn into_disbursement(self) -> Result<(Disbursement, String), StoreError> {
        Ok((
            Disbursement {
                id: self.id.parse().map_err(corrupt)?,
                merchant_id: self.merchant_id.parse().map_err(corrupt)?,
                partner_reference_no: self.partner_reference_no,
                customer_id: self
                    .customer_id
                    .map(|c| c.parse())
                    .transpose()
                    .map_err(corrupt)?,
                amount: bayar_snap::Money::from_minor(self.amount).map_err(corrupt)?,
                fee: bayar_snap::Money::from_minor(self.fee).map_err(corrupt)?,
                status: self.status.parse().map_err(corrupt)?,
                failure: self
                    .failure
                    .map(|f| f.parse())
                    .transpose()
                    .map_err(corrupt)?,
                created_at: millis_to_time(self.created_at).map_err(corrupt)?,
            },
            self.fingerprint,
        ))
    }
}

impl Tx {
    /// Inserts a disbursement with its final outcome, or returns the one already holding its
    /// partner reference with its request fingerprint.
    pub(crate) async fn insert_disbursement(
        &mut self,
        d: &Disbursement,
        fingerprint: &str,
    ) -> Result<Option<(Disbursement, String)>, StoreError> {
        let result = self.query(
            "INSERT INTO disbursements (id, merchant_id, partner_reference_no, customer_id, amount,
                                        fee, status, failure, fingerprint, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT DO NOTHING",
        )
        .bind(d.id.to_string())
        .bind(d.merchant_id.to_string())
        .bind(&d.partner_reference_no)
        .bind(d.customer_id.map(|c| c.to_string()))
        .bind(d.amount.minor())
        .bind(d.fee.minor())
        .bind(d.status.as_str())
        .bind(d.failure.map(|f| f.as_str()))
        .bind(fingerprint)
        .bind(d.created_at.timestamp_millis())
        .execute()
        .await?;
        match result {
            1 => Ok(None),
            _ => {
                let row: Row = self.query(&format!(
                    "SELECT {COLUMNS} FROM disbursements WHERE merchant_id = $1 AND partner_reference_no = $2"
                ))
                .bind(d.merchant_id.to_string())
                .bind(&d.partner_reference_no)
                .fetch_one()
                .await?;
                row.into_disbursement().map(Some)
            }
        }
    }
}

impl Tx {
    /// Records that a just-inserted disbursement was refused by the rail.
    pub(crate) async fn fail_disbursement(
        &mut self,
        id: &crate::ids::DisbursementId,
        reason: crate::payment::FailureReason,
    ) -> Result<(), StoreError> {
        self.query("UPDATE disbursements SET status = 'failed', failure = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(reason.as_str())
            .execute()
            .await?;
        Ok(())
    }
}

impl Store {
    /// The merchant's disbursement with `partnerReferenceNo`, if any.
    pub async fn disbursement_by_reference(
        &self,
        merchant: &MerchantId,
        partner_reference_no: &str,
    ) -> Result<Option<Disbursement>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM disbursements WHERE merchant_id = $1 AND partner_reference_no = $2"
        );
        let row: Option<Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(merchant.to_string())
            .bind(partner_reference_no)
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(Row::into_disbursement).transpose()?.map(|(d, _)| d))
    }
}
