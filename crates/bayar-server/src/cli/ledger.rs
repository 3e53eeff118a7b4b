//! `bayar ledger`: checking the books.

use anyhow::{Result, bail};
use bayar_core::Core;
use clap::Subcommand;

/// `bayar ledger ...`
#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Check every invariant: balances sum to zero, each balance is the sum of its entries,
    /// holds match, no forbidden negative. Exits non-zero naming each breach.
    Verify,
}

/// Runs a `ledger` command.
pub async fn run(core: &Core, command: LedgerCommand) -> Result<()> {
    match command {
        LedgerCommand::Verify => {
            let breaches = core.verify_ledger().await?;
            if breaches.is_empty() {
                println!("ledger ok");
                return Ok(());
            }
            for breach in &breaches {
                println!("BREACH {breach}");
            }
            bail!("ledger verify found {} breach(es)", breaches.len());
        }
    }
}
