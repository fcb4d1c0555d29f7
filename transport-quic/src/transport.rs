//! The QUIC transport: one endpoint, a connection cache, readers feeding
//! one bounded queue.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use gossip_runtime::socket_addr;
use gossip_runtime::{Transport, TransportError, TransportStats};
use quinn::{Connection, ConnectionError, Endpoint, SendDatagramError, VarInt};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::{Instant, timeout};

use crate::config::{QuicConfig, QuicError};
use crate::tls;

/// Counters kept by the QUIC transport, a superset of [`TransportStats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuicStats {
    /// Packets sent as QUIC datagrams.
    pub datagrams_out: u64,
    /// Packets sent on unidirectional streams (larger than the path's
    /// datagram size), completed.
    pub streams_out: u64,
    /// Packets received as datagrams and passed on.
    pub datagrams_in: u64,
    /// Packets received on streams and passed on.
    pub streams_in: u64,
    /// TLS handshakes that failed on certificate grounds, in either
    /// direction (a peer not signed by the cluster CA, or a peer that
    /// refused ours).
    pub auth_failures: u64,
    /// Handshakes that failed or timed out for other reasons.
    pub handshake_failures: u64,
    /// Dials started.
    pub dials: u64,
    /// Dials that failed or timed out; the peer is then in back-off.
    pub dial_failures: u64,
    /// Sends refused at once with `Unreachable` because the peer is in
    /// back-off (or the peer table is full).
    pub unreachable: u64,
    /// Packets dropped because they were waiting for a dial that failed.
    pub pending_dropped: u64,
    /// Packets dropped because `pending_per_peer` were already waiting
    /// for a dial.
    pub pending_full: u64,
    /// Received packets dropped because the receive queue was full.
    pub recv_queue_full: u64,
    /// Stream packets not sent because `stream_send_budget` bytes were in flight.
    pub stream_sends_full: u64,
    /// Stream packets whose sending failed (connection lost, timeout).
    pub stream_send_failures: u64,
    /// Incoming streams that failed, timed out, or exceeded
    /// `max_packet_size`.
    pub stream_recv_failures: u64,
    /// Connections established (dialled or accepted).
    pub connections_opened: u64,
    /// Connections closed to stay within `max_connections`.
    pub evictions: u64,
    /// Connections open on the endpoint now.
    pub connections_open: u64,
}

impl QuicStats {
    /// Everything dropped after `send` accepted it or before `recv`
    /// returned it (what [`TransportStats::dropped`] reports).
    pub fn dropped(&self) -> u64 {
        self.pending_dropped
            + self.pending_full
            + self.recv_queue_full
            + self.stream_sends_full
            + self.stream_send_failures
            + self.stream_recv_failures
    }
}

#[derive(Default)]
struct Counters {
    datagrams_out: AtomicU64,
    streams_out: AtomicU64,
    datagrams_in: AtomicU64,
    streams_in: AtomicU64,
    auth_failures: AtomicU64,
    handshake_failures: AtomicU64,
    dials: AtomicU64,
    dial_failures: AtomicU64,
    unreachable: AtomicU64,
    pending_dropped: AtomicU64,
    pending_full: AtomicU64,
    recv_queue_full: AtomicU64,
    stream_sends_full: AtomicU64,
    stream_send_failures: AtomicU64,
    stream_recv_failures: AtomicU64,
    connections_opened: AtomicU64,
    evictions: AtomicU64,
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Whether a connection error is a TLS (certificate) failure: a QUIC
/// CRYPTO_ERROR, codes 0x100..=0x1ff.
fn is_tls_error(err: &ConnectionError) -> bool {
    let code = match err {
        ConnectionError::TransportError(e) => u64::from(e.code),
        ConnectionError::ConnectionClosed(c) => u64::from(c.error_code),
        _ => return false,
    };
    (0x100..0x200).contains(&code)
}

enum PeerState {
    /// No connection; the next send dials.
    Idle,
    /// Dials fail; sends are refused until then.
    Backoff(Instant),
    /// A dial is in flight; packets wait here.
    Dialing(VecDeque<Bytes>),
    /// A connection to use.
    Connected(Connection),
}

struct Peer {
    state: PeerState,
    failures: u32,
    last_used: Instant,
}

struct Peers {
    map: HashMap<SocketAddr, Peer>,
}

/// Limits copied out of the config.
struct Limits {
    max_packet_size: usize,
    max_connections: usize,
    max_peers: usize,
    dial_timeout: Duration,
    backoff_min: Duration,
    backoff_max: Duration,
    pending_per_peer: usize,
    stream_timeout: Duration,
}

struct Shared {
    endpoint: Endpoint,
    client: quinn::ClientConfig,
    server_name: String,
    local: SocketAddr,
    dual_stack: bool,
    limits: Limits,
    peers: Mutex<Peers>,
    tx: mpsc::Sender<(SocketAddr, Bytes)>,
    counters: Counters,
    stream_sends: Arc<Semaphore>,
    stream_recvs: Arc<Semaphore>,
    closed: watch::Sender<bool>,
}

/// What `route` decided, acted on after the lock is released.
enum Route {
    Transmit(Connection),
    Queued,
    Dial,
}

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

impl QuicTransport {
    /// Binds the endpoint and starts accepting connections. Must be called
    /// inside a tokio runtime with I/O and time enabled.
    pub fn bind(config: QuicConfig) -> Result<Self, QuicError> {
        config.validate()?;
        let (server, client) = tls::quinn_configs(&config)?;
        let (socket, dual_stack) = make_socket(&config)?;
        let endpoint =
            Endpoint::new(quinn::EndpointConfig::default(), Some(server), socket, Arc::new(quinn::TokioRuntime))?;
        let local = endpoint.local_addr()?;
        let (tx, rx) = mpsc::channel(config.recv_queue);
        let (closed, closed_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            endpoint,
            client,
            server_name: config.server_name.clone(),
            local,
            dual_stack,
            limits: Limits {
                max_packet_size: config.max_packet_size,
                max_connections: config.max_connections,
                max_peers: (config.max_connections * 4).max(64),
                dial_timeout: config.dial_timeout,
                backoff_min: config.backoff_min,
                backoff_max: config.backoff_max,
                pending_per_peer: config.pending_per_peer,
                stream_timeout: config.stream_timeout,
            },
            peers: Mutex::new(Peers { map: HashMap::new() }),
            tx,
            counters: Counters::default(),
            stream_sends: Arc::new(Semaphore::new(config.stream_send_budget.div_ceil(1024))),
            stream_recvs: Arc::new(Semaphore::new(config.max_stream_recvs)),
            closed,
        });
        let acceptor = tokio::spawn(accept_loop(shared.clone()));
        tracing::debug!(%local, "QUIC transport bound");
        Ok(QuicTransport { shared, rx: tokio::sync::Mutex::new(rx), closed_rx, acceptor })
    }

    /// The detailed counters.
    pub fn quic_stats(&self) -> QuicStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        QuicStats {
            datagrams_out: get(&c.datagrams_out),
            streams_out: get(&c.streams_out),
            datagrams_in: get(&c.datagrams_in),
            streams_in: get(&c.streams_in),
            auth_failures: get(&c.auth_failures),
            handshake_failures: get(&c.handshake_failures),
            dials: get(&c.dials),
            dial_failures: get(&c.dial_failures),
            unreachable: get(&c.unreachable),
            pending_dropped: get(&c.pending_dropped),
            pending_full: get(&c.pending_full),
            recv_queue_full: get(&c.recv_queue_full),
            stream_sends_full: get(&c.stream_sends_full),
            stream_send_failures: get(&c.stream_send_failures),
            stream_recv_failures: get(&c.stream_recv_failures),
            connections_opened: get(&c.connections_opened),
            evictions: get(&c.evictions),
            connections_open: self.shared.endpoint.open_connections() as u64,
        }
    }

    /// The largest packet that goes out as one QUIC datagram to `to` now,
    /// if a connection to it is open. Larger packets go on a stream.
    pub fn datagram_size(&self, to: &SocketAddr) -> Option<usize> {
        let peers = self.shared.lock();
        match &peers.map.get(to)?.state {
            PeerState::Connected(conn) => conn.max_datagram_size(),
            _ => None,
        }
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

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Peers> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    fn close(&self) {
        if !self.closed.send_replace(true) {
            self.endpoint.close(VarInt::from_u32(0), b"closed");
            self.lock().map.clear();
        }
    }

    /// Checks a destination and maps it to what the endpoint can send to.
    fn destination(&self, to: &SocketAddr) -> Result<SocketAddr, TransportError> {
        socket_addr::destination(self.local, self.dual_stack, false, *to)
    }

    /// Maps a v4-mapped peer address back to IPv4, so addresses compare equal.
    fn source(&self, from: SocketAddr) -> SocketAddr {
        socket_addr::canonical(self.dual_stack, from)
    }

    fn backoff(&self, failures: u32) -> Duration {
        let shift = failures.saturating_sub(1).min(20);
        self.limits.backoff_min.saturating_mul(1 << shift).min(self.limits.backoff_max)
    }

    /// Makes room for one more connection: closes the least recently used
    /// cached connection (other than `keep`) when the cap is reached.
    /// Returns false when nothing could be evicted.
    fn make_room(&self, peers: &mut Peers, keep: SocketAddr) -> bool {
        let busy =
            peers.map.values().filter(|p| matches!(p.state, PeerState::Connected(_) | PeerState::Dialing(_))).count();
        if busy < self.limits.max_connections {
            return true;
        }
        let victim = peers
            .map
            .iter()
            .filter(|(addr, p)| **addr != keep && matches!(p.state, PeerState::Connected(_)))
            .min_by_key(|(_, p)| p.last_used)
            .map(|(addr, _)| *addr);
        let Some(victim) = victim else { return false };
        if let Some(peer) = peers.map.get_mut(&victim) {
            if let PeerState::Connected(conn) = std::mem::replace(&mut peer.state, PeerState::Idle) {
                conn.close(VarInt::from_u32(1), b"evicted");
            }
        }
        bump(&self.counters.evictions, 1);
        true
    }

    /// Decides, under the lock and without awaiting, what to do with one
    /// packet for `to`.
    fn route(&self, to: SocketAddr, bytes: &Bytes) -> Result<Route, TransportError> {
        let now = Instant::now();
        let mut peers = self.lock();
        if !peers.map.contains_key(&to) && peers.map.len() >= self.limits.max_peers {
            peers.map.retain(|_, p| match p.state {
                PeerState::Idle => false,
                PeerState::Backoff(until) => until > now,
                _ => true,
            });
            if peers.map.len() >= self.limits.max_peers {
                bump(&self.counters.unreachable, 1);
                return Err(TransportError::Unreachable);
            }
        }
        let peer = peers.map.entry(to).or_insert(Peer { state: PeerState::Idle, failures: 0, last_used: now });
        peer.last_used = now;
        match &mut peer.state {
            PeerState::Connected(conn) if conn.close_reason().is_none() => return Ok(Route::Transmit(conn.clone())),
            PeerState::Dialing(queue) => {
                if queue.len() >= self.limits.pending_per_peer {
                    bump(&self.counters.pending_full, 1);
                } else {
                    queue.push_back(bytes.clone());
                }
                return Ok(Route::Queued);
            }
            PeerState::Backoff(until) if *until > now => {
                bump(&self.counters.unreachable, 1);
                return Err(TransportError::Unreachable);
            }
            _ => {}
        }
        // Idle, back-off over, or a dead connection: dial.
        peer.state = PeerState::Idle;
        if !self.make_room(&mut peers, to) {
            bump(&self.counters.unreachable, 1);
            return Err(TransportError::Unreachable);
        }
        if let Some(peer) = peers.map.get_mut(&to) {
            peer.state = PeerState::Dialing(VecDeque::from([bytes.clone()]));
        }
        Ok(Route::Dial)
    }

    /// Sends one packet on an open connection: a datagram if it fits the
    /// path, else a unidirectional stream on its own task.
    fn transmit(self: &Arc<Self>, to: SocketAddr, conn: &Connection, bytes: Bytes) -> Result<(), TransportError> {
        if conn.max_datagram_size().is_some_and(|max| bytes.len() <= max) {
            match conn.send_datagram(bytes.clone()) {
                Ok(()) => {
                    bump(&self.counters.datagrams_out, 1);
                    return Ok(());
                }
                Err(SendDatagramError::ConnectionLost(_)) => {
                    self.forget(to, conn.stable_id());
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
        self.send_stream(conn.clone(), bytes);
        Ok(())
    }

    fn send_stream(self: &Arc<Self>, conn: Connection, bytes: Bytes) {
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
                let mut stream = conn.open_uni().await.map_err(|_| ())?;
                stream.write_chunk(bytes).await.map_err(|_| ())?;
                stream.finish().map_err(|_| ())
            };
            match timeout(shared.limits.stream_timeout, send).await {
                Ok(Ok(())) => bump(&shared.counters.streams_out, 1),
                _ => bump(&shared.counters.stream_send_failures, 1),
            }
        });
    }

    /// Removes a cached connection that is known to be dead.
    fn forget(&self, to: SocketAddr, stable_id: usize) {
        let mut peers = self.lock();
        if let Some(peer) = peers.map.get_mut(&to) {
            if matches!(&peer.state, PeerState::Connected(c) if c.stable_id() == stable_id) {
                peer.state = PeerState::Idle;
            }
        }
    }

    fn spawn_dial(self: &Arc<Self>, to: SocketAddr) {
        bump(&self.counters.dials, 1);
        let shared = self.clone();
        tokio::spawn(async move {
            let result = match shared.endpoint.connect_with(shared.client.clone(), to, &shared.server_name) {
                Ok(connecting) => match timeout(shared.limits.dial_timeout, connecting).await {
                    Ok(Ok(conn)) => Ok(conn),
                    Ok(Err(err)) => {
                        if is_tls_error(&err) {
                            bump(&shared.counters.auth_failures, 1);
                        }
                        tracing::debug!(%to, %err, "dial failed");
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

    fn dial_failed(&self, to: SocketAddr) {
        bump(&self.counters.dial_failures, 1);
        let mut peers = self.lock();
        let Some(peer) = peers.map.get_mut(&to) else { return };
        if let PeerState::Dialing(queue) = &peer.state {
            bump(&self.counters.pending_dropped, queue.len() as u64);
            peer.failures = peer.failures.saturating_add(1);
            let wait = self.backoff(peer.failures);
            peer.state = PeerState::Backoff(Instant::now() + wait);
        }
    }

    /// Caches a newly established connection (dialled or accepted) and
    /// flushes packets that waited for it.
    fn install(self: &Arc<Self>, conn: Connection) {
        bump(&self.counters.connections_opened, 1);
        let addr = self.source(conn.remote_address());
        let now = Instant::now();
        let pending = {
            let mut peers = self.lock();
            if self.is_closed() {
                conn.close(VarInt::from_u32(0), b"closed");
                return;
            }
            if !peers.map.contains_key(&addr) && peers.map.len() >= self.limits.max_peers {
                peers.map.retain(|_, p| match p.state {
                    PeerState::Idle => false,
                    PeerState::Backoff(until) => until > now,
                    _ => true,
                });
            }
            let has_slot = peers.map.get(&addr).is_some_and(|p| {
                matches!(&p.state, PeerState::Dialing(_))
                    || matches!(&p.state, PeerState::Connected(c) if c.close_reason().is_none())
            });
            if !has_slot && !self.make_room(&mut peers, addr) {
                // Every slot is a dial in flight: serve it uncached.
                return;
            }
            let peer = peers.map.entry(addr).or_insert(Peer { state: PeerState::Idle, failures: 0, last_used: now });
            match &mut peer.state {
                PeerState::Connected(existing) if existing.close_reason().is_none() => VecDeque::new(),
                PeerState::Dialing(queue) => {
                    let queue = std::mem::take(queue);
                    peer.state = PeerState::Connected(conn.clone());
                    peer.failures = 0;
                    queue
                }
                _ => {
                    peer.state = PeerState::Connected(conn.clone());
                    peer.failures = 0;
                    VecDeque::new()
                }
            }
        };
        for bytes in pending {
            let _ = self.transmit(addr, &conn, bytes);
        }
    }

    /// Called when a served connection ends.
    fn connection_closed(&self, conn: &Connection, err: &ConnectionError) {
        let addr = self.source(conn.remote_address());
        let tls = is_tls_error(err);
        if tls {
            // The peer refused our certificate after our side of the
            // handshake completed.
            bump(&self.counters.auth_failures, 1);
        }
        let mut peers = self.lock();
        let Some(peer) = peers.map.get_mut(&addr) else { return };
        if matches!(&peer.state, PeerState::Connected(c) if c.stable_id() == conn.stable_id()) {
            if tls {
                peer.failures = peer.failures.saturating_add(1);
                peer.state = PeerState::Backoff(Instant::now() + self.backoff(peer.failures));
            } else {
                peer.state = PeerState::Idle;
            }
        }
    }

    fn deliver(&self, from: SocketAddr, bytes: Bytes, stream: bool) {
        match self.tx.try_send((from, bytes)) {
            Ok(()) => bump(if stream { &self.counters.streams_in } else { &self.counters.datagrams_in }, 1),
            Err(mpsc::error::TrySendError::Full(_)) => bump(&self.counters.recv_queue_full, 1),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

async fn accept_loop(shared: Arc<Shared>) {
    while let Some(incoming) = shared.endpoint.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let connecting = match incoming.accept() {
                Ok(connecting) => connecting,
                Err(err) => {
                    tracing::debug!(%err, "incoming connection failed");
                    bump(&shared.counters.handshake_failures, 1);
                    return;
                }
            };
            match timeout(shared.limits.dial_timeout, connecting).await {
                Ok(Ok(conn)) => {
                    shared.install(conn.clone());
                    serve(shared, conn).await;
                }
                Ok(Err(err)) => {
                    tracing::debug!(%err, "incoming handshake failed");
                    if is_tls_error(&err) {
                        bump(&shared.counters.auth_failures, 1);
                    } else {
                        bump(&shared.counters.handshake_failures, 1);
                    }
                }
                Err(_) => bump(&shared.counters.handshake_failures, 1),
            }
        });
    }
}

/// Reads datagrams and unidirectional streams from one connection until
/// it closes.
async fn serve(shared: Arc<Shared>, conn: Connection) {
    let from = shared.source(conn.remote_address());
    let err = loop {
        tokio::select! {
            got = conn.read_datagram() => match got {
                Ok(bytes) => shared.deliver(from, bytes, false),
                Err(err) => break err,
            },
            // Take a receive slot first: while all are busy, streams wait
            // in QUIC flow control (the peer's sends back off) instead
            // of being buffered here.
            got = async {
                let permit = shared.stream_recvs.clone().acquire_owned().await;
                (permit, conn.accept_uni().await)
            } => match got {
                (Ok(permit), Ok(mut stream)) => {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        let max = shared.limits.max_packet_size;
                        match timeout(shared.limits.stream_timeout, stream.read_to_end(max)).await {
                            Ok(Ok(bytes)) => shared.deliver(from, Bytes::from(bytes), true),
                            _ => {
                                let _ = stream.stop(VarInt::from_u32(2));
                                bump(&shared.counters.stream_recv_failures, 1);
                            }
                        }
                    });
                }
                (Err(_), _) => break ConnectionError::LocallyClosed,
                (_, Err(err)) => break err,
            },
        }
    };
    tracing::trace!(%from, %err, "connection ended");
    shared.connection_closed(&conn, &err);
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
            datagrams_out: s.datagrams_out + s.streams_out,
            datagrams_in: s.datagrams_in + s.streams_in,
            auth_failures: s.auth_failures,
            dropped: s.dropped(),
        }
    }
}
