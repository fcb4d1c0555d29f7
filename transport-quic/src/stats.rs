//! The transport's counters: atomics bumped on the hot path, read as one
//! [`QuicStats`] snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters kept by the QUIC transport, a superset of
/// [`TransportStats`](gossip_runtime::TransportStats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Cached connections replaced by a newer one to the same address
    /// (the peer restarted there, or both sides dialled at once).
    pub connections_replaced: u64,
    /// Cached connections dropped from the cache because a send on them
    /// failed; the next send dials again.
    pub send_evictions: u64,
    /// Connections open on the endpoint now.
    pub connections_open: u64,
}

impl QuicStats {
    /// Everything dropped after `send` accepted it or before `recv`
    /// returned it (what [`TransportStats::dropped`](gossip_runtime::TransportStats::dropped) reports).
    pub fn dropped(&self) -> u64 {
        self.pending_dropped
            .saturating_add(self.pending_full)
            .saturating_add(self.recv_queue_full)
            .saturating_add(self.stream_sends_full)
            .saturating_add(self.stream_send_failures)
            .saturating_add(self.stream_recv_failures)
    }
}

/// The live counters behind [`QuicStats`].
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) datagrams_out: AtomicU64,
    pub(crate) streams_out: AtomicU64,
    pub(crate) datagrams_in: AtomicU64,
    pub(crate) streams_in: AtomicU64,
    pub(crate) auth_failures: AtomicU64,
    pub(crate) handshake_failures: AtomicU64,
    pub(crate) dials: AtomicU64,
    pub(crate) dial_failures: AtomicU64,
    pub(crate) unreachable: AtomicU64,
    pub(crate) pending_dropped: AtomicU64,
    pub(crate) pending_full: AtomicU64,
    pub(crate) recv_queue_full: AtomicU64,
    pub(crate) stream_sends_full: AtomicU64,
    pub(crate) stream_send_failures: AtomicU64,
    pub(crate) stream_recv_failures: AtomicU64,
    pub(crate) connections_opened: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) connections_replaced: AtomicU64,
    pub(crate) send_evictions: AtomicU64,
}

/// Adds `n` to a counter, saturating at `u64::MAX`.
pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    // A plain add would wrap; the closure never returns None, so the
    // update always succeeds.
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(v.saturating_add(n)));
}

impl Counters {
    /// A snapshot; `connections_open` comes from the endpoint.
    pub(crate) fn snapshot(&self, connections_open: u64) -> QuicStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        QuicStats {
            datagrams_out: get(&self.datagrams_out),
            streams_out: get(&self.streams_out),
            datagrams_in: get(&self.datagrams_in),
            streams_in: get(&self.streams_in),
            auth_failures: get(&self.auth_failures),
            handshake_failures: get(&self.handshake_failures),
            dials: get(&self.dials),
            dial_failures: get(&self.dial_failures),
            unreachable: get(&self.unreachable),
            pending_dropped: get(&self.pending_dropped),
            pending_full: get(&self.pending_full),
            recv_queue_full: get(&self.recv_queue_full),
            stream_sends_full: get(&self.stream_sends_full),
            stream_send_failures: get(&self.stream_send_failures),
            stream_recv_failures: get(&self.stream_recv_failures),
            connections_opened: get(&self.connections_opened),
            evictions: get(&self.evictions),
            connections_replaced: get(&self.connections_replaced),
            send_evictions: get(&self.send_evictions),
            connections_open,
        }
    }
}

/// What QUIC itself counted on one open connection, to tell where
/// datagrams went that the transport's counters cannot see: `quinn`
/// discards the oldest queued datagram when its send buffer is full
/// (congestion control holds them back), packets can be lost on the way,
/// and it discards datagrams the application does not read fast enough.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionCounts {
    /// DATAGRAM frames put on the wire.
    pub datagram_frames_sent: u64,
    /// DATAGRAM frames received.
    pub datagram_frames_received: u64,
    /// QUIC packets declared lost by loss detection (in both the
    /// datagrams' and every other frame's packets).
    pub lost_packets: u64,
}

impl From<quinn::ConnectionStats> for ConnectionCounts {
    fn from(stats: quinn::ConnectionStats) -> Self {
        ConnectionCounts {
            datagram_frames_sent: stats.frame_tx.datagram,
            datagram_frames_received: stats.frame_rx.datagram,
            lost_packets: stats.path.lost_packets,
        }
    }
}
