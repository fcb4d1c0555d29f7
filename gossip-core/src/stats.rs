//! Counters: everything in and out, and every drop by reason.

/// Cumulative counters since the node started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets handed to `handle_packet`.
    pub packets_in: u64,
    /// Bytes handed to `handle_packet`.
    pub bytes_in: u64,
    /// Packets emitted through `poll_transmit`'s queue.
    pub packets_out: u64,
    /// Bytes emitted through `poll_transmit`'s queue.
    pub bytes_out: u64,
    /// Packets that failed to decode (and were dropped whole).
    pub decode_errors: u64,
    /// Messages this node multicast.
    pub multicasts: u64,
    /// Messages delivered to this node.
    pub deliveries: u64,
    /// Messages received again after delivery (or a repeat of one's own).
    pub duplicates: u64,
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

/// Counters of the membership layer: probes, suspicions, refutations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
}

/// Things the engine threw away to stay inside its caps, by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drops {
    /// Transmits dropped because `max_transmits` were already queued.
    pub transmit_queue_full: u64,
    /// Events dropped because `max_events` were already queued.
    pub event_queue_full: u64,
    /// Buffered messages evicted before their retention ran out, to respect
    /// `max_buffer_bytes` or `max_buffer_messages`.
    pub buffer_evicted: u64,
    /// Messages dropped because a new stream would exceed `max_streams`.
    pub streams_full: u64,
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
