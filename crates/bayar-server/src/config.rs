//! Configuration: flags, with every one also settable from the environment.

use std::net::SocketAddr;

use bayar_core::store::Store;
use bayar_core::writer::WriterConfig;
use bayar_core::{Core, CoreConfig, CoreError};
use clap::Args;

/// Where the data lives and how it is written; shared by every command.
#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// `sqlite:PATH` (created on first run) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite:bayar.db",
        global = true
    )]
    pub database_url: String,

    /// Acknowledge writes before they are fsync'd (SQLite `synchronous=NORMAL`, PostgreSQL
    /// `synchronous_commit=off`). Faster; a crash may lose acknowledged payments.
    #[arg(long, env = "BAYAR_UNSAFE_NO_FSYNC", global = true)]
    pub unsafe_no_fsync: bool,

    /// Most writes (payments, refunds, bindings...) waiting to commit at once. Beyond it
    /// requests are answered at once with HTTP 429 (SNAP `429xx00`, Stripe `rate_limit`),
    /// nothing done, instead of queueing without bound.
    #[arg(long, env = "BAYAR_MAX_QUEUED_WRITES", default_value_t = WriterConfig::default().max_queued, global = true)]
    pub max_queued_writes: usize,
}

impl StoreArgs {
    /// Opens the store (applying migrations) and starts the core on it.
    pub async fn open_core(&self) -> Result<Core, CoreError> {
        let durable = !self.unsafe_no_fsync;
        if !durable {
            tracing::warn!("durability is OFF: acknowledged writes may be lost on a crash");
        }
        let store = Store::open(&self.database_url, durable).await?;
        let mut config = CoreConfig::default();
        config.writer.max_queued = self.max_queued_writes;
        Core::start(store, config).await
    }
}

/// `bayar serve` settings.
#[derive(Args, Clone, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BAYAR_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Allowed distance between a request's X-TIMESTAMP and bayar's clock, in seconds.
    #[arg(long, env = "BAYAR_CLOCK_SKEW_SECS", default_value_t = 300)]
    pub clock_skew_secs: i64,

    /// The address customers' browsers reach bayar at, for the hosted pages' URLs
    /// (default: http://<listen>).
    #[arg(long, env = "BAYAR_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Turn off the sandbox magic values (DANA's phone numbers and amounts that force a
    /// documented outcome). `BAYAR_SANDBOX=false` does the same.
    #[arg(long = "no-sandbox", env = "BAYAR_SANDBOX", action = clap::ArgAction::SetFalse)]
    pub sandbox: bool,

    /// How often to expire payments past their deadline, in milliseconds.
    #[arg(long, env = "BAYAR_EXPIRY_SWEEP_MS", default_value_t = 1000)]
    pub expiry_sweep_ms: u64,
}
