//! The UDP transport's counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters kept by the UDP transport, a superset of
/// [`TransportStats`](gossip_runtime::TransportStats). Every counter
/// saturates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UdpStats {
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Datagrams received and passed on.
    pub datagrams_in: u64,
    /// Datagrams that failed to open (wrong key, tampered, garbage).
    pub auth_failures: u64,
    /// Datagrams dropped on receipt for other reasons (too long).
    pub dropped: u64,
    /// Datagrams carrying another cluster's id (or too short to carry
    /// one), dropped.
    pub foreign_cluster: u64,
    /// Authentic datagrams whose counter their sender's replay window had
    /// already seen: replays (or network duplicates), dropped.
    pub replayed: u64,
    /// Authentic datagrams whose counter was older than their sender's
    /// replay window reaches, dropped.
    pub too_old: u64,
    /// Authentic datagrams stamped further from this node's clock than
    /// [`UdpConfig::max_clock_skew`](crate::UdpConfig::max_clock_skew),
    /// dropped: old captures, or a member whose clock is off.
    pub clock_skew: u64,
    /// Replay windows evicted (least recently seen first) to make room for
    /// a new sender instance.
    pub replay_window_evictions: u64,
    /// Send system calls made.
    pub send_syscalls: u64,
    /// Receive system calls that returned data.
    pub recv_syscalls: u64,
    /// Datagrams received marked Congestion Experienced (ECN CE) by a
    /// router on the way.
    pub ecn_congestion: u64,
    /// Times the receive arena needed a new block (the previous one was
    /// still referenced by received datagrams held elsewhere).
    pub arena_allocations: u64,
}

/// The live counters behind [`UdpStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) out: AtomicU64,
    pub(crate) inn: AtomicU64,
    pub(crate) auth: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) foreign_cluster: AtomicU64,
    pub(crate) replayed: AtomicU64,
    pub(crate) too_old: AtomicU64,
    pub(crate) clock_skew: AtomicU64,
    pub(crate) send_calls: AtomicU64,
    pub(crate) recv_calls: AtomicU64,
    pub(crate) ecn_ce: AtomicU64,
    pub(crate) arena_allocations: AtomicU64,
}

/// Adds `n` to `counter`, saturating at `u64::MAX`.
pub(crate) fn bump(counter: &AtomicU64, n: usize) {
    let n = u64::try_from(n).unwrap_or(u64::MAX);
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(v.saturating_add(n)));
}

impl Counters {
    /// The counters now; `window_evictions` comes from the replay table.
    pub(crate) fn snapshot(&self, window_evictions: u64) -> UdpStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        UdpStats {
            datagrams_out: load(&self.out),
            datagrams_in: load(&self.inn),
            auth_failures: load(&self.auth),
            dropped: load(&self.dropped),
            foreign_cluster: load(&self.foreign_cluster),
            replayed: load(&self.replayed),
            too_old: load(&self.too_old),
            clock_skew: load(&self.clock_skew),
            replay_window_evictions: window_evictions,
            send_syscalls: load(&self.send_calls),
            recv_syscalls: load(&self.recv_calls),
            ecn_congestion: load(&self.ecn_ce),
            arena_allocations: load(&self.arena_allocations),
        }
    }
}

impl UdpStats {
    /// Datagrams dropped on receipt for any reason but authentication:
    /// too long, another cluster's, replayed, too old, outside the clock
    /// skew. The runtime's
    /// [`TransportStats::dropped`](gossip_runtime::TransportStats::dropped).
    pub fn dropped_total(&self) -> u64 {
        [self.foreign_cluster, self.replayed, self.too_old, self.clock_skew]
            .into_iter()
            .fold(self.dropped, u64::saturating_add)
    }
}
