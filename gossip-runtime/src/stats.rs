//! The runtime's counters.

use std::sync::atomic::AtomicU64;

use gossip_core::{CommonStats, MembershipStats};

use crate::transport::TransportStats;

/// The runtime's counters: the engine's, the transport's, and its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RuntimeStats {
    /// The protocol's counters every protocol keeps (its own, fuller
    /// counters are [`Protocol::stats`](gossip_core::Protocol::stats)).
    pub engine: CommonStats,
    /// The engine's drops by reason (empty for a protocol that does not
    /// break them down).
    pub engine_drops: Vec<(&'static str, u64)>,
    /// The engine's membership counters, for a protocol with a membership
    /// layer.
    pub membership: Option<MembershipStats>,
    /// The transport's counters (authentication failures and the like).
    pub transport: TransportStats,
    /// Deliveries that subscribers missed because they fell behind
    /// (the sum of every "lagged by N").
    pub lagged: u64,
    /// Lag signals given to subscribers.
    pub lag_events: u64,
    /// Multicasts queued with `try_multicast` that the engine refused.
    pub publish_errors: u64,
    /// Gaps the engine reported: ranges of messages it will never deliver
    /// (passed to the group's subscribers as `Missed::Gap`).
    pub gaps: u64,
    /// Deliveries for a group nobody in this process subscribed to a
    /// stream for.
    pub unobserved: u64,
    /// Datagrams the transport refused to send (any error).
    pub send_errors: u64,
    /// Of those, the ones it reported unreachable (passed to the engine).
    pub unreachable: u64,
    /// Datagrams dropped because the send queue stayed full.
    pub send_queue_full: u64,
    /// Receive errors other than the transport closing.
    pub recv_errors: u64,
    /// Membership events dropped because nobody listened fast enough.
    pub member_events_lagged: u64,
}

#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) lagged: AtomicU64,
    pub(crate) lag_events: AtomicU64,
    pub(crate) gaps: AtomicU64,
    pub(crate) publish_errors: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    pub(crate) unreachable: AtomicU64,
    pub(crate) send_queue_full: AtomicU64,
    pub(crate) recv_errors: AtomicU64,
}
