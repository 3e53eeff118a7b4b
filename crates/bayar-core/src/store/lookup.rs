//! [`Lookup`]: one short indexed read outside a transaction, the kind a request makes on its
//! way in (the binding behind a customer token, a payment by reference for a status inquiry).
//!
//! On SQLite it runs inline on the calling thread, on one of a few read-only rusqlite
//! connections: a point lookup takes microseconds, less than handing it to a database thread
//! and waking the caller again (what a sqlx reader costs). Scans and reports stay on the sqlx
//! readers, where a long read never holds up a runtime worker. On PostgreSQL it is a sqlx query
//! on the pool.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::OpenFlags;

use super::query::{Arg, TxRow, sqlite_first};
use super::sqlite::BUSY_TIMEOUT;
use super::{Store, StoreError};

/// Read-only SQLite connections for [`Lookup`]s, opened on first need and kept for reuse. A
/// lookup never waits for one: at most one per thread running lookups at once is ever open.
#[derive(Debug)]
pub struct ReadPath {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

/// Statements kept prepared on each lookup connection: every lookup fits.
const PREPARED_STATEMENTS: usize = 32;

impl ReadPath {
    pub(super) fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on an idle connection (or a new one), then keeps the connection.
    fn with<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let out = read(&conn);
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
        out
    }

    /// Closes the idle connections (a lookup after this opens one again).
    pub(super) fn close(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn open(&self) -> Result<rusqlite::Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(&self.path, flags)?;
        // A reader waits only in SQLite's rare moments of WAL recovery; as the sqlx readers do.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS);
        Ok(conn)
    }
}

/// A read with its parameters, run by [`Lookup::fetch_optional`].
pub(crate) struct Lookup<'s, 'q> {
    store: &'s Store,
    sql: &'q str,
    args: Vec<Arg>,
}

impl Store {
    /// A short indexed read to bind parameters to (`$1`, `$2`, ...) and run; see [`Lookup`].
    pub(crate) fn lookup<'s, 'q>(&'s self, sql: &'q str) -> Lookup<'s, 'q> {
        Lookup {
            store: self,
            sql,
            args: Vec::new(),
        }
    }
}

impl Lookup<'_, '_> {
    /// Binds the next parameter (`$1` first).
    pub(crate) fn bind(mut self, value: impl Into<Arg>) -> Self {
        self.args.push(value.into());
        self
    }

    /// The first row, if any.
    pub(crate) async fn fetch_optional<R: TxRow>(self) -> Result<Option<R>, StoreError> {
        match self.store {
            Store::Sqlite { read_path, .. } => {
                read_path.with(|conn| sqlite_first(conn, self.sql, &self.args))
            }
            Store::Postgres(pool) => Ok(sqlx::query_as_with(
                self.sql,
                super::query::pg_args(self.args)?,
            )
            .fetch_optional(pool)
            .await?),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Tx;
    use crate::testing;

    async fn write(store: &crate::store::Store, sql: &str) {
        let mut tx = Tx::begin(store).await.unwrap();
        tx.execute_script(sql).await.unwrap();
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn a_lookup_sees_every_commit_before_it_even_on_a_reused_connection() {
        for t in testing::all().await {
            let store = &t.store;
            write(
                store,
                "CREATE TABLE lookup_probe (k TEXT PRIMARY KEY, v BIGINT NOT NULL)",
            )
            .await;
            let read = || async {
                store
                    .lookup("SELECT v FROM lookup_probe WHERE k = $1")
                    .bind("a")
                    .fetch_optional::<(i64,)>()
                    .await
                    .unwrap()
                    .map(|(v,)| v)
            };
            assert_eq!(read().await, None, "{}", t.engine);
            write(store, "INSERT INTO lookup_probe (k, v) VALUES ('a', 1)").await;
            assert_eq!(read().await, Some(1), "{}", t.engine);
            // The same idle connection again: it must not keep a snapshot from its last read.
            write(store, "UPDATE lookup_probe SET v = 2 WHERE k = 'a'").await;
            assert_eq!(read().await, Some(2), "{}", t.engine);
        }
    }
}
