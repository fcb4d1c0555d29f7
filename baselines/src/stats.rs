//! The baselines' counters: the common ones every driver reads, and the
//! baselines' own (NACKs, repairs, ACKs, drops by reason).

use gossip_core::{CommonStats, ProtocolStats};

/// The baselines' counters ([`Protocol::Stats`](gossip_core::Protocol::Stats)):
/// the common ones every driver reads, and the baselines' own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BaselineStats {
    /// Packets and bytes each way, decode errors, multicasts, deliveries
    /// and duplicates.
    pub common: CommonStats,
    /// Message copies sent (first copies, forwards and repairs, per recipient).
    pub messages_sent: u64,
    /// NACKs sent (one packet counts once per recipient).
    pub nacks_sent: u64,
    /// NACKs suppressed because another member asked first.
    pub nacks_suppressed: u64,
    /// Repairs or retransmissions sent (per recipient).
    pub repairs_sent: u64,
    /// Repairs suppressed because another member answered first.
    pub repairs_suppressed: u64,
    /// ACK packets sent.
    pub acks_sent: u64,
    /// Children served directly after their parent stopped answering (RMTP).
    pub adopted: u64,
    /// Messages given up on (NACK retries or retransmissions exhausted).
    pub gave_up: u64,
    /// Timers not started because `max_pending` were already pending.
    pub pending_full: u64,
    /// Packets naming a member index the list does not hold.
    pub bad_index: u64,
    /// Transmits dropped because `max_transmits` were already queued.
    pub transmit_queue_full: u64,
    /// Events dropped because `max_events` were already queued.
    pub event_queue_full: u64,
    /// Buffered messages evicted beyond `max_buffer_messages`.
    pub buffer_evicted: u64,
    /// Sequence numbers given up on because `max_dedup` out-of-order ones
    /// were already remembered.
    pub window_skipped: u64,
    /// Messages for a group this node does not belong to.
    pub not_member: u64,
    /// Packets ignored because the node has left.
    pub after_leave: u64,
}

impl ProtocolStats for BaselineStats {
    fn common(&self) -> CommonStats {
        let drops = [
            self.transmit_queue_full,
            self.event_queue_full,
            self.buffer_evicted,
            self.window_skipped,
            self.not_member,
            self.after_leave,
            self.pending_full,
        ];
        let mut common = self.common;
        common.dropped = drops.into_iter().fold(0, u64::saturating_add);
        common
    }
}
