//! Sending one packet on an open connection: a datagram when it fits the
//! path, else a unidirectional stream of its own within the stream budget.
//! A send that finds the connection lost (or a stream that cannot be
//! written within the stream timeout) drops the connection from the cache,
//! so the next send dials again.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use gossip_runtime::TransportError;
use quinn::{Connection, SendDatagramError, WriteError};
use tokio::time::timeout;

use crate::peers::Route;
use crate::shared::Shared;
use crate::stats::bump;

impl Shared {
    /// Sends one packet on an open connection: a datagram if it fits the
    /// path, else a unidirectional stream on its own task.
    pub(crate) fn transmit(
        self: &Arc<Self>,
        to: SocketAddr,
        conn: &Connection,
        bytes: Bytes,
    ) -> Result<(), TransportError> {
        if conn.max_datagram_size().is_some_and(|max| bytes.len() <= max) {
            match conn.send_datagram(bytes.clone()) {
                Ok(()) => {
                    bump(&self.counters.datagrams_out, 1);
                    return Ok(());
                }
                Err(SendDatagramError::ConnectionLost(_)) => {
                    self.forget(to, conn);
                    // Dial again (or report back-off) through the cache.
                    return match self.route(to, &bytes)? {
                        Route::Transmit(fresh) if fresh.stable_id() != conn.stable_id() => {
                            self.transmit(to, &fresh, bytes)
                        }
                        Route::Transmit(_) => Err(TransportError::Unreachable),
                        Route::Queued => Ok(()),
                        Route::Dial => {
                            self.spawn_dial(to);
                            Ok(())
                        }
                    };
                }
                // The path shrank, or datagrams are off: use a stream.
                Err(_) => {}
            }
        }
        self.send_stream(to, conn.clone(), bytes);
        Ok(())
    }

    fn send_stream(self: &Arc<Self>, to: SocketAddr, conn: Connection, bytes: Bytes) {
        // The budget is counted in KiB.
        let kib = u32::try_from(bytes.len().div_ceil(1024).max(1)).unwrap_or(u32::MAX);
        let Ok(permit) = self.stream_sends.clone().try_acquire_many_owned(kib) else {
            bump(&self.counters.stream_sends_full, 1);
            return;
        };
        let shared = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let send = async {
                let mut stream = conn.open_uni().await.map_err(|_| StreamFailure::ConnectionLost)?;
                stream.write_chunk(bytes).await.map_err(|err| match err {
                    WriteError::ConnectionLost(_) => StreamFailure::ConnectionLost,
                    // The peer refused this one packet (too large for it).
                    _ => StreamFailure::Refused,
                })?;
                stream.finish().map_err(|_| StreamFailure::Refused)
            };
            let failure = match timeout(shared.limits.stream_timeout, send).await {
                Ok(Ok(())) => {
                    bump(&shared.counters.streams_out, 1);
                    return;
                }
                Ok(Err(failure)) => failure,
                // Nothing written within the timeout: the peer is gone (or
                // hopelessly slow); try a fresh connection next time.
                Err(_) => StreamFailure::ConnectionLost,
            };
            bump(&shared.counters.stream_send_failures, 1);
            if matches!(failure, StreamFailure::ConnectionLost) {
                shared.forget(to, &conn);
            }
        });
    }
}

/// Why a stream packet was not sent.
enum StreamFailure {
    /// The connection is lost or does not carry the stream in time.
    ConnectionLost,
    /// The peer stopped the stream.
    Refused,
}
