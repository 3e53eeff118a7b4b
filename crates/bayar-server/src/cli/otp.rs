//! `bayar otp`: the sandbox's SMS inbox. A real bank texts the account-binding OTP to the
//! customer's phone; bayar sends no SMS, so scripts and people read it here (or on the binding
//! page itself).

use anyhow::{Result, bail};
use bayar_core::Core;
use bayar_core::customer::PhoneNumber;
use chrono::Utc;
use clap::Subcommand;

/// `bayar otp ...`
#[derive(Subcommand, Debug)]
pub enum OtpCommand {
    /// Print the OTP of the newest account binding waiting for its OTP for a bank customer.
    ///
    /// Prints only the code on stdout (for scripts); the binding it belongs to goes to stderr.
    Show {
        /// The bank customer's phone number (08..., 628... or +628...).
        #[arg(long)]
        phone: String,
    },
}

/// Runs an `otp` command.
pub async fn run(core: &Core, command: OtpCommand) -> Result<()> {
    match command {
        OtpCommand::Show { phone } => {
            let phone = PhoneNumber::parse(&phone)?;
            let Some(binding) = core.store().pending_binding_for_phone(&phone).await? else {
                bail!("no account binding is waiting for an OTP for bank customer {phone}");
            };
            let expiry = if binding.otp_expires_at <= Utc::now() {
                "expired at"
            } else {
                "expires at"
            };
            eprintln!(
                "binding {} {expiry} {}",
                binding.id,
                bayar_snap::time::format_jakarta(binding.otp_expires_at)
            );
            println!("{}", binding.otp.expose());
        }
    }
    Ok(())
}
