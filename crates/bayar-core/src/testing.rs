//! Test support shared by the crates' test suites: fresh stores on every engine.
//!
//! Compiled only with the `testing` feature (dev-dependency builds), never into the binary.

use crate::ids::EventId;
use crate::outbox::NewEvent;
use crate::store::{PostgresOptions, SqliteOptions, Store, Tx};

/// A fresh, migrated store on one engine, with what keeps it alive.
pub struct TestStore {
    /// The store.
    pub store: Store,
    /// Which engine: `sqlite` or `postgres`.
    pub engine: &'static str,
    /// For SQLite, the `sqlite:` URL of its file, which the `bayar` CLI can open too.
    pub sqlite_url: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    /// How many rows `table` holds, read as any reader of the store would.
    pub async fn rows(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        crate::store::on_reader!(&self.store, pool => sqlx::query_scalar(&sql).fetch_one(pool).await)
            .expect("counting rows")
    }
}

/// A fresh SQLite store in a temporary directory.
pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("bayar.db");
    let store = Store::open_sqlite(SqliteOptions::new(&path))
        .await
        .expect("open sqlite store");
    TestStore {
        store,
        engine: "sqlite",
        sqlite_url: Some(format!("sqlite:{}", path.display())),
        _dir: Some(dir),
    }
}

/// A fresh PostgreSQL store in its own schema, when `DATABASE_URL` names a PostgreSQL server.
///
/// Without one it says loudly that the PostgreSQL tests did not run, and under `CI=true` it
/// fails instead, so CI can never pass without having run them.
pub async fn postgres() -> Option<TestStore> {
    let url = std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"));
    let Some(url) = url else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but DATABASE_URL is not a postgres:// URL: the PostgreSQL tests must run in CI"
        );
        eprintln!(
            "NOTE: PostgreSQL tests did NOT run: set DATABASE_URL=postgres://... to run them"
        );
        return None;
    };
    let schema = format!("t_{}", ulid::Ulid::new().to_string().to_lowercase());
    drop_stale_schemas(&url).await;
    let store = Store::open_postgres(PostgresOptions {
        schema: Some(schema),
        ..PostgresOptions::from_url(&url)
    })
    .await
    .expect("open postgres store (is DATABASE_URL reachable?)");
    Some(TestStore {
        store,
        engine: "postgres",
        sqlite_url: None,
        _dir: None,
    })
}

/// Every engine available here: SQLite always, PostgreSQL when configured.
pub async fn all() -> Vec<TestStore> {
    let mut stores = vec![sqlite().await];
    stores.extend(postgres().await);
    stores
}

/// A merchant row, written directly, for tests that need only something to point at.
pub async fn merchant_row(store: &Store) -> crate::ids::MerchantId {
    let id = crate::ids::MerchantId::generate();
    let client_id = crate::merchant::ClientId::generate();
    let public_key = bayar_snap::PrivateKey::generate()
        .expect("a key")
        .public_key()
        .to_pem();
    crate::store::on_writer!(store, pool => sqlx::query(
        "INSERT INTO merchants (id, name, client_id, client_secret, public_key_pem, notify_url,
                                created_at)
         VALUES ($1, 'Toko Test', $2, 'SK-test', $3, NULL, 0)",
    )
    .bind(id.to_string())
    .bind(client_id.as_str())
    .bind(public_key)
    .execute(pool)
    .await
    .map(|_| ()))
    .expect("insert a merchant row");
    id
}

/// Writes `event` to the outbox in a transaction of its own, due now (commands write theirs
/// inside their own transactions; tests of the notification worker need events alone).
pub async fn insert_event(store: &Store, event: &NewEvent) -> EventId {
    let mut tx = Tx::begin(store).await.expect("begin a transaction");
    let id = tx.insert_event(event, chrono::Utc::now());
    tx.commit().await.expect("commit the event");
    id
}

/// Another handle (its own pool) on the same PostgreSQL database and schema as `store`, as a
/// second bayar process would have; `None` for SQLite, which has one process by design.
pub async fn another_postgres_handle(store: &Store) -> Option<Store> {
    let Store::Postgres(pool) = store else {
        return None;
    };
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL names the test server");
    let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(pool)
        .await
        .expect("read the test schema");
    let other = Store::open_postgres(PostgresOptions {
        schema: Some(schema),
        ..PostgresOptions::from_url(&url)
    })
    .await
    .expect("open a second handle on the test schema");
    Some(other)
}

/// Drops test schemas left by runs more than an hour old (their names carry a ULID, whose
/// first characters are its creation time), so the test database does not grow without bound.
async fn drop_stale_schemas(url: &str) {
    let Ok(pool) = sqlx::PgPool::connect(url).await else {
        return;
    };
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%'")
            .fetch_all(&pool)
            .await
            .unwrap_or_default();
    let cutoff = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for name in names {
        let stale = name
            .strip_prefix("t_")
            .and_then(|u| ulid::Ulid::from_string(&u.to_uppercase()).ok())
            .is_some_and(|u| u.datetime() < cutoff);
        if stale {
            // Another run may drop it at the same moment; either way it is gone.
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                .execute(&pool)
                .await;
        }
    }
    pool.close().await;
}

/// Runs `commands` in one batch, as the writer runs commands that arrive together, with the
/// default fees; returns each one's answer.
pub async fn run_as_one_batch<C: crate::writer::Command>(
    store: &Store,
    commands: Vec<C>,
) -> Vec<Result<C::Output, crate::CoreError>> {
    crate::writer::run_as_one_batch(store, &crate::writer::Context::default(), commands).await
}

/// Applies a raw ledger transfer: lets tests exercise the ledger's own rules directly.
#[derive(Clone, Debug)]
pub struct ApplyTransfer(pub crate::ledger::Transfer);

impl crate::writer::Command for ApplyTransfer {
    type Output = crate::store::Applied;

    fn execute<'t>(
        &'t self,
        tx: &'t mut crate::store::Tx,
        ctx: &'t crate::writer::Context,
    ) -> futures_util::future::BoxFuture<'t, Result<Self::Output, crate::CoreError>> {
        Box::pin(tx.apply_transfer(&self.0, ctx.now()))
    }
}

/// Runs a command fully, then fails: an error injected after every write, which must leave
/// no trace of the command.
#[derive(Clone, Debug)]
pub struct FailAfter<C>(pub C);

impl<C: crate::writer::Command> crate::writer::Command for FailAfter<C> {
    type Output = ();

    fn execute<'t>(
        &'t self,
        tx: &'t mut crate::store::Tx,
        ctx: &'t crate::writer::Context,
    ) -> futures_util::future::BoxFuture<'t, Result<(), crate::CoreError>> {
        Box::pin(async move {
            self.0.execute(tx, ctx).await?;
            Err(crate::CoreError::Store(crate::store::StoreError::Aborted))
        })
    }
}
