//! Customer rows (the built-in rails' wallet users and bank account holders).

use super::merchants::millis_to_time;
use super::{Store, StoreError, Tx, on_reader};
use crate::customer::{Customer, PhoneNumber, PinHash, Rail};
use crate::ids::CustomerId;
use crate::ledger::AccountId;

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    rail: String,
    phone: String,
    account_number: Option<String>,
    pin_hash: String,
    status: String,
    account_id: String,
    created_at: i64,
}

const COLUMNS: &str = "id, rail, phone, account_number, pin_hash, status, account_id, created_at";

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "customers",
        reason: reason.to_string(),
    }
}

impl TryFrom<Row> for Customer {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        Ok(Customer {
            id: row.id.parse().map_err(corrupt)?,
            rail: row.rail.parse().map_err(corrupt)?,
            phone: PhoneNumber::parse(&row.phone).map_err(corrupt)?,
            account_number: row.account_number,
            pin_hash: PinHash::from_stored(row.pin_hash),
            status: row.status.parse().map_err(corrupt)?,
            account: AccountId::from_stored(row.account_id),
            created_at: millis_to_time(row.created_at).map_err(corrupt)?,
        })
    }
}

impl Tx {
    /// Inserts a customer; `Ok(false)` when the phone (or account number) is taken at the rail.
    pub(crate) async fn insert_customer(&mut self, c: &Customer) -> Result<bool, StoreError> {
        let result = self.query(
            "INSERT INTO customers (id, rail, phone, account_number, pin_hash, status, account_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT DO NOTHING",
        )
        .bind(c.id.to_string())
        .bind(c.rail.as_str())
        .bind(c.phone.as_str())
        .bind(c.account_number.as_deref())
        .bind(c.pin_hash.as_str())
        .bind(c.status.as_str())
        .bind(c.account.as_str())
        .bind(c.created_at.timestamp_millis())
        .execute()
        .await?;
        Ok(result == 1)
    }

    /// The customer, read inside the transaction.
    pub(crate) async fn customer(
        &mut self,
        id: &CustomerId,
    ) -> Result<Option<Customer>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM customers WHERE id = $1");
        let row: Option<Row> = self
            .query(&sql)
            .bind(id.to_string())
            .fetch_optional()
            .await?;
        row.map(Customer::try_from).transpose()
    }

    /// The customer with `phone` at `rail`, read inside the transaction.
    pub(crate) async fn customer_by_phone(
        &mut self,
        rail: Rail,
        phone: &PhoneNumber,
    ) -> Result<Option<Customer>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM customers WHERE rail = $1 AND phone = $2");
        let row: Option<Row> = self
            .query(&sql)
            .bind(rail.as_str())
            .bind(phone.as_str())
            .fetch_optional()
            .await?;
        row.map(Customer::try_from).transpose()
    }

    /// Sets a customer's status.
    pub(crate) async fn set_customer_status(
        &mut self,
        id: &CustomerId,
        status: crate::customer::CustomerStatus,
    ) -> Result<bool, StoreError> {
        let n = self
            .query("UPDATE customers SET status = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(status.as_str())
            .execute()
            .await?;
        Ok(n == 1)
    }
}

impl Store {
    /// A customer by id.
    pub async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM customers WHERE id = $1");
        let row: Option<Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await)?;
        row.map(Customer::try_from).transpose()
    }

    /// The customer with `phone` at `rail`, if any.
    pub async fn customer_by_phone(
        &self,
        rail: Rail,
        phone: &PhoneNumber,
    ) -> Result<Option<Customer>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM customers WHERE rail = $1 AND phone = $2");
        let row: Option<Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(rail.as_str())
            .bind(phone.as_str())
            .fetch_optional(pool)
            .await)?;
        row.map(Customer::try_from).transpose()
    }
}
