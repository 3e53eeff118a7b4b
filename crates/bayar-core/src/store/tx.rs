//! [`Tx`]: one open write transaction on either engine, handed to commands by the writer.
//!
//! On SQLite the transaction runs on the store's one write connection (rusqlite), statement
//! by statement on the calling thread: no hand-off to a database thread per statement, which
//! was most of a payment's cost. On PostgreSQL it is a sqlx transaction.

use std::sync::Arc;

use sqlx::Executor;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::query::Query;
use super::{Store, StoreError};

/// An open write transaction. Commands run their SQL through it ([`Tx::query`]); the writer
/// commits.
pub enum Tx {
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

/// Rows per multi-row `INSERT`: at up to 9 columns, far below every engine's parameter limit.
pub(super) const ROWS_PER_INSERT: usize = 100;

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
        Ok(match store {
            Store::Sqlite { write_path, .. } => Tx::Sqlite(begin_sqlite(write_path).await?),
            Store::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Commits: after this returns `Ok`, the changes are durable (fsync'd unless opted out).
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => {
                t.conn.prepare_cached("COMMIT")?.raw_execute()?;
            }
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Rolls everything back.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.conn.execute_batch("ROLLBACK")?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// Runs statements with no parameters and no result (savepoint control), several in one
    /// round trip when separated by `;`.
    pub(crate) async fn execute_script(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            // Kept prepared like every other statement: savepoints open and close once per
            // command.
            Tx::Sqlite(t) => {
                for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    t.conn.prepare_cached(statement)?.raw_execute()?;
                }
            }
            // A bare string has no arguments: PostgreSQL runs it with the simple query
            // protocol, so `;`-separated statements go in one round trip.
            Tx::Postgres(t) => {
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

async fn begin_sqlite(
    write_path: &Arc<Mutex<rusqlite::Connection>>,
) -> Result<SqliteTx, StoreError> {
    let conn = write_path.clone().lock_owned().await;
    conn.prepare_cached("BEGIN IMMEDIATE")?.raw_execute()?;
    Ok(SqliteTx { conn })
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_number_the_parameters_row_by_row() {
        assert_eq!(super::values(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::values(1, 1), "($1)");
    }
}
