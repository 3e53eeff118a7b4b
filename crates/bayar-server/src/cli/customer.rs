//! `bayar customer`: wallet users and bank accounts of the built-in rails.

use anyhow::{Result, bail};
use bayar_core::commands::SetCustomerStatus;
use bayar_core::customer::{Customer, CustomerStatus, PhoneNumber, Pin, Rail};
use bayar_core::ledger::AccountId;
use bayar_core::{Core, NewCustomer};
use bayar_snap::Money;
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use super::print_json;

/// Which rail, as typed on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RailArg {
    /// The DANA-like e-wallet.
    Wallet,
    /// The Allo-like bank.
    Bank,
}

impl From<RailArg> for Rail {
    fn from(rail: RailArg) -> Rail {
        match rail {
            RailArg::Wallet => Rail::Wallet,
            RailArg::Bank => Rail::Bank,
        }
    }
}

/// `bayar customer ...`
#[derive(Subcommand, Debug)]
pub enum CustomerCommand {
    /// Open a customer with an opening balance funded through the ledger.
    Create {
        /// The rail.
        #[arg(long, value_enum)]
        rail: RailArg,
        /// Indonesian mobile number (08..., 628... or +628...).
        #[arg(long)]
        phone: String,
        /// Six-digit PIN (stored as an argon2 hash).
        #[arg(long)]
        pin: String,
        /// Opening balance, e.g. 500000.00.
        #[arg(long, default_value = "0.00")]
        balance: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a customer and their balance.
    Show {
        /// The rail.
        #[arg(long, value_enum)]
        rail: RailArg,
        /// Their phone number.
        #[arg(long)]
        phone: String,
    },
    /// Freeze a customer's account: every payment from it is refused.
    Freeze {
        /// The rail.
        #[arg(long, value_enum)]
        rail: RailArg,
        /// Their phone number.
        #[arg(long)]
        phone: String,
    },
    /// Unfreeze a customer's account.
    Unfreeze {
        /// The rail.
        #[arg(long, value_enum)]
        rail: RailArg,
        /// Their phone number.
        #[arg(long)]
        phone: String,
    },
}

/// Runs a `customer` command.
pub async fn run(core: &Core, command: CustomerCommand) -> Result<()> {
    match command {
        CustomerCommand::Create {
            rail,
            phone,
            pin,
            balance,
            json,
        } => {
            let customer = core
                .create_customer(NewCustomer {
                    rail: rail.into(),
                    phone: PhoneNumber::parse(&phone)?,
                    pin: Pin::parse(&pin)?,
                    opening_balance: Money::parse(&balance)
                        .map_err(|e| anyhow::anyhow!("--balance: {e}"))?,
                })
                .await?;
            let shown = describe(core, &customer).await?;
            if json {
                print_json(&shown)?;
            } else {
                println!(
                    "{} {} {} balance {}",
                    customer.id,
                    customer.rail.as_str(),
                    customer.phone,
                    shown["balance"].as_str().unwrap_or_default()
                );
            }
        }
        CustomerCommand::Show { rail, phone } => {
            let customer = find(core, rail, &phone).await?;
            print_json(&describe(core, &customer).await?)?;
        }
        CustomerCommand::Freeze { rail, phone } => {
            set_status(core, rail, &phone, CustomerStatus::Frozen).await?;
        }
        CustomerCommand::Unfreeze { rail, phone } => {
            set_status(core, rail, &phone, CustomerStatus::Active).await?;
        }
    }
    Ok(())
}

async fn find(core: &Core, rail: RailArg, phone: &str) -> Result<Customer> {
    let phone = PhoneNumber::parse(phone)?;
    match core.store().customer_by_phone(rail.into(), &phone).await? {
        Some(customer) => Ok(customer),
        None => bail!(
            "no {} customer with phone {phone}",
            Rail::from(rail).as_str()
        ),
    }
}

async fn set_status(core: &Core, rail: RailArg, phone: &str, status: CustomerStatus) -> Result<()> {
    let customer = find(core, rail, phone).await?;
    core.run(SetCustomerStatus {
        customer_id: customer.id,
        status,
    })
    .await?;
    println!("{} {}", customer.id, status.as_str());
    Ok(())
}

async fn describe(core: &Core, customer: &Customer) -> Result<serde_json::Value> {
    let balance = core
        .balance(&AccountId::customer(&customer.id))
        .await?
        .map(|b| b.available())
        .unwrap_or(0);
    Ok(json!({
        "customer_id": customer.id.to_string(),
        "rail": customer.rail.as_str(),
        "phone": customer.phone.as_str(),
        "account_number": customer.account_number,
        "status": customer.status.as_str(),
        "balance": Money::from_minor(balance).map(|m| m.to_string()).unwrap_or_default(),
    }))
}
