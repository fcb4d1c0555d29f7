//! The baselines' settings: one [`BaselineConfig`] for all four, each
//! protocol reading the fields it needs.

use std::time::Duration;

use crate::wire::DATA_HEADER;

/// How a message first travels from its origin to the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dissemination {
    /// The origin sends one copy to every member.
    Direct,
    /// A balanced k-ary tree rooted at the origin; each node forwards to its children.
    Tree,
}

/// Settings shared by the baselines; each protocol reads the fields it needs.
#[derive(Clone, Debug)]
pub struct BaselineConfig {
    /// Children per tree node (k of the k-ary tree), at least 1.
    pub k: u32,
    /// How SRM disseminates first copies (the others: unicast is direct, tree and RMTP use the tree).
    pub dissemination: Dissemination,
    /// Largest packet built, in bytes.
    pub max_packet_size: usize,
    /// SRM: the unit `d` of the random NACK and repair delays (uniform in
    /// `[d, 2d]`, doubled at each back-off).
    pub repair_delay: Duration,
    /// SRM: the width of the random delay windows in units of `repair_delay`
    /// (SRM's C2 and D2); `None` scales it as √N, which keeps the number of
    /// duplicate NACKs and repairs small when many members miss the same
    /// message at once.
    pub spread: Option<f64>,
    /// SRM: most doublings of the NACK back-off.
    pub max_backoff: u32,
    /// SRM: NACKs sent for one message before giving up; RMTP: retransmissions to one child.
    pub max_retries: u32,
    /// SRM: first session message this long after a multicast; later ones at
    /// doubling intervals.
    pub session_interval: Duration,
    /// SRM: session messages after each multicast.
    pub session_count: u32,
    /// RMTP: how long a receiver gathers ACKs into one packet.
    pub ack_delay: Duration,
    /// RMTP: retransmission timeout (doubled per retry, at most 8×).
    pub rto: Duration,
    /// RMTP: after this many unanswered retransmissions to a child, its
    /// designated receiver also serves the child's children directly (0: never).
    pub adopt_after: u32,
    /// Messages kept for repair (SRM, RMTP); the oldest are evicted beyond it.
    pub max_buffer_messages: usize,
    /// Pending NACK, repair and retransmission timers; more are dropped and counted.
    pub max_pending: usize,
    /// Queued transmits; more are dropped and counted.
    pub max_transmits: usize,
    /// Queued events; more are dropped and counted.
    pub max_events: usize,
    /// Out-of-order sequence numbers remembered for exactly-once delivery.
    pub max_dedup: usize,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig {
            k: 4,
            dissemination: Dissemination::Tree,
            max_packet_size: 1200,
            repair_delay: Duration::from_millis(5),
            spread: None,
            max_backoff: 3,
            max_retries: 8,
            session_interval: Duration::from_millis(20),
            session_count: 4,
            ack_delay: Duration::from_millis(5),
            rto: Duration::from_millis(20),
            adopt_after: 2,
            max_buffer_messages: 4096,
            max_pending: 65_536,
            max_transmits: 1 << 20,
            max_events: 1 << 16,
            max_dedup: 1 << 16,
        }
    }
}

impl BaselineConfig {
    /// The largest payload one packet carries.
    pub fn max_payload(&self) -> usize {
        self.max_packet_size.saturating_sub(DATA_HEADER).min(usize::from(u16::MAX))
    }
}
