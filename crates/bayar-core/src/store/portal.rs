//! The portal's rows: users, sessions, previous client secrets, and the read models of its
//! pages (payment lists, ledger lines, a payment's notifications).

use std::collections::BTreeMap;

use bayar_snap::PublicKey;
use chrono::{DateTime, Utc};

use super::merchants::millis_to_time;
use super::tx::{Shapes, shaped_chunks, values};
use super::{Store, StoreError, Tx, on_reader};
use crate::ids::{EventId, MerchantId, PaymentId, UserId};
use crate::ledger::AccountId;
use crate::merchant::{MerchantUrls, NotifyUrl};
use crate::outbox::Event;
use crate::payment::Payment;
use crate::portal::{ApiCall, Email, PaymentFilter, PortalUser, Role};
use crate::secret::Secret;

fn corrupt(table: &'static str) -> impl Fn(String) -> StoreError {
    move |reason| StoreError::Corrupt { table, reason }
}

/// A portal user with what only login needs.
#[derive(Debug)]
pub(crate) struct StoredUser {
    /// The user.
    pub user: PortalUser,
    /// Its argon2id PHC string.
    pub password_hash: String,
    /// Locked until then, if locked.
    pub locked_until: Option<DateTime<Utc>>,
}

/// One posted ledger entry, with its transfer's facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerLine {
    /// The transfer.
    pub transfer_id: String,
    /// What the transfer was for.
    pub memo: String,
    /// When it was posted.
    pub at: DateTime<Utc>,
    /// The account the entry is on.
    pub account: AccountId,
    /// Minor units: positive credits the account, negative debits it.
    pub amount: i64,
}

/// One Jakarta day's succeeded payments on one channel, in minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyVolume {
    /// The Jakarta calendar day they were paid.
    pub day: chrono::NaiveDate,
    /// The channel.
    pub channel: String,
    /// How many.
    pub count: i64,
    /// Their amounts.
    pub amount: i64,
    /// The gateway's fees on them.
    pub fee: i64,
    /// What has been refunded of them since.
    pub refunded: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    email: String,
    role: String,
    merchant_id: Option<String>,
}

impl TryFrom<UserRow> for PortalUser {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        let corrupt = corrupt("portal_users");
        let role = match (row.role.as_str(), row.merchant_id) {
            ("operator", None) => Role::Operator,
            ("merchant", Some(id)) => {
                Role::Merchant(id.parse().map_err(|e| corrupt(format!("{e}")))?)
            }
            (role, _) => return Err(corrupt(format!("role {role}"))),
        };
        Ok(PortalUser {
            id: row.id.parse().map_err(|e| corrupt(format!("{e}")))?,
            email: Email::parse(&row.email).map_err(|e| corrupt(e.to_string()))?,
            role,
        })
    }
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    id: String,
    email: String,
    role: String,
    merchant_id: Option<String>,
    password_hash: String,
    locked_until: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    transfer_id: String,
    memo: String,
    created_at: i64,
    account_id: String,
    amount: i64,
}

impl TryFrom<LineRow> for LedgerLine {
    type Error = StoreError;

    fn try_from(row: LineRow) -> Result<Self, StoreError> {
        Ok(LedgerLine {
            transfer_id: row.transfer_id,
            memo: row.memo,
            at: millis_to_time(row.created_at).map_err(corrupt("transfers"))?,
            account: AccountId::from_stored(row.account_id),
            amount: row.amount,
        })
    }
}

/// An API outcome's key: merchant, method, path, HTTP status, code and message ('' for none).
type OutcomeKey<'a> = (String, &'a str, &'a str, i64, &'a str, &'a str);

/// What a batch adds to one outcome.
struct Outcome<'a> {
    last_id: &'a str,
    last_at: i64,
    max_latency_ms: i64,
    calls: i64,
}

#[derive(sqlx::FromRow)]
struct ApiRow {
    id: String,
    merchant_id: String,
    at: i64,
    method: String,
    path: String,
    http_status: i64,
    response_code: Option<String>,
    message: Option<String>,
    latency_ms: i64,
}

impl TryFrom<ApiRow> for ApiCall {
    type Error = StoreError;

    fn try_from(row: ApiRow) -> Result<Self, StoreError> {
        let corrupt = corrupt("api_log");
        Ok(ApiCall {
            id: row.id,
            merchant_id: row
                .merchant_id
                .parse()
                .map_err(|e| corrupt(format!("{e}")))?,
            at: millis_to_time(row.at).map_err(&corrupt)?,
            method: row.method,
            path: row.path,
            http_status: u16::try_from(row.http_status)
                .map_err(|_| corrupt(format!("http_status {}", row.http_status)))?,
            response_code: row.response_code,
            message: row.message,
            latency_ms: row.latency_ms,
        })
    }
}

impl Tx {
    /// Inserts `calls`, many rows per statement.
    pub(crate) async fn insert_api_calls(&mut self, calls: &[ApiCall]) -> Result<(), StoreError> {
        static SQL: Shapes = Shapes::new();
        for chunk in shaped_chunks(calls) {
            let sql = SQL.get(chunk.len(), |rows| {
                format!(
                    "INSERT INTO api_log (id, merchant_id, at, method, path, http_status,
                                          response_code, message, latency_ms)
                     VALUES {}",
                    values(rows, 9)
                )
            });
            let mut query = self.query(&sql);
            for call in chunk {
                query = query
                    .bind(&call.id)
                    .bind(call.merchant_id.to_string())
                    .bind(call.at.timestamp_millis())
                    .bind(&call.method)
                    .bind(&call.path)
                    .bind(i64::from(call.http_status))
                    .bind(call.response_code.as_deref())
                    .bind(call.message.as_deref())
                    .bind(call.latency_ms);
            }
            query.execute().await?;
        }
        self.count_api_outcomes(calls).await
    }

    /// Adds `calls` to their merchants' distinct outcomes (the checklist's source).
    async fn count_api_outcomes(&mut self, calls: &[ApiCall]) -> Result<(), StoreError> {
        // One row per key in a statement: PostgreSQL refuses to upsert a row twice in one.
        let mut outcomes: BTreeMap<OutcomeKey<'_>, Outcome<'_>> = BTreeMap::new();
        for call in calls {
            let key = (
                call.merchant_id.to_string(),
                call.method.as_str(),
                call.path.as_str(),
                i64::from(call.http_status),
                call.response_code.as_deref().unwrap_or(""),
                call.message.as_deref().unwrap_or(""),
            );
            let seen = outcomes.entry(key).or_insert(Outcome {
                last_id: &call.id,
                last_at: call.at.timestamp_millis(),
                max_latency_ms: call.latency_ms,
                calls: 0,
            });
            seen.last_id = seen.last_id.max(call.id.as_str());
            seen.last_at = seen.last_at.max(call.at.timestamp_millis());
            seen.max_latency_ms = seen.max_latency_ms.max(call.latency_ms);
            seen.calls += 1;
        }
        let outcomes: Vec<_> = outcomes.into_iter().collect();
        static SQL: Shapes = Shapes::new();
        for chunk in shaped_chunks(&outcomes) {
            let sql = SQL.get(chunk.len(), |rows| {
                format!(
                    "INSERT INTO api_outcomes AS o (merchant_id, method, path, http_status,
                         response_code, message, last_id, last_at, max_latency_ms, calls)
                     VALUES {}
                     ON CONFLICT (merchant_id, method, path, http_status, response_code, message)
                     DO UPDATE SET
                         last_id = CASE WHEN excluded.last_id > o.last_id
                                        THEN excluded.last_id ELSE o.last_id END,
                         last_at = CASE WHEN excluded.last_at > o.last_at
                                        THEN excluded.last_at ELSE o.last_at END,
                         max_latency_ms = CASE WHEN excluded.max_latency_ms > o.max_latency_ms
                                               THEN excluded.max_latency_ms ELSE o.max_latency_ms END,
                         calls = o.calls + excluded.calls",
                    values(rows, 10)
                )
            });
            let mut query = self.query(&sql);
            for ((merchant, method, path, status, code, message), seen) in chunk {
                query = query
                    .bind(merchant)
                    .bind(*method)
                    .bind(*path)
                    .bind(*status)
                    .bind(*code)
                    .bind(*message)
                    .bind(seen.last_id)
                    .bind(seen.last_at)
                    .bind(seen.max_latency_ms)
                    .bind(seen.calls);
            }
            query.execute().await?;
        }
        Ok(())
    }

    /// Inserts a portal user; `Ok(false)` when the email is taken.
    pub(crate) async fn insert_portal_user(
        &mut self,
        user: &PortalUser,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let merchant = match user.role {
            Role::Operator => None,
            Role::Merchant(id) => Some(id.to_string()),
        };
        let n = self
            .query(
                "INSERT INTO portal_users (id, email, password_hash, role, merchant_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(user.id.to_string())
            .bind(user.email.as_str())
            .bind(password_hash)
            .bind(user.role.as_str())
            .bind(merchant)
            .bind(now.timestamp_millis())
            .execute()
            .await?;
        Ok(n == 1)
    }

    /// Counts a failed login; the `max`-th in a row locks the user until `lock_until` (and
    /// starts the count again). One statement, so concurrent failures all count.
    pub(crate) async fn count_failed_login(
        &mut self,
        user: &UserId,
        max: i64,
        lock_until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.query(
            "UPDATE portal_users SET
                 locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END,
                 failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END
             WHERE id = $1",
        )
        .bind(user.to_string())
        .bind(max)
        .bind(lock_until.timestamp_millis())
        .execute()
        .await?;
        Ok(())
    }

    /// Clears the failure count of a user who logged in, unless a concurrent failure locked it
    /// meanwhile (`Ok(false)`).
    pub(crate) async fn clear_failed_logins(
        &mut self,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = self
            .query(
                "UPDATE portal_users SET failed_logins = 0, locked_until = NULL
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
            )
            .bind(user.to_string())
            .bind(now.timestamp_millis())
            .execute()
            .await?;
        Ok(n == 1)
    }

    /// Opens a session, stored by the hash of its token.
    pub(crate) async fn insert_portal_session(
        &mut self,
        token_hash: &str,
        user: &UserId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.query(
            "INSERT INTO portal_sessions (token_hash, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user.to_string())
        .bind(now.timestamp_millis())
        .bind(expires_at.timestamp_millis())
        .execute()
        .await?;
        Ok(())
    }

    /// Ends a session (and every expired one, so the table does not grow forever).
    pub(crate) async fn delete_session(
        &mut self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.query("DELETE FROM portal_sessions WHERE token_hash = $1 OR expires_at <= $2")
            .bind(token_hash)
            .bind(now.timestamp_millis())
            .execute()
            .await?;
        Ok(())
    }

    /// Sets a new client secret and keeps the current one as the previous, valid until
    /// `previous_valid_until`. `Ok(false)` when there is no such merchant.
    pub(crate) async fn rotate_client_secret(
        &mut self,
        merchant: &MerchantId,
        secret: &Secret<String>,
        previous_valid_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let id = merchant.to_string();
        let current: Option<String> = self
            .query("SELECT client_secret FROM merchants WHERE id = $1")
            .bind(&id)
            .scalar_optional()
            .await?;
        let Some(current) = current else {
            return Ok(false);
        };
        self.query(
            "INSERT INTO previous_client_secrets (merchant_id, client_secret, valid_until)
             VALUES ($1, $2, $3)
             ON CONFLICT (merchant_id) DO UPDATE
             SET client_secret = excluded.client_secret, valid_until = excluded.valid_until",
        )
        .bind(&id)
        .bind(&current)
        .bind(previous_valid_until.timestamp_millis())
        .execute()
        .await?;
        self.query("UPDATE merchants SET client_secret = $2 WHERE id = $1")
            .bind(&id)
            .bind(secret.expose())
            .execute()
            .await?;
        Ok(true)
    }

    /// Registers a merchant's public key. `Ok(false)` when there is no such merchant.
    pub(crate) async fn set_public_key(
        &mut self,
        merchant: &MerchantId,
        key: &PublicKey,
    ) -> Result<bool, StoreError> {
        let n = self
            .query("UPDATE merchants SET public_key_pem = $2 WHERE id = $1")
            .bind(merchant.to_string())
            .bind(key.to_pem())
            .execute()
            .await?;
        Ok(n == 1)
    }

    /// Sets (or clears) where a merchant's notifications and customers go. `Ok(false)` when
    /// there is no such merchant.
    pub(crate) async fn set_merchant_urls(
        &mut self,
        merchant: &MerchantId,
        notify_url: Option<&NotifyUrl>,
        urls: &MerchantUrls,
    ) -> Result<bool, StoreError> {
        let n = self
            .query(
                "UPDATE merchants SET notify_url = $2, doku_notify_url = $3, dana_notify_url = $4,
                                  return_url = $5
             WHERE id = $1",
            )
            .bind(merchant.to_string())
            .bind(notify_url.map(NotifyUrl::as_str))
            .bind(urls.doku_notify.as_ref().map(NotifyUrl::as_str))
            .bind(urls.dana_notify.as_ref().map(NotifyUrl::as_str))
            .bind(urls.return_url.as_ref().map(NotifyUrl::as_str))
            .execute()
            .await?;
        Ok(n == 1)
    }

    /// The event `id` of `merchant`, if any.
    pub(crate) async fn merchant_event(
        &mut self,
        merchant: &MerchantId,
        id: &EventId,
    ) -> Result<Option<Event>, StoreError> {
        let sql = format!(
            "SELECT {} FROM events WHERE id = $1 AND merchant_id = $2",
            super::outbox::COLUMNS
        );
        let row: Option<super::outbox::EventRow> = self
            .query(&sql)
            .bind(id.to_string())
            .bind(merchant.to_string())
            .fetch_optional()
            .await?;
        row.map(Event::try_from).transpose()
    }
}

impl Store {
    /// The portal user with this email, with its hash and lock.
    pub(crate) async fn portal_user_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<StoredUser>, StoreError> {
        let row: Option<LoginRow> = on_reader!(self, pool => sqlx::query_as(
            "SELECT id, email, role, merchant_id, password_hash, locked_until
             FROM portal_users WHERE email = $1",
        )
        .bind(email.as_str())
        .fetch_optional(pool)
        .await)?;
        let Some(LoginRow {
            id,
            email,
            role,
            merchant_id,
            password_hash,
            locked_until,
        }) = row
        else {
            return Ok(None);
        };
        let user = PortalUser::try_from(UserRow {
            id,
            email,
            role,
            merchant_id,
        })?;
        Ok(Some(StoredUser {
            user,
            password_hash,
            locked_until: locked_until
                .map(millis_to_time)
                .transpose()
                .map_err(corrupt("portal_users"))?,
        }))
    }

    /// The user of the live session whose token hashes to `token_hash`.
    pub(crate) async fn portal_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PortalUser>, StoreError> {
        let row: Option<UserRow> = on_reader!(self, pool => sqlx::query_as(
            "SELECT u.id, u.email, u.role, u.merchant_id
             FROM portal_sessions s JOIN portal_users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now.timestamp_millis())
        .fetch_optional(pool)
        .await)?;
        row.map(PortalUser::try_from).transpose()
    }

    /// Up to `limit` payments matching `filter` (of `merchant`, or all), newest first.
    pub(crate) async fn list_payments(
        &self,
        merchant: Option<MerchantId>,
        filter: &PaymentFilter,
        limit: usize,
    ) -> Result<Vec<Payment>, StoreError> {
        // Every filter keeps its parameter number; one not given becomes `$n IS NULL` (bound
        // to NULL: true), ANDed rather than ORed into the condition, so the planner still
        // walks (merchant_id, id) newest first and stops after `limit` rows.
        let clause = |given: bool, condition: &str, n: u8| {
            if given {
                condition.to_string()
            } else {
                format!("${n} IS NULL")
            }
        };
        let conditions = [
            clause(merchant.is_some(), "merchant_id = $1", 1),
            // Two exact lookups (the reference index, the primary key) rather than an OR
            // that would scan the merchant's payments.
            clause(
                filter.reference.is_some(),
                "id IN (SELECT r.id FROM payments r WHERE r.partner_reference_no = $2
                        UNION ALL SELECT $2)",
                2,
            ),
            clause(filter.status.is_some(), "status = $3", 3),
            clause(filter.channel.is_some(), "channel = $4", 4),
            // A payment's id carries its creation time: dates are id ranges on the same walk.
            clause(filter.from.is_some(), "id >= $5", 5),
            clause(filter.until.is_some(), "id < $6", 6),
            clause(filter.min_amount.is_some(), "amount >= $7", 7),
            clause(filter.max_amount.is_some(), "amount <= $8", 8),
            clause(filter.before.is_some(), "id < $9", 9),
        ];
        let sql = format!(
            "SELECT {} FROM payments WHERE {} ORDER BY id DESC LIMIT $10",
            super::payments::COLUMNS,
            conditions.join(" AND ")
        );
        let rows: Vec<super::payments::Row> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(merchant.map(|m| m.to_string()))
            .bind(filter.reference.as_deref())
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.channel.map(|c| c.as_str()))
            .bind(filter.from.map(|t| PaymentId::first_at(t).to_string()))
            .bind(filter.until.map(|t| PaymentId::first_at(t).to_string()))
            .bind(filter.min_amount.map(|m| m.minor()))
            .bind(filter.max_amount.map(|m| m.minor()))
            .bind(filter.before.map(|p| p.to_string()))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|r| r.into_payment().map(|(p, _)| p))
            .collect()
    }

    /// The ledger entries of the transfers made for `subject` (a payment or refund id):
    /// transfer ids are `trf_<subject>_<purpose>`.
    pub(crate) async fn ledger_lines_of(
        &self,
        subject: &str,
    ) -> Result<Vec<LedgerLine>, StoreError> {
        let rows: Vec<LineRow> = on_reader!(self, pool => sqlx::query_as(
            "SELECT e.transfer_id, t.memo, t.created_at, e.account_id, e.amount
             FROM entries e JOIN transfers t ON t.id = e.transfer_id
             WHERE e.transfer_id >= $1 AND e.transfer_id < $2
             ORDER BY t.created_at, e.transfer_id, e.account_id",
        )
        // A range on the primary key rather than LIKE, so `_` in ids is no wildcard.
        .bind(format!("trf_{subject}_"))
        .bind(format!("trf_{subject}`"))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(LedgerLine::try_from).collect()
    }

    /// The merchant's notifications about `subject`, oldest first.
    pub(crate) async fn events_of(
        &self,
        merchant: &MerchantId,
        subject: &str,
    ) -> Result<Vec<Event>, StoreError> {
        let sql = format!(
            "SELECT {} FROM events WHERE subject_id = $1 AND merchant_id = $2 ORDER BY id",
            super::outbox::COLUMNS
        );
        let rows: Vec<super::outbox::EventRow> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(subject)
            .bind(merchant.to_string())
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Event::try_from).collect()
    }

    /// Every posted entry on the merchant's available and deposit accounts, oldest first.
    pub(crate) async fn statement(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<LedgerLine>, StoreError> {
        let rows: Vec<LineRow> = on_reader!(self, pool => sqlx::query_as(
            "SELECT e.transfer_id, t.memo, t.created_at, e.account_id, e.amount
             FROM entries e JOIN transfers t ON t.id = e.transfer_id
             WHERE e.account_id IN ($1, $2)
             ORDER BY t.created_at, e.transfer_id, e.account_id",
        )
        .bind(AccountId::merchant_available(merchant).as_str())
        .bind(AccountId::merchant_deposit(merchant).as_str())
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(LedgerLine::try_from).collect()
    }

    /// Up to `limit` API calls of `merchant`, newest first, older than the call `before`.
    pub(crate) async fn api_log(
        &self,
        merchant: &MerchantId,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ApiCall>, StoreError> {
        let rows: Vec<ApiRow> = on_reader!(self, pool => sqlx::query_as(
            "SELECT id, merchant_id, at, method, path, http_status, response_code, message,
                    latency_ms
             FROM api_log WHERE merchant_id = $1 AND ($2 IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(merchant.to_string())
        .bind(before)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(ApiCall::try_from).collect()
    }

    /// One call per distinct (path, status, code, message) of `merchant`, the latest of each.
    pub(crate) async fn api_outcomes(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<ApiCall>, StoreError> {
        let rows: Vec<ApiRow> = on_reader!(self, pool => sqlx::query_as(
            "SELECT last_id AS id, merchant_id, last_at AS at, method, path, http_status,
                    NULLIF(response_code, '') AS response_code, NULLIF(message, '') AS message,
                    max_latency_ms AS latency_ms
             FROM api_outcomes WHERE merchant_id = $1",
        )
        .bind(merchant.to_string())
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(ApiCall::try_from).collect()
    }

    /// Succeeded payments of `merchant` paid in `[from, until)`, per Jakarta day and channel.
    pub(crate) async fn daily_volume(
        &self,
        merchant: &MerchantId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DailyVolume>, StoreError> {
        // Jakarta is UTC+7 all year: its day number is (ms + 7 h) / 1 day, in integers.
        let rows: Vec<(i64, String, i64, i64, i64, i64)> = on_reader!(self, pool => sqlx::query_as(
            "SELECT CAST((paid_at + 25200000) / 86400000 AS BIGINT) AS day, channel,
                    COUNT(*), CAST(SUM(amount) AS BIGINT), CAST(SUM(fee) AS BIGINT),
                    CAST(SUM(refunded) AS BIGINT)
             FROM payments
             WHERE merchant_id = $1 AND status = 'succeeded' AND paid_at >= $2 AND paid_at < $3
             GROUP BY CAST((paid_at + 25200000) / 86400000 AS BIGINT), channel
             ORDER BY 1, 2",
        )
        .bind(merchant.to_string())
        .bind(from.timestamp_millis())
        .bind(until.timestamp_millis())
        .fetch_all(pool)
        .await)?;
        let corrupt = corrupt("payments");
        rows.into_iter()
            .map(|(day, channel, count, amount, fee, refunded)| {
                let day = chrono::NaiveDate::from_epoch_days(
                    i32::try_from(day).map_err(|_| corrupt(format!("day {day}")))?,
                )
                .ok_or_else(|| corrupt(format!("day {day}")))?;
                Ok(DailyVolume {
                    day,
                    channel,
                    count,
                    amount,
                    fee,
                    refunded,
                })
            })
            .collect()
    }

    /// The client secrets the merchant's signatures may use now: the current one, then the
    /// previous one while its grace period lasts.
    pub(crate) async fn client_secrets(
        &self,
        merchant: &MerchantId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Secret<String>>, StoreError> {
        let rows: Vec<(String,)> = on_reader!(self, pool => sqlx::query_as(
            "SELECT client_secret FROM merchants WHERE id = $1
             UNION ALL
             SELECT client_secret FROM previous_client_secrets
             WHERE merchant_id = $1 AND valid_until > $2",
        )
        .bind(merchant.to_string())
        .bind(now.timestamp_millis())
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|(s,)| Secret::new(s)).collect())
    }
}
