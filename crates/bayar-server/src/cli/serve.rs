//! `bayar serve`: the HTTP gateway, its notification worker and the expiry sweeper, until
//! SIGTERM or Ctrl-C.

use std::sync::Arc;

use anyhow::{Context, Result};
use bayar_core::Core;
use tokio::net::TcpListener;

use crate::app::{self, AppState};
use crate::config::ServeArgs;
use crate::faces::snap::SnapConfig;
use crate::notify::{self, DialectRouter, NotifyArgs};
use crate::sweeper::Sweeper;

/// Serves until a shutdown signal, then finishes in-flight requests and deliveries.
pub async fn run(core: Core, args: ServeArgs, notify: NotifyArgs) -> Result<()> {
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        engine = core.store().engine(),
        dana_sandbox = args.sandbox,
        "bayar is serving"
    );
    let worker_config = notify.worker_config();
    let renderer = DialectRouter::new(
        notify::http_client(&worker_config).context("building the notification HTTP client")?,
        core.gateway_private_key().clone(),
        core.store().clone(),
    );
    let worker = notify::spawn(core.clone(), Arc::new(renderer), worker_config)
        .context("starting the notification worker")?;
    let sweeper = Sweeper::spawn(
        core.clone(),
        std::time::Duration::from_millis(args.expiry_sweep_ms),
    );
    let public_url = match &args.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let state = AppState {
        core,
        snap: SnapConfig {
            clock_skew_secs: args.clock_skew_secs,
        },
        dana: crate::faces::dana::DanaConfig {
            sandbox: args.sandbox,
        },
        public_url,
    };
    // The worker stops (finishing its in-flight deliveries) before the server closes the
    // store, so every attempt made is also recorded.
    let shutdown = async move {
        app::shutdown_signal().await;
        sweeper.stop().await;
        worker.stop().await;
    };
    app::serve(listener, state, shutdown).await?;
    Ok(())
}
