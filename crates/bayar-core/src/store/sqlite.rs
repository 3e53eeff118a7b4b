//! Opening the SQLite store: one file, WAL, fsync'd commits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{MIGRATOR, ReadPath, Store, StoreError};

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

/// How long a connection waits for another one's write lock before giving up.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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
        .busy_timeout(BUSY_TIMEOUT)
        // Savepoint journals (one per command of a batch) stay in memory instead of temporary
        // files; they only serve rollbacks inside a transaction, never durability.
        .pragma("temp_store", "MEMORY");
    // SQLite admits one writer at a time. This sqlx connection writes only migrations and
    // one-off rows outside the writer (gateway keys, tools); the write path has its own
    // connection, and each waits out the other's rare overlap (busy timeout).
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
    let write_path = open_write_path(&options)?;
    tokio::spawn(checkpoints(writer.clone()));
    Ok(Store::Sqlite {
        write_path: Arc::new(Mutex::new(write_path)),
        writer,
        readers,
        read_path: Arc::new(ReadPath::new(&options.path)),
    })
}

/// How soon the next background checkpoint runs while commits keep adding to the WAL: at a few
/// thousand payments a second, the WAL passes 1,000 pages every few tens of milliseconds.
const CHECKPOINT_BUSY: Duration = Duration::from_millis(10);

/// How soon it runs once the WAL has not changed since the last one, which copied every frame.
const CHECKPOINT_IDLE: Duration = Duration::from_millis(100);

/// Checkpoints the WAL in the background, on the sqlx writer's connection and thread, until
/// the store closes. A passive checkpoint takes no write lock, so commits go on meanwhile. The
/// write path still checkpoints itself when the WAL passes 1,000 pages (SQLite's default): only
/// a checkpoint right after a commit catches up with every frame, which lets the next commit
/// start the WAL over instead of growing it without bound. Passes every 10 ms under load leave
/// that checkpoint little to copy, so the one writer thread, the limit on the rate of payments,
/// spends its time on commits (measured at 3,000 payments/s: the write path's own checkpoints
/// took 9-12% of its time with passes every 100 ms, 5% with these). Durability is unchanged:
/// every commit fsyncs the WAL.
async fn checkpoints(writer: sqlx::SqlitePool) {
    let mut wait = CHECKPOINT_IDLE;
    let mut last_frames = 0;
    loop {
        tokio::time::sleep(wait).await;
        if writer.is_closed() {
            return;
        }
        // One row: whether the checkpoint was blocked, the frames in the WAL, the frames
        // copied into the database file.
        let pass: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&writer)
            .await;
        wait = match pass {
            Ok((_, frames, copied)) => {
                let idle = frames == last_frames && copied == frames;
                last_frames = frames;
                if idle {
                    CHECKPOINT_IDLE
                } else {
                    CHECKPOINT_BUSY
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                CHECKPOINT_IDLE
            }
        };
    }
}

/// The steps of SQLite's plan for `sql` (`EXPLAIN QUERY PLAN`, on a reader: nothing runs),
/// as SQLite words them, e.g. `SEARCH refunds USING INDEX refunds_by_payment (payment_id=?)`.
#[cfg(test)]
pub(super) async fn query_plan(store: &Store, sql: &str) -> Vec<String> {
    let Store::Sqlite { readers, .. } = store else {
        panic!("query_plan needs an SQLite store");
    };
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(readers)
        .await
        .expect("explain");
    plan.into_iter().map(|(_, _, _, step)| step).collect()
}

/// Statements kept prepared on the write path: every statement of every command fits.
const PREPARED_STATEMENTS: usize = 256;

/// The write path's connection, with the same settings as the sqlx ones: WAL (already set on
/// the file by the sqlx writer), fsync on every commit unless opted out, foreign keys on.
fn open_write_path(options: &SqliteOptions) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open(&options.path)?;
    let synchronous = if options.durable { "FULL" } else { "NORMAL" };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {synchronous};
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;"
    ))?;
    // The sqlx writer may hold the lock for a migration or a one-off write: wait for it.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(PREPARED_STATEMENTS);
    Ok(conn)
}
