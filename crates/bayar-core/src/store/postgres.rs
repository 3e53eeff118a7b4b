//! Opening the PostgreSQL store: a pool shared by this process, durable commits.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{MIGRATOR, Store, StoreError};

/// How to open a PostgreSQL store.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// `postgres://user@host:port/db`.
    pub url: String,
    /// A schema to use (created if missing) instead of `public`; tests use one per test.
    pub schema: Option<String>,
    /// `synchronous_commit=on` unless the operator opts out.
    pub durable: bool,
    /// Pool size.
    pub max_connections: u32,
}

impl PostgresOptions {
    /// Durable options for `url`, default schema.
    pub fn from_url(url: &str) -> Self {
        Self {
            url: url.to_string(),
            schema: None,
            durable: true,
            max_connections: 16,
        }
    }
}

/// A pooled connection idle this long is pinged before it is handed out: the server, or
/// something on the way, may have dropped it meanwhile.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// The settings of every PostgreSQL pool of bayar (readers and writers): at most
/// `max_connections`, and a connection pinged before use only once it has sat idle for
/// `ping_after_idle`. sqlx's default pings on every acquire (sqlx#1743): a round trip, and a
/// wake-up of both processes, in front of every read and every write batch, for connections
/// whose last statement ran a moment ago.
pub(crate) fn pool_options(max_connections: u32, ping_after_idle: Duration) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= ping_after_idle {
                    // An error discards this connection; the pool hands out another one.
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// [`pool_options`] with bayar's idle time before a ping.
pub(crate) fn pool(max_connections: u32) -> PgPoolOptions {
    pool_options(max_connections, PING_AFTER_IDLE)
}

pub(super) async fn open(options: PostgresOptions) -> Result<Store, StoreError> {
    let mut connect = PgConnectOptions::from_str(&options.url)?;
    let synchronous_commit = if options.durable { "on" } else { "off" };
    connect = connect.options([("synchronous_commit", synchronous_commit)]);
    if let Some(schema) = &options.schema {
        if !schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(StoreError::UnsupportedUrl);
        }
        let bootstrap = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(connect.clone())
            .await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&bootstrap)
            .await?;
        bootstrap.close().await;
        connect = connect.options([("search_path", schema.as_str())]);
    }
    let pool = self::pool(options.max_connections)
        .connect_with(connect)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(Store::Postgres(pool))
}

/// The plan PostgreSQL settles on for `sql` as a prepared statement once it stops planning
/// per call (the generic plan), made from the statistics the tables have now; `args` are the
/// values to explain it with, as SQL literals. Every later execution on a connection runs
/// that plan until the next ANALYZE, however much the tables grow meanwhile.
#[cfg(test)]
pub(super) async fn generic_plan(store: &Store, sql: &str, args: &str) -> String {
    use sqlx::Executor;
    let Store::Postgres(pool) = store else {
        panic!("generic_plan needs a PostgreSQL store");
    };
    let mut conn = pool.acquire().await.expect("a connection");
    conn.execute("SET plan_cache_mode = force_generic_plan")
        .await
        .expect("set plan_cache_mode");
    conn.execute(format!("PREPARE probe AS {sql}").as_str())
        .await
        .expect("prepare the probe");
    let rows: Vec<(String,)> = sqlx::query_as(&format!("EXPLAIN EXECUTE probe({args})"))
        .fetch_all(&mut *conn)
        .await
        .expect("explain the probe");
    conn.execute("DEALLOCATE probe; RESET plan_cache_mode")
        .await
        .expect("deallocate the probe");
    rows.into_iter().map(|(line,)| line + "\n").collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::pool_options;
    use crate::store::Store;
    use crate::testing;

    /// Not pinging busy connections must not hand out broken ones: a connection the server
    /// dropped while it sat idle is checked, found dead and replaced before use.
    #[tokio::test]
    async fn an_idle_connection_the_server_dropped_is_replaced_before_use() {
        let Some(t) = testing::postgres().await else {
            return;
        };
        let Store::Postgres(shared) = &t.store else {
            panic!("a PostgreSQL test store");
        };
        let idle = Duration::from_millis(50);
        let pool = pool_options(1, idle)
            .connect_with((*shared.connect_options()).clone())
            .await
            .unwrap();
        let backend = "SELECT pg_backend_pid()";
        let before: i32 = sqlx::query_scalar(backend).fetch_one(&pool).await.unwrap();
        let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(before)
            .fetch_one(shared)
            .await
            .unwrap();
        assert!(ended, "the test could end the pooled connection's backend");
        tokio::time::sleep(idle * 4).await;
        let after: i32 = sqlx::query_scalar(backend)
            .fetch_one(&pool)
            .await
            .expect("a live connection in place of the dropped one");
        assert_ne!(after, before);
    }
}
