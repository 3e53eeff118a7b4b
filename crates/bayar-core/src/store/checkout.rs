//! Checkout session rows (the Stripe-style API).

use chrono::{DateTime, Utc};

use super::intents::{fetch_page, into_page, page_clause};
use super::merchants::millis_to_time;
use super::{Store, StoreError, Tx, on_reader};
use crate::checkout::{CheckoutSession, LineItem};
use crate::ids::{CheckoutSessionId, MerchantId};
use crate::intent::{Cursor, ListPage, PageRequest};

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Row {
    id: String,
    merchant_id: String,
    intent_id: String,
    status: String,
    success_url: String,
    cancel_url: Option<String>,
    line_items: String,
    amount_total: i64,
    expires_at: i64,
    created_at: i64,
}

const COLUMNS: &str = "id, merchant_id, intent_id, status, success_url, cancel_url, line_items,
    amount_total, expires_at, created_at";

fn corrupt(reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table: "checkout_sessions",
        reason: reason.to_string(),
    }
}

impl TryFrom<Row> for CheckoutSession {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        let line_items: Vec<LineItem> = serde_json::from_str(&row.line_items).map_err(corrupt)?;
        Ok(CheckoutSession {
            id: row.id.parse().map_err(corrupt)?,
            merchant_id: row.merchant_id.parse().map_err(corrupt)?,
            intent_id: row.intent_id.parse().map_err(corrupt)?,
            stage: row.status.parse().map_err(corrupt)?,
            success_url: row.success_url,
            cancel_url: row.cancel_url,
            line_items,
            amount_total: bayar_snap::Money::from_minor(row.amount_total).map_err(corrupt)?,
            expires_at: millis_to_time(row.expires_at).map_err(corrupt)?,
            created_at: millis_to_time(row.created_at).map_err(corrupt)?,
        })
    }
}

/// A stored session id read back.
fn session_id(id: String) -> Result<CheckoutSessionId, StoreError> {
    id.parse().map_err(|_| StoreError::Corrupt {
        table: "checkout_sessions",
        reason: format!("bad id {id:?}"),
    })
}

impl Tx {
    /// Inserts a new session.
    pub(crate) async fn insert_checkout_session(
        &mut self,
        s: &CheckoutSession,
    ) -> Result<(), StoreError> {
        let line_items = serde_json::to_string(&s.line_items).map_err(corrupt)?;
        self.query(
            "INSERT INTO checkout_sessions (id, merchant_id, intent_id, status, success_url,
                 cancel_url, line_items, amount_total, expires_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(s.id.to_string())
        .bind(s.merchant_id.to_string())
        .bind(s.intent_id.to_string())
        .bind(s.stage.as_str())
        .bind(&s.success_url)
        .bind(s.cancel_url.as_deref())
        .bind(line_items)
        .bind(s.amount_total.minor())
        .bind(s.expires_at.timestamp_millis())
        .bind(s.created_at.timestamp_millis())
        .execute()
        .await?;
        Ok(())
    }

    /// Records a session's new stage.
    pub(crate) async fn set_session_stage(
        &mut self,
        s: &CheckoutSession,
    ) -> Result<(), StoreError> {
        self.query("UPDATE checkout_sessions SET status = $2 WHERE id = $1")
            .bind(s.id.to_string())
            .bind(s.stage.as_str())
            .execute()
            .await?;
        Ok(())
    }

    /// A session by id (the merchant's, when `merchant` is given), read in the transaction.
    pub(crate) async fn session(
        &mut self,
        merchant: Option<&MerchantId>,
        id: &CheckoutSessionId,
    ) -> Result<Option<CheckoutSession>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM checkout_sessions WHERE id = $1");
        let row: Option<Row> = self
            .query(&sql)
            .bind(id.to_string())
            .fetch_optional()
            .await?;
        let session = row.map(CheckoutSession::try_from).transpose()?;
        Ok(session.filter(|s| merchant.is_none_or(|m| s.merchant_id == *m)))
    }

    /// Up to `limit` sessions still open in the store whose `expires_at` has passed at `now`
    /// and whose payment did not succeed, the longest overdue first.
    pub(crate) async fn overdue_sessions(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<CheckoutSessionId>, StoreError> {
        let ids: Vec<String> = self
            .query(
                "SELECT s.id FROM checkout_sessions s
             JOIN payment_intents i ON i.id = s.intent_id
             LEFT JOIN payments p ON p.id = i.payment_id
             WHERE s.status = 'open' AND s.expires_at <= $1
               AND (p.status IS NULL OR p.status <> 'succeeded')
             ORDER BY s.expires_at, s.id
             LIMIT $2",
            )
            .bind(now.timestamp_millis())
            .bind(limit)
            .scalar_all()
            .await?;
        ids.into_iter().map(session_id).collect()
    }

    /// The session whose intent's latest confirmation made `payment`, if any.
    pub(crate) async fn session_of_payment(
        &mut self,
        payment: &crate::ids::PaymentId,
    ) -> Result<Option<CheckoutSessionId>, StoreError> {
        let id: Option<String> = self
            .query(
                "SELECT s.id FROM checkout_sessions s
             JOIN payment_intents i ON i.id = s.intent_id
             WHERE i.payment_id = $1",
            )
            .bind(payment.to_string())
            .scalar_optional()
            .await?;
        id.map(session_id).transpose()
    }
}

impl Store {
    /// One page of the merchant's sessions, newest first.
    pub async fn sessions(
        &self,
        merchant: &MerchantId,
        page: &PageRequest,
    ) -> Result<ListPage<CheckoutSession>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM checkout_sessions WHERE merchant_id = $1 {}",
            page_clause("id", &page.cursor)
        );
        let rows: Vec<Row> = fetch_page!(self, &sql, merchant, page)?;
        let items = rows
            .into_iter()
            .map(CheckoutSession::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(items, page))
    }

    /// A session by id, whoever's it is (for the hosted checkout page).
    pub async fn session(
        &self,
        id: &CheckoutSessionId,
    ) -> Result<Option<CheckoutSession>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM checkout_sessions WHERE id = $1");
        let row: Option<Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await)?;
        row.map(CheckoutSession::try_from).transpose()
    }

    /// The session paid through `intent`, if any.
    pub async fn session_of_intent(
        &self,
        intent: &crate::ids::IntentId,
    ) -> Result<Option<CheckoutSession>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM checkout_sessions WHERE intent_id = $1");
        let row: Option<Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(intent.to_string())
            .fetch_optional(pool)
            .await)?;
        row.map(CheckoutSession::try_from).transpose()
    }
}
