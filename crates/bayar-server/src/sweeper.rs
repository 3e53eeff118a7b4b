//! The sweeper: expires payments whose customer did not pay before their deadline, releasing
//! any held money and telling the merchant (the core writes the events).

use std::time::Duration;

use bayar_core::Core;
use bayar_core::commands::ExpireOverdue;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Most payments expired in one command, so one sweep never makes a huge transaction.
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

/// Expires every overdue payment, a batch at a time.
pub async fn sweep(core: &Core) {
    loop {
        match core.run(ExpireOverdue { limit: BATCH }).await {
            Ok(expired) => {
                if !expired.is_empty() {
                    tracing::info!(count = expired.len(), "expired overdue payments");
                }
                if expired.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "expiring overdue payments failed; will retry");
                return;
            }
        }
    }
}
