//! The agent: the node, its seeds, its HTTP API, until SIGTERM or SIGINT.

use std::sync::Arc;

use gossip_core::GroupId;
use gossip_runtime::StreamExt;
use tokio::sync::watch;
use tracing::{Instrument, info, info_span, warn};

use crate::api::{ApiState, router};
use crate::config::{ConfigError, Settings};

/// Why the agent stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A setting could not be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The runtime failed.
    #[error("runtime: {0}")]
    Runtime(#[from] gossip_runtime::RuntimeError),
    /// The HTTP server failed.
    #[error("http server: {0}")]
    Http(std::io::Error),
}

/// Resolves on SIGTERM or SIGINT.
async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Runs the agent until a stop signal, then leaves, lingers and flushes.
pub async fn run(
    settings: Settings,
    prometheus: metrics_exporter_prometheus::PrometheusHandle,
) -> Result<(), AgentError> {
    let span = info_span!("node", node = %settings.name);
    async move {
        let (handle, transport) = crate::network::start(&settings)?;
        info!(id = %handle.id(), addr = %handle.local_addr(), http = %settings.http, groups = ?settings.groups, "started");
        for group in &settings.groups {
            // Joins the group; this node's own copy is drained so it never lags.
            let mut subscription = handle.subscribe(GroupId::named(group)).await?;
            tokio::spawn(async move { while subscription.next().await.is_some() {} });
        }
        let (ready_tx, ready) = watch::channel(settings.seeds.is_empty());
        let joiner = {
            let handle = handle.clone();
            let seeds = settings.seeds.clone();
            tokio::spawn(
                async move {
                    if !seeds.is_empty() {
                        crate::seeds::join(&handle, &seeds).await;
                        let _ = ready_tx.send(true);
                        crate::seeds::rejoin(&handle, &seeds).await;
                    }
                }
                .in_current_span(),
            )
        };
        let listener = tokio::net::TcpListener::bind(settings.http)
            .await
            .map_err(|e| ConfigError::new("http", format!("cannot listen on {}: {e}", settings.http)))?;
        let state = Arc::new(ApiState::new(handle.clone(), transport, prometheus, &settings, ready));
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let server = axum::serve(listener, router(state)).with_graceful_shutdown(async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        });
        let server = tokio::spawn(server.into_future());
        tokio::select! {
            _ = stop_signal() => info!("stop signal: leaving"),
            _ = handle.closed() => warn!("the runtime stopped"),
        }
        joiner.abort();
        handle.shutdown().await;
        let _ = stop_tx.send(true);
        match server.await {
            Ok(result) => result.map_err(AgentError::Http)?,
            Err(err) => warn!(%err, "http server task"),
        }
        info!("stopped");
        Ok(())
    }
    .instrument(span)
    .await
}
