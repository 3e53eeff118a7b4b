//! `bayar admin`: portal accounts created by the gateway's operator.
//!
//! A portal user is either an operator (sees every merchant) or staff of one merchant. People
//! who sign up on the portal get a new merchant of their own; `admin create --merchant` is how
//! further staff join an existing merchant, and how an operator account comes to exist at all.

use anyhow::{Result, bail};
use bayar_core::Core;
use bayar_core::ids::MerchantId;
use bayar_core::merchant::ClientId;
use bayar_core::portal::{Email, Password, Role};
use clap::Subcommand;

/// `bayar admin ...`
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a portal user: an operator, or with `--merchant` staff of that merchant.
    Create {
        /// The login email.
        #[arg(long)]
        email: String,
        /// The password (10 to 128 characters); prefer the environment variable, which
        /// stays out of the shell history and the process list.
        #[arg(long, env = "BAYAR_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// Link the user to this merchant (its `mch_` id or client id) instead of making an
        /// operator.
        #[arg(long)]
        merchant: Option<String>,
    },
}

/// Runs an `admin` command.
pub async fn run(core: &Core, command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::Create {
            email,
            password,
            merchant,
        } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let password =
                Password::parse(&password).map_err(|e| anyhow::anyhow!("--password: {e}"))?;
            let role = match merchant {
                None => Role::Operator,
                Some(named) => Role::Merchant(merchant_id(core, &named).await?),
            };
            let user = core.create_portal_user(email, password, role).await?;
            match user.role {
                Role::Operator => {
                    println!("operator {} created ({})", user.email.as_str(), user.id)
                }
                Role::Merchant(id) => println!(
                    "user {} of merchant {id} created ({})",
                    user.email.as_str(),
                    user.id
                ),
            }
            Ok(())
        }
    }
}

/// The merchant named by its `mch_` id or its client id.
async fn merchant_id(core: &Core, named: &str) -> Result<MerchantId> {
    let found = match (named.parse::<MerchantId>(), ClientId::parse(named)) {
        (Ok(id), _) => core.store().merchant_by_id(&id).await?,
        (_, Ok(client_id)) => core.merchant_by_client_id(&client_id).await?,
        _ => None,
    };
    match found {
        Some(merchant) => Ok(merchant.id),
        None => bail!("--merchant: no merchant {named}"),
    }
}
