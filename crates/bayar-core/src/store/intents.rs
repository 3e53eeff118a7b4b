//! Payment intents and secret API keys (the Stripe-style API), and the newest-first cursor
//! pages its lists are read in.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::merchants::millis_to_time;
use super::{Store, StoreError, Tx, on_reader};
use crate::api_key::{ApiKeyHash, ApiKeySummary, StoredApiKey};
use crate::ids::{IntentId, MerchantId, PaymentId};
use crate::intent::{Cursor, ListPage, PageRequest, PaymentIntent};
use crate::secret::Secret;

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    merchant_id: String,
    amount: i64,
    status: String,
    payment_method: Option<String>,
    payment_id: Option<String>,
    attempts: i64,
    client_secret: String,
    return_url: Option<String>,
    description: Option<String>,
    metadata: String,
    created_at: i64,
    updated_at: i64,
}

const COLUMNS: &str = "id, merchant_id, amount, status, payment_method, payment_id, attempts,
    client_secret, return_url, description, metadata, created_at, updated_at";

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "payment_intents",
        reason: reason.to_string(),
    }
}

impl TryFrom<Row> for PaymentIntent {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        let metadata: BTreeMap<String, String> =
            serde_json::from_str(&row.metadata).map_err(corrupt)?;
        Ok(PaymentIntent {
            id: row.id.parse().map_err(corrupt)?,
            merchant_id: row.merchant_id.parse().map_err(corrupt)?,
            amount: bayar_snap::Money::from_minor(row.amount).map_err(corrupt)?,
            stage: row.status.parse().map_err(corrupt)?,
            payment_method: row.payment_method,
            payment_id: row
                .payment_id
                .map(|p| p.parse())
                .transpose()
                .map_err(corrupt)?,
            attempts: u32::try_from(row.attempts).map_err(corrupt)?,
            client_secret: Secret::new(row.client_secret),
            return_url: row.return_url,
            description: row.description,
            metadata,
            created_at: millis_to_time(row.created_at).map_err(corrupt)?,
            updated_at: millis_to_time(row.updated_at).map_err(corrupt)?,
        })
    }
}

fn metadata_json(intent: &PaymentIntent) -> String {
    serde_json::Value::from(
        intent
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str())))
            .collect::<serde_json::Map<_, _>>(),
    )
    .to_string()
}

/// The SQL tail that reads one newest-first page over `column`, with the cursor's id bound
/// as `$2` (when it has one) and the limit as the last parameter. The query reads one row
/// more than asked, to tell whether there are more.
pub(super) fn page_clause(column: &str, cursor: &Cursor) -> String {
    match cursor {
        Cursor::First => format!("ORDER BY {column} DESC LIMIT $2"),
        Cursor::After(_) => format!("AND {column} < $2 ORDER BY {column} DESC LIMIT $3"),
        Cursor::Before(_) => format!("AND {column} > $2 ORDER BY {column} ASC LIMIT $3"),
    }
}

/// Trims the extra row and puts a page read backwards (`Before`) newest first again.
pub(super) fn into_page<T>(mut items: Vec<T>, page: &PageRequest) -> ListPage<T> {
    let limit = page.limit as usize;
    let has_more = items.len() > limit;
    items.truncate(limit);
    if matches!(page.cursor, Cursor::Before(_)) {
        items.reverse();
    }
    ListPage { items, has_more }
}

/// Runs a page query: `$1` is the merchant, then the cursor's id if any, then the limit.
macro_rules! fetch_page {
    ($store:expr, $sql:expr, $merchant:expr, $page:expr) => {{
        let fetch = i64::from($page.limit) + 1;
        let merchant = $merchant.to_string();
        on_reader!($store, pool => {
            let query = sqlx::query_as($sql).bind(merchant);
            let query = match &$page.cursor {
                Cursor::First => query,
                Cursor::After(id) | Cursor::Before(id) => query.bind(id.clone()),
            };
            query.bind(fetch).fetch_all(pool).await
        })
    }};
}

pub(super) use fetch_page;

impl Tx {
    /// Records a secret API key of a merchant.
    pub(crate) async fn insert_api_key(
        &mut self,
        merchant: &MerchantId,
        key: &StoredApiKey,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.query(
            "INSERT INTO api_keys (key_hash, merchant_id, created_at, last4) VALUES ($1, $2, $3, $4)",
        )
        .bind(key.hash.as_str())
        .bind(merchant.to_string())
        .bind(now.timestamp_millis())
        .bind(&key.last4)
        .execute()
        .await?;
        Ok(())
    }

    /// Makes every key of the merchant stop working at `until` at the latest (a key already
    /// ending sooner keeps its end).
    pub(crate) async fn expire_api_keys(
        &mut self,
        merchant: &MerchantId,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.query(
            "UPDATE api_keys SET expires_at = $2
             WHERE merchant_id = $1 AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(merchant.to_string())
        .bind(until.timestamp_millis())
        .execute()
        .await?;
        Ok(())
    }

    pub(crate) async fn insert_intent(&mut self, i: &PaymentIntent) -> Result<(), StoreError> {
        self.query(
            "INSERT INTO payment_intents (id, merchant_id, amount, currency, status,
                 payment_method, payment_id, attempts, client_secret, return_url, description,
                 metadata, created_at, updated_at)
             VALUES ($1, $2, $3, 'IDR', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(i.id.to_string())
        .bind(i.merchant_id.to_string())
        .bind(i.amount.minor())
        .bind(i.stage.as_str())
        .bind(i.payment_method.as_deref())
        .bind(i.payment_id.map(|p| p.to_string()))
        .bind(i64::from(i.attempts))
        .bind(i.client_secret.expose())
        .bind(i.return_url.as_deref())
        .bind(i.description.as_deref())
        .bind(metadata_json(i))
        .bind(i.created_at.timestamp_millis())
        .bind(i.updated_at.timestamp_millis())
        .execute()
        .await?;
        Ok(())
    }

    /// Writes back what commands change on an intent.
    pub(crate) async fn update_intent(&mut self, i: &PaymentIntent) -> Result<(), StoreError> {
        self.query(
            "UPDATE payment_intents SET status = $2, payment_method = $3, payment_id = $4,
                 attempts = $5, return_url = $6, updated_at = $7
             WHERE id = $1",
        )
        .bind(i.id.to_string())
        .bind(i.stage.as_str())
        .bind(i.payment_method.as_deref())
        .bind(i.payment_id.map(|p| p.to_string()))
        .bind(i64::from(i.attempts))
        .bind(i.return_url.as_deref())
        .bind(i.updated_at.timestamp_millis())
        .execute()
        .await?;
        Ok(())
    }

    /// The merchant's intent, read inside the transaction.
    pub(crate) async fn intent(
        &mut self,
        merchant: &MerchantId,
        id: &IntentId,
    ) -> Result<Option<PaymentIntent>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM payment_intents WHERE id = $1 AND merchant_id = $2");
        let row: Option<Row> = self
            .query(&sql)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional()
            .await?;
        row.map(PaymentIntent::try_from).transpose()
    }
}

impl Store {
    /// The merchant holding the secret API key with this hash, if the key still works at `now`
    /// (a rolled key works until the end of its grace period).
    pub async fn merchant_id_by_api_key(
        &self,
        hash: &ApiKeyHash,
        now: DateTime<Utc>,
    ) -> Result<Option<MerchantId>, StoreError> {
        let row: Option<(String, String)> = on_reader!(self, pool => sqlx::query_as(
            "SELECT key_hash, merchant_id FROM api_keys
             WHERE key_hash = $1 AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(hash.as_str())
        .bind(now.timestamp_millis())
        .fetch_optional(pool)
        .await)?;
        row.filter(|(stored, _)| ApiKeyHash::from_stored(stored.clone()).matches(hash))
            .map(|(_, merchant)| merchant.parse().map_err(corrupt))
            .transpose()
    }

    /// The merchant's keys still working at `now`, newest first.
    pub async fn api_keys(
        &self,
        merchant: &MerchantId,
        now: DateTime<Utc>,
    ) -> Result<Vec<ApiKeySummary>, StoreError> {
        let rows: Vec<(Option<String>, i64, Option<i64>)> = on_reader!(self, pool => sqlx::query_as(
            "SELECT last4, created_at, expires_at FROM api_keys
             WHERE merchant_id = $1 AND (expires_at IS NULL OR expires_at > $2)
             ORDER BY created_at DESC, expires_at DESC",
        )
        .bind(merchant.to_string())
        .bind(now.timestamp_millis())
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(last4, created, expires)| {
                Ok(ApiKeySummary {
                    last4,
                    created_at: millis_to_time(created).map_err(corrupt)?,
                    expires_at: expires.map(millis_to_time).transpose().map_err(corrupt)?,
                })
            })
            .collect()
    }

    /// The merchant's intent (another merchant's is `None`, as if it did not exist).
    pub async fn intent(
        &self,
        merchant: &MerchantId,
        id: &IntentId,
    ) -> Result<Option<PaymentIntent>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM payment_intents WHERE id = $1 AND merchant_id = $2");
        let row: Option<Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional(pool)
            .await)?;
        row.map(PaymentIntent::try_from).transpose()
    }

    /// The intent whose latest confirmation made `payment`, if any.
    pub async fn intent_of_payment(
        &self,
        payment: &PaymentId,
    ) -> Result<Option<PaymentIntent>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM payment_intents WHERE payment_id = $1");
        let row: Option<Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(payment.to_string())
            .fetch_optional(pool)
            .await)?;
        row.map(PaymentIntent::try_from).transpose()
    }

    /// One page of the merchant's intents, newest first.
    pub async fn intents(
        &self,
        merchant: &MerchantId,
        page: &PageRequest,
    ) -> Result<ListPage<PaymentIntent>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM payment_intents WHERE merchant_id = $1 {}",
            page_clause("id", &page.cursor)
        );
        let rows: Vec<Row> = fetch_page!(self, &sql, merchant, page)?;
        let items = rows
            .into_iter()
            .map(PaymentIntent::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(items, page))
    }
}
