//! Dialling a peer on its own task: connect, install the connection in the
//! cache and serve it, or put the peer in back-off.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::time::timeout;

use crate::serve::serve;
use crate::shared::Shared;
use crate::stats::bump;
use crate::tls;

impl Shared {
    /// Starts a dial to `to`; packets already wait in its cache entry.
    pub(crate) fn spawn_dial(self: &Arc<Self>, to: SocketAddr) {
        bump(&self.counters.dials, 1);
        let shared = self.clone();
        tokio::spawn(async move {
            let result = match shared.endpoint.connect_with(shared.client.clone(), to, &shared.server_name) {
                Ok(connecting) => match timeout(shared.limits.dial_timeout, connecting).await {
                    Ok(Ok(conn)) => Ok(conn),
                    Ok(Err(err)) => {
                        if !shared.note_refusal(to, tls::Stage::Dialing, &err) {
                            tracing::debug!(%to, %err, "dial failed");
                        }
                        Err(())
                    }
                    Err(_) => {
                        tracing::debug!(%to, "dial timed out");
                        Err(())
                    }
                },
                Err(err) => {
                    tracing::debug!(%to, %err, "cannot dial");
                    Err(())
                }
            };
            match result {
                Ok(conn) => {
                    shared.install(conn.clone());
                    serve(shared, conn).await;
                }
                Err(()) => shared.dial_failed(to),
            }
        });
    }
}
