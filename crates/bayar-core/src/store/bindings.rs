//! Binding rows.

use chrono::{DateTime, Utc};

use super::merchants::millis_to_time;
use super::{Store, StoreError, Tx, on_reader};
use crate::binding::{Binding, BindingStatus};
use crate::customer::PhoneNumber;
use crate::ids::{BindingId, CustomerId, MerchantId};
use crate::secret::Secret;

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    merchant_id: String,
    customer_id: String,
    cust_id_merchant: String,
    status: String,
    otp: String,
    otp_expires_at: i64,
    failures: i64,
    success_url: String,
    failed_url: String,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "b.id, b.merchant_id, b.customer_id, b.cust_id_merchant, b.status, b.otp,
    b.otp_expires_at, b.failures, b.success_url, b.failed_url, b.created_at, b.updated_at";

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "bindings",
        reason: reason.to_string(),
    }
}

impl TryFrom<Row> for Binding {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        Ok(Binding {
            id: row.id.parse().map_err(corrupt)?,
            merchant_id: row.merchant_id.parse().map_err(corrupt)?,
            customer_id: row.customer_id.parse().map_err(corrupt)?,
            cust_id_merchant: row.cust_id_merchant,
            status: row.status.parse().map_err(corrupt)?,
            otp: Secret::new(row.otp),
            otp_expires_at: millis_to_time(row.otp_expires_at).map_err(corrupt)?,
            failures: u32::try_from(row.failures).map_err(corrupt)?,
            success_url: row.success_url,
            failed_url: row.failed_url,
            created_at: millis_to_time(row.created_at).map_err(corrupt)?,
            updated_at: millis_to_time(row.updated_at).map_err(corrupt)?,
        })
    }
}

/// A change of a binding's state.
pub(crate) struct BindingChange<'a> {
    /// The binding.
    pub id: &'a BindingId,
    /// The state it must be in.
    pub from: BindingStatus,
    /// The new state.
    pub to: BindingStatus,
    /// Whether this change counts a wrong answer.
    pub failed_attempt: bool,
    /// The hash of a new auth code, on activation.
    pub auth_code_hash: Option<&'a str>,
    /// When.
    pub now: DateTime<Utc>,
}

impl Tx {
    /// Inserts a new binding.
    pub(crate) async fn insert_binding(&mut self, b: &Binding) -> Result<(), StoreError> {
        self.query(
            "INSERT INTO bindings (id, merchant_id, customer_id, cust_id_merchant, status, otp,
                otp_expires_at, failures, success_url, failed_url, auth_code_hash, created_at,
                updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, NULL, $10, $10)",
        )
        .bind(b.id.to_string())
        .bind(b.merchant_id.to_string())
        .bind(b.customer_id.to_string())
        .bind(&b.cust_id_merchant)
        .bind(b.status.as_str())
        .bind(b.otp.expose())
        .bind(b.otp_expires_at.timestamp_millis())
        .bind(&b.success_url)
        .bind(&b.failed_url)
        .bind(b.created_at.timestamp_millis())
        .execute()
        .await?;
        Ok(())
    }

    /// The binding, read inside the transaction.
    pub(crate) async fn binding(&mut self, id: &BindingId) -> Result<Option<Binding>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM bindings b WHERE b.id = $1");
        let row: Option<Row> = self
            .query(&sql)
            .bind(id.to_string())
            .fetch_optional()
            .await?;
        row.map(Binding::try_from).transpose()
    }

    /// The active binding of `customer` at `merchant`, if any.
    pub(crate) async fn active_binding(
        &mut self,
        merchant: &MerchantId,
        customer: &CustomerId,
    ) -> Result<Option<Binding>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bindings b
             WHERE b.merchant_id = $1 AND b.customer_id = $2 AND b.status = 'active'"
        );
        let row: Option<Row> = self
            .query(&sql)
            .bind(merchant.to_string())
            .bind(customer.to_string())
            .fetch_optional()
            .await?;
        row.map(Binding::try_from).transpose()
    }

    /// Forgets the auth code with `hash` of the active binding `id`, so it cannot be exchanged
    /// again; false when the binding is not active or no longer has that code (a concurrent
    /// exchange won).
    pub(crate) async fn consume_auth_code(
        &mut self,
        id: &BindingId,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let n = self
            .query(
                "UPDATE bindings SET auth_code_hash = NULL
             WHERE id = $1 AND auth_code_hash = $2 AND status = 'active'",
            )
            .bind(id.to_string())
            .bind(hash)
            .execute()
            .await?;
        Ok(n == 1)
    }

    /// Applies `c` when the binding is in `c.from`; false when it is not.
    pub(crate) async fn change_binding(
        &mut self,
        c: BindingChange<'_>,
    ) -> Result<bool, StoreError> {
        let n = self
            .query(
                "UPDATE bindings
             SET status = $3, failures = failures + $4, updated_at = $5,
                 auth_code_hash = COALESCE($6, auth_code_hash)
             WHERE id = $1 AND status = $2",
            )
            .bind(c.id.to_string())
            .bind(c.from.as_str())
            .bind(c.to.as_str())
            .bind(i64::from(c.failed_attempt))
            .bind(c.now.timestamp_millis())
            .bind(c.auth_code_hash)
            .execute()
            .await?;
        Ok(n == 1)
    }
}

impl Store {
    /// A binding by id.
    pub async fn binding(&self, id: &BindingId) -> Result<Option<Binding>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM bindings b WHERE b.id = $1");
        let row: Option<Row> = self
            .lookup(&sql)
            .bind(id.to_string())
            .fetch_optional()
            .await?;
        row.map(Binding::try_from).transpose()
    }

    /// The binding an auth code was issued for.
    pub async fn binding_by_auth_code(&self, hash: &str) -> Result<Option<Binding>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM bindings b WHERE b.auth_code_hash = $1");
        let row: Option<Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(hash)
            .fetch_optional(pool)
            .await)?;
        row.map(Binding::try_from).transpose()
    }

    /// The newest binding still waiting for its OTP for the bank customer with `phone`.
    pub async fn pending_binding_for_phone(
        &self,
        phone: &PhoneNumber,
    ) -> Result<Option<Binding>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bindings b JOIN customers c ON c.id = b.customer_id
             WHERE c.rail = 'bank' AND c.phone = $1 AND b.status = 'otp'
             ORDER BY b.id DESC LIMIT 1"
        );
        let row: Option<Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(phone.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Binding::try_from).transpose()
    }

    /// The active binding of `customer` at `merchant`, if any, read outside a transaction
    /// (notifications quote its `custIdMerchant`). At most one is active per pair: activating
    /// a binding unbinds the earlier one in the same transaction.
    pub async fn active_binding_of(
        &self,
        merchant: &MerchantId,
        customer: &CustomerId,
    ) -> Result<Option<Binding>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bindings b
             WHERE b.merchant_id = $1 AND b.customer_id = $2 AND b.status = 'active'"
        );
        let row: Option<Row> = self
            .lookup(&sql)
            .bind(merchant.to_string())
            .bind(customer.to_string())
            .fetch_optional()
            .await?;
        row.map(Binding::try_from).transpose()
    }
}
