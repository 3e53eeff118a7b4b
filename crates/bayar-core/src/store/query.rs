//! [`Query`]: one statement inside a [`Tx`], bound and run on whichever engine the
//! transaction is on.
//!
//! The SQL is written once with `$1`, `$2`, ... placeholders. PostgreSQL takes them as they
//! are; SQLite sees `$1` as a parameter *named* `$1`, so each of its parameters is bound by the
//! number in its name, not by position (a statement may use `$13` before `$6`). Rows decode
//! through sqlx's `FromRow` on PostgreSQL and through serde (the same column names) on SQLite.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use sqlx::Arguments;
use sqlx::FromRow;
use sqlx::postgres::{PgArguments, PgRow};

use super::StoreError;
use super::tx::{Conn, Tx};

/// A value bound to a parameter. Typed even when NULL: PostgreSQL types every parameter.
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    /// An integer (money in minor units, times in milliseconds, counts).
    Int(Option<i64>),
    /// Text (ids, references, JSON).
    Text(Option<String>),
    /// A boolean.
    Bool(Option<bool>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}

impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(Some(v))
    }
}

impl From<Option<bool>> for Arg {
    fn from(v: Option<bool>) -> Self {
        Arg::Bool(v)
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}

impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_owned()))
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_owned))
    }
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Int(v) => v.to_sql(),
            Arg::Text(v) => v.to_sql(),
            Arg::Bool(v) => v.to_sql(),
        }
    }
}

/// A row type a [`Query`] can decode on both engines (a one-field tuple for a single column).
pub(crate) trait TxRow:
    for<'r> FromRow<'r, PgRow> + DeserializeOwned + Send + Unpin
{
}

impl<T> TxRow for T where T: for<'r> FromRow<'r, PgRow> + DeserializeOwned + Send + Unpin {}

/// A statement with its parameters, run inside `tx` by one of the consuming methods.
pub(crate) struct Query<'t, 'q> {
    tx: &'t mut Tx,
    sql: &'q str,
    args: Vec<Arg>,
    /// Whether the rows appended in the transaction are written before the statement runs.
    flush: bool,
}

impl<'t, 'q> Query<'t, 'q> {
    pub(super) fn new(tx: &'t mut Tx, sql: &'q str) -> Self {
        Self {
            tx,
            sql,
            args: Vec::new(),
            flush: true,
        }
    }

    /// Runs the statement without first writing the rows appended in the transaction: for a
    /// statement that only touches rows committed before it (an event a worker claimed
    /// earlier), so that the fresh rows keep waiting, and the writer can still hand the
    /// transaction's fresh events to the worker ([`crate::handoff`]).
    pub(crate) fn on_committed_rows(mut self) -> Self {
        self.flush = false;
        self
    }

    /// Writes the appended rows first, if the statement may read them.
    async fn flush_before(&mut self) -> Result<(), StoreError> {
        if self.flush {
            self.tx.flush_before(self.sql).await?;
        }
        Ok(())
    }

    /// Binds the next parameter (`$1` first).
    pub(crate) fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Binds the next parameters, in order.
    pub(super) fn bind_all(mut self, values: Vec<Arg>) -> Self {
        self.args.extend(values);
        self
    }

    /// Runs the statement; returns how many rows it changed.
    pub(crate) async fn execute(mut self) -> Result<u64, StoreError> {
        self.flush_before().await?;
        self.run_execute().await
    }

    /// [`Query::execute`] without looking at the appended rows (it is how they are written).
    pub(super) async fn run_execute(self) -> Result<u64, StoreError> {
        match &mut self.tx.conn {
            Conn::Sqlite(t) => {
                let changed = prepare(t.conn(), self.sql, &self.args)?.raw_execute()?;
                Ok(changed as u64)
            }
            Conn::Postgres(t) => Ok(sqlx::query_with(self.sql, pg_args(self.args)?)
                .execute(&mut **t)
                .await?
                .rows_affected()),
        }
    }

    /// Every row.
    pub(crate) async fn fetch_all<R: TxRow>(mut self) -> Result<Vec<R>, StoreError> {
        self.flush_before().await?;
        match &mut self.tx.conn {
            Conn::Sqlite(t) => sqlite_rows(t.conn(), self.sql, &self.args),
            Conn::Postgres(t) => Ok(sqlx::query_as_with(self.sql, pg_args(self.args)?)
                .fetch_all(&mut **t)
                .await?),
        }
    }

    /// The first row, if any.
    pub(crate) async fn fetch_optional<R: TxRow>(mut self) -> Result<Option<R>, StoreError> {
        self.flush_before().await?;
        match &mut self.tx.conn {
            Conn::Sqlite(t) => sqlite_first(t.conn(), self.sql, &self.args),
            Conn::Postgres(t) => Ok(sqlx::query_as_with(self.sql, pg_args(self.args)?)
                .fetch_optional(&mut **t)
                .await?),
        }
    }

    /// The first row; a missing row is an error.
    pub(crate) async fn fetch_one<R: TxRow>(self) -> Result<R, StoreError> {
        self.fetch_optional().await?.ok_or(no_row())
    }

    /// The first column of every row.
    pub(crate) async fn scalar_all<T>(self) -> Result<Vec<T>, StoreError>
    where
        (T,): TxRow,
    {
        let rows: Vec<(T,)> = self.fetch_all().await?;
        Ok(rows.into_iter().map(|(value,)| value).collect())
    }

    /// The first column of the first row, if any.
    pub(crate) async fn scalar_optional<T>(self) -> Result<Option<T>, StoreError>
    where
        (T,): TxRow,
    {
        let row: Option<(T,)> = self.fetch_optional().await?;
        Ok(row.map(|(value,)| value))
    }

    /// The first column of the first row; a missing row is an error.
    pub(crate) async fn scalar_one<T>(self) -> Result<T, StoreError>
    where
        (T,): TxRow,
    {
        self.scalar_optional().await?.ok_or(no_row())
    }
}

/// What `fetch_one` of sqlx answers for no row, on both engines alike.
fn no_row() -> StoreError {
    StoreError::Database(sqlx::Error::RowNotFound)
}

pub(super) fn pg_args(args: Vec<Arg>) -> Result<PgArguments, StoreError> {
    let mut out = PgArguments::default();
    for arg in args {
        match arg {
            Arg::Int(v) => out.add(v),
            Arg::Text(v) => out.add(v),
            Arg::Bool(v) => out.add(v),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}

/// The statement from the connection's cache, its `$N` parameters bound to `args[N - 1]`.
fn prepare<'c>(
    conn: &'c rusqlite::Connection,
    sql: &str,
    args: &[Arg],
) -> Result<rusqlite::CachedStatement<'c>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    for (index, number) in (1..).zip(parameter_numbers(&stmt, sql).iter()) {
        let arg = number
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| args.get(n))
            .ok_or(rusqlite::Error::InvalidParameterCount(index, args.len()))?;
        stmt.raw_bind_parameter(index, arg)?;
    }
    Ok(stmt)
}

/// Most statement texts whose parameter numbers a thread keeps; past it, it starts over.
const KNOWN_STATEMENTS: usize = 1024;

/// Per parameter of a statement, in SQLite's order, the `N` of its name `$N`.
type ParameterNumbers = Rc<[Option<usize>]>;

/// The number `N` in the name `$N` of each of `stmt`'s parameters, in SQLite's order (`None`
/// for a name of another form), for `stmt` prepared from `sql`. SQLite finds a parameter's
/// name by walking its list of names from the first, so asking for every name of a
/// multi-row INSERT (hundreds of parameters) took time quadratic in their number, on every
/// run; the answer depends on the text alone, so each thread keeps it per text.
fn parameter_numbers(stmt: &rusqlite::Statement<'_>, sql: &str) -> ParameterNumbers {
    thread_local! {
        static KNOWN: RefCell<HashMap<Box<str>, ParameterNumbers>> = RefCell::default();
    }
    KNOWN.with_borrow_mut(|known| {
        if let Some(numbers) = known.get(sql) {
            return numbers.clone();
        }
        let numbers: ParameterNumbers = (1..=stmt.parameter_count())
            .map(|index| {
                stmt.parameter_name(index)
                    .and_then(|name| name.strip_prefix('$'))
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .collect();
        if known.len() >= KNOWN_STATEMENTS {
            known.clear();
        }
        known.insert(sql.into(), numbers.clone());
        numbers
    })
}

fn sqlite_rows<R: DeserializeOwned>(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg],
) -> Result<Vec<R>, StoreError> {
    let mut stmt = prepare(conn, sql, args)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

pub(super) fn sqlite_first<R: DeserializeOwned>(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Arg],
) -> Result<Option<R>, StoreError> {
    let mut stmt = prepare(conn, sql, args)?;
    let mut rows = stmt.raw_query();
    // A write with RETURNING has made all its changes by its first step (SQLite buffers the
    // returned rows), so the rest need not be stepped through.
    rows.next()?.map(decode).transpose()
}

fn decode<R: DeserializeOwned>(row: &rusqlite::Row<'_>) -> Result<R, StoreError> {
    serde_rusqlite::from_row(row).map_err(|e| match e {
        serde_rusqlite::Error::Rusqlite(e) => StoreError::Sqlite(e),
        other => StoreError::Corrupt {
            table: "a query's result",
            reason: other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::store::Tx;
    use crate::testing;

    #[tokio::test]
    async fn parameters_bind_by_their_number_and_rows_decode_on_every_engine() {
        for t in testing::all().await {
            let mut tx = Tx::begin(&t.store).await.unwrap();
            // `$2` before `$1`, as the payment insert does with `$13` before `$6`.
            let row: (i64, String, Option<String>) = tx
                .query(
                    "SELECT CAST($2 AS BIGINT) AS n, CAST($1 AS TEXT) AS s, CAST($3 AS TEXT) AS o",
                )
                .bind("first")
                .bind(7i64)
                .bind(None::<String>)
                .fetch_one()
                .await
                .unwrap();
            assert_eq!(row, (7, "first".to_string(), None), "{}", t.engine);
            let none: Option<i64> = tx
                .query("SELECT CAST($1 AS BIGINT) WHERE 1 = 0")
                .bind(1i64)
                .scalar_optional()
                .await
                .unwrap();
            assert_eq!(none, None, "{}", t.engine);
            // A placeholder with no value is an error, never a silent NULL.
            let missing = tx
                .query("SELECT CAST($2 AS BIGINT)")
                .bind(1i64)
                .scalar_one::<i64>()
                .await;
            assert!(missing.is_err(), "{}: $2 without a value", t.engine);
            tx.rollback().await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_statement_run_again_binds_its_new_values_by_number() {
        // Many parameters, numbered out of order, as a multi-row INSERT's are in a long list:
        // the second run takes SQLite's parameter numbers from what the first one learnt.
        let rows: Vec<String> = (1..=300)
            .rev()
            .map(|n| format!("(CAST(${n} AS BIGINT), {n})"))
            .collect();
        let sql = format!(
            "SELECT CAST(column1 AS BIGINT) AS v, CAST(column2 AS BIGINT) AS n FROM (VALUES {}) AS t",
            rows.join(", ")
        );
        for t in testing::all().await {
            let mut tx = Tx::begin(&t.store).await.unwrap();
            for run in [0i64, 1000] {
                let mut query = tx.query(&sql);
                for n in 1..=300i64 {
                    query = query.bind(run + n);
                }
                let bound: Vec<(i64, i64)> = query.fetch_all().await.unwrap();
                assert_eq!(bound.len(), 300, "{}", t.engine);
                for (value, n) in bound {
                    assert_eq!(value, run + n, "{}: ${n}", t.engine);
                }
            }
            tx.rollback().await.unwrap();
        }
    }
}
