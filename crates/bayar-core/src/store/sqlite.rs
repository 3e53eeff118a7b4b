//! Opening the SQLite store: one file, WAL, fsync'd commits.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{MIGRATOR, Store, StoreError};

/// How to open an SQLite store.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// The database file; created on first run.
    pub path: PathBuf,
    /// `synchronous=FULL` (fsync on every commit) unless the operator opts out.
    pub durable: bool,
    /// How many read-only connections to keep.
    pub readers: u32,
}

impl SqliteOptions {
    /// Durable options for the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            durable: true,
            readers: 4,
        }
    }

    /// Parses `sqlite:path`, `sqlite://path` or `sqlite:///abs/path` (query strings ignored).
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or(StoreError::UnsupportedUrl)?;
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(StoreError::UnsupportedUrl);
        }
        Ok(Self::new(path))
    }
}

pub(super) async fn open(options: SqliteOptions) -> Result<Store, StoreError> {
    let synchronous = if options.durable {
        SqliteSynchronous::Full
    } else {
        SqliteSynchronous::Normal
    };
    let connect = SqliteConnectOptions::new()
        .filename(&options.path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        // Savepoint journals (one per command of a batch) stay in memory instead of temporary
        // files; they only serve rollbacks inside a transaction, never durability.
        .pragma("temp_store", "MEMORY");
    // SQLite admits one writer at a time; a single writer connection queues writes in the
    // process instead of bouncing them off SQLITE_BUSY.
    // An in-process connection cannot go stale: no ping (a round trip to its thread) on
    // every acquire.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .test_before_acquire(false)
        .connect_with(connect.clone())
        .await?;
    MIGRATOR.run(&writer).await?;
    let readers = SqlitePoolOptions::new()
        .max_connections(options.readers.max(1))
        .test_before_acquire(false)
        .connect_with(connect.read_only(true))
        .await?;
    Ok(Store::Sqlite { writer, readers })
}
