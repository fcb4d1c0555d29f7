//! The state every task of one endpoint shares: the quinn endpoint, the
//! peer cache, the receive queue, the counters and the limits.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use gossip_runtime::{TransportError, socket_addr};
use quinn::{ConnectionError, Endpoint, VarInt};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::config::{QuicConfig, QuicError};
use crate::peers::Peers;
use crate::stats::{Counters, bump};
use crate::tls;

/// Limits copied out of the config.
pub(crate) struct Limits {
    pub(crate) max_packet_size: usize,
    pub(crate) max_connections: usize,
    pub(crate) max_peers: usize,
    pub(crate) dial_timeout: Duration,
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) pending_per_peer: usize,
    pub(crate) stream_timeout: Duration,
}

impl Limits {
    fn from_config(config: &QuicConfig) -> Self {
        Limits {
            max_packet_size: config.max_packet_size,
            max_connections: config.max_connections,
            max_peers: (config.max_connections * 4).max(64),
            dial_timeout: config.dial_timeout,
            backoff_min: config.backoff_min,
            backoff_max: config.backoff_max,
            pending_per_peer: config.pending_per_peer,
            stream_timeout: config.stream_timeout,
        }
    }
}

/// What the endpoint's tasks share.
pub(crate) struct Shared {
    pub(crate) endpoint: Endpoint,
    pub(crate) client: quinn::ClientConfig,
    pub(crate) server_name: String,
    pub(crate) local: SocketAddr,
    dual_stack: bool,
    pub(crate) limits: Limits,
    peers: Mutex<Peers>,
    tx: mpsc::Sender<(SocketAddr, Bytes)>,
    pub(crate) counters: Counters,
    pub(crate) stream_sends: Arc<Semaphore>,
    pub(crate) stream_recvs: Arc<Semaphore>,
    closed: watch::Sender<bool>,
}

/// The receiving ends [`Shared::bind`] hands to the transport.
pub(crate) struct Receivers {
    /// Packets passed on by the readers.
    pub(crate) packets: mpsc::Receiver<(SocketAddr, Bytes)>,
    /// Becomes true when the transport closes.
    pub(crate) closed: watch::Receiver<bool>,
}

fn make_socket(config: &QuicConfig) -> Result<(std::net::UdpSocket, bool), QuicError> {
    let domain = if config.bind.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    let dual_stack = config.bind.is_ipv6() && config.bind.ip().is_unspecified();
    if config.bind.is_ipv6() {
        socket.set_only_v6(!dual_stack)?;
    }
    // Best effort: the kernel may grant less.
    let _ = socket.set_send_buffer_size(config.socket_buffer);
    let _ = socket.set_recv_buffer_size(config.socket_buffer);
    socket.bind(&config.bind.into())?;
    socket.set_nonblocking(true)?;
    Ok((socket.into(), dual_stack))
}

impl Shared {
    /// Binds the socket and the quinn endpoint (server and client TLS
    /// configs already made).
    pub(crate) fn bind(
        config: &QuicConfig,
        server: quinn::ServerConfig,
        client: quinn::ClientConfig,
    ) -> Result<(Arc<Self>, Receivers), QuicError> {
        let (socket, dual_stack) = make_socket(config)?;
        let endpoint =
            Endpoint::new(quinn::EndpointConfig::default(), Some(server), socket, Arc::new(quinn::TokioRuntime))?;
        let local = endpoint.local_addr()?;
        let (tx, packets) = mpsc::channel(config.recv_queue);
        let (closed, closed_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            endpoint,
            client,
            server_name: config.server_name.clone(),
            local,
            dual_stack,
            limits: Limits::from_config(config),
            peers: Mutex::new(Peers::default()),
            tx,
            counters: Counters::default(),
            stream_sends: Arc::new(Semaphore::new(config.stream_send_budget.div_ceil(1024))),
            stream_recvs: Arc::new(Semaphore::new(config.max_stream_recvs)),
            closed,
        });
        Ok((shared, Receivers { packets, closed: closed_rx }))
    }

    /// The peer cache, even if a thread panicked while holding it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Peers> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Closes the endpoint and forgets every peer (once).
    pub(crate) fn close(&self) {
        if !self.closed.send_replace(true) {
            self.endpoint.close(VarInt::from_u32(0), b"closed");
            self.lock().clear();
        }
    }

    /// Checks a destination and maps it to what the endpoint can send to.
    pub(crate) fn destination(&self, to: &SocketAddr) -> Result<SocketAddr, TransportError> {
        socket_addr::destination(self.local, self.dual_stack, false, *to)
    }

    /// Maps a v4-mapped peer address back to IPv4, so addresses compare equal.
    pub(crate) fn source(&self, from: SocketAddr) -> SocketAddr {
        socket_addr::canonical(self.dual_stack, from)
    }

    /// Counts and logs (at `warn`) a TLS refusal by or of `peer`; false if
    /// `err` is not one.
    pub(crate) fn note_refusal(&self, peer: SocketAddr, stage: tls::Stage, err: &ConnectionError) -> bool {
        if !tls::is_refusal(err) {
            return false;
        }
        bump(&self.counters.auth_failures, 1);
        tls::warn_refusal(peer, stage, err);
        true
    }

    /// Passes a received packet to `recv`, or drops and counts it if the
    /// receive queue is full.
    pub(crate) fn deliver(&self, from: SocketAddr, bytes: Bytes, stream: bool) {
        match self.tx.try_send((from, bytes)) {
            Ok(()) => bump(if stream { &self.counters.streams_in } else { &self.counters.datagrams_in }, 1),
            Err(mpsc::error::TrySendError::Full(_)) => bump(&self.counters.recv_queue_full, 1),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}
