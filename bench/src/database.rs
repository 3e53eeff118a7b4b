//! A fresh database per run (an SQLite file in a temporary directory, or a new PostgreSQL
//! database on the server named by `DATABASE_URL`), and the read-only queries of the
//! correctness checks.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use sqlx::Connection;

/// The engine a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// An SQLite file (bayar's default).
    Sqlite,
    /// PostgreSQL, from `DATABASE_URL`.
    Postgres,
}

impl Engine {
    /// `"sqlite"` or `"postgres"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// A database created for one run; [`FreshDatabase::drop_database`] removes it.
#[derive(Debug)]
pub struct FreshDatabase {
    /// The URL bayar is given (`sqlite:/tmp/.../bench.db` or `postgres://.../bench_<id>`).
    pub url: String,
    /// The engine.
    pub engine: Engine,
    /// For PostgreSQL: the administrative URL used to create and drop the database, and its name.
    admin: Option<(String, String)>,
    /// For SQLite: the directory holding the file (removed when dropped).
    _dir: Option<tempfile::TempDir>,
}

impl FreshDatabase {
    /// Creates an empty database. For PostgreSQL, `admin_url` is any database on the server
    /// (usually `DATABASE_URL`); the new one is `bench_<random>` on the same server.
    pub async fn create(engine: Engine, admin_url: Option<&str>) -> Result<FreshDatabase> {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("bayar-bench-")
                    .tempdir()
                    .context("creating a temporary directory for the SQLite file")?;
                let path: PathBuf = dir.path().join("bench.db");
                Ok(FreshDatabase {
                    url: format!("sqlite:{}", path.display()),
                    engine,
                    admin: None,
                    _dir: Some(dir),
                })
            }
            Engine::Postgres => {
                let Some(admin) = admin_url.filter(|u| u.starts_with("postgres")) else {
                    bail!(
                        "--engine postgres needs DATABASE_URL=postgres://... (any database on the server)"
                    );
                };
                let name = format!("bench_{}", ulid::Ulid::new().to_string().to_lowercase());
                let mut conn = sqlx::PgConnection::connect(admin)
                    .await
                    .with_context(|| "connecting to DATABASE_URL")?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .with_context(|| format!("CREATE DATABASE {name}"))?;
                conn.close().await.ok();
                let mut url = url::Url::parse(admin).context("parsing DATABASE_URL")?;
                url.set_path(&format!("/{name}"));
                Ok(FreshDatabase {
                    url: url.to_string(),
                    engine,
                    admin: Some((admin.to_string(), name)),
                    _dir: None,
                })
            }
        }
    }

    /// Removes the database (PostgreSQL: `DROP DATABASE ... WITH (FORCE)`); the SQLite
    /// directory goes when `self` is dropped.
    pub async fn drop_database(self) -> Result<()> {
        if let Some((admin, name)) = &self.admin {
            let mut conn = sqlx::PgConnection::connect(admin).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .with_context(|| format!("DROP DATABASE {name}"))?;
            conn.close().await.ok();
        }
        Ok(())
    }

    /// Opens a connection for the checks (run only while no bayar writes, or read-only).
    pub async fn inspect(&self) -> Result<Inspector> {
        Ok(match self.engine {
            Engine::Sqlite => Inspector::Sqlite(
                sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .context("opening the SQLite file")?,
            ),
            Engine::Postgres => Inspector::Postgres(
                sqlx::PgConnection::connect(&self.url)
                    .await
                    .context("connecting to the bench database")?,
            ),
        })
    }
}

/// A plain connection for counting rows.
pub enum Inspector {
    /// SQLite.
    Sqlite(sqlx::SqliteConnection),
    /// PostgreSQL.
    Postgres(sqlx::PgConnection),
}

impl Inspector {
    /// Runs a query returning one integer (e.g. `SELECT COUNT(*) ...`).
    pub async fn count(&mut self, sql: &str) -> Result<i64> {
        match self {
            Inspector::Sqlite(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await,
            Inspector::Postgres(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await,
        }
        .with_context(|| format!("running `{sql}`"))
    }

    /// Closes the connection.
    pub async fn close(self) {
        match self {
            Inspector::Sqlite(c) => {
                c.close().await.ok();
            }
            Inspector::Postgres(c) => {
                c.close().await.ok();
            }
        }
    }
}
