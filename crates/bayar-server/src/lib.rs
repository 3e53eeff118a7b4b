//! The bayar gateway server: HTTP faces over the core, and the `bayar` command line.
//!
//! Layout:
//! - [`faces`]: one module per wire dialect (DOKU SNAP today; DANA and Stripe-style next), plus
//!   the SNAP plumbing they share: they translate requests into core calls and core outcomes
//!   into the dialect's codes and shapes;
//! - [`pages`]: hosted pages for customers' browsers (the Allo-like bank's account binding);
//! - [`portal`]: the merchant portal (sign-up, login, payments, balances, credentials);
//! - [`app`]: the router, shared state, `/healthz`, graceful shutdown;
//! - [`notify`]: the notification worker: delivers outbox events to merchants, signed, with
//!   retries;
//! - [`config`]: configuration from flags and environment variables;
//! - [`sweeper`]: expires payments past their deadline;
//! - [`cli`]: the `bayar` commands (`serve`, `merchant`, `keys`).

pub mod app;
pub mod cli;
pub mod config;
pub mod faces;
pub mod notify;
pub mod pages;
pub mod portal;
pub mod sweeper;
