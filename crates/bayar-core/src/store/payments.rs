//! Payment rows. State changes are conditional UPDATEs (`WHERE status IN (...)`), so a
//! transition is decided atomically by the database even with several writers.

use chrono::{DateTime, Utc};

use super::appends::PAYMENTS;
use super::merchants::millis_to_time;
use super::query::Arg;
use super::{Store, StoreError, Tx};
use crate::ids::{CustomerId, MerchantId, PaymentId};
use crate::payment::{FailureReason, Payment, PaymentStatus, RefundPolicy};

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(super) struct Row {
    id: String,
    merchant_id: String,
    partner_reference_no: String,
    external_id: String,
    channel: String,
    face: String,
    amount: i64,
    fee: i64,
    refunded: i64,
    refund_count: i64,
    status: String,
    customer_id: Option<String>,
    title: Option<String>,
    return_url: Option<String>,
    notify_url: Option<String>,
    pin_failures: i64,
    valid_until: Option<i64>,
    failure: Option<String>,
    fingerprint: String,
    created_at: i64,
    updated_at: i64,
    paid_at: Option<i64>,
}

pub(super) const COLUMNS: &str =
    "id, merchant_id, partner_reference_no, external_id, channel, face, amount, fee,
    refunded, refund_count, status, customer_id, title, return_url, notify_url, pin_failures,
    valid_until, failure, fingerprint, created_at, updated_at, paid_at";

/// A merchant's payment (`$1`) found by `condition` on its other keys (from `$2`).
fn merchants_payment(condition: &str) -> String {
    format!("SELECT {COLUMNS} FROM payments WHERE merchant_id = $1 AND {condition}")
}

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "payments",
        reason: reason.to_string(),
    }
}

fn money(minor: i64) -> Result<bayar_snap::Money, StoreError> {
    bayar_snap::Money::from_minor(minor).map_err(corrupt)
}

impl Row {
    pub(super) fn into_payment(self) -> Result<(Payment, String), StoreError> {
        let payment = Payment {
            id: self.id.parse().map_err(corrupt)?,
            merchant_id: self.merchant_id.parse().map_err(corrupt)?,
            partner_reference_no: self.partner_reference_no,
            external_id: self.external_id,
            channel: self.channel.parse().map_err(corrupt)?,
            face: self.face.parse().map_err(corrupt)?,
            amount: money(self.amount)?,
            fee: money(self.fee)?,
            refunded: money(self.refunded)?,
            refund_count: u32::try_from(self.refund_count).map_err(corrupt)?,
            status: self.status.parse().map_err(corrupt)?,
            customer_id: self
                .customer_id
                .map(|c| c.parse())
                .transpose()
                .map_err(corrupt)?,
            title: self.title,
            return_url: self.return_url,
            notify_url: self.notify_url,
            pin_failures: u32::try_from(self.pin_failures).map_err(corrupt)?,
            valid_until: self
                .valid_until
                .map(millis_to_time)
                .transpose()
                .map_err(corrupt)?,
            failure: self
                .failure
                .map(|f| f.parse())
                .transpose()
                .map_err(corrupt)?,
            created_at: millis_to_time(self.created_at).map_err(corrupt)?,
            updated_at: millis_to_time(self.updated_at).map_err(corrupt)?,
            paid_at: self
                .paid_at
                .map(millis_to_time)
                .transpose()
                .map_err(corrupt)?,
        };
        Ok((payment, self.fingerprint))
    }
}

/// What inserting a payment found.
pub(crate) enum Inserted {
    /// It is new.
    New,
    /// The merchant's reference was taken: the stored payment and its request fingerprint.
    Existing(Box<Payment>, String),
}

/// A state change of one payment.
pub(crate) struct Transition<'a> {
    /// The payment.
    pub id: &'a PaymentId,
    /// The state it must be in for the change to apply.
    pub from: PaymentStatus,
    /// The new state.
    pub to: PaymentStatus,
    /// The paying customer, when this change names one.
    pub customer: Option<&'a CustomerId>,
    /// Why it failed, for a failure.
    pub failure: Option<FailureReason>,
    /// When.
    pub now: DateTime<Utc>,
}

impl Tx {
    /// Inserts a payment, or returns the one already holding its partner reference. While
    /// the transaction defers checks the payment is written behind and taken as new (see
    /// [`Tx::insert_unless_taken`]).
    pub(crate) async fn insert_payment(
        &mut self,
        p: &Payment,
        fingerprint: &str,
    ) -> Result<Inserted, StoreError> {
        let row: Vec<Arg> = vec![
            p.id.to_string().into(),
            p.merchant_id.to_string().into(),
            p.partner_reference_no.as_str().into(),
            p.external_id.as_str().into(),
            p.channel.as_str().into(),
            p.face.as_str().into(),
            p.amount.minor().into(),
            p.fee.minor().into(),
            0_i64.into(),
            0_i64.into(),
            p.status.as_str().into(),
            p.customer_id.map(|c| c.to_string()).into(),
            p.title.as_deref().into(),
            p.return_url.as_deref().into(),
            p.notify_url.as_deref().into(),
            0_i64.into(),
            p.valid_until.map(|t| t.timestamp_millis()).into(),
            p.failure.map(FailureReason::as_str).into(),
            fingerprint.into(),
            p.created_at.timestamp_millis().into(),
            p.created_at.timestamp_millis().into(),
            p.paid_at.map(|t| t.timestamp_millis()).into(),
        ];
        if self.insert_unless_taken(&PAYMENTS, row).await? {
            return Ok(Inserted::New);
        }
        let (existing, fingerprint) = self
            .payment_by_reference(&p.merchant_id, &p.partner_reference_no)
            .await?
            .ok_or_else(|| corrupt("unique violation but no row"))?;
        Ok(Inserted::Existing(Box::new(existing), fingerprint))
    }

    /// The payment and its request fingerprint, read inside the transaction.
    pub(crate) async fn payment(&mut self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM payments WHERE id = $1");
        let row: Option<Row> = self
            .query(&sql)
            .bind(id.to_string())
            .fetch_optional()
            .await?;
        Ok(row.map(Row::into_payment).transpose()?.map(|(p, _)| p))
    }

    /// The payment holding the merchant's reference and its request fingerprint, read inside
    /// the transaction.
    pub(crate) async fn payment_by_reference(
        &mut self,
        merchant: &MerchantId,
        partner_reference_no: &str,
    ) -> Result<Option<(Payment, String)>, StoreError> {
        let sql = merchants_payment("partner_reference_no = $2");
        let row: Option<Row> = self
            .query(&sql)
            .bind(merchant.to_string())
            .bind(partner_reference_no)
            .fetch_optional()
            .await?;
        row.map(Row::into_payment).transpose()
    }

    /// The merchant's payment by its reference or bayar id, read inside the transaction.
    pub(crate) async fn find_payment(
        &mut self,
        merchant: &MerchantId,
        lookup: &crate::commands::PaymentLookup,
    ) -> Result<Option<Payment>, StoreError> {
        use crate::commands::PaymentLookup;
        match lookup {
            PaymentLookup::Id(id) => Ok(self
                .payment(id)
                .await?
                .filter(|p| &p.merchant_id == merchant)),
            PaymentLookup::PartnerReference(r) => Ok(self
                .payment_by_reference(merchant, r.as_str())
                .await?
                .map(|(p, _)| p)),
        }
    }

    /// Applies `t` when the payment is in `t.from` and returns the payment as it now is;
    /// `None` when it was not in `t.from`.
    pub(crate) async fn transition_payment(
        &mut self,
        t: Transition<'_>,
    ) -> Result<Option<Payment>, StoreError> {
        let paid_at = (t.to == PaymentStatus::Succeeded).then(|| t.now.timestamp_millis());
        let sql = format!(
            "UPDATE payments
             SET status = $2, updated_at = $3,
                 customer_id = COALESCE($4, customer_id),
                 failure = COALESCE($5, failure),
                 paid_at = COALESCE($6, paid_at)
             WHERE id = $1 AND status = $7
             RETURNING {COLUMNS}"
        );
        let row: Option<Row> = self
            .query(&sql)
            .bind(t.id.to_string())
            .bind(t.to.as_str())
            .bind(t.now.timestamp_millis())
            .bind(t.customer.map(|c| c.to_string()))
            .bind(t.failure.map(FailureReason::as_str))
            .bind(paid_at)
            .bind(t.from.as_str())
            .fetch_optional()
            .await?;
        Ok(row.map(Row::into_payment).transpose()?.map(|(p, _)| p))
    }

    /// Turns a direct debit inserted as succeeded in this transaction into the failure the
    /// rail answered with, and returns it.
    pub(crate) async fn refuse_debit(
        &mut self,
        id: &PaymentId,
        reason: FailureReason,
    ) -> Result<Payment, StoreError> {
        let sql = format!(
            "UPDATE payments SET status = $2, failure = $3, paid_at = NULL
             WHERE id = $1 AND status = $4
             RETURNING {COLUMNS}"
        );
        let row: Option<Row> = self
            .query(&sql)
            .bind(id.to_string())
            .bind(PaymentStatus::Failed.as_str())
            .bind(reason.as_str())
            .bind(PaymentStatus::Succeeded.as_str())
            .fetch_optional()
            .await?;
        let row = row.ok_or_else(|| corrupt("a direct debit inserted just now is gone"))?;
        Ok(row.into_payment()?.0)
    }

    /// Adds a refund of `amount` to a succeeded payment, atomically enforcing the refundable
    /// amount and the channel's refund count, and returns the payment as it now is; `None`
    /// when either rule would be broken.
    pub(crate) async fn add_refund_to_payment(
        &mut self,
        id: &PaymentId,
        amount: i64,
        policy: RefundPolicy,
        now: DateTime<Utc>,
    ) -> Result<Option<Payment>, StoreError> {
        let max_before: i64 = match policy {
            RefundPolicy::One => 0,
            RefundPolicy::Many => i64::MAX,
        };
        let sql = format!(
            "UPDATE payments
             SET refunded = refunded + $2, refund_count = refund_count + 1, updated_at = $4
             WHERE id = $1 AND status = 'succeeded' AND refunded + $2 <= amount
               AND refund_count <= $3
             RETURNING {COLUMNS}"
        );
        let row: Option<Row> = self
            .query(&sql)
            .bind(id.to_string())
            .bind(amount)
            .bind(max_before)
            .bind(now.timestamp_millis())
            .fetch_optional()
            .await?;
        Ok(row.map(Row::into_payment).transpose()?.map(|(p, _)| p))
    }

    /// Counts a wrong PIN typed for a payment; returns the count after it.
    pub(crate) async fn count_pin_failure(&mut self, id: &PaymentId) -> Result<u32, StoreError> {
        let n: i64 = self
            .query(
                "UPDATE payments SET pin_failures = pin_failures + 1 WHERE id = $1
             RETURNING pin_failures",
            )
            .bind(id.to_string())
            .scalar_one()
            .await?;
        u32::try_from(n).map_err(corrupt)
    }

    /// Open payments whose deadline has passed, oldest deadline first.
    pub(crate) async fn overdue_payments(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<PaymentId>, StoreError> {
        let ids: Vec<String> = self
            .query(
                "SELECT id FROM payments
             WHERE status IN ('created', 'paying') AND valid_until IS NOT NULL AND valid_until <= $1
             ORDER BY valid_until LIMIT $2",
            )
            .bind(now.timestamp_millis())
            .bind(limit)
            .scalar_all()
            .await?;
        ids.into_iter()
            .map(|id| id.parse().map_err(corrupt))
            .collect()
    }
}

impl Store {
    /// The merchant's payment with the given `partnerReferenceNo` or bayar reference, if any.
    pub async fn find_payment(
        &self,
        merchant: &MerchantId,
        partner_reference_no: Option<&str>,
        reference_no: Option<&str>,
    ) -> Result<Option<Payment>, StoreError> {
        // One statement per case, not `($2 IS NULL OR column = $2)`: with the OR, the query
        // planner cannot use the reference's or the id's index and scans every payment of
        // the merchant, on the status inquiry's hot path.
        let (condition, keys): (&str, Vec<&str>) = match (partner_reference_no, reference_no) {
            (Some(r), Some(id)) => ("partner_reference_no = $2 AND id = $3", vec![r, id]),
            (Some(r), None) => ("partner_reference_no = $2", vec![r]),
            (None, Some(id)) => ("id = $2", vec![id]),
            (None, None) => return Ok(None),
        };
        let sql = merchants_payment(condition);
        let mut lookup = self.lookup(&sql).bind(merchant.to_string());
        for key in keys {
            lookup = lookup.bind(key);
        }
        let row: Option<Row> = lookup.fetch_optional().await?;
        Ok(row.map(Row::into_payment).transpose()?.map(|(p, _)| p))
    }

    /// A payment by bayar id.
    pub async fn payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM payments WHERE id = $1");
        let row: Option<Row> = self
            .lookup(&sql)
            .bind(id.to_string())
            .fetch_optional()
            .await?;
        Ok(row.map(Row::into_payment).transpose()?.map(|(p, _)| p))
    }
}

#[cfg(test)]
mod tests {
    use crate::store::postgres::generic_plan;
    use crate::testing;

    #[tokio::test]
    async fn a_payment_by_reference_is_found_through_both_keys_even_when_planned_on_an_empty_table()
    {
        let Some(t) = testing::postgres().await else {
            return;
        };
        let sql = super::merchants_payment("partner_reference_no = $2");
        let plan = generic_plan(&t.store, &sql, "'mch', 'INV-1'").await;
        assert!(
            plan.contains("Index Cond: ((partner_reference_no = $2) AND (merchant_id = $1))"),
            "{plan}"
        );
    }
}
