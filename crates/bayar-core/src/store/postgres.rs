//! Opening the PostgreSQL store: a pool shared by this process, durable commits.

use std::str::FromStr;

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
    let pool = PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
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
