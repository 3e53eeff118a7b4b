//! [`Tx`]: one open write transaction on either engine, handed to commands by the writer.

use sqlx::Executor;

use super::{Store, StoreError};

/// An open write transaction. Commands run their SQL through it; the writer commits.
pub enum Tx {
    /// On SQLite (`BEGIN IMMEDIATE`: the write lock is taken up front).
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// On PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection (`&mut` on either engine).
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

pub(crate) use on_tx;

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
            Store::Sqlite { writer, .. } => Tx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Commits: after this returns `Ok`, the changes are durable (fsync'd unless opted out).
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Rolls everything back.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// Runs statements with no parameters and no result (savepoint control), several in one
    /// round trip when separated by `;`.
    pub(crate) async fn execute_script(&mut self, sql: &str) -> Result<(), StoreError> {
        // A bare string has no arguments: PostgreSQL runs it with the simple query protocol
        // and SQLite steps through every statement, so `;`-separated statements work on both.
        on_tx!(self, conn => conn.execute(sql).await.map(|_| ()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_number_the_parameters_row_by_row() {
        assert_eq!(super::values(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::values(1, 1), "($1)");
    }
}
