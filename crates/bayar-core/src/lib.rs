//! bayar's core: everything that decides, nothing that speaks HTTP.
//!
//! Faces (DOKU, DANA, Stripe-style) translate wire requests into calls on [`Core`]; the core
//! checks them against the domain rules and persists the outcome through the [`store::Store`].
//! It knows nothing of JSON field names or SNAP codes: it returns typed results and
//! [`CoreError`]s that each face maps to its own dialect.
//!
//! Layout:
//! - [`api_key`]: secret API keys (`sk_test_...`) of the Stripe-style API, kept hashed.
//! - [`intent`]: payment intents (`pi_...`) that confirm into payments, and list pages.
//! - [`checkout`]: checkout sessions (`cs_...`) with line items, paid through an intent.
//! - [`ids`]: typed, prefixed, sortable identifiers (`mch_...`, `pay_...`).
//! - [`secret`]: [`secret::Secret`], a wrapper that never prints what it holds.
//! - [`merchant`]: merchants, their credentials and keys.
//! - [`gateway`]: the gateway's own key material (RSA key pair, token key).
//! - [`token`]: B2B access tokens (stateless, MAC'd with the gateway token key).
//! - [`binding`]: account bindings (OTP, PIN, auth codes) that let merchants debit a bank account.
//! - [`customer`]: customers of the built-in rails (wallet users, bank accounts), PINs.
//! - [`payment`]: payments, refunds, disbursements, channels and their rules, fees.
//! - [`ledger`]: the double-entry ledger's rules (accounts, transfers, holds, invariants).
//! - [`commands`]: every state change, as plain data run by the writer.
//! - [`writer`]: group commit: commands batched into one durable transaction.
//! - [`idempotency`]: run-once keys with stored responses.
//! - [`webhook`]: webhook endpoints (`we_...`) of the Stripe-style API.
//! - [`store`]: the one [`store::Store`], over SQLite (default) or PostgreSQL, with migrations.
//! - [`portal`]: the merchant portal's users, sessions, and what they may see and do.
//! - [`core`]: [`Core`], the entry point every face calls.

pub mod api_key;
mod api_log;
pub mod binding;
pub mod checkout;
pub mod commands;
pub mod core;
pub mod customer;
pub mod error;
pub mod gateway;
pub mod handoff;
pub mod idempotency;
pub mod ids;
pub mod intent;
pub mod ledger;
pub mod merchant;
mod merchant_cache;
pub mod outbox;
pub mod payment;
pub mod portal;
pub mod secret;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;
pub mod webhook;
pub mod writer;

pub use crate::core::{Core, CoreConfig, CustomerTokens, NewCustomer, WalletAuthorization};
pub use error::CoreError;
