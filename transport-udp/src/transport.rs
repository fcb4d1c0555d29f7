//! [`UdpTransport`]: the socket, its quinn-udp state, the receive arena
//! and the send scratch, and the [`Transport`] implementation.

use std::io;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;
use gossip_runtime::{Transport, TransportError, TransportStats, socket_addr};
use quinn_udp::{Transmit, UdpSocketState};
use tokio::io::Interest;

use crate::config::{BufferSizes, Security, UdpConfig, UdpError};
use crate::framing::{Framing, Rejection};
use crate::recv_arena::{RecvArena, Segment};
use crate::seal::Sealer;
use crate::send_plan::SendPlan;
use crate::socket;
use crate::stats::{Counters, UdpStats, bump};

/// A UDP endpoint implementing [`Transport`] with `SocketAddr` addresses.
pub struct UdpTransport {
    socket: tokio::net::UdpSocket,
    state: UdpSocketState,
    local: SocketAddr,
    dual_stack: bool,
    framing: Framing,
    max_datagram: usize,
    batching: bool,
    buffers: BufferSizes,
    counters: Counters,
    arena: Mutex<RecvArena>,
    send_plan: Mutex<SendPlan>,
}

impl std::fmt::Debug for UdpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpTransport")
            .field("local", &self.local)
            .field("sealed", &self.is_sealed())
            .field("batching", &self.batching)
            .finish_non_exhaustive()
    }
}

/// Locks `mutex`, taking the value even if a panicking holder poisoned it
/// (the guarded buffers hold no invariant a panic could break).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl UdpTransport {
    /// Makes and binds the socket. Must be called inside a tokio runtime
    /// with I/O enabled.
    pub fn bind(config: UdpConfig) -> Result<Self, UdpError> {
        config.validate()?;
        let bound = socket::bind(&config)?;
        let state = UdpSocketState::new((&bound.socket).into())?;
        socket::allow_fragments(&bound.socket, &config)?;
        let socket = tokio::net::UdpSocket::from_std(bound.socket)?;
        let local = socket.local_addr()?;
        let framing = match &config.security {
            Security::Sealed(keys) => Framing::Sealed(Box::new(Sealer::new(
                keys,
                config.cluster_id,
                random_instance()?,
                config.clock,
                config.max_clock_skew,
                config.replay_senders,
            ))),
            Security::Insecure => {
                tracing::warn!(%local, "UDP transport running INSECURE (no cluster key): anyone on the network can inject, forge, replay and read its datagrams");
                Framing::Insecure { cluster_id: config.cluster_id }
            }
        };
        let gro = state.gro_segments() > 1;
        Ok(UdpTransport {
            arena: Mutex::new(RecvArena::new(config.max_datagram, gro, config.batching)),
            send_plan: Mutex::new(SendPlan::default()),
            socket,
            state,
            local,
            dual_stack: bound.dual_stack,
            framing,
            max_datagram: config.max_datagram,
            batching: config.batching,
            buffers: bound.buffers,
            counters: Counters::default(),
        })
    }

    /// The socket buffer sizes asked for and granted.
    pub fn buffer_sizes(&self) -> BufferSizes {
        self.buffers
    }

    /// Whether datagrams are sealed.
    pub fn is_sealed(&self) -> bool {
        self.framing.sealer().is_some()
    }

    /// Whether several datagrams move per system call.
    pub fn is_batching(&self) -> bool {
        self.batching
    }

    /// Datagrams sent to one peer in one system call at most (1 without
    /// GSO or with batching off).
    pub fn max_gso_segments(&self) -> usize {
        if self.batching { self.state.max_gso_segments() } else { 1 }
    }

    /// Datagrams the kernel may coalesce into one received buffer (1
    /// without GRO).
    pub fn gro_segments(&self) -> usize {
        self.state.gro_segments()
    }

    /// The detailed counters.
    pub fn udp_stats(&self) -> UdpStats {
        self.counters.snapshot(self.framing.sealer().map_or(0, Sealer::window_evictions))
    }

    /// Sends one train of wire bytes; `segment` is the size of each
    /// datagram in it but the last.
    async fn send_train(&self, to: SocketAddr, contents: &[u8], segment: usize) -> io::Result<()> {
        let transmit = Transmit {
            destination: to,
            ecn: None,
            contents,
            segment_size: (contents.len() > segment).then_some(segment),
            src_ip: None,
        };
        self.socket
            .async_io(Interest::WRITABLE, || {
                bump(&self.counters.send_calls, 1);
                self.state.try_send((&self.socket).into(), &transmit)
            })
            .await
    }

    /// Hands out datagrams left over from a GRO train longer than the last
    /// caller's `max`, or else receives once, when the socket is readable,
    /// into the arena; appends at most `max` datagrams to `out` and returns
    /// how many. Receiving and handing out happen in one synchronous step
    /// and leftovers stay in the arena, so a cancelled caller loses nothing.
    async fn recv_once(&self, out: &mut Vec<(SocketAddr, Bytes)>, max: usize) -> io::Result<usize> {
        let max = max.max(1);
        if let Some(n) = lock(&self.arena).take_pending(out, max) {
            return Ok(n);
        }
        self.socket
            .async_io(Interest::READABLE, || {
                let mut arena = lock(&self.arena);
                let (mut region, allocated) =
                    arena.receive(max, |bufs, meta| self.state.recv((&self.socket).into(), bufs, meta))?;
                bump(&self.counters.recv_calls, 1);
                bump(&self.counters.arena_allocations, usize::from(allocated));
                let limit = arena.slot_len().saturating_sub(1).min(self.max_datagram);
                let segments = arena.segments();
                segments.retain_mut(|segment| self.accept(&mut region, segment, limit));
                let region = region.freeze();
                let dual_stack = self.dual_stack;
                Ok(arena.hand_out(&region, out, max, |from| socket_addr::canonical(dual_stack, from)))
            })
            .await
    }

    /// Checks one received datagram, opens it in place if sealed (its
    /// range shrinks to the packet), and counts it; `false` drops it.
    fn accept(&self, region: &mut [u8], segment: &mut Segment, limit: usize) -> bool {
        if segment.range.len() > limit {
            bump(&self.counters.dropped, 1);
            return false;
        }
        bump(&self.counters.ecn_ce, usize::from(segment.congested));
        match self.framing.unframe(&mut region[segment.range.clone()]) {
            Ok(packet) => segment.range = segment.range.start + packet.start..segment.range.start + packet.end,
            Err(why) => {
                let counter = match why {
                    Rejection::ForeignCluster => &self.counters.foreign_cluster,
                    Rejection::Unauthentic => &self.counters.auth,
                    Rejection::Replayed => &self.counters.replayed,
                    Rejection::TooOld => &self.counters.too_old,
                    Rejection::ClockSkew => &self.counters.clock_skew,
                };
                bump(counter, 1);
                tracing::trace!(from = %segment.from, ?why, "dropped a received datagram");
                return false;
            }
        }
        bump(&self.counters.inn, 1);
        true
    }
}

/// A random 64-bit sender instance id from the OS.
fn random_instance() -> Result<u64, UdpError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| UdpError::Randomness(e.to_string()))?;
    Ok(u64::from_le_bytes(bytes))
}

/// The error for a batch that could not be sealed.
fn exhausted() -> TransportError {
    TransportError::Io(io::Error::other("the sealing counter is exhausted (2^64 datagrams)"))
}

/// What a failed send means for the caller.
fn send_error(err: io::Error) -> TransportError {
    use io::ErrorKind as K;
    match err.kind() {
        K::ConnectionRefused | K::HostUnreachable | K::NetworkUnreachable => TransportError::Unreachable,
        K::AddrNotAvailable | K::PermissionDenied | K::InvalidInput | K::Unsupported => {
            TransportError::BadAddress(err.to_string())
        }
        _ => TransportError::Io(err),
    }
}

impl UdpTransport {
    /// Checks a datagram against the size limit and its destination
    /// against the socket's family.
    fn check(&self, to: &SocketAddr, bytes: &Bytes) -> Result<SocketAddr, TransportError> {
        let max = self.max_packet_size();
        if bytes.len() > max {
            return Err(TransportError::Oversized { len: bytes.len(), max });
        }
        socket_addr::destination(self.local, self.dual_stack, true, *to)
    }

    /// Sends every train of `plan`, recording failures in `results`.
    async fn send_plan(&self, plan: &SendPlan, results: &mut [Result<(), TransportError>]) {
        let max_segments = self.max_gso_segments();
        let mut at = 0;
        while at < plan.len() {
            let train = plan.train(at, max_segments);
            at = train.members.end;
            let contents = &plan.wire()[train.bytes.clone()];
            match self.send_train(train.to, contents, train.segment).await {
                Ok(()) => bump(&self.counters.out, train.members.len()),
                Err(_) if train.members.len() > 1 && self.state.max_gso_segments() == 1 => {
                    // The kernel refused segmentation offload (quinn-udp
                    // has now turned it off): send this train one by one.
                    for (member, datagram) in train.members.zip(contents.chunks(train.segment)) {
                        match self.send_train(train.to, datagram, datagram.len()).await {
                            Ok(()) => bump(&self.counters.out, 1),
                            Err(err) => results[plan.index(member)] = Err(send_error(err)),
                        }
                    }
                }
                Err(err) => {
                    let kind = err.kind();
                    for member in train.members {
                        results[plan.index(member)] = Err(send_error(io::Error::new(kind, err.to_string())));
                    }
                }
            }
        }
    }
}

#[async_trait]
impl Transport for UdpTransport {
    type Address = SocketAddr;

    async fn send(&self, to: &SocketAddr, bytes: Bytes) -> Result<(), TransportError> {
        let to = self.check(to, &bytes)?;
        let mut plan = std::mem::take(&mut *lock(&self.send_plan));
        plan.clear();
        plan.push(0, to);
        if plan.lay_out(&[(to, bytes)], &self.framing).is_err() {
            *lock(&self.send_plan) = plan;
            return Err(exhausted());
        }
        let sent = self.send_train(to, plan.wire(), plan.wire().len()).await;
        *lock(&self.send_plan) = plan;
        sent.map_err(send_error)?;
        bump(&self.counters.out, 1);
        Ok(())
    }

    /// Sends the batch grouped by destination (order kept per destination)
    /// as GSO trains, from one reused buffer where each datagram is laid
    /// out (and sealed in place). If the future is dropped midway the
    /// scratch is rebuilt on the next call.
    async fn send_batch(&self, batch: &[(SocketAddr, Bytes)]) -> Vec<Result<(), TransportError>> {
        let mut results: Vec<Result<(), TransportError>> = Vec::with_capacity(batch.len());
        let mut plan = std::mem::take(&mut *lock(&self.send_plan));
        plan.clear();
        for (i, (to, bytes)) in batch.iter().enumerate() {
            results.push(self.check(to, bytes).map(|to| plan.push(i, to)));
        }
        if plan.lay_out(batch, &self.framing).is_err() {
            results.iter_mut().filter(|r| r.is_ok()).for_each(|r| *r = Err(exhausted()));
        } else {
            self.send_plan(&plan, &mut results).await;
        }
        *lock(&self.send_plan) = plan;
        results
    }

    async fn recv(&self) -> Result<(SocketAddr, Bytes), TransportError> {
        let mut out = Vec::with_capacity(1);
        self.recv_batch(&mut out, 1).await?;
        out.pop().ok_or(TransportError::Closed)
    }

    /// Cancel-safe: datagrams are taken off the socket and handed to `out`
    /// in one synchronous step, into the transport's own arena.
    async fn recv_batch(&self, out: &mut Vec<(SocketAddr, Bytes)>, max: usize) -> Result<(), TransportError> {
        loop {
            if self.recv_once(out, max).await? > 0 {
                return Ok(());
            }
        }
    }

    fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn max_packet_size(&self) -> usize {
        self.max_datagram - self.framing.overhead()
    }

    fn stats(&self) -> TransportStats {
        let s = self.udp_stats();
        TransportStats {
            datagrams_out: s.datagrams_out,
            datagrams_in: s.datagrams_in,
            auth_failures: s.auth_failures,
            dropped: s.dropped_total(),
        }
    }
}
