//! Outbox rows: events written with the change they report, claimed and settled by workers.
//!
//! Claiming is what keeps several workers (in one process or many) from delivering the same
//! event at once. A claim stamps `locked_by` (the worker) and `locked_until` (its lease) on due
//! rows in one statement:
//! - on PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, so two workers claiming at the
//!   same moment take disjoint rows instead of queueing behind each other; a row claimed and
//!   committed by another worker after this statement's snapshot is re-checked against the
//!   `WHERE` (READ COMMITTED re-evaluates updated rows) and dropped because its lease is live;
//! - on SQLite the single writer connection serialises the claims.
//!
//! A worker then settles the event with [`Tx::record_attempts`], which writes the attempt and
//! the event's next state in one transaction, and only while the event is still the worker's:
//! `locked_by` names it and `attempts` is what it claimed. A worker whose lease ran out and
//! whose event another worker took therefore cannot overwrite the other's claim or result.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::appends::{EVENTS, Flush};
use super::merchants::millis_to_time;
use super::query::Arg;
use super::tx::{Shapes, shaped_chunks, values};
use super::{Store, StoreError, Tx, on_reader};
use crate::ids::EventId;
use crate::outbox::{AfterAttempt, Attempt, Event, EventCopy, NewEvent};

pub(super) const COLUMNS: &str = "id, merchant_id, kind, subject_id, payload, created_at, attempts, \
                       next_attempt_at, delivered_at, given_up_at, copy_of, endpoint_id";

/// The condition of an event not yet settled, for statements that name their events by id.
/// Not `delivered_at IS NULL AND given_up_at IS NULL`: that is the predicate of the partial
/// index `events_due`, and PostgreSQL's generic plan for it walks that whole index (every
/// event in flight, and the entries settled events left behind until a vacuum) and filters on
/// the ids, instead of looking them up by key.
const UNSETTLED: &str = "COALESCE(delivered_at, given_up_at) IS NULL";

/// Rows that are due, oldest due first; `$1` is now.
const DUE: &str = "SELECT id FROM events
                   WHERE delivered_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= $1
                     AND (locked_until IS NULL OR locked_until < $1)
                   ORDER BY next_attempt_at
                   LIMIT $2";

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(super) struct EventRow {
    id: String,
    merchant_id: String,
    kind: String,
    subject_id: String,
    payload: String,
    created_at: i64,
    attempts: i64,
    next_attempt_at: i64,
    delivered_at: Option<i64>,
    given_up_at: Option<i64>,
    copy_of: Option<String>,
    endpoint_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    event_id: String,
    attempt: i64,
    started_at: i64,
    latency_ms: i64,
    http_status: Option<i64>,
    error: Option<String>,
    response_snippet: Option<String>,
}

fn corrupt(table: &'static str) -> impl Fn(String) -> StoreError {
    move |reason| StoreError::Corrupt { table, reason }
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        let corrupt = corrupt("events");
        let time = |millis| millis_to_time(millis).map_err(&corrupt);
        Ok(Event {
            id: row.id.parse().map_err(|e| corrupt(format!("id: {e}")))?,
            merchant_id: row
                .merchant_id
                .parse()
                .map_err(|e| corrupt(format!("merchant_id: {e}")))?,
            kind: row.kind.parse().map_err(|e| corrupt(format!("{e}")))?,
            subject_id: row.subject_id,
            payload: serde_json::from_str(&row.payload)
                .map_err(|e| corrupt(format!("payload: {e}")))?,
            created_at: time(row.created_at)?,
            attempts: u32::try_from(row.attempts)
                .map_err(|_| corrupt(format!("attempts {} out of range", row.attempts)))?,
            next_attempt_at: time(row.next_attempt_at)?,
            delivered_at: row.delivered_at.map(time).transpose()?,
            given_up_at: row.given_up_at.map(time).transpose()?,
            copy: match (row.copy_of, row.endpoint_id) {
                (None, None) => None,
                (Some(of), Some(endpoint_id)) => Some(EventCopy {
                    of: of.parse().map_err(|e| corrupt(format!("copy_of: {e}")))?,
                    endpoint_id,
                }),
                _ => return Err(corrupt("copy_of and endpoint_id go together".into())),
            },
        })
    }
}

impl TryFrom<AttemptRow> for Attempt {
    type Error = StoreError;

    fn try_from(row: AttemptRow) -> Result<Self, StoreError> {
        let corrupt = corrupt("event_attempts");
        Ok(Attempt {
            event_id: row
                .event_id
                .parse()
                .map_err(|e| corrupt(format!("event_id: {e}")))?,
            attempt: u32::try_from(row.attempt)
                .map_err(|_| corrupt(format!("attempt {} out of range", row.attempt)))?,
            started_at: millis_to_time(row.started_at).map_err(&corrupt)?,
            latency_ms: u64::try_from(row.latency_ms)
                .map_err(|_| corrupt(format!("latency_ms {} is negative", row.latency_ms)))?,
            http_status: row
                .http_status
                .map(|s| u16::try_from(s).map_err(|_| corrupt(format!("http_status {s}"))))
                .transpose()?,
            error: row.error,
            response_snippet: row.response_snippet,
        })
    }
}

/// Where a row of [`EVENTS`] keeps the claim (`locked_by`, `locked_until`).
const LOCKED_BY: usize = 8;
const LOCKED_UNTIL: usize = 9;

/// Whether a waiting row of [`EVENTS`] is claimed by a worker.
fn is_claimed(row: &[Arg]) -> bool {
    matches!(row.get(LOCKED_BY), Some(Arg::Text(Some(_))))
}

/// Whether `flush` writes events no worker has claimed: they are due, and a worker must look.
pub(super) fn writes_unclaimed_events(flush: &Flush) -> bool {
    flush.rows_of(&EVENTS).any(|row| !is_claimed(row))
}

/// The event a waiting row of [`EVENTS`] stores once written.
fn written_event(row: &[Arg]) -> Result<Event, StoreError> {
    let text = |i: usize| match row.get(i) {
        Some(Arg::Text(Some(v))) => Ok(v.clone()),
        _ => Err(corrupt("events")(format!(
            "appended column {i} is not text"
        ))),
    };
    let int = |i: usize| match row.get(i) {
        Some(Arg::Int(Some(v))) => Ok(*v),
        _ => Err(corrupt("events")(format!(
            "appended column {i} is not an integer"
        ))),
    };
    Event::try_from(EventRow {
        id: text(0)?,
        merchant_id: text(1)?,
        kind: text(2)?,
        subject_id: text(3)?,
        payload: text(4)?,
        created_at: int(5)?,
        attempts: int(6)?,
        next_attempt_at: int(7)?,
        delivered_at: None,
        given_up_at: None,
        copy_of: None,
        endpoint_id: None,
    })
}

/// Milliseconds after `now`, saturating rather than wrapping for absurd leases.
fn millis_after(now: DateTime<Utc>, span: Duration) -> i64 {
    let span = i64::try_from(span.as_millis()).unwrap_or(i64::MAX);
    now.timestamp_millis().saturating_add(span)
}

impl Tx {
    /// Writes `event` to the outbox inside this transaction, due at once; it is delivered only
    /// if the transaction commits. Written behind (see [`super::appends`]): a claim in the
    /// same transaction still sees it, as every statement naming `events` writes it first.
    pub fn insert_event(&mut self, event: &NewEvent, now: DateTime<Utc>) -> EventId {
        let id = EventId::generate();
        let now = now.timestamp_millis();
        self.append(
            &EVENTS,
            vec![
                id.to_string().into(),
                event.merchant_id.to_string().into(),
                event.kind.as_str().into(),
                event.subject_id.as_str().into(),
                event.payload.to_string().into(),
                now.into(),
                0i64.into(),
                now.into(),
                Arg::Text(None),
                Arg::Int(None),
            ],
        );
        id
    }

    /// How many events this transaction has written that wait to be inserted, unclaimed.
    pub(crate) fn events_waiting(&self) -> usize {
        self.appends
            .rows_of(&EVENTS)
            .filter(|row| !is_claimed(row))
            .count()
    }

    /// Claims up to `limit` of the events waiting to be inserted for `worker` until
    /// `now + lease`, as [`Tx::claim_due_events`] would once they are written, and returns
    /// them as they will be stored. Run just before the commit, it lets the writer hand the
    /// events it commits straight to the worker ([`crate::handoff`]).
    pub(crate) fn claim_written_events(
        &mut self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Vec<Event> {
        let until = millis_after(now, lease);
        let mut claimed = Vec::new();
        for row in self.appends.rows_of_mut(&EVENTS) {
            if claimed.len() == limit {
                break;
            }
            if is_claimed(row) {
                continue;
            }
            match written_event(row) {
                Ok(event) => {
                    row[LOCKED_BY] = worker.into();
                    row[LOCKED_UNTIL] = until.into();
                    claimed.push(event);
                }
                // Left unclaimed, the event is due like any other and a claim takes it.
                Err(e) => tracing::error!(error = %e, "a fresh event could not be handed over"),
            }
        }
        claimed
    }

    /// Whether this transaction has made events due that no hand-over can take (rows
    /// already written, fan-out copies), so a worker should look once it commits; events
    /// still waiting to be written are [`crate::handoff::Handoff::claim`]'s to count.
    pub(crate) fn wrote_events_due(&self) -> bool {
        self.events_due
    }

    /// Writes a copy of `event` for `endpoint`, due at `now`. A copy keeps the original's
    /// time of creation: it reports the same change.
    pub(crate) async fn insert_copy(
        &mut self,
        event: &Event,
        endpoint: &str,
        now: DateTime<Utc>,
    ) -> Result<EventId, StoreError> {
        let id = EventId::generate();
        self.query(
            "INSERT INTO events (id, merchant_id, kind, subject_id, payload, created_at,
                                 attempts, next_attempt_at, copy_of, endpoint_id)
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(event.merchant_id.to_string())
        .bind(event.kind.as_str())
        .bind(&event.subject_id)
        .bind(event.payload.to_string())
        .bind(event.created_at.timestamp_millis())
        .bind(now.timestamp_millis())
        .bind(event.public_id().to_string())
        .bind(endpoint)
        .execute()
        .await?;
        self.events_due = true;
        Ok(id)
    }

    /// Hands `event`, claimed by `worker`, over to one copy per endpoint in `endpoints`: the
    /// copies are written due at once and the original is settled as delivered (it is
    /// delivered through them), without an attempt of its own. `Ok(false)`: the event is no
    /// longer `worker`'s claim as it was (see [`Tx::record_attempts`]), and nothing was written.
    pub(crate) async fn fan_out(
        &mut self,
        worker: &str,
        event: &Event,
        endpoints: &[String],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let settled = self
            .query(settle_fanned_out_sql())
            .bind(event.id.to_string())
            .bind(worker)
            .bind(now.timestamp_millis())
            .bind(i64::from(event.attempts))
            .on_committed_rows()
            .execute()
            .await?;
        if settled == 0 {
            return Ok(false);
        }
        for endpoint in endpoints {
            self.insert_copy(event, endpoint, now).await?;
        }
        Ok(true)
    }
}

impl Tx {
    /// Claims up to `limit` events due at `now` for `worker` until `now + lease`, oldest due
    /// first. No other worker can claim them before the lease ends (once this transaction
    /// commits); the worker settles each with [`Tx::record_attempts`] within the lease.
    pub(crate) async fn claim_due_events(
        &mut self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<Event>, StoreError> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        let until = millis_after(now, lease);
        let now = now.timestamp_millis();
        // PostgreSQL: SKIP LOCKED, concurrent claimers take disjoint rows instead of waiting.
        // SQLite: the one writer connection serialises claims, no row locks needed.
        static SQL: [OnceLock<String>; 2] = [const { OnceLock::new() }; 2];
        let postgres = self.is_postgres();
        let sql = SQL[usize::from(postgres)].get_or_init(|| {
            let locking = if postgres {
                " FOR UPDATE SKIP LOCKED"
            } else {
                ""
            };
            format!(
                "UPDATE events SET locked_by = $3, locked_until = $4
                 WHERE id IN ({DUE}{locking})
                 RETURNING {COLUMNS}"
            )
        });
        let rows: Vec<EventRow> = self
            .query(sql)
            .bind(now)
            .bind(limit)
            .bind(worker)
            .bind(until)
            .fetch_all()
            .await?;
        let mut events = rows
            .into_iter()
            .map(Event::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING keeps no order; deliver the longest-waiting first.
        events.sort_by_key(|e| (e.next_attempt_at, e.id));
        Ok(events)
    }

    /// Records each attempt (number `n`) and what follows it, if its event is still `worker`'s
    /// claim after `n - 1` attempts and not settled; answers, per attempt in order, whether it
    /// was recorded. `false`: it is not (the lease ran out and another worker took it), and
    /// nothing was written for it. Attempts that lead to the same change (most often: the
    /// first attempts that were delivered) settle in one statement, and the attempts recorded
    /// are inserted in one.
    pub(crate) async fn record_attempts(
        &mut self,
        worker: &str,
        attempts: &[(Attempt, AfterAttempt)],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        let mut alike: Vec<((u32, AfterAttempt), Vec<usize>)> = Vec::new();
        for (i, (attempt, then)) in attempts.iter().enumerate() {
            let change = (attempt.attempt, *then);
            match alike.iter_mut().find(|(c, _)| *c == change) {
                Some((_, members)) => members.push(i),
                None => alike.push((change, vec![i])),
            }
        }
        let mut recorded = vec![false; attempts.len()];
        for ((number, then), members) in alike {
            for chunk in shaped_chunks(&members) {
                let ids: Vec<String> = chunk
                    .iter()
                    .map(|&i| attempts[i].0.event_id.to_string())
                    .collect();
                let settled = self.settle(worker, number, then, &ids, now).await?;
                for (&i, id) in chunk.iter().zip(&ids) {
                    recorded[i] = settled.contains(id);
                }
            }
        }
        let settled: Vec<&Attempt> = attempts
            .iter()
            .zip(&recorded)
            .filter(|(_, recorded)| **recorded)
            .map(|((attempt, _), _)| attempt)
            .collect();
        static SQL: Shapes = Shapes::new();
        for chunk in shaped_chunks(&settled) {
            let sql = SQL.get(chunk.len(), |rows| {
                format!(
                    "INSERT INTO event_attempts (event_id, attempt, started_at, latency_ms,
                                                 http_status, error, response_snippet)
                     VALUES {}",
                    values(rows, 7)
                )
            });
            let mut query = self.query(&sql);
            for attempt in chunk {
                query = query
                    .bind(attempt.event_id.to_string())
                    .bind(i64::from(attempt.attempt))
                    .bind(attempt.started_at.timestamp_millis())
                    .bind(i64::try_from(attempt.latency_ms).unwrap_or(i64::MAX))
                    .bind(attempt.http_status.map(i64::from))
                    .bind(attempt.error.as_deref())
                    .bind(attempt.response_snippet.as_deref());
            }
            query.execute().await?;
        }
        Ok(recorded)
    }

    /// Moves the events `ids`, each after attempt `number`, to `then` and releases their
    /// claims, for those still `worker`'s claim after `number - 1` attempts and not settled;
    /// answers the ids it moved.
    async fn settle(
        &mut self,
        worker: &str,
        number: u32,
        then: AfterAttempt,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let previous = number.checked_sub(1).ok_or(StoreError::Corrupt {
            table: "event_attempts",
            reason: "attempt numbers start at 1".into(),
        })?;
        let now = now.timestamp_millis();
        let (next_attempt_at, delivered_at, given_up_at) = match then {
            AfterAttempt::Delivered => (None, Some(now), None),
            AfterAttempt::RetryAt(at) => (Some(at.timestamp_millis()), None, None),
            AfterAttempt::GiveUp => (None, None, Some(now)),
        };
        static SQL: Shapes = Shapes::new();
        let sql = SQL.get(ids.len(), settle_sql);
        let mut query = self
            .query(&sql)
            .bind(worker)
            .bind(i64::from(number))
            .bind(next_attempt_at)
            .bind(delivered_at)
            .bind(given_up_at)
            .bind(i64::from(previous));
        for id in ids {
            query = query.bind(id.as_str());
        }
        // The events were claimed by an earlier transaction: nothing waiting here is settled.
        let settled = query.on_committed_rows().scalar_all::<String>().await?;
        Ok(settled.into_iter().collect())
    }
}

impl Store {
    /// [`Tx::claim_due_events`] in a transaction of its own, for tools and tests; the
    /// notification worker claims through the core's writer
    /// ([`crate::commands::ClaimDueEvents`]), in its group commits.
    pub async fn claim_due_events(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<Event>, StoreError> {
        let mut tx = Tx::begin(self).await?;
        match tx.claim_due_events(worker, now, lease, limit).await {
            Ok(events) => {
                tx.commit().await?;
                Ok(events)
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// [`Tx::record_attempts`] for one attempt, in a transaction of its own, for tools and tests; the
    /// notification worker records through the core's writer
    /// ([`crate::commands::RecordAttempts`]).
    pub async fn record_attempt(
        &self,
        worker: &str,
        attempt: &Attempt,
        then: AfterAttempt,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = Tx::begin(self).await?;
        let recorded = tx
            .record_attempts(worker, &[(attempt.clone(), then)], now)
            .await;
        match recorded.map(|recorded| recorded.first().copied().unwrap_or(false)) {
            Ok(true) => {
                tx.commit().await?;
                Ok(true)
            }
            Ok(false) => {
                tx.rollback().await?;
                Ok(false)
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }
    /// The event `id`, if any.
    pub async fn event(&self, id: &EventId) -> Result<Option<Event>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM events WHERE id = $1");
        let row: Option<EventRow> = on_reader!(self, pool => sqlx::query_as(&sql)
            .bind(id.to_string())
            .fetch_optional(pool)
            .await)?;
        row.map(Event::try_from).transpose()
    }

    /// Every recorded attempt to deliver event `id`, first attempt first.
    pub async fn attempts(&self, id: &EventId) -> Result<Vec<Attempt>, StoreError> {
        let rows: Vec<AttemptRow> = on_reader!(self, pool => sqlx::query_as(
            "SELECT event_id, attempt, started_at, latency_ms, http_status, error, response_snippet
             FROM event_attempts WHERE event_id = $1 ORDER BY attempt",
        )
        .bind(id.to_string())
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Attempt::try_from).collect()
    }
}

impl Store {
    /// One page of the merchant's events about payments made through `face` and their
    /// refunds, newest first; originals only (a destination's copy is a delivery of one).
    pub async fn events_of_face(
        &self,
        merchant: &crate::ids::MerchantId,
        face: crate::payment::Face,
        page: &crate::intent::PageRequest,
    ) -> Result<crate::intent::ListPage<Event>, StoreError> {
        use super::intents::{fetch_page, into_page, page_clause};
        use crate::intent::Cursor;
        let face = face.as_str();
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE merchant_id = $1 AND copy_of IS NULL
               AND (subject_id IN (SELECT id FROM payments WHERE merchant_id = $1 AND face = '{face}')
                 OR subject_id IN (SELECT id FROM refunds WHERE payment_id IN
                      (SELECT id FROM payments WHERE merchant_id = $1 AND face = '{face}'))
                 OR ('{face}' = 'stripe'
                     AND subject_id IN (SELECT id FROM checkout_sessions WHERE merchant_id = $1))) {}",
            page_clause("id", &page.cursor)
        );
        let rows: Vec<EventRow> = fetch_page!(self, &sql, merchant, page)?;
        let items = rows
            .into_iter()
            .map(Event::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(items, page))
    }
}

/// Settles the event `$1` as delivered through its copies: see [`Tx::fan_out`].
fn settle_fanned_out_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "UPDATE events
             SET delivered_at = $3, locked_by = NULL, locked_until = NULL
             WHERE id = $1 AND locked_by = $2 AND attempts = $4 AND {UNSETTLED}"
        )
    })
}

/// Settles the `n` events `$7..`: see [`Tx::settle`] for the parameters.
fn settle_sql(n: usize) -> String {
    let list: Vec<String> = (0..n).map(|i| format!("${}", i + 7)).collect();
    format!(
        "UPDATE events
         SET attempts = $2, next_attempt_at = COALESCE($3, next_attempt_at),
             delivered_at = $4, given_up_at = $5, locked_by = NULL, locked_until = NULL
         WHERE id IN ({}) AND locked_by = $1 AND attempts = $6 AND {UNSETTLED}
         RETURNING id",
        list.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use serde_json::json;

    use super::*;
    use crate::ids::MerchantId;
    use crate::outbox::EventKind;
    use crate::store::postgres::generic_plan;
    use crate::store::sqlite::query_plan;
    use crate::testing;

    const LEASE: Duration = Duration::from_secs(60);

    async fn insert(store: &Store, merchant_id: MerchantId, at: DateTime<Utc>) -> EventId {
        let event = NewEvent {
            merchant_id,
            kind: EventKind::PaymentSucceeded,
            subject_id: "pay_01J0000000000000000000000".into(),
            payload: json!({"amount": 1_000_000, "note": "héllo"}),
        };
        let mut tx = Tx::begin(store).await.unwrap();
        let id = tx.insert_event(&event, at);
        tx.commit().await.unwrap();
        id
    }

    fn attempt(event_id: EventId, n: u32, status: u16) -> Attempt {
        Attempt {
            event_id,
            attempt: n,
            // Whole milliseconds, as stored, so a read-back compares equal.
            started_at: millis_to_time(1_700_000_000_123).unwrap(),
            latency_ms: 12,
            http_status: Some(status),
            error: None,
            response_snippet: Some("ok".into()),
        }
    }

    /// Settling names its events by id: both engines must look them up by key, not walk the
    /// partial index of unsettled events (whose predicate the statements also state).
    #[tokio::test]
    async fn settling_looks_events_up_by_key() {
        let statements = [
            (settle_sql(2), "'w', 1, NULL, 5, NULL, 0, 'evt_1', 'evt_2'"),
            (settle_fanned_out_sql().to_owned(), "'evt_1', 'w', 5, 0"),
        ];
        let sqlite = testing::sqlite().await;
        for (sql, _) in &statements {
            let plan = query_plan(&sqlite.store, sql).await;
            assert_eq!(plan.len(), 1, "{plan:?}");
            assert!(
                plan[0].starts_with("SEARCH events USING INDEX sqlite_autoindex_events_1 (id="),
                "{plan:?}"
            );
        }

        let Some(t) = testing::postgres().await else {
            return;
        };
        for (sql, args) in &statements {
            let plan = generic_plan(&t.store, sql, args).await;
            assert!(plan.contains("events_pkey"), "{plan}");
            assert!(!plan.contains("events_due"), "{plan}");
        }
    }

    #[tokio::test]
    async fn inserted_events_read_back() {
        for t in testing::all().await {
            let store = &t.store;
            let merchant_id = testing::merchant_row(store).await;
            let now = Utc::now();
            let id = insert(store, merchant_id, now).await;
            let event = store.event(&id).await.unwrap().unwrap();
            assert_eq!(event.id, id, "{}", t.engine);
            assert_eq!(event.merchant_id, merchant_id);
            assert_eq!(event.kind, EventKind::PaymentSucceeded);
            assert_eq!(event.payload, json!({"amount": 1_000_000, "note": "héllo"}));
            assert_eq!(event.created_at.timestamp_millis(), now.timestamp_millis());
            assert_eq!(event.next_attempt_at, event.created_at);
            assert_eq!(
                (event.attempts, event.delivered_at, event.given_up_at),
                (0, None, None)
            );
            assert!(store.attempts(&id).await.unwrap().is_empty());
            assert!(store.event(&EventId::generate()).await.unwrap().is_none());
        }
    }

    #[tokio::test]
    async fn a_rolled_back_transaction_leaves_no_event() {
        for t in testing::all().await {
            let store = &t.store;
            let merchant_id = testing::merchant_row(store).await;
            let event = NewEvent {
                merchant_id,
                kind: EventKind::Test,
                subject_id: "x".into(),
                payload: json!({}),
            };
            let mut tx = Tx::begin(store).await.unwrap();
            let id = tx.insert_event(&event, Utc::now());
            tx.rollback().await.unwrap();
            assert!(store.event(&id).await.unwrap().is_none(), "{}", t.engine);
            let claimed = store
                .claim_due_events("w", Utc::now(), LEASE, 10)
                .await
                .unwrap();
            assert!(claimed.is_empty());
        }
    }

    #[tokio::test]
    async fn attempts_recorded_together_settle_only_the_workers_own_claims() {
        for t in testing::all().await {
            let store = &t.store;
            let merchant_id = testing::merchant_row(store).await;
            let now = Utc::now();
            let mine = insert(store, merchant_id, now - TimeDelta::seconds(2)).await;
            let also_mine = insert(store, merchant_id, now - TimeDelta::seconds(1)).await;
            assert_eq!(
                store
                    .claim_due_events("a", now, LEASE, 2)
                    .await
                    .unwrap()
                    .len(),
                2
            );
            let theirs = insert(store, merchant_id, now).await;
            store.claim_due_events("b", now, LEASE, 10).await.unwrap();
            let retry_at = millis_to_time(now.timestamp_millis() + 60_000).unwrap();
            let batch = vec![
                (attempt(mine, 1, 200), AfterAttempt::Delivered),
                (attempt(theirs, 1, 200), AfterAttempt::Delivered),
                (attempt(also_mine, 1, 503), AfterAttempt::RetryAt(retry_at)),
            ];
            let mut tx = Tx::begin(store).await.unwrap();
            let recorded = tx.record_attempts("a", &batch, now).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(recorded, [true, false, true], "{}", t.engine);
            assert_eq!(store.attempts(&mine).await.unwrap(), [batch[0].0.clone()]);
            assert_eq!(
                store.attempts(&also_mine).await.unwrap(),
                [batch[2].0.clone()]
            );
            assert!(store.attempts(&theirs).await.unwrap().is_empty());
            assert!(
                store
                    .event(&mine)
                    .await
                    .unwrap()
                    .unwrap()
                    .delivered_at
                    .is_some()
            );
            let retried = store.event(&also_mine).await.unwrap().unwrap();
            assert_eq!((retried.attempts, retried.next_attempt_at), (1, retry_at));
            let untouched = store.event(&theirs).await.unwrap().unwrap();
            assert_eq!(
                (untouched.attempts, untouched.delivered_at),
                (0, None),
                "{}",
                t.engine
            );
        }
    }

    /// [`Tx::fan_out`] in a transaction of its own.
    async fn fan_out(store: &Store, worker: &str, event: &Event, endpoints: &[String]) -> bool {
        let mut tx = Tx::begin(store).await.unwrap();
        let done = tx
            .fan_out(worker, event, endpoints, Utc::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        done
    }

    #[tokio::test]
    async fn only_the_claiming_worker_fans_an_event_out_and_copies_keep_its_id() {
        for t in testing::all().await {
            let store = &t.store;
            let merchant_id = testing::merchant_row(store).await;
            let now = Utc::now();
            let id = insert(store, merchant_id, now - TimeDelta::seconds(1)).await;
            let claimed = store.claim_due_events("a", now, LEASE, 10).await.unwrap();
            let original = claimed.into_iter().next().unwrap();
            let endpoints = ["we_1".to_string(), "we_2".to_string()];
            assert!(
                !fan_out(store, "b", &original, &endpoints).await,
                "{}",
                t.engine
            );
            assert!(fan_out(store, "a", &original, &endpoints).await);
            assert!(!fan_out(store, "a", &original, &endpoints).await, "settled");

            let settled = store.event(&id).await.unwrap().unwrap();
            assert!(settled.delivered_at.is_some(), "{}", t.engine);
            assert!(store.attempts(&id).await.unwrap().is_empty());
            let mut copies = store
                .claim_due_events("c", Utc::now(), LEASE, 10)
                .await
                .unwrap();
            copies.sort_by(|x, y| {
                x.copy
                    .as_ref()
                    .map(|c| &c.endpoint_id)
                    .cmp(&y.copy.as_ref().map(|c| &c.endpoint_id))
            });
            assert_eq!(copies.len(), 2, "{}", t.engine);
            for (copy, endpoint) in copies.iter().zip(&endpoints) {
                assert_ne!(copy.id, id);
                assert_eq!(copy.public_id(), id);
                assert_eq!(copy.copy.as_ref().unwrap().endpoint_id, *endpoint);
                assert_eq!(
                    (copy.kind, &copy.subject_id, &copy.payload),
                    (original.kind, &original.subject_id, &original.payload)
                );
                assert_eq!(copy.created_at, original.created_at, "{}", t.engine);
            }
        }
    }

    #[tokio::test]
    async fn claims_take_due_events_oldest_first_up_to_the_limit() {
        for t in testing::all().await {
            let store = &t.store;
            let merchant_id = testing::merchant_row(store).await;
            let now = Utc::now();
            let later = insert(store, merchant_id, now - TimeDelta::seconds(1)).await;
            let oldest = insert(store, merchant_id, now - TimeDelta::seconds(3)).await;
            let middle = insert(store, merchant_id, now - TimeDelta::seconds(2)).await;
            let future = insert(store, merchant_id, now + TimeDelta::seconds(60)).await;

            let first = store.claim_due_events("a", now, LEASE, 2).await.unwrap();
            let ids: Vec<_> = first.iter().map(|e| e.id).collect();
            assert_eq!(ids, vec![oldest, middle], "{}", t.engine);
            // What "a" holds is invisible to "b"; the event not yet due is too.
            let second = store.claim_due_events("b", now, LEASE, 10).await.unwrap();
            let ids: Vec<_> = second.iter().map(|e| e.id).collect();
            assert_eq!(ids, vec![later]);
            assert!(
                store
                    .claim_due_events("c", now, LEASE, 10)
                    .await
                    .unwrap()
                    .is_empty()
            );
            assert!(
                store
                    .claim_due_events("c", now, LEASE, 0)
                    .await
                    .unwrap()
                    .is_empty()
            );
            let _ = future;
        }
    }

    #[tokio::test]
    async fn an_expired_lease_passes_the_event_on_and_the_late_worker_cannot_settle_it() {
        for t in testing::all().await {
            let store = &t.store;
            let merchant_id = testing::merchant_row(store).await;
            let now = Utc::now();
            let id = insert(store, merchant_id, now).await;
            let short = Duration::from_secs(1);
            assert_eq!(
                store
                    .claim_due_events("slow", now, short, 10)
                    .await
                    .unwrap()
                    .len(),
                1
            );

            let after = now + TimeDelta::seconds(2);
            let taken = store
                .claim_due_events("fast", after, LEASE, 10)
                .await
                .unwrap();
            assert_eq!(taken.len(), 1, "{}", t.engine);
            assert_eq!(taken[0].attempts, 0);

            let late = store
                .record_attempt("slow", &attempt(id, 1, 200), AfterAttempt::Delivered, after)
                .await
                .unwrap();
            assert!(
                !late,
                "the worker that lost its lease must not settle the event"
            );
            let event = store.event(&id).await.unwrap().unwrap();
            assert_eq!((event.attempts, event.delivered_at), (0, None));
            assert!(store.attempts(&id).await.unwrap().is_empty());

            let ok = store
                .record_attempt("fast", &attempt(id, 1, 204), AfterAttempt::Delivered, after)
                .await
                .unwrap();
            assert!(ok);
            let event = store.event(&id).await.unwrap().unwrap();
            assert_eq!(event.attempts, 1);
            assert_eq!(
                event.delivered_at.map(|d| d.timestamp_millis()),
                Some(after.timestamp_millis())
            );
            assert_eq!(
                store.attempts(&id).await.unwrap(),
                vec![attempt(id, 1, 204)]
            );
            // Settled: never claimed again, and a second settlement is refused.
            let much_later = after + TimeDelta::hours(1);
            assert!(
                store
                    .claim_due_events("x", much_later, LEASE, 10)
                    .await
                    .unwrap()
                    .is_empty()
            );
            let again = store
                .record_attempt("fast", &attempt(id, 1, 200), AfterAttempt::Delivered, after)
                .await
                .unwrap();
            assert!(!again);
        }
    }

    #[tokio::test]
    async fn retries_wait_for_their_time_and_giving_up_is_final() {
        for t in testing::all().await {
            let store = &t.store;
            let merchant_id = testing::merchant_row(store).await;
            let now = Utc::now();
            let id = insert(store, merchant_id, now).await;
            store.claim_due_events("w", now, LEASE, 10).await.unwrap();
            let retry_at = now + TimeDelta::seconds(30);
            let failed = Attempt {
                http_status: None,
                error: Some("connection refused".into()),
                response_snippet: None,
                ..attempt(id, 1, 0)
            };
            assert!(
                store
                    .record_attempt("w", &failed, AfterAttempt::RetryAt(retry_at), now)
                    .await
                    .unwrap()
            );
            let event = store.event(&id).await.unwrap().unwrap();
            assert_eq!(event.attempts, 1, "{}", t.engine);
            assert_eq!(
                event.next_attempt_at.timestamp_millis(),
                retry_at.timestamp_millis()
            );
            // Not due yet, even though no one holds it.
            let early = retry_at - TimeDelta::milliseconds(1);
            assert!(
                store
                    .claim_due_events("w", early, LEASE, 10)
                    .await
                    .unwrap()
                    .is_empty()
            );
            let due = store
                .claim_due_events("w", retry_at, LEASE, 10)
                .await
                .unwrap();
            assert_eq!(due.len(), 1);
            assert_eq!(due[0].attempts, 1);
            // The attempt number must follow on from the claim.
            let wrong = store
                .record_attempt("w", &attempt(id, 1, 500), AfterAttempt::GiveUp, retry_at)
                .await
                .unwrap();
            assert!(!wrong);
            assert!(
                store
                    .record_attempt("w", &attempt(id, 2, 500), AfterAttempt::GiveUp, retry_at)
                    .await
                    .unwrap()
            );
            let event = store.event(&id).await.unwrap().unwrap();
            assert!(event.given_up_at.is_some() && event.delivered_at.is_none());
            let attempts = store.attempts(&id).await.unwrap();
            assert_eq!(
                attempts
                    .iter()
                    .map(|a| (a.attempt, a.http_status))
                    .collect::<Vec<_>>(),
                vec![(1, None), (2, Some(500))]
            );
            assert_eq!(attempts[0].error.as_deref(), Some("connection refused"));
            let much_later = retry_at + TimeDelta::days(2);
            assert!(
                store
                    .claim_due_events("w", much_later, LEASE, 10)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
    }
}
