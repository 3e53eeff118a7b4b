//! Merchant rows.

use bayar_snap::PublicKey;
use chrono::{DateTime, TimeZone, Utc};

use super::{Store, StoreError, Tx, on_reader};
use crate::ids::MerchantId;
use crate::merchant::{ClientId, Merchant, MerchantName, MerchantUrls, NotifyUrl};
use crate::secret::Secret;

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    name: String,
    client_id: String,
    client_secret: String,
    public_key_pem: String,
    notify_url: Option<String>,
    doku_notify_url: Option<String>,
    dana_notify_url: Option<String>,
    return_url: Option<String>,
    created_at: i64,
}

const COLUMNS: &str = "id, name, client_id, client_secret, public_key_pem, notify_url, \
                       doku_notify_url, dana_notify_url, return_url, created_at";

/// A stored URL read back.
fn url(stored: Option<String>) -> Result<Option<NotifyUrl>, StoreError> {
    stored
        .as_deref()
        .map(NotifyUrl::parse)
        .transpose()
        .map_err(corrupt)
}

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "merchants",
        reason: reason.to_string(),
    }
}

pub(super) fn millis_to_time(millis: i64) -> Result<DateTime<Utc>, String> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .ok_or_else(|| format!("timestamp {millis} out of range"))
}

impl TryFrom<Row> for Merchant {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        Ok(Merchant {
            id: row.id.parse().map_err(corrupt)?,
            name: MerchantName::parse(&row.name).map_err(corrupt)?,
            client_id: ClientId::parse(&row.client_id).map_err(corrupt)?,
            client_secret: Secret::new(row.client_secret),
            public_key: PublicKey::from_pem(&row.public_key_pem).map_err(corrupt)?,
            notify_url: url(row.notify_url)?,
            urls: MerchantUrls {
                doku_notify: url(row.doku_notify_url)?,
                dana_notify: url(row.dana_notify_url)?,
                return_url: url(row.return_url)?,
            },
            created_at: millis_to_time(row.created_at).map_err(corrupt)?,
        })
    }
}

impl Tx {
    /// Inserts a merchant; `Ok(false)` when the client id is already taken.
    pub(crate) async fn insert_merchant(&mut self, m: &Merchant) -> Result<bool, StoreError> {
        let result = self.query(
            "INSERT INTO merchants (id, name, client_id, client_secret, public_key_pem, notify_url, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING",
        )
        .bind(m.id.to_string())
        .bind(m.name.as_str())
        .bind(m.client_id.as_str())
        .bind(m.client_secret.expose())
        .bind(m.public_key.to_pem())
        .bind(m.notify_url.as_ref().map(NotifyUrl::as_str))
        .bind(m.created_at.timestamp_millis())
        .execute()
        .await?;
        Ok(result == 1)
    }
}

impl Store {
    /// The merchant presenting `client_id`, if any.
    pub async fn merchant_by_client_id(
        &self,
        client_id: &ClientId,
    ) -> Result<Option<Merchant>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM merchants WHERE client_id = $1");
        let row: Option<Row> = self
            .lookup(&sql)
            .bind(client_id.as_str())
            .fetch_optional()
            .await?;
        row.map(Merchant::try_from).transpose()
    }

    /// The merchant with id `id`, if any.
    pub async fn merchant_by_id(&self, id: &MerchantId) -> Result<Option<Merchant>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM merchants WHERE id = $1");
        let row: Option<Row> = self
            .lookup(&sql)
            .bind(id.to_string())
            .fetch_optional()
            .await?;
        row.map(Merchant::try_from).transpose()
    }

    /// Every merchant, oldest first.
    pub async fn merchants(&self) -> Result<Vec<Merchant>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM merchants ORDER BY id");
        let rows: Vec<Row> = on_reader!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        rows.into_iter().map(Merchant::try_from).collect()
    }
}
