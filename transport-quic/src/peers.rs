//! The peer cache: one entry per peer, holding its connection, the packets
//! waiting for a dial, or the back-off after failed dials; the connection
//! cap (least recently used eviction) and the cap on the table itself.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gossip_runtime::TransportError;
use quinn::{Connection, ConnectionError, VarInt};
use tokio::time::Instant;

use crate::shared::Shared;
use crate::stats::bump;
use crate::tls;

/// Where one peer stands.
pub(crate) enum PeerState {
    /// No connection; the next send dials.
    Idle,
    /// Dials fail; sends are refused until then.
    Backoff(Instant),
    /// A dial is in flight; packets wait here.
    Dialing(VecDeque<Bytes>),
    /// A connection to use.
    Connected(Connection),
}

/// One entry of the cache.
pub(crate) struct Peer {
    state: PeerState,
    failures: u32,
    last_used: Instant,
    /// When the cached connection was installed.
    connected_at: Instant,
}

impl Peer {
    fn idle(now: Instant) -> Self {
        Peer { state: PeerState::Idle, failures: 0, last_used: now, connected_at: now }
    }
}

/// The peer table, capped at `Limits::max_peers` entries.
#[derive(Default)]
pub(crate) struct Peers {
    map: HashMap<SocketAddr, Peer>,
}

impl Peers {
    /// The open connection to `to`, if any.
    pub(crate) fn connection(&self, to: &SocketAddr) -> Option<&Connection> {
        match &self.map.get(to)?.state {
            PeerState::Connected(conn) => Some(conn),
            _ => None,
        }
    }

    /// Forgets every peer.
    pub(crate) fn clear(&mut self) {
        self.map.clear();
    }

    /// Drops entries that hold nothing: idle peers and expired back-offs.
    fn prune(&mut self, now: Instant) {
        self.map.retain(|_, p| match p.state {
            PeerState::Idle => false,
            PeerState::Backoff(until) => until > now,
            _ => true,
        });
    }
}

/// What `route` decided, acted on after the lock is released.
pub(crate) enum Route {
    /// Send on this connection now.
    Transmit(Connection),
    /// The packet waits for a dial in flight (or was dropped and counted
    /// because too many wait).
    Queued,
    /// The packet waits; start a dial.
    Dial,
}

impl Shared {
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
    pub(crate) fn route(&self, to: SocketAddr, bytes: &Bytes) -> Result<Route, TransportError> {
        let now = Instant::now();
        let mut peers = self.lock();
        if !peers.map.contains_key(&to) && peers.map.len() >= self.limits.max_peers {
            peers.prune(now);
            if peers.map.len() >= self.limits.max_peers {
                bump(&self.counters.unreachable, 1);
                return Err(TransportError::Unreachable);
            }
        }
        let peer = peers.map.entry(to).or_insert_with(|| Peer::idle(now));
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

    /// A send on `conn` failed: if it is still the cached connection to
    /// `to`, drop it from the cache (and close it), so that the next send
    /// dials again instead of trying it once more.
    pub(crate) fn forget(&self, to: SocketAddr, conn: &Connection) {
        let evicted = {
            let mut peers = self.lock();
            let Some(peer) = peers.map.get_mut(&to) else { return };
            let cached = matches!(&peer.state, PeerState::Connected(c) if c.stable_id() == conn.stable_id());
            if cached {
                peer.state = PeerState::Idle;
                bump(&self.counters.send_evictions, 1);
            }
            cached
        };
        if evicted {
            conn.close(VarInt::from_u32(4), b"send failed");
        }
    }

    /// A dial failed: drop (and count) the packets that waited for it and
    /// put the peer in back-off.
    pub(crate) fn dial_failed(&self, to: SocketAddr) {
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
    ///
    /// The newest connection to a peer wins: a handshake that just
    /// succeeded proves the peer is there now, while the cached connection
    /// may lead to a process that is gone (the peer restarted at the same
    /// address, and the old connection would only end at the idle
    /// timeout). The replaced connection is closed, unless it is younger
    /// than a dial timeout: then both sides dialled at once and the peer
    /// may be sending on it, so it is left to end by itself.
    pub(crate) fn install(self: &Arc<Self>, conn: Connection) {
        bump(&self.counters.connections_opened, 1);
        let addr = self.source(conn.remote_address());
        let now = Instant::now();
        let (pending, stale) = {
            let mut peers = self.lock();
            if self.is_closed() {
                conn.close(VarInt::from_u32(0), b"closed");
                return;
            }
            if !peers.map.contains_key(&addr) && peers.map.len() >= self.limits.max_peers {
                peers.prune(now);
            }
            let has_slot = peers.map.get(&addr).is_some_and(|p| {
                matches!(&p.state, PeerState::Dialing(_))
                    || matches!(&p.state, PeerState::Connected(c) if c.close_reason().is_none())
            });
            if !has_slot && !self.make_room(&mut peers, addr) {
                // Every slot is a dial in flight: serve it uncached.
                return;
            }
            let peer = peers.map.entry(addr).or_insert_with(|| Peer::idle(now));
            let previous = std::mem::replace(&mut peer.state, PeerState::Connected(conn.clone()));
            peer.failures = 0;
            let installed_at = std::mem::replace(&mut peer.connected_at, now);
            match previous {
                PeerState::Dialing(queue) => (queue, None),
                PeerState::Connected(old) if old.stable_id() != conn.stable_id() => {
                    if old.close_reason().is_none() {
                        bump(&self.counters.connections_replaced, 1);
                    }
                    let simultaneous = now.duration_since(installed_at) < self.limits.dial_timeout;
                    (VecDeque::new(), (!simultaneous).then_some(old))
                }
                _ => (VecDeque::new(), None),
            }
        };
        if let Some(old) = stale {
            tracing::debug!(peer = %addr, "a new connection replaces the cached one");
            old.close(VarInt::from_u32(3), b"replaced");
        }
        for bytes in pending {
            let _ = self.transmit(addr, &conn, bytes);
        }
    }

    /// Called when a served connection ends: the peer becomes idle, or
    /// goes into back-off if it refused our certificate.
    pub(crate) fn connection_closed(&self, conn: &Connection, err: &ConnectionError) {
        let addr = self.source(conn.remote_address());
        // A refusal here: the peer refused our certificate after our side
        // of the handshake completed.
        let refused = self.note_refusal(addr, tls::Stage::Established, err);
        let mut peers = self.lock();
        let Some(peer) = peers.map.get_mut(&addr) else { return };
        if matches!(&peer.state, PeerState::Connected(c) if c.stable_id() == conn.stable_id()) {
            if refused {
                peer.failures = peer.failures.saturating_add(1);
                peer.state = PeerState::Backoff(Instant::now() + self.backoff(peer.failures));
            } else {
                peer.state = PeerState::Idle;
            }
        }
    }
}
