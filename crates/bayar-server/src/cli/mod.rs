//! The `bayar` command line: one file per command group.
//!
//! `serve` runs the gateway; `merchant`, `customer`, `ledger`, `keys`, `otp` and `admin` are
//! the operator's tools on the same store (`--database-url`).

mod admin;
mod customer;
mod keys;
mod ledger;
mod merchant;
mod otp;
mod serve;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{ServeArgs, StoreArgs};
use crate::notify::NotifyArgs;

/// bayar: a self-hostable SNAP payment gateway.
#[derive(Parser, Debug)]
#[command(name = "bayar", version, about)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,

    /// Log format on stderr.
    #[arg(long, env = "BAYAR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the gateway.
    Serve {
        #[command(flatten)]
        args: ServeArgs,
        #[command(flatten)]
        notify: NotifyArgs,
    },
    /// Manage merchants.
    #[command(subcommand)]
    Merchant(merchant::MerchantCommand),
    /// Manage customers of the built-in rails (wallet users, bank accounts).
    #[command(subcommand)]
    Customer(customer::CustomerCommand),
    /// Inspect the ledger.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// The gateway's own keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Sandbox one-time passwords (no SMS is sent).
    #[command(subcommand)]
    Otp(otp::OtpCommand),
    /// Merchant portal accounts (operators, merchants' staff).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BAYAR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(cli: Cli) -> Result<()> {
    let core = cli.store.open_core().await.context("opening the store")?;
    match cli.command {
        Command::Serve { args, notify } => serve::run(core, args, notify).await,
        Command::Merchant(command) => merchant::run(&core, command).await,
        Command::Customer(command) => customer::run(&core, command).await,
        Command::Ledger(command) => ledger::run(&core, command).await,
        Command::Keys(command) => keys::run(&core, command),
        Command::Otp(command) => otp::run(&core, command).await,
        Command::Admin(command) => admin::run(&core, command).await,
    }
}

/// Prints `value` as pretty JSON on stdout.
fn print_json(value: &serde_json::Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
