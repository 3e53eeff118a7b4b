//! `bayar merchant`: provisioning merchants and their disbursement deposit.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use bayar_core::Core;
use bayar_core::commands::FundDeposit;
use bayar_core::ledger::AccountId;
use bayar_core::merchant::{ClientId, MerchantName, NewMerchant, NotifyUrl};
use bayar_snap::{Money, PublicKey};
use clap::Subcommand;
use serde_json::json;

use super::print_json;

/// `bayar merchant ...`
#[derive(Subcommand, Debug)]
pub enum MerchantCommand {
    /// Create a merchant with fresh credentials (the secret and any generated private key are
    /// shown once).
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Where bayar posts notifications.
        #[arg(long)]
        notify_url: Option<String>,
        /// The merchant's RSA public key (PEM file); without it bayar generates a pair.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List merchants (no secrets).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fund a merchant's disbursement deposit (DANA's "MDA"), which top-ups draw on; the
    /// money comes from the world account through the ledger. `deposit` is the old name.
    #[command(alias = "deposit")]
    Fund {
        /// The merchant's client id (`--merchant` is accepted too).
        #[arg(long, alias = "merchant")]
        client_id: String,
        /// Amount, e.g. 1000000.00.
        #[arg(long)]
        amount: String,
    },
}

/// Runs a `merchant` command.
pub async fn run(core: &Core, command: MerchantCommand) -> Result<()> {
    match command {
        MerchantCommand::Create {
            name,
            notify_url,
            public_key,
            json,
        } => create(core, name, notify_url, public_key, json).await,
        MerchantCommand::List { json } => list(core, json).await,
        MerchantCommand::Fund { client_id, amount } => {
            let client_id = ClientId::parse(&client_id)?;
            let Some(merchant) = core.merchant_by_client_id(&client_id).await? else {
                bail!("no merchant with client id {client_id}");
            };
            let amount = Money::parse(&amount).map_err(|e| anyhow::anyhow!("--amount: {e}"))?;
            core.run(FundDeposit {
                merchant_id: merchant.id,
                amount,
                reference: ulid::Ulid::new().to_string(),
            })
            .await?;
            let balance = core
                .balance(&AccountId::merchant_deposit(&merchant.id))
                .await?
                .map(|b| b.available())
                .unwrap_or(0);
            println!(
                "deposit of {} is now {}",
                merchant.id,
                Money::from_minor(balance)
                    .map(|m| m.to_string())
                    .unwrap_or_default()
            );
            Ok(())
        }
    }
}

async fn create(
    core: &Core,
    name: String,
    notify_url: Option<String>,
    public_key: Option<PathBuf>,
    json: bool,
) -> Result<()> {
    let public_key = match public_key {
        Some(path) => {
            let pem = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(PublicKey::from_pem(&pem).context("the public key file")?)
        }
        None => None,
    };
    let new = NewMerchant {
        name: MerchantName::parse(&name)?,
        notify_url: notify_url.as_deref().map(NotifyUrl::parse).transpose()?,
        public_key,
    };
    let created = core.create_merchant(new).await?;
    let m = &created.merchant;
    let gateway_key = core.gateway_public_key().to_pem();
    if json {
        let mut out = json!({
            "merchant_id": m.id.to_string(),
            "name": m.name.as_str(),
            "client_id": m.client_id.as_str(),
            "client_secret": m.client_secret.expose(),
            "secret_key": created.secret_key.expose(),
            "notify_url": m.notify_url.as_ref().map(NotifyUrl::as_str),
            "gateway_public_key_pem": gateway_key,
        });
        if let Some(private) = &created.private_key_pem {
            out["private_key_pem"] = json!(private.expose());
        }
        print_json(&out)
    } else {
        println!("merchant_id:   {}", m.id);
        println!("client_id:     {}", m.client_id);
        println!("client_secret: {} (shown once)", m.client_secret.expose());
        println!(
            "secret_key:    {} (shown once)",
            created.secret_key.expose()
        );
        if let Some(private) = &created.private_key_pem {
            println!("private key (shown once):\n{}", private.expose());
        }
        println!("gateway public key:\n{gateway_key}");
        Ok(())
    }
}

async fn list(core: &Core, json: bool) -> Result<()> {
    let merchants = core.merchants().await?;
    if json {
        let list: Vec<_> = merchants
            .iter()
            .map(|m| {
                json!({
                    "merchant_id": m.id.to_string(),
                    "name": m.name.as_str(),
                    "client_id": m.client_id.as_str(),
                    "notify_url": m.notify_url.as_ref().map(NotifyUrl::as_str),
                    "created_at": bayar_snap::time::format_jakarta(m.created_at),
                })
            })
            .collect();
        print_json(&serde_json::Value::Array(list))
    } else {
        for m in &merchants {
            println!("{}  {}  {}", m.id, m.client_id, m.name.as_str());
        }
        Ok(())
    }
}
