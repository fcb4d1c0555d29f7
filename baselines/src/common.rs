//! What the four baselines share: where a node sits ([`Seat`]), the member
//! list and tree arithmetic, exactly-once delivery, bounded queues.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gossip_core::{
    Address, Delivery, Event, GroupId, MessageId, MulticastError, NodeId, Sequencer, SharedMembers, SmallRng,
    SubscribeError, Transmit, TransmitKind,
};
use rand::Rng;

use crate::config::BaselineConfig;
use crate::stats::BaselineStats;
use crate::wire::{Data, Packet, WireError};

/// Everything a baseline node is built from: who it is, where it sits in
/// the shared member list, the settings and its random source.
pub struct Seat<A> {
    /// This node's id.
    pub id: NodeId,
    /// This node's position in `members`.
    pub index: u32,
    /// The member list every node shares.
    pub members: Arc<SharedMembers<A>>,
    /// The settings every node shares.
    pub config: Arc<BaselineConfig>,
    /// This node's random source (seeded by the driver).
    pub rng: SmallRng,
}

#[derive(Default)]
struct Stream {
    /// Every sequence number up to here was delivered (or skipped).
    floor: u64,
    /// Delivered above the floor.
    above: BTreeSet<u64>,
}

/// State every baseline node has.
pub(crate) struct Core<A> {
    pub id: NodeId,
    pub index: u32,
    pub members: Arc<SharedMembers<A>>,
    pub config: Arc<BaselineConfig>,
    pub rng: SmallRng,
    pub stats: BaselineStats,
    transmits: VecDeque<Transmit<A>>,
    events: VecDeque<Event<A>>,
    groups: Vec<GroupId>,
    sequencer: Sequencer,
    streams: BTreeMap<(GroupId, NodeId), Stream>,
    dedup_entries: usize,
    pub left: bool,
    buffer: HashMap<MessageId, (Bytes, u32, u32)>,
    buffer_order: VecDeque<MessageId>,
}

impl<A: Address> Core<A> {
    pub fn new(seat: Seat<A>) -> Self {
        let Seat { id, index, members, config, rng } = seat;
        Core {
            id,
            index,
            members,
            config,
            rng,
            stats: BaselineStats::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            groups: Vec::new(),
            sequencer: Sequencer::default(),
            streams: BTreeMap::new(),
            dedup_entries: 0,
            left: false,
            buffer: HashMap::new(),
            buffer_order: VecDeque::new(),
        }
    }

    pub fn subscribe(&mut self, group: GroupId) -> Result<(), SubscribeError> {
        if !self.groups.contains(&group) {
            if self.groups.len() >= 64 {
                return Err(SubscribeError::TooManyGroups { max: 64 });
            }
            self.groups.push(group);
        }
        Ok(())
    }

    pub fn unsubscribe(&mut self, group: GroupId) {
        self.groups.retain(|g| *g != group);
    }

    pub fn is_member(&self, group: GroupId) -> bool {
        self.groups.contains(&group)
    }

    /// Starts a message of this node's own: checks the payload, assigns the
    /// next id of this node's stream and delivers it here (if a member).
    pub fn start_message(&mut self, group: GroupId, payload: &Bytes) -> Result<MessageId, MulticastError> {
        let id = self.next_message(group, payload)?;
        self.accept(id, payload, 0);
        Ok(id)
    }

    /// Checks the payload and assigns the next id of this node's stream.
    fn next_message(&mut self, group: GroupId, payload: &Bytes) -> Result<MessageId, MulticastError> {
        let id = self.sequencer.next(self.id, group, payload.len(), self.config.max_payload(), self.left)?;
        self.stats.common.multicasts = self.stats.common.multicasts.saturating_add(1);
        Ok(id)
    }

    /// Delivers `id` unless it was delivered before; returns whether it is new.
    pub fn accept(&mut self, id: MessageId, payload: &Bytes, hops: u32) -> bool {
        if id.seq == 0 {
            return false;
        }
        if self.has_seen(id) {
            self.stats.common.duplicates += 1;
            return false;
        }
        let stream = self.streams.entry((id.group, id.origin)).or_default();
        if stream.floor.checked_add(1) == Some(id.seq) {
            stream.floor = id.seq;
            while stream.floor < u64::MAX && stream.above.remove(&(stream.floor + 1)) {
                stream.floor += 1;
                self.dedup_entries -= 1;
            }
        } else {
            stream.above.insert(id.seq);
            self.dedup_entries += 1;
        }
        // Bound the out-of-order memory: give up on the oldest gap.
        while self.dedup_entries > self.config.max_dedup {
            let Some(key) = self.streams.iter().find(|(_, s)| !s.above.is_empty()).map(|(k, _)| *k) else { break };
            if let Some(stream) = self.streams.get_mut(&key)
                && let Some(first) = stream.above.pop_first()
            {
                let skipped = first - stream.floor - 1;
                self.stats.window_skipped = self.stats.window_skipped.saturating_add(skipped);
                stream.floor = first;
                self.dedup_entries -= 1;
                while stream.floor < u64::MAX && stream.above.remove(&(stream.floor + 1)) {
                    stream.floor += 1;
                    self.dedup_entries -= 1;
                }
            }
        }
        if self.is_member(id.group) {
            self.stats.common.deliveries += 1;
            self.push_event(Event::Delivered(Delivery { id, payload: payload.clone(), hops }));
        } else {
            self.stats.not_member += 1;
        }
        true
    }

    /// Delivers a received copy unless it was delivered before, and keeps
    /// it for repair; returns whether it is new.
    pub fn accept_and_keep(&mut self, data: &Data) -> bool {
        let new = self.accept(data.id, &data.payload, u32::from(data.hops));
        if new {
            self.store(data.id, data.payload.clone(), data.origin_index, data.root);
        }
        new
    }

    /// The first copy of this node's own message `id`, as it leaves the
    /// origin (`forward`: whether receivers pass it down the tree).
    pub fn own_data(&self, id: MessageId, payload: Bytes, forward: bool) -> Data {
        Data {
            forward,
            repair: false,
            id,
            origin_index: self.index,
            root: self.own_root(id.group),
            sender: self.index,
            hops: 0,
            payload,
        }
    }

    /// Keeps this node's own message `id` for repair.
    pub fn keep_own(&mut self, id: MessageId, payload: Bytes) {
        let root = self.own_root(id.group);
        self.store(id, payload, self.index, root);
    }

    /// Whether `id` was delivered (or given up on).
    pub fn has_seen(&self, id: MessageId) -> bool {
        match self.streams.get(&(id.group, id.origin)) {
            Some(s) => id.seq <= s.floor || s.above.contains(&id.seq),
            None => false,
        }
    }

    /// The highest sequence number at or below which everything of the stream was seen.
    pub fn floor(&self, group: GroupId, origin: NodeId) -> u64 {
        self.streams.get(&(group, origin)).map_or(0, |s| s.floor)
    }

    fn push_event(&mut self, event: Event<A>) {
        if self.events.len() >= self.config.max_events {
            self.stats.event_queue_full += 1;
        } else {
            self.events.push_back(event);
        }
    }

    /// Queues `packet` for member `to` (by index); never to itself.
    pub fn send_to(&mut self, to: u32, packet: &Packet) {
        let bytes = packet.encode();
        self.send_bytes(to, bytes, packet.kind());
    }

    /// Queues an encoded packet of `kind` for member `to`; never to itself.
    pub fn send_bytes(&mut self, to: u32, bytes: Bytes, kind: TransmitKind) {
        if to == self.index {
            return;
        }
        let Some((_, addr)) = self.members.get(to) else {
            self.stats.bad_index += 1;
            return;
        };
        if self.transmits.len() >= self.config.max_transmits {
            self.stats.transmit_queue_full += 1;
            return;
        }
        self.stats.common.packets_out += 1;
        self.stats.common.bytes_out += bytes.len() as u64;
        let to = addr.clone();
        self.transmits.push_back(Transmit::new(to, bytes, kind));
    }

    /// Queues `packet` for every member of `group` (and `also`, if not one).
    pub fn send_to_group(&mut self, group: GroupId, also: Option<u32>, packet: &Packet) {
        let (bytes, kind) = (packet.encode(), packet.kind());
        let members = self.members.clone();
        let list = members.group(group);
        for &i in list {
            self.send_bytes(i, bytes.clone(), kind);
        }
        if let Some(extra) = also
            && !contains(list, extra)
        {
            self.send_bytes(extra, bytes, kind);
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit<A>> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event<A>> {
        self.events.pop_front()
    }

    /// Counts and decodes an incoming packet: `Ok(None)` if the node has
    /// left (the packet is dropped and counted), a counted decode error if
    /// it is malformed.
    pub fn receive(&mut self, packet: &Bytes) -> Result<Option<Packet>, WireError> {
        self.stats.common.packets_in += 1;
        self.stats.common.bytes_in += packet.len() as u64;
        if self.left {
            self.stats.after_leave += 1;
            return Ok(None);
        }
        match Packet::decode(packet) {
            Ok(packet) => Ok(Some(packet)),
            Err(e) => {
                self.stats.common.decode_errors += 1;
                Err(e)
            }
        }
    }

    /// This node's rank in `group`'s member list, if it is in it.
    pub fn rank(&self, group: GroupId) -> Option<u32> {
        rank_of(self.members.group(group), self.index)
    }

    /// The root rank of a tree this node starts for `group`: its own rank,
    /// or 0 (the first member) when it is not in the list.
    pub fn own_root(&self, group: GroupId) -> u32 {
        self.rank(group).unwrap_or(0)
    }

    /// Member indices of the children of this node in `group`'s tree rooted
    /// at rank `root`.
    pub fn children(&self, group: GroupId, root: u32) -> Vec<u32> {
        let list = self.members.group(group);
        match self.rank(group) {
            Some(rank) => tree_children(list, root, rank, self.config.k),
            None => Vec::new(),
        }
    }

    /// Children of member `index` in that tree.
    pub fn children_of(&self, group: GroupId, root: u32, index: u32) -> Vec<u32> {
        let list = self.members.group(group);
        match rank_of(list, index) {
            Some(rank) => tree_children(list, root, rank, self.config.k),
            None => Vec::new(),
        }
    }

    /// A uniform draw in `[base, (1 + spread)·base]`, times `2^doublings`.
    pub fn backoff(&mut self, base: Duration, spread: f64, doublings: u32) -> Duration {
        let micros = u64::try_from(base.as_micros()).unwrap_or(u64::MAX).max(1);
        let top = micros.saturating_add((micros as f64 * spread.max(0.0)) as u64);
        let draw = self.rng.random_range(micros..=top);
        Duration::from_micros(draw.saturating_mul(1 << doublings.min(16)))
    }

    /// Keeps a message for repair, evicting the oldest beyond the cap.
    pub fn store(&mut self, id: MessageId, payload: Bytes, origin_index: u32, root: u32) {
        if self.config.max_buffer_messages == 0 || self.buffer.contains_key(&id) {
            return;
        }
        while self.buffer.len() >= self.config.max_buffer_messages {
            match self.buffer_order.pop_front() {
                Some(old) => {
                    self.buffer.remove(&old);
                    self.stats.buffer_evicted += 1;
                }
                None => break,
            }
        }
        self.buffer.insert(id, (payload, origin_index, root));
        self.buffer_order.push_back(id);
    }

    /// A stored message: payload, origin index, root rank.
    pub fn stored(&self, id: &MessageId) -> Option<(Bytes, u32, u32)> {
        self.buffer.get(id).cloned()
    }
}

/// Position of `index` in a group list (sorted lists by binary search).
pub(crate) fn rank_of(list: &[u32], index: u32) -> Option<u32> {
    let pos = match list.binary_search(&index) {
        Ok(p) => Some(p),
        Err(_) => list.iter().position(|&i| i == index),
    };
    pos.and_then(|p| u32::try_from(p).ok())
}

fn contains(list: &[u32], index: u32) -> bool {
    rank_of(list, index).is_some()
}

/// Children (member indices) of the member at `rank` in the k-ary tree over
/// `list` rooted at rank `root`: tree position `p = (rank − root) mod n`
/// has children at positions `k·p + 1 ..= k·p + k`.
pub fn tree_children(list: &[u32], root: u32, rank: u32, k: u32) -> Vec<u32> {
    let n = list.len() as u64;
    if n == 0 || u64::from(root) >= n || u64::from(rank) >= n {
        return Vec::new();
    }
    let k = u64::from(k.max(1));
    let pos = (u64::from(rank) + n - u64::from(root)) % n;
    let first = pos * k + 1;
    (first..first + k).take_while(|&c| c < n).map(|c| list[((c + u64::from(root)) % n) as usize]).collect()
}

/// The member index of the parent of the member at `rank`, in the same tree
/// (`None` for the root).
pub fn tree_parent(list: &[u32], root: u32, rank: u32, k: u32) -> Option<u32> {
    let n = list.len() as u64;
    if n == 0 || u64::from(root) >= n || u64::from(rank) >= n {
        return None;
    }
    let pos = (u64::from(rank) + n - u64::from(root)) % n;
    if pos == 0 {
        return None;
    }
    let parent = (pos - 1) / u64::from(k.max(1));
    Some(list[((parent + u64::from(root)) % n) as usize])
}

/// Clamp helper for hop counts on the wire.
pub(crate) fn hops16(hops: u32) -> u16 {
    u16::try_from(hops).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn delivery_is_exactly_once_at_the_edges_of_the_sequence_space() {
        let mut list = SharedMembers::new();
        list.push(NodeId(1), 0u32, &[GroupId(1)]);
        let config = Arc::new(BaselineConfig { max_dedup: 2, ..BaselineConfig::default() });
        let seat = Seat { id: NodeId(1), index: 0, members: Arc::new(list), config, rng: SmallRng::seed_from_u64(1) };
        let mut core = Core::new(seat);
        core.subscribe(GroupId(1)).unwrap();
        let id = |seq| MessageId { group: GroupId(1), origin: NodeId(9), seq };
        let payload = Bytes::from_static(b"x");
        for seq in [u64::MAX, u64::MAX - 1, 5, 3, u64::MAX, 1, 2, 3, u64::MAX - 2, 7] {
            core.accept(id(seq), &payload, 0);
        }
        // With room for 2 out-of-order entries, 5 pushes the floor past 1..=4
        // (given up on, counted), and MAX - 2 closes the gap up to MAX.
        let delivered: Vec<u64> = std::iter::from_fn(|| core.poll_event())
            .filter_map(|e| match e {
                Event::Delivered(d) => Some(d.id.seq),
                _ => None,
            })
            .collect();
        assert_eq!(delivered, vec![u64::MAX, u64::MAX - 1, 5, u64::MAX - 2]);
        assert_eq!(core.floor(GroupId(1), NodeId(9)), u64::MAX);
        // 1..=4, then 6..=MAX-3: counted, saturating.
        assert_eq!(core.stats.window_skipped, u64::MAX - 4);
        assert_eq!(core.stats.common.duplicates, 6);
    }

    #[test]
    fn tree_covers_every_member_once() {
        let list: Vec<u32> = (0..23).collect();
        for k in 1..5 {
            for root in [0u32, 5, 22] {
                let mut seen = vec![0u32; list.len()];
                seen[root as usize] += 1;
                for rank in 0..list.len() as u32 {
                    for c in tree_children(&list, root, rank, k) {
                        seen[c as usize] += 1;
                        assert_eq!(tree_parent(&list, root, c, k), Some(rank));
                    }
                }
                assert!(seen.iter().all(|&s| s == 1), "k={k} root={root}: {seen:?}");
            }
        }
    }
}
