//! Configuration: flags, with every one also settable from the environment.

use std::net::SocketAddr;
use std::time::Duration;

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

    /// How long, in microseconds, a small batch of writes waits for company when writes come
    /// at least that often (0: never waits). Longer means fewer commits (fsyncs) per payment
    /// under load, at that much more latency.
    #[arg(long, env = "BAYAR_WRITE_LINGER_US", default_value_t = micros(WriterConfig::default().linger), global = true)]
    pub write_linger_us: u64,
}

/// A span in whole microseconds, saturating.
fn micros(span: Duration) -> u64 {
    u64::try_from(span.as_micros()).unwrap_or(u64::MAX)
}

impl StoreArgs {
    /// Opens the store (applying migrations) and starts the core on it.
    pub async fn open_core(&self) -> Result<Core, CoreError> {
        let durable = !self.unsafe_no_fsync;
        if !durable {
            tracing::warn!("durability is OFF: acknowledged writes may be lost on a crash");
        }
        let store = Store::open(&self.database_url, durable).await?;
        Core::start(store, self.core_config()).await
    }

    /// The core's settings these flags choose.
    fn core_config(&self) -> CoreConfig {
        let mut config = CoreConfig::default();
        config.writer.max_queued = self.max_queued_writes;
        config.writer.linger = Duration::from_micros(self.write_linger_us);
        config
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        store: StoreArgs,
    }

    fn writer_config(args: &[&str]) -> WriterConfig {
        let flags = Flags::try_parse_from(std::iter::once("bayar").chain(args.iter().copied()))
            .expect("flags parse");
        flags.store.core_config().writer
    }

    #[test]
    fn writer_flags_reach_the_writer_and_default_to_its_own_defaults() {
        let defaults = WriterConfig::default();
        let unset = writer_config(&[]);
        assert_eq!(unset.linger, defaults.linger);
        assert_eq!(unset.max_queued, defaults.max_queued);

        let set = writer_config(&["--write-linger-us", "2000", "--max-queued-writes", "7"]);
        assert_eq!(set.linger, Duration::from_millis(2));
        assert_eq!(set.max_queued, 7);
        assert!(writer_config(&["--write-linger-us", "0"]).linger.is_zero());
    }
}
