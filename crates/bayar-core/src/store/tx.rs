//! [`Tx`]: one open write transaction on either engine, handed to commands by the writer.
//!
//! On SQLite the transaction runs on the store's one write connection (rusqlite), statement
//! by statement on the calling thread: no hand-off to a database thread per statement, which
//! was most of a payment's cost. On PostgreSQL it is a sqlx transaction. Append-only rows
//! wait in the transaction's [`Appends`] and go out many per statement.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use sqlx::Executor;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::appends::{Appends, ColumnValues, Flush, Table};
use super::query::{Arg, Query};
use super::{Store, StoreError};

/// An open write transaction. Commands run their SQL through it ([`Tx::query`]) and hand it
/// append-only rows ([`Tx::append`]); the writer commits.
pub struct Tx {
    pub(super) conn: Conn,
    pub(super) appends: Appends,
    /// Whether outbox events were written that no worker has claimed (see
    /// [`Tx::wrote_events_due`]).
    pub(super) events_due: bool,
    /// Why a flush of appended rows failed: rows of commands already released may be
    /// missing, so nothing of the transaction may commit.
    broken: Option<String>,
    /// Whether rows of checked tables are written behind (see [`Tx::defer_checks`]).
    defers_checks: bool,
    /// Whether a flush found a checked row's key taken (see [`Tx::conflicted`]).
    conflicted: bool,
}

/// The engine's side of a [`Tx`].
pub(super) enum Conn {
    /// On SQLite (`BEGIN IMMEDIATE`: the write lock is taken up front).
    Sqlite(SqliteTx),
    /// On PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// An SQLite transaction holding the write connection until it ends; rolled back when dropped
/// before [`Tx::commit`].
pub struct SqliteTx {
    conn: OwnedMutexGuard<rusqlite::Connection>,
}

impl SqliteTx {
    /// The connection, inside the transaction.
    pub(super) fn conn(&self) -> &rusqlite::Connection {
        &self.conn
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        // Still inside the transaction: nothing committed, so nothing of it may stand. A
        // failed rollback leaves SQLite to roll back itself when the connection next begins.
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Most rows a statement over a variable number of rows takes at once.
pub(super) const CHUNK: usize = 64;

/// Sizes to split `n` rows into, largest first: [`CHUNK`] at a time, then at most one of each
/// smaller power of two. Statements over a variable number of rows then come in at most seven
/// shapes, so the prepared-statement caches hold them all whatever the batch size.
pub(super) fn chunk_sizes(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let size = [CHUNK, 32, 16, 8, 4, 2, 1].into_iter().find(|&s| s <= n)?;
        n -= size;
        Some(size)
    })
}

/// `items` in chunks of the sizes [`chunk_sizes`] gives: at most 64 rows of up to ten
/// columns per statement, far below every engine's parameter limit.
pub(super) fn shaped_chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    chunk_sizes(items.len()).map(move |size| {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        chunk
    })
}

/// The text of a statement over a variable number of rows, built once per row count and
/// kept. Such statements come in few shapes ([`chunk_sizes`]), and formatting their text on
/// every run cost a payment more instructions than SQLite spent running some of them.
#[derive(Debug)]
pub(crate) struct Shapes([OnceLock<String>; CHUNK + 1]);

impl Shapes {
    /// No text built yet.
    pub(crate) const fn new() -> Shapes {
        Shapes([const { OnceLock::new() }; CHUNK + 1])
    }

    /// The text for `rows` rows: `build(rows)` the first time, kept after; past [`CHUNK`]
    /// rows built every time.
    pub(crate) fn get(&self, rows: usize, build: impl FnOnce(usize) -> String) -> Cow<'_, str> {
        match self.0.get(rows) {
            Some(kept) => Cow::Borrowed(kept.get_or_init(|| build(rows))),
            None => Cow::Owned(build(rows)),
        }
    }
}

/// The `VALUES` list of a multi-row insert of `rows` rows of `columns` parameters each:
/// `($1, $2), ($3, $4)` for 2 by 2.
pub(super) fn values(rows: usize, columns: usize) -> String {
    let row = |r: usize| {
        let params: Vec<String> = (1..=columns)
            .map(|c| format!("${}", r * columns + c))
            .collect();
        format!("({})", params.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

impl Tx {
    /// Opens a write transaction on `store`.
    pub(crate) async fn begin(store: &Store) -> Result<Tx, StoreError> {
        Ok(Tx::on(match store {
            Store::Sqlite { write_path, .. } => Conn::Sqlite(begin_sqlite(write_path).await?),
            Store::Postgres(pool) => Conn::Postgres(pool.begin().await?),
        }))
    }

    /// Opens a write transaction on `store` and runs `script` (parameterless statements, as
    /// for [`Tx::execute_script`]) first in it: on PostgreSQL in the same round trip.
    pub(crate) async fn begin_with(store: &Store, script: &'static str) -> Result<Tx, StoreError> {
        match store {
            Store::Postgres(pool) => Ok(Tx::on(Conn::Postgres(
                pool.begin_with(format!("BEGIN; {script}")).await?,
            ))),
            Store::Sqlite { .. } => {
                let mut tx = Tx::begin(store).await?;
                tx.execute_script(script).await?;
                Ok(tx)
            }
        }
    }

    fn on(conn: Conn) -> Tx {
        Tx {
            conn,
            appends: Appends::default(),
            events_due: false,
            broken: None,
            defers_checks: false,
            conflicted: false,
        }
    }

    /// From now on, rows of checked tables are written behind and taken as inserted: for a
    /// batch run without savepoints, where a taken key is as rare as a refusal. A flush that
    /// finds one taken (or loses a race for one) fails with [`StoreError::Conflict`] and marks
    /// the transaction [`Tx::conflicted`]: the writer rolls it back and runs the batch again
    /// with savepoints.
    pub(crate) fn defer_checks(&mut self) {
        self.defers_checks = true;
    }

    /// Whether a flush found the key of a row written behind taken: nothing of the
    /// transaction may commit, and its commands must run again checking each key at once.
    pub(crate) fn conflicted(&self) -> bool {
        self.conflicted
    }

    /// Inserts a row of a checked table unless its key is taken; answers whether it was
    /// inserted. While the transaction defers checks, the row is written behind instead and
    /// `true` answered (see [`Tx::defer_checks`]).
    pub(crate) async fn insert_unless_taken(
        &mut self,
        table: &'static Table,
        row: Vec<Arg>,
    ) -> Result<bool, StoreError> {
        debug_assert!(table.checked, "{} is not checked", table.name);
        if self.defers_checks {
            self.append(table, row);
            return Ok(true);
        }
        let inserted = self
            .query(table.insert_unless_taken())
            .bind_all(row)
            .execute()
            .await?;
        Ok(inserted == 1)
    }

    /// Commits, appended rows first: after this returns `Ok`, the changes are durable
    /// (fsync'd unless opted out).
    pub(crate) async fn commit(mut self) -> Result<(), StoreError> {
        let flushed = match self.broken() {
            Some(broken) => Err(broken),
            None => self.flush_appends().await,
        };
        if let Err(e) = flushed {
            let _ = self.rollback().await;
            return Err(e);
        }
        match self.conn {
            Conn::Sqlite(t) => {
                t.conn.prepare_cached("COMMIT")?.raw_execute()?;
            }
            Conn::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Rolls everything back.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        match self.conn {
            Conn::Sqlite(t) => t.conn.execute_batch("ROLLBACK")?,
            Conn::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// Whether the transaction is on PostgreSQL.
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.conn, Conn::Postgres(_))
    }

    /// Adds a row of `table` to be inserted before the transaction next reads that table or
    /// commits. A failed insert fails the whole transaction (see [`Tx::broken`]).
    pub(crate) fn append(&mut self, table: &'static Table, row: Vec<Arg>) {
        self.appends.push(table, row);
    }

    /// A command starts, in a savepoint of its own (see [`Appends`]).
    pub(crate) fn begin_command(&mut self) {
        self.appends.begin_command();
    }

    /// The running command stands.
    pub(crate) fn end_command(&mut self) {
        self.appends.end_command();
    }

    /// The running command is being rolled back to its savepoint: its appended rows are
    /// forgotten, earlier commands' rows it wrote wait again.
    pub(crate) fn discard_command(&mut self) {
        self.appends.discard_command();
    }

    /// Why a flush of appended rows failed, if one did, taking rows of earlier commands with
    /// it: the transaction can then only be rolled back.
    pub(crate) fn broken(&self) -> Option<StoreError> {
        self.broken.clone().map(StoreError::AppendsFailed)
    }

    /// Inserts the appended rows before `sql` runs, if it reads their tables.
    pub(super) async fn flush_before(&mut self, sql: &str) -> Result<(), StoreError> {
        if self.appends.is_empty() || !self.appends.read_by(sql) {
            return Ok(());
        }
        self.flush_appends().await
    }

    async fn flush_appends(&mut self) -> Result<(), StoreError> {
        let flush = self.appends.take();
        if flush.is_empty() {
            return Ok(());
        }
        self.events_due |= super::outbox::writes_unclaimed_events(&flush);
        let checked = flush.is_checked();
        let written = match &mut self.conn {
            Conn::Postgres(t) => write_unnest(t, flush).await,
            Conn::Sqlite(_) => {
                let mut written = Ok(0);
                for insert in flush.inserts() {
                    written = Query::new(self, &insert.sql)
                        .bind_all(insert.args)
                        .run_execute()
                        .await;
                    if written.is_err() {
                        break;
                    }
                }
                written.map(|_| ())
            }
        };
        match written {
            // A taken key, or a lost race for one: another process inserting the same key
            // while this transaction, having deferred its insert, already holds rows that
            // process waits for (a deadlock the eager insert, taken first, could not meet).
            Err(e) if checked && (e.is_unique_violation() || e.is_lost_race()) => {
                self.conflicted = true;
                Err(StoreError::Conflict)
            }
            Err(e) => {
                self.broken = Some(e.to_string());
                Err(e)
            }
            Ok(()) => Ok(()),
        }
    }

    /// Runs statements with no parameters and no result (savepoint control), several in one
    /// round trip when separated by `;`.
    pub(crate) async fn execute_script(&mut self, sql: &str) -> Result<(), StoreError> {
        match &mut self.conn {
            // Kept prepared like every other statement: savepoints open and close once per
            // command.
            Conn::Sqlite(t) => {
                for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    t.conn.prepare_cached(statement)?.raw_execute()?;
                }
            }
            // A bare string has no arguments: PostgreSQL runs it with the simple query
            // protocol, so `;`-separated statements go in one round trip.
            Conn::Postgres(t) => {
                t.execute(sql).await?;
            }
        }
        Ok(())
    }

    /// A statement to bind parameters to (`$1`, `$2`, ... on both engines) and run.
    pub(crate) fn query<'t, 'q>(&'t mut self, sql: &'q str) -> Query<'t, 'q> {
        Query::new(self, sql)
    }
}

/// Writes `flush` on PostgreSQL in one statement (see [`Flush::unnest`]).
async fn write_unnest(
    t: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    flush: Flush,
) -> Result<(), StoreError> {
    use sqlx::Arguments;
    let (sql, columns) = flush.unnest().map_err(|reason| StoreError::Corrupt {
        table: "appended rows",
        reason,
    })?;
    let mut args = sqlx::postgres::PgArguments::default();
    for column in columns {
        match column {
            ColumnValues::Text(v) => args.add(v),
            ColumnValues::Int(v) => args.add(v),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    sqlx::query_with(sql, args).execute(&mut **t).await?;
    Ok(())
}

async fn begin_sqlite(
    write_path: &Arc<Mutex<rusqlite::Connection>>,
) -> Result<SqliteTx, StoreError> {
    let conn = write_path.clone().lock_owned().await;
    conn.prepare_cached("BEGIN IMMEDIATE")?.raw_execute()?;
    Ok(SqliteTx { conn })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::Tx;
    use crate::store::StoreError;
    use crate::testing;

    #[tokio::test]
    async fn a_deferred_check_finds_a_taken_key_only_when_its_row_is_written() {
        for t in testing::all().await {
            let m = testing::merchant_row(&t.store).await;
            let (day, now) = (Utc::now().date_naive(), Utc::now());

            // Checked at once: the second claim of an id sees the first.
            let mut tx = Tx::begin(&t.store).await.unwrap();
            assert!(tx.claim_external_id(&m, day, "1", "/p", now).await.unwrap());
            assert!(!tx.claim_external_id(&m, day, "1", "/p", now).await.unwrap());
            tx.commit().await.unwrap();

            // Deferred: every claim is taken as fresh until its row is written; a read of the
            // table writes it and finds the key taken.
            let mut tx = Tx::begin(&t.store).await.unwrap();
            tx.defer_checks();
            assert!(tx.claim_external_id(&m, day, "2", "/p", now).await.unwrap());
            assert!(tx.claim_external_id(&m, day, "1", "/p", now).await.unwrap());
            assert!(!tx.conflicted());
            let read = tx
                .query("SELECT COUNT(*) FROM external_ids")
                .scalar_one::<i64>()
                .await;
            assert!(matches!(read, Err(StoreError::Conflict)), "{read:?}");
            assert!(tx.conflicted() && tx.broken().is_none(), "{}", t.engine);
            tx.rollback().await.unwrap();

            // The same at the commit, which then writes nothing.
            let mut tx = Tx::begin(&t.store).await.unwrap();
            tx.defer_checks();
            assert!(tx.claim_external_id(&m, day, "2", "/p", now).await.unwrap());
            assert!(tx.claim_external_id(&m, day, "2", "/p", now).await.unwrap());
            let committed = tx.commit().await;
            assert!(
                matches!(committed, Err(StoreError::Conflict)),
                "{committed:?}"
            );
            assert_eq!(t.rows("external_ids").await, 1, "{}", t.engine);

            // Fresh keys commit.
            let mut tx = Tx::begin(&t.store).await.unwrap();
            tx.defer_checks();
            assert!(tx.claim_external_id(&m, day, "2", "/p", now).await.unwrap());
            tx.commit().await.unwrap();
            assert_eq!(t.rows("external_ids").await, 2, "{}", t.engine);
        }
    }

    #[test]
    fn rows_split_into_few_sizes() {
        let sizes = |n| super::chunk_sizes(n).collect::<Vec<_>>();
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(70), vec![64, 4, 2]);
        assert_eq!(sizes(200), vec![64, 64, 64, 8]);
        assert_eq!(sizes(63), vec![32, 16, 8, 4, 2, 1]);
        let items: Vec<usize> = (0..70).collect();
        let chunks: Vec<&[usize]> = super::shaped_chunks(&items).collect();
        assert_eq!(
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            vec![64, 4, 2]
        );
        assert_eq!(chunks.concat(), items);
    }

    #[test]
    fn values_number_the_parameters_row_by_row() {
        assert_eq!(super::values(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::values(1, 1), "($1)");
    }

    #[test]
    fn each_shape_is_built_once_and_kept() {
        use super::{CHUNK, Shapes, values};
        let shapes = Shapes::new();
        let mut built = 0;
        for _ in 0..3 {
            let text = shapes.get(4, |rows| {
                built += 1;
                values(rows, 2)
            });
            assert_eq!(text, values(4, 2));
        }
        assert_eq!(built, 1);
        let other = shapes.get(2, |rows| values(rows, 2));
        assert_eq!(
            other, "($1, $2), ($3, $4)",
            "each row count has its own text"
        );
        for _ in 0..2 {
            let text = shapes.get(CHUNK + 1, |rows| {
                built += 1;
                values(rows, 1)
            });
            assert!(text.ends_with(&format!("(${})", CHUNK + 1)));
        }
        assert_eq!(built, 3, "past the largest chunk nothing is kept");
    }
}
