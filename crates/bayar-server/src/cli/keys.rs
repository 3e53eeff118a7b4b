//! `bayar keys`: the gateway's own keys.

use anyhow::Result;
use bayar_core::Core;
use clap::Subcommand;

/// `bayar keys ...`
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Print the gateway's public key (PEM), which merchants use to verify bayar's signatures.
    Show,
}

/// Runs a `keys` command.
pub fn run(core: &Core, command: KeysCommand) -> Result<()> {
    match command {
        KeysCommand::Show => print!("{}", core.gateway_public_key().to_pem()),
    }
    Ok(())
}
