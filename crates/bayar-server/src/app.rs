//! The HTTP application: shared state, the router of every face, and serving with graceful
//! shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use bayar_core::Core;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::faces;
use crate::faces::snap::SnapConfig;

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The core.
    pub core: Core,
    /// Tunables of the SNAP checks.
    pub snap: SnapConfig,
    /// Settings of the DANA face (sandbox magic values).
    pub dana: faces::dana::DanaConfig,
    /// Where customers' browsers reach bayar (no trailing slash), e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
}

/// The full router: every face, `/healthz`, request ids and request logs.
pub fn router(state: AppState) -> Router {
    // Logs carry method, path and request id only: headers and bodies hold secrets.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %request_id,
            )
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(faces::doku::router())
        .merge(crate::faces::dana::router())
        .merge(crate::faces::stripe::router())
        .merge(crate::pages::router())
        .merge(crate::portal::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::portal::api_log::record,
        ))
        .with_state(state)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Marks an answer to a request refused because bayar was too busy to take it
/// ([`bayar_core::CoreError::Overloaded`]): nothing was done, and the client may send the same
/// request again after `Retry-After` (one second: the write queue's bound drains in well under
/// that at the rates it is sized for).
pub fn busy(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// `GET /healthz`: 200 when the store answers, 503 when it does not.
async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.core.store().ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::error!(error = %e, "health check: store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n")
        }
    }
}

/// Serves `state` on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let store = state.core.store().clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    store.close().await;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
    // Give load balancers a moment to notice before the listener closes.
    tokio::time::sleep(Duration::from_millis(50)).await;
}
