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
    pub(crate) fn snapshot(&self) -> UdpStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        UdpStats {
            datagrams_out: load(&self.out),
            datagrams_in: load(&self.inn),
            auth_failures: load(&self.auth),
            dropped: load(&self.dropped),
            send_syscalls: load(&self.send_calls),
            recv_syscalls: load(&self.recv_calls),
            ecn_congestion: load(&self.ecn_ce),
            arena_allocations: load(&self.arena_allocations),
        }
    }
}
