//! The sweeper: expires payments whose customer did not pay before their deadline, releasing
//! any held money, and Stripe-style checkout sessions whose 24 hours ran out; the core writes
//! the events that tell the merchant.

use std::time::Duration;

use bayar_core::Core;
use bayar_core::commands::{ExpireOverdue, ExpireOverdueSessions};
use bayar_core::error::CoreError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Most payments (or sessions) expired in one command, so one sweep never makes a huge transaction.
const BATCH: i64 = 500;

/// A running sweeper.
pub struct Sweeper {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Sweeper {
    /// Starts sweeping every `interval`.
    pub fn spawn(core: Core, interval: Duration) -> Sweeper {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    () = tokio::time::sleep(interval) => {}
                }
                sweep(&core).await;
            }
        });
        Sweeper { stop, task }
    }

    /// Stops after the sweep in progress, if any.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Expires every overdue payment, then every overdue checkout session, a batch at a time.
pub async fn sweep(core: &Core) {
    sweep_with("payments", || core.run(ExpireOverdue { limit: BATCH })).await;
    sweep_with("checkout sessions", || {
        core.run(ExpireOverdueSessions { limit: BATCH })
    })
    .await;
}

/// Runs `expire` until it expires less than a full batch.
async fn sweep_with<T, F>(what: &str, expire: impl Fn() -> F)
where
    F: Future<Output = Result<Vec<T>, CoreError>>,
{
    loop {
        match expire().await {
            Ok(expired) => {
                if !expired.is_empty() {
                    tracing::info!(count = expired.len(), "expired overdue {what}");
                }
                if expired.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                    return;
                }
            }
            // Refused while the writer's queue is full: the next pass expires them.
            Err(CoreError::Overloaded) => {
                tracing::warn!("too busy to expire overdue {what}; will retry");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "expiring overdue {what} failed; will retry");
                return;
            }
        }
    }
}
