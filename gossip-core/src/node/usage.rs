//! [`Usage`]: what a node holds now, beside its caps.

/// How much state a node holds right now, to compare against its caps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Messages in the buffer.
    pub buffered_messages: usize,
    /// Payload bytes in the buffer.
    pub buffered_bytes: usize,
    /// Streams tracked for duplicate suppression.
    pub streams: usize,
    /// Floors kept of streams no longer tracked.
    pub stream_floors: usize,
    /// Transmits waiting to be polled, and (tree mode) new messages
    /// waiting to go down their trees at the next poll.
    pub queued_transmits: usize,
    /// Events waiting to be polled.
    pub queued_events: usize,
    /// Live members (alive or suspect; for a shared list, its length).
    pub members: usize,
    /// Member entries held, dead and departed ones included (gossiped view).
    pub known_members: usize,
    /// Membership updates waiting to be piggy-backed (gossiped view).
    pub membership_updates: usize,
    /// Groups in the member index (gossiped view; at most 4,096).
    pub indexed_groups: usize,
    /// (member, group) pairs in the member index (gossiped view; at most
    /// 2^20).
    pub indexed_memberships: usize,
    /// Distinct member profiles (groups and metadata) held: members with
    /// the same groups and metadata share one (gossiped view).
    pub member_profiles: usize,
    /// Heap bytes of the member table, its indexes, profiles and update
    /// queue (gossiped view): see README, "Gossiped membership", for the cap.
    pub membership_bytes: usize,
    /// Lifeguard's local health score: 0 is healthy; each step stretches
    /// the probe interval and timeout by one more multiple.
    pub health: u32,
}
