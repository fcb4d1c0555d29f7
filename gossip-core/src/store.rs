//! The message buffer: what a node keeps to push for a while and to answer
//! pulls with, capped by count, bytes and retention time.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use crate::ids::{GroupId, MessageId, NodeId};
use crate::time::Time;

/// One buffered message.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub(crate) payload: Bytes,
    /// Bytes of memory the payload keeps alive: its own length, or the
    /// whole datagram it is a slice of.
    pub(crate) held: usize,
    pub(crate) priority: u8,
    /// Hop count to put on copies this node sends.
    pub(crate) send_hops: u32,
    /// Age carried by the copy that arrived (0 for one's own).
    pub(crate) age_at: u32,
    /// The node's round counter when it arrived.
    pub(crate) round_at: u64,
    /// Pushes that reached a member that already had it (Demers' counter).
    pub(crate) misses: u32,
    /// Still being pushed.
    pub(crate) active: bool,
    /// One's own message that has not left this node yet: it stays active
    /// until it has, and its age counts from then.
    pub(crate) unsent_own: bool,
    /// One's own message to a group this node is not in: sent every round,
    /// at age 0 and asking for an acknowledgement, until a member confirms
    /// it holds it (the members then carry it).
    pub(crate) awaiting_ack: bool,
    /// Arrival order, for FIFO and newest-first ordering.
    pub(crate) arrival: u64,
}

impl Stored {
    /// The message's age at round `round`: rounds since it was multicast.
    pub(crate) fn age(&self, round: u64) -> u32 {
        let elapsed = round.saturating_sub(self.round_at);
        u32::try_from(u64::from(self.age_at).saturating_add(elapsed)).unwrap_or(u32::MAX)
    }
}

/// Where `seq` sits in a stream. A stream's buffered numbers are usually
/// contiguous, so the offset from the first is tried before a binary search.
fn position(stream: &VecDeque<(u64, Stored)>, seq: u64) -> Option<usize> {
    let first = stream.front()?.0;
    let guess = usize::try_from(seq.checked_sub(first)?).ok()?;
    if stream.get(guess).is_some_and(|(s, _)| *s == seq) {
        return Some(guess);
    }
    stream.binary_search_by_key(&seq, |(s, _)| *s).ok()
}

/// Buffered messages, kept per `(group, origin)` stream in ascending
/// sequence order (which is what pull answers walk), with an arrival queue
/// for expiry and eviction. Lookups are B-tree and binary searches: no
/// hashing of peer-chosen ids, a deterministic iteration order, and no
/// cost linear in the number of streams when one is added.
#[derive(Debug, Default)]
pub(crate) struct Store {
    streams: BTreeMap<(GroupId, NodeId), VecDeque<(u64, Stored)>>,
    arrivals: VecDeque<(Time, MessageId)>,
    active: Vec<MessageId>,
    len: usize,
    bytes: usize,
    next_arrival: u64,
}

impl Store {
    /// Buffers a message (a repeat of a buffered id is ignored). Returns how
    /// many older messages were evicted to stay within `max_messages` and
    /// `max_bytes`.
    pub(crate) fn insert(
        &mut self,
        now: Time,
        id: MessageId,
        mut stored: Stored,
        max_messages: usize,
        max_bytes: usize,
    ) -> u64 {
        // Make room first (a repeat of a buffered id, which the dedup
        // windows already keep out, is the rare case that does not need it).
        let mut evicted = 0;
        while !self.arrivals.is_empty() && (self.len >= max_messages || self.bytes + stored.held > max_bytes) {
            if self.pop_oldest() {
                evicted += 1;
            }
        }
        let stream = self.streams.entry((id.group, id.origin)).or_default();
        let (size, active) = (stored.held, stored.active);
        stored.arrival = self.next_arrival;
        if stream.back().is_none_or(|(last, _)| *last < id.seq) {
            stream.push_back((id.seq, stored));
        } else {
            match stream.binary_search_by_key(&id.seq, |(seq, _)| *seq) {
                Ok(_) => return evicted,
                Err(at) => stream.insert(at, (id.seq, stored)),
            }
        }
        self.next_arrival += 1;
        self.bytes += size;
        self.len += 1;
        if active {
            // Ids of evicted messages linger here until the next prune;
            // prune now and then so that this list stays bounded too.
            if self.active.len() >= 2 * self.len + 64 {
                self.prune_active();
            }
            self.active.push(id);
        }
        self.arrivals.push_back((now, id));
        evicted
    }

    fn pop_oldest(&mut self) -> bool {
        let Some((_, id)) = self.arrivals.pop_front() else { return false };
        let key = (id.group, id.origin);
        let Some(stream) = self.streams.get_mut(&key) else { return false };
        let removed = if stream.front().is_some_and(|(seq, _)| *seq == id.seq) {
            stream.pop_front()
        } else {
            stream.binary_search_by_key(&id.seq, |(seq, _)| *seq).ok().and_then(|at| stream.remove(at))
        };
        if stream.is_empty() {
            self.streams.remove(&key);
        }
        match removed {
            Some((_, old)) => {
                self.bytes -= old.held;
                self.len -= 1;
                true
            }
            None => false,
        }
    }

    /// Drops messages that arrived before `cutoff`.
    pub(crate) fn expire(&mut self, cutoff: Time) {
        while self.arrivals.front().is_some_and(|(at, _)| *at < cutoff) {
            self.pop_oldest();
        }
    }

    pub(crate) fn get(&self, id: &MessageId) -> Option<&Stored> {
        let stream = self.streams.get(&(id.group, id.origin))?;
        let at = position(stream, id.seq)?;
        stream.get(at).map(|(_, stored)| stored)
    }

    pub(crate) fn get_mut(&mut self, id: &MessageId) -> Option<&mut Stored> {
        let stream = self.streams.get_mut(&(id.group, id.origin))?;
        let at = position(stream, id.seq)?;
        stream.get_mut(at).map(|(_, stored)| stored)
    }

    /// Forgets active ids that were evicted or deactivated.
    pub(crate) fn prune_active(&mut self) {
        let mut active = std::mem::take(&mut self.active);
        active.retain(|id| self.get(id).is_some_and(|m| m.active));
        self.active = active;
    }

    /// The active messages, as `(group, key(stored), id)`, forgetting ids
    /// that were evicted or deactivated: one lookup per id.
    pub(crate) fn take_active<K>(&mut self, key: impl Fn(&Stored) -> K) -> Vec<(GroupId, K, MessageId)> {
        let mut active = std::mem::take(&mut self.active);
        let mut out = Vec::with_capacity(active.len());
        active.retain(|id| match self.get(id) {
            Some(stored) if stored.active => {
                out.push((id.group, key(stored), *id));
                true
            }
            _ => false,
        });
        self.active = active;
        out
    }

    /// Origins with buffered messages in `group`, ascending.
    pub(crate) fn origins(&self, group: GroupId) -> impl Iterator<Item = NodeId> {
        self.streams.range((group, NodeId(0))..=(group, NodeId(u64::MAX))).map(|((_, origin), _)| *origin)
    }

    /// The buffered messages of `(group, origin)` with sequence numbers
    /// above `after`, ascending.
    pub(crate) fn stream_after(
        &self,
        group: GroupId,
        origin: NodeId,
        after: u64,
    ) -> impl Iterator<Item = (MessageId, &Stored)> {
        let stream = self.streams.get(&(group, origin));
        let from = stream.map_or(0, |stream| stream.partition_point(|(seq, _)| *seq <= after));
        stream
            .into_iter()
            .flat_map(move |stream| stream.range(from..))
            .map(move |(seq, stored)| (MessageId { group, origin, seq: *seq }, stored))
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(len: usize) -> Stored {
        Stored {
            payload: Bytes::from(vec![0; len]),
            held: len,
            priority: 0,
            send_hops: 0,
            age_at: 0,
            round_at: 0,
            misses: 0,
            active: true,
            unsent_own: false,
            awaiting_ack: false,
            arrival: 0,
        }
    }

    fn id(seq: u64) -> MessageId {
        MessageId { group: GroupId(1), origin: NodeId(2), seq }
    }

    #[test]
    fn caps_evict_oldest_first() {
        let mut store = Store::default();
        for seq in 1..=10 {
            store.insert(Time::from_millis(seq), id(seq), stored(100), 4, 1_000);
        }
        assert_eq!(store.len(), 4);
        assert_eq!(store.stream_after(GroupId(1), NodeId(2), 0).next().unwrap().0.seq, 7);
        assert_eq!(store.origins(GroupId(1)).collect::<Vec<_>>(), vec![NodeId(2)]);
        assert_eq!(store.insert(Time::from_millis(11), id(11), stored(900), 4, 1_000), 3);
        assert_eq!((store.len(), store.bytes()), (2, 1_000));
    }

    #[test]
    fn expiry_and_ranges() {
        let mut store = Store::default();
        for seq in 1..=5 {
            store.insert(Time::from_millis(seq), id(seq), stored(1), 100, 100);
        }
        store.expire(Time::from_millis(3));
        let seqs: Vec<u64> = store.stream_after(GroupId(1), NodeId(2), 0).map(|(id, _)| id.seq).collect();
        assert_eq!(seqs, vec![3, 4, 5]);
        let after: Vec<u64> = store.stream_after(GroupId(1), NodeId(2), 3).map(|(id, _)| id.seq).collect();
        assert_eq!(after, vec![4, 5]);
        assert_eq!(store.stream_after(GroupId(2), NodeId(2), 0).count(), 0);
        assert_eq!(store.take_active(|_| ()).len(), 3);
    }
}
