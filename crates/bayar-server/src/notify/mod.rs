//! Notifications: the worker that tells merchants what happened.
//!
//! Commands write outbox events in the same transaction as the change they report (see
//! `bayar_core::outbox`). The worker here claims the due ones, renders each in the merchant's
//! dialect and signs it ([`render`]), POSTs it, records every attempt (status, latency, the
//! start of the answer or the transport error), and retries on a schedule until the merchant
//! answers 2xx or the schedule ends ([`worker`]). Several bayar processes on one PostgreSQL
//! share the outbox safely: a claimed event is leased to one worker at a time.
//!
//! - [`render`]: the [`Renderer`] trait and bayar's own signed dialect, [`BayarRenderer`];
//! - [`doku`]: DOKU's dialect, [`DokuRenderer`] (token handshake, then HMAC-signed SNAP);
//! - [`dana`]: DANA's finish notify, [`DanaRenderer`] (SHA256withRSA with the gateway key);
//! - [`dialects`]: [`DialectRouter`], which picks the dialect from the payment's API face;
//! - [`worker`]: the claim/deliver/record loop, [`spawn`] and its [`WorkerHandle`];
//! - `recorder`: the worker's attempts, recorded in batches.

pub mod dana;
pub mod dialects;
pub mod doku;
mod recorder;
pub mod render;
pub mod stripe;
pub mod worker;

use std::time::Duration;

pub use dana::DanaRenderer;
pub use dialects::{Dialect, DialectRouter};
pub use doku::DokuRenderer;
pub use render::{BayarRenderer, Delivery, RenderError, Renderer};
pub use stripe::StripeRenderer;
pub use worker::{WorkerConfig, WorkerError, WorkerHandle, http_client, spawn};

/// `bayar serve` flags of the notification worker.
#[derive(clap::Args, Clone, Debug)]
pub struct NotifyArgs {
    /// How often the notification worker looks for due events, in milliseconds.
    #[arg(long, env = "BAYAR_NOTIFY_POLL_MS", default_value_t = 500)]
    pub notify_poll_ms: u64,
}

impl NotifyArgs {
    /// The worker configuration these flags describe (defaults for the rest).
    pub fn worker_config(&self) -> WorkerConfig {
        WorkerConfig {
            poll_interval: Duration::from_millis(self.notify_poll_ms.max(1)),
            ..WorkerConfig::default()
        }
    }
}
