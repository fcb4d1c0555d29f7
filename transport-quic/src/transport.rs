//! [`QuicTransport`]: the endpoint as a [`Transport`], its constructor and
//! its own methods.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use gossip_runtime::{Transport, TransportError, TransportStats};
use tokio::sync::{mpsc, watch};

use crate::config::{QuicConfig, QuicError};
use crate::peers::Route;
use crate::serve::accept_loop;
use crate::shared::Shared;
use crate::stats::{ConnectionCounts, QuicStats};
use crate::tls;

/// A QUIC endpoint implementing [`Transport`] with `SocketAddr` addresses.
///
/// See the [crate docs](crate) for the design. Dropping it (or
/// [`QuicTransport::close`]) closes every connection.
pub struct QuicTransport {
    shared: Arc<Shared>,
    rx: tokio::sync::Mutex<mpsc::Receiver<(SocketAddr, Bytes)>>,
    closed_rx: watch::Receiver<bool>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for QuicTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicTransport").field("local", &self.shared.local).finish_non_exhaustive()
    }
}

impl QuicTransport {
    /// Binds the endpoint and starts accepting connections. Must be called
    /// inside a tokio runtime with I/O and time enabled.
    pub fn bind(config: QuicConfig) -> Result<Self, QuicError> {
        config.validate()?;
        let (server, client) = tls::quinn_configs(&config)?;
        let (shared, receivers) = Shared::bind(&config, server, client)?;
        let acceptor = tokio::spawn(accept_loop(shared.clone()));
        tracing::debug!(local = %shared.local, "QUIC transport bound");
        Ok(QuicTransport {
            shared,
            rx: tokio::sync::Mutex::new(receivers.packets),
            closed_rx: receivers.closed,
            acceptor,
        })
    }

    /// The detailed counters.
    pub fn quic_stats(&self) -> QuicStats {
        self.shared.counters.snapshot(self.shared.endpoint.open_connections() as u64)
    }

    /// The largest packet that goes out as one QUIC datagram to `to` now,
    /// if a connection to it is open. Larger packets go on a stream.
    pub fn datagram_size(&self, to: &SocketAddr) -> Option<usize> {
        self.shared.lock().connection(to)?.max_datagram_size()
    }

    /// QUIC's own counts for the open connection to `to`, if there is one
    /// (they start again at zero when a connection is replaced).
    pub fn connection_counts(&self, to: &SocketAddr) -> Option<ConnectionCounts> {
        Some(self.shared.lock().connection(to)?.stats().into())
    }

    /// Closes every connection and the endpoint; later sends and receives
    /// fail with [`TransportError::Closed`].
    pub fn close(&self) {
        self.shared.close();
    }
}

impl Drop for QuicTransport {
    fn drop(&mut self) {
        self.shared.close();
        self.acceptor.abort();
    }
}

#[async_trait]
impl Transport for QuicTransport {
    type Address = SocketAddr;

    async fn send(&self, to: &SocketAddr, bytes: Bytes) -> Result<(), TransportError> {
        let max = self.shared.limits.max_packet_size;
        if bytes.len() > max {
            return Err(TransportError::Oversized { len: bytes.len(), max });
        }
        if self.shared.is_closed() {
            return Err(TransportError::Closed);
        }
        let to = self.shared.destination(to)?;
        match self.shared.route(to, &bytes)? {
            Route::Transmit(conn) => self.shared.transmit(to, &conn, bytes),
            Route::Queued => Ok(()),
            Route::Dial => {
                self.shared.spawn_dial(to);
                Ok(())
            }
        }
    }

    async fn recv(&self) -> Result<(SocketAddr, Bytes), TransportError> {
        let mut out = Vec::with_capacity(1);
        self.recv_batch(&mut out, 1).await?;
        out.pop().ok_or(TransportError::Closed)
    }

    async fn recv_batch(&self, out: &mut Vec<(SocketAddr, Bytes)>, max: usize) -> Result<(), TransportError> {
        let mut closed = self.closed_rx.clone();
        if *closed.borrow() {
            return Err(TransportError::Closed);
        }
        let mut rx = self.rx.lock().await;
        let first = tokio::select! {
            biased;
            _ = closed.wait_for(|c| *c) => return Err(TransportError::Closed),
            got = rx.recv() => got.ok_or(TransportError::Closed)?,
        };
        out.push(first);
        for _ in 1..max.max(1) {
            match rx.try_recv() {
                Ok(item) => out.push(item),
                Err(_) => break,
            }
        }
        Ok(())
    }

    fn local_addr(&self) -> SocketAddr {
        self.shared.local
    }

    fn max_packet_size(&self) -> usize {
        self.shared.limits.max_packet_size
    }

    fn stats(&self) -> TransportStats {
        let s = self.quic_stats();
        TransportStats {
            datagrams_out: s.datagrams_out.saturating_add(s.streams_out),
            datagrams_in: s.datagrams_in.saturating_add(s.streams_in),
            auth_failures: s.auth_failures,
            dropped: s.dropped(),
        }
    }
}
