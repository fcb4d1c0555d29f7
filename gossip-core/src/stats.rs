//! Counters: everything in and out, and every drop by reason; and the small
//! common view every protocol's counters give a driver.

/// The counters a driver reads from any [`Protocol`](crate::Protocol)
/// (through [`ProtocolStats::common`]): packets and bytes each way, decode
/// errors, and the multicast outcome. Cumulative since the node started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CommonStats {
    /// Packets handed to `handle_packet`.
    pub packets_in: u64,
    /// Bytes handed to `handle_packet`.
    pub bytes_in: u64,
    /// Packets emitted through `poll_transmit`.
    pub packets_out: u64,
    /// Bytes emitted through `poll_transmit`.
    pub bytes_out: u64,
    /// Packets that failed to decode (and were dropped whole).
    pub decode_errors: u64,
    /// Messages this node multicast.
    pub multicasts: u64,
    /// Messages delivered to this node.
    pub deliveries: u64,
    /// Messages received again after delivery.
    pub duplicates: u64,
    /// Packets, messages and events the protocol threw away, whatever the
    /// reason (a full queue, an eviction, a message for another group...);
    /// the protocol's own counters say which.
    pub dropped: u64,
}

/// A protocol's own counters, whatever they hold, seen through the common
/// view drivers need ([`Protocol::Stats`](crate::Protocol::Stats)).
pub trait ProtocolStats: Clone + std::fmt::Debug {
    /// The counters every driver reads.
    fn common(&self) -> CommonStats;

    /// Drops by reason (names in `snake_case`), for drivers that export
    /// them; empty when the protocol does not break them down.
    fn drops_by_reason(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// The membership layer's counters, when the protocol has one.
    fn membership(&self) -> Option<MembershipStats> {
        None
    }
}

impl ProtocolStats for CommonStats {
    fn common(&self) -> CommonStats {
        *self
    }
}

impl ProtocolStats for Stats {
    fn common(&self) -> CommonStats {
        CommonStats { dropped: self.drops.total(), ..self.common }
    }

    fn drops_by_reason(&self) -> Vec<(&'static str, u64)> {
        let (d, m) = (&self.drops, &self.membership);
        vec![
            ("transmit_queue_full", d.transmit_queue_full),
            ("event_queue_full", d.event_queue_full),
            ("buffer_evicted", d.buffer_evicted),
            ("streams_evicted", d.streams_evicted),
            ("floors_dropped", d.floors_dropped),
            ("stale", d.stale),
            ("out_of_range", d.out_of_range),
            ("before_subscribe", d.before_subscribe),
            ("digests_refused", d.digests_refused),
            ("window_skipped", d.window_skipped),
            ("not_member", d.not_member),
            ("too_old", d.too_old),
            ("after_leave", d.after_leave),
            ("members_full", m.members_full),
            ("new_members_capped", m.new_members_capped),
            ("updates_dropped", m.updates_dropped),
            ("relays_full", m.relays_full),
        ]
    }

    fn membership(&self) -> Option<MembershipStats> {
        Some(self.membership.clone())
    }
}

/// Cumulative counters since the node started: the common ones every
/// driver reads (`stats.deliveries` reads them through `Deref`), and the
/// gossip engine's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Stats {
    /// Packets and bytes each way, decode errors, multicasts, deliveries
    /// and duplicates (a repeat of one's own message counts too). Its
    /// `dropped` stays 0 here: [`ProtocolStats::common`] sums [`Stats::drops`].
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub common: CommonStats,
    /// Message copies sent (pushes and pull answers).
    pub messages_sent: u64,
    /// Pull digests sent.
    pub digests_sent: u64,
    /// Messages sent in answer to a pull digest.
    pub pull_answers: u64,
    /// Drops, by reason.
    pub drops: Drops,
    /// The failure detector and membership layer (gossiped view only).
    pub membership: MembershipStats,
}

impl std::ops::Deref for Stats {
    type Target = CommonStats;

    fn deref(&self) -> &CommonStats {
        &self.common
    }
}

impl std::ops::DerefMut for Stats {
    fn deref_mut(&mut self) -> &mut CommonStats {
        &mut self.common
    }
}

/// Counters of the membership layer: probes, suspicions, refutations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct MembershipStats {
    /// Direct probes sent.
    pub probes: u64,
    /// Probes that got no ack, direct or indirect, by the end of their interval.
    pub probe_failures: u64,
    /// Indirect probe requests sent.
    pub indirect_probes: u64,
    /// Suspicions started (by this node's probes or others' reports).
    pub suspicions: u64,
    /// Independent confirmations that shortened a suspicion.
    pub confirmations: u64,
    /// Suspicions lifted by the member's refutation.
    pub refuted: u64,
    /// Members declared dead (or departed) when a suspicion ran out.
    pub deaths: u64,
    /// Times this node refuted a suspicion of itself.
    pub refutations: u64,
    /// Suspicions gossiped once more at half the minimum suspicion
    /// timeout, because no refutation had come.
    pub reannounced: u64,
    /// Packets sent back to a member that told of another as suspect,
    /// dead or departed at an incarnation since refuted (so its suspicion
    /// does not run out into a false death).
    pub corrections: u64,
    /// Anti-entropy requests left unanswered because the asker's view
    /// summed to the same as this node's (nothing to teach either way).
    pub syncs_agreed: u64,
    /// Members replaced by a new node at their address.
    pub replaced: u64,
    /// Members ignored because `max_members` were known.
    pub members_full: u64,
    /// New members ignored because one sender introduced `max_new_members`
    /// in one probe interval.
    pub new_members_capped: u64,
    /// Updates dropped from a full queue before they were sent enough.
    pub updates_dropped: u64,
    /// First-hand address changes refused (the member still answered at
    /// its old address at the same incarnation).
    pub address_refused: u64,
    /// Indirect probe requests refused because `MAX_RELAYS` were pending.
    pub relays_full: u64,
    /// Probe round-trip times overwritten because 256 were kept and
    /// nobody called `Protocol::drain_probe_rtts`.
    pub probe_rtts_dropped: u64,
    /// Group memberships of members left out of the group index because
    /// it was full (too many groups, or too many member-group pairs).
    pub groups_unindexed: u64,
    /// JOINs from a member answered with one table slice instead of the
    /// whole table, because the same address got the whole table less
    /// than half a gossip period before (replays, forgeries).
    pub full_answers_limited: u64,
}

/// Things the engine threw away to stay inside its caps, by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Drops {
    /// Transmits dropped because `max_transmits` were already queued.
    pub transmit_queue_full: u64,
    /// Events dropped because `max_events` were already queued.
    pub event_queue_full: u64,
    /// Buffered messages evicted before their retention ran out, to respect
    /// `max_buffer_bytes` or `max_buffer_messages`.
    pub buffer_evicted: u64,
    /// Streams no longer tracked because a new one needed room within
    /// `max_streams` (their floors are kept; see [`Event::Gap`](crate::Event::Gap)).
    pub streams_evicted: u64,
    /// Floors of untracked streams forgotten to stay within
    /// `max_stream_floors` (a replay of such a stream's messages is then
    /// refused only by their age).
    pub floors_dropped: u64,
    /// Messages at or below the floor of a stream no longer tracked:
    /// replays, or stragglers of something passed long ago.
    pub stale: u64,
    /// Messages numbered beyond 2^62, or relayed ones further ahead of what
    /// their stream has seen than a jump may be.
    pub out_of_range: u64,
    /// Messages multicast before this node subscribed to their group
    /// (recorded, not delivered).
    pub before_subscribe: u64,
    /// Pull digests not answered (the asker is no live member at that
    /// address) or answered short (its address is not proven yet).
    pub digests_refused: u64,
    /// Sequence numbers given up on because a later message pushed them out
    /// of the dedup window before they arrived.
    pub window_skipped: u64,
    /// Messages for a group this node does not belong to.
    pub not_member: u64,
    /// Messages older than retention allows (they could be duplicates of
    /// something forgotten).
    pub too_old: u64,
    /// Packets ignored because the node has left.
    pub after_leave: u64,
}

impl Drops {
    /// Every drop, whatever the reason (saturating).
    pub fn total(&self) -> u64 {
        [
            self.transmit_queue_full,
            self.event_queue_full,
            self.buffer_evicted,
            self.streams_evicted,
            self.floors_dropped,
            self.stale,
            self.out_of_range,
            self.before_subscribe,
            self.digests_refused,
            self.window_skipped,
            self.not_member,
            self.too_old,
            self.after_leave,
        ]
        .into_iter()
        .fold(0, u64::saturating_add)
    }
}
