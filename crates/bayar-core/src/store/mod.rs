//! The store: where the core's state persists.
//!
//! One [`Store`] over two engines:
//! - SQLite (default): one file, WAL, `synchronous=FULL`; the write path's transactions run
//!   on one rusqlite connection (SQLite allows one writer anyway) on the writer's own thread;
//!   readers never wait behind it: point lookups on read-only rusqlite connections, inline,
//!   scans on a pool of sqlx readers;
//! - PostgreSQL: a sqlx pool, `synchronous_commit=on`.
//!
//! The SQL is written once in a portable dialect (`$1` placeholders work on both). Inside a
//! write transaction it runs through [`Tx::query`]; a short indexed read on a request's way
//! in through [`Store::lookup`]; anything else through the sqlx pool [`on_writer!`] or
//! [`on_reader!`] picks. Migrations in `migrations/` are applied when the store
//! opens.

mod appends;
mod bindings;
mod checkout;
mod customers;
mod disbursements;
mod external_ids;
mod gateway;
mod idempotency;
mod intents;
mod ledger;
mod lookup;
mod merchants;
mod one_time_tokens;
mod outbox;
mod payments;
mod portal;
mod postgres;
mod query;
mod refunds;
mod sqlite;
mod tx;
mod webhooks;

use thiserror::Error;

pub(crate) use bindings::BindingChange;
pub(crate) use idempotency::Claimed;
pub use ledger::Applied;
pub use lookup::ReadPath;
pub(crate) use payments::{Inserted, Transition};
pub(crate) use portal::StoredUser;
pub use portal::{DailyVolume, LedgerLine};
pub use postgres::PostgresOptions;
pub(crate) use postgres::pool as postgres_pool;
pub use sqlite::SqliteOptions;
pub use tx::{SqliteTx, Tx};

/// Failures of the store itself (not business outcomes).
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database answered with an error or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// SQLite answered the write path's connection with an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Applying the migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL names an engine bayar does not support.
    #[error("unsupported database URL (expected sqlite:... or postgres://...)")]
    UnsupportedUrl,
    /// The command's batch ended before the command ran.
    #[error("the batch was aborted before this command ran")]
    Aborted,
    /// The batch holding this command failed to commit; nothing of it was written.
    #[error("the batch failed: {0}")]
    Batch(std::sync::Arc<StoreError>),
    /// Rows a batch's commands appended (written behind) could not be inserted; nothing of
    /// the batch was written.
    #[error("appended rows could not be written: {0}")]
    AppendsFailed(String),
    /// A row written behind found its key taken (see [`Tx::defer_checks`]): the writer runs
    /// the batch again with each command in a savepoint, so no caller is answered with it.
    #[error("a row written behind found its key taken")]
    Conflict,
    /// The writer is no longer running (the process is shutting down).
    #[error("the writer has stopped")]
    WriterStopped,
    /// A stored value could not be read back into its domain type.
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// The table the row came from.
        table: &'static str,
        /// What was wrong with it.
        reason: String,
    },
}

/// The persistent state of bayar, on SQLite or PostgreSQL.
#[derive(Clone, Debug)]
pub enum Store {
    /// An SQLite file: one write connection for transactions, several readers.
    Sqlite {
        /// The connection every write transaction ([`Tx`]) runs on, one at a time.
        write_path: std::sync::Arc<tokio::sync::Mutex<rusqlite::Connection>>,
        /// A sqlx connection for migrations and one-off writes outside transactions.
        writer: sqlx::SqlitePool,
        /// Read-only connections for scans and reports.
        readers: sqlx::SqlitePool,
        /// Read-only connections for short lookups, run inline ([`Store::lookup`]).
        read_path: std::sync::Arc<ReadPath>,
    },
    /// A PostgreSQL database shared by every bayar process.
    Postgres(sqlx::PgPool),
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Runs `$body` with `$pool` bound to the pool that writes.
macro_rules! on_writer {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite { writer: $pool, .. } => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to a pool for reads (SQLite readers never block the writer).
macro_rules! on_reader {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite { readers: $pool, .. } => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}

pub(crate) use {on_reader, on_writer};

impl StoreError {
    /// Whether this is a lost race with another transaction: PostgreSQL's deadlock (40P01) or
    /// serialization failure (40001). Run again later, the work succeeds or fails on its merits.
    pub(crate) fn is_lost_race(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => {
                matches!(db.code().as_deref(), Some("40P01" | "40001"))
            }
            _ => false,
        }
    }

    /// Whether the database refused an insert because a row with its key exists.
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(db)) => db.is_unique_violation(),
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }
}

impl Store {
    /// Opens the store named by `url` (`sqlite:path` / `sqlite://path` or `postgres://...`),
    /// creating an SQLite file if missing, and applies pending migrations. `durable` makes
    /// every commit wait for fsync; only an operator's explicit opt-out turns it off.
    pub async fn open(url: &str, durable: bool) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            let options = SqliteOptions {
                durable,
                ..SqliteOptions::from_url(url)?
            };
            sqlite::open(options).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PostgresOptions {
                durable,
                ..PostgresOptions::from_url(url)
            };
            postgres::open(options).await
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// Opens an SQLite store with explicit options.
    pub async fn open_sqlite(options: SqliteOptions) -> Result<Store, StoreError> {
        sqlite::open(options).await
    }

    /// Opens a PostgreSQL store with explicit options.
    pub async fn open_postgres(options: PostgresOptions) -> Result<Store, StoreError> {
        postgres::open(options).await
    }

    /// Which engine this store runs on: `"sqlite"` or `"postgres"`.
    pub fn engine(&self) -> &'static str {
        match self {
            Store::Sqlite { .. } => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Answers when the database is reachable (used by `GET /healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_reader!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes every connection, waiting for in-flight queries.
    pub async fn close(&self) {
        match self {
            Store::Sqlite {
                writer,
                readers,
                read_path,
                ..
            } => {
                writer.close().await;
                readers.close().await;
                read_path.close();
            }
            Store::Postgres(pool) => pool.close().await,
        }
    }
}
