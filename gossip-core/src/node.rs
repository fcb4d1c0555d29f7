//! The gossip node: the [`Protocol`] implementation this crate is about.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{Rng, RngCore};

use crate::address::Address;
use crate::config::{Batching, Config, Lifetime, Mode, Order};
use crate::error::{DecodeError, MetaError, MulticastError, SubscribeError};
use crate::event::{Delivery, Event, Transmit};
use crate::ids::{GroupId, MessageId, NodeId};
use crate::lifetime::{AUTOMATIC_RESIDUE, push_rounds};
use crate::membership::{Member, Membership, Outgoing, SharedMembers, View, draw};
use crate::protocol::Protocol;
use crate::sorted_map::SortedMap;
use crate::stats::Stats;
use crate::store::{Store, Stored};
use crate::time::Time;
use crate::window::{Insert, Window, digest_contains};
use crate::wire::{self, DigestEntry, DigestFrame, Frame, Header, MAX_AGE, MessageFrame, PacketWriter};

/// Candidates gathered for one pull answer at most; more than fit in one
/// packet, so ordering still has a choice, but bounded.
const MAX_PULL_CANDIDATES: usize = 1024;

/// How much state a node holds right now, to compare against its caps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Messages in the buffer.
    pub buffered_messages: usize,
    /// Payload bytes in the buffer.
    pub buffered_bytes: usize,
    /// Streams tracked for duplicate suppression.
    pub streams: usize,
    /// Transmits waiting to be polled.
    pub queued_transmits: usize,
    /// Events waiting to be polled.
    pub queued_events: usize,
    /// Live members (alive or suspect; for a shared list, its length).
    pub members: usize,
    /// Member entries held, dead and departed ones included (gossiped view).
    pub known_members: usize,
    /// Membership updates waiting to be piggy-backed (gossiped view).
    pub membership_updates: usize,
    /// Groups in the member index (gossiped view).
    pub indexed_groups: usize,
    /// Lifeguard's local health score: 0 is healthy; each step stretches
    /// the probe interval and timeout by one more multiple.
    pub health: u32,
}

#[derive(Debug)]
struct Stream {
    window: Window,
    last_at: Time,
}

/// The key that puts buffered messages in the configured order.
fn sort_key(order: Order, stored: &Stored) -> (u8, u64) {
    match order {
        Order::Fifo => (0, stored.arrival),
        Order::NewestFirst => (0, u64::MAX - stored.arrival),
        Order::Priority => (u8::MAX - stored.priority, stored.arrival),
    }
}

/// The copy of a buffered message to send at `age`.
/// A message still awaiting its first member's acknowledgement goes out at
/// age 0, asking for one.
fn frame_of(id: MessageId, stored: &Stored, age: u32, feedback: bool) -> MessageFrame {
    let (age, ack) = if stored.awaiting_ack { (0, true) } else { (age, false) };
    MessageFrame {
        id,
        age,
        hops: stored.send_hops,
        priority: stored.priority,
        feedback,
        ack,
        payload: stored.payload.clone(),
    }
}

/// A gossip multicast node: a pure state machine driven through [`Protocol`].
///
/// `A` is the transport's address type; `R` the injected random number
/// generator (seed it for reproducible runs).
///
/// ```
/// use bytes::Bytes;
/// use gossip_core::{Config, Event, GroupId, Node, NodeId, Protocol, Time};
/// use rand::{SeedableRng, rngs::SmallRng};
///
/// let group = GroupId::named("demo");
/// let config = Config::lan();
/// let mut a: Node<u32> = Node::new(NodeId(1), config.clone(), SmallRng::seed_from_u64(1));
/// let mut b: Node<u32> = Node::new(NodeId(2), config, SmallRng::seed_from_u64(2));
/// b.subscribe(Time::ZERO, group).unwrap();
/// a.join(Time::ZERO, &[2]);
/// // Move packets by hand: address 1 is `a`, address 2 is `b`.
/// let mut now = Time::ZERO;
/// let mut sent = false;
/// for _ in 0..50 {
///     a.handle_timeout(now);
///     b.handle_timeout(now);
///     if !sent && a.group_size(group) > 0 {
///         a.multicast(now, group, Bytes::from_static(b"hello")).unwrap();
///         sent = true;
///     }
///     while let Some(t) = a.poll_transmit() {
///         let _ = b.handle_packet(now, 1, t.bytes);
///     }
///     while let Some(t) = b.poll_transmit() {
///         let _ = a.handle_packet(now, 2, t.bytes);
///     }
///     now += config_period();
/// }
/// # fn config_period() -> std::time::Duration { Config::lan().period() }
/// let delivered: Vec<_> = std::iter::from_fn(|| b.poll_event())
///     .filter_map(|e| match e { Event::Delivered(d) => Some(d.payload), _ => None })
///     .collect();
/// assert_eq!(delivered, vec![Bytes::from_static(b"hello")]);
/// ```
#[derive(Debug)]
pub struct Node<A: Address, R: RngCore = SmallRng> {
    id: NodeId,
    config: Arc<Config>,
    rng: R,
    view: View<A>,
    round: u64,
    next_round: Time,
    left: bool,
    subscriptions: Vec<GroupId>,
    next_seq: BTreeMap<GroupId, u64>,
    streams: SortedMap<(GroupId, NodeId), Stream>,
    store: Store,
    transmits: VecDeque<Transmit<A>>,
    events: VecDeque<Event<A>>,
    stats: Stats,
    /// The last automatic lifetime computed: group, round, rounds.
    lifetime_cache: (GroupId, u64, u32),
    /// Oldest age accepted: older copies may be of messages whose stream
    /// was already forgotten.
    max_age: u32,
    /// Reused between packets so that decoding does not allocate.
    scratch: Vec<Frame<A>>,
}

impl<A: Address, R: RngCore> Node<A, R> {
    /// A node that learns its membership by gossip (start it with
    /// [`join`](Protocol::join)).
    ///
    /// `config` may be shared: many nodes can hold one `Arc<Config>`.
    pub fn new(id: NodeId, config: impl Into<Arc<Config>>, rng: R) -> Self {
        let config = config.into();
        let view = View::Gossiped(Box::new(Membership::new(id, config.clone())));
        Self::with_view(id, config, rng, view)
    }

    /// A node that draws targets from a fixed member list shared with other
    /// nodes, and gossips no membership. Its own subscriptions decide what it
    /// delivers; keep them consistent with the list. It never draws the
    /// entry with its own id; see [`Node::at_index`] for a node whose id the
    /// list does not hold.
    pub fn with_shared_members(
        id: NodeId,
        config: impl Into<Arc<Config>>,
        rng: R,
        members: Arc<SharedMembers<A>>,
    ) -> Self {
        Self::with_view(id, config.into(), rng, View::Shared { members, index: None })
    }

    /// Tells a node on a shared member list which entry is its own, so that
    /// it never draws itself even under an id the list does not hold (a
    /// restarted node draws a new id). No effect on a gossiped view.
    pub fn at_index(mut self, own: u32) -> Self {
        if let View::Shared { index, .. } = &mut self.view {
            *index = Some(own);
        }
        self
    }

    fn with_view(id: NodeId, config: Arc<Config>, rng: R, view: View<A>) -> Self {
        let retention_rounds =
            u64::try_from(config.retention.as_micros().div_ceil(config.period.as_micros().max(1))).unwrap_or(u64::MAX);
        let lifetime_cap = match config.lifetime {
            Lifetime::Rounds(r) => r,
            Lifetime::Automatic | Lifetime::Counter(_) => 4 * push_rounds(1 << 20, config.fanout, AUTOMATIC_RESIDUE),
        };
        let max_age = u64::from(lifetime_cap).saturating_add(retention_rounds).min(u64::from(MAX_AGE)) as u32;
        Node {
            id,
            config,
            rng,
            view,
            round: 0,
            next_round: Time::ZERO,
            left: false,
            subscriptions: Vec::new(),
            next_seq: BTreeMap::new(),
            streams: SortedMap::default(),
            store: Store::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            lifetime_cache: (GroupId(0), u64::MAX, 0),
            max_age,
            scratch: Vec::new(),
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Its configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The groups it belongs to, sorted.
    pub fn subscriptions(&self) -> &[GroupId] {
        &self.subscriptions
    }

    /// Whether it belongs to `group`.
    pub fn is_subscribed(&self, group: GroupId) -> bool {
        self.subscriptions.binary_search(&group).is_ok()
    }

    /// Other members of `group` it can send to.
    pub fn group_size(&self, group: GroupId) -> usize {
        match &self.view {
            View::Gossiped(membership) => membership.group_len(group),
            View::Shared { members, .. } => {
                let len = members.group(group).len();
                len.saturating_sub(usize::from(self.is_subscribed(group)))
            }
        }
    }

    /// What it holds now.
    pub fn usage(&self) -> Usage {
        let mut usage = Usage {
            buffered_messages: self.store.len(),
            buffered_bytes: self.store.bytes(),
            streams: self.streams.len(),
            queued_transmits: self.transmits.len(),
            queued_events: self.events.len(),
            ..Usage::default()
        };
        match &self.view {
            View::Gossiped(m) => {
                usage.members = m.live_len();
                usage.known_members = m.known_len();
                usage.membership_updates = m.queued_updates();
                usage.indexed_groups = m.indexed_groups();
                usage.health = m.health();
            }
            View::Shared { members, .. } => usage.members = members.len(),
        }
        usage
    }

    /// Every member this node knows (not itself), with status, incarnation,
    /// groups and metadata: alive and suspect ones, and dead or departed
    /// ones until they are forgotten. Empty on a shared member list.
    pub fn members(&self) -> Vec<Member<A>> {
        match &self.view {
            View::Gossiped(m) => m.members(),
            View::Shared { .. } => Vec::new(),
        }
    }

    /// Sets this node's metadata (opaque bytes such as a name and tags),
    /// gossiped with its member entry. At most `max_meta_len` bytes.
    pub fn set_meta(&mut self, _now: Time, meta: Bytes) -> Result<(), MetaError> {
        let max = self.config.max_meta_len;
        if meta.len() > max {
            return Err(MetaError::TooLarge { size: meta.len(), max });
        }
        if let View::Gossiped(m) = &mut self.view {
            m.set_meta(meta);
        }
        Ok(())
    }

    /// The rounds run so far.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// Tells the membership layer this node's groups changed.
    fn announce_groups(&mut self) {
        if let View::Gossiped(m) = &mut self.view {
            m.set_groups(&self.subscriptions);
        }
    }

    fn header(&self) -> Header {
        let incarnation = match &self.view {
            View::Gossiped(m) => m.incarnation(),
            View::Shared { .. } => 0,
        };
        Header { sender: self.id, incarnation }
    }

    fn writer(&self) -> PacketWriter {
        PacketWriter::new(self.config.max_packet_size, self.header())
    }

    /// A writer sized for `content` bytes of frames plus the membership
    /// entries [`Node::finish`] may add.
    fn writer_for(&self, content: usize) -> PacketWriter {
        let membership = match &self.view {
            View::Gossiped(_) => 48 * self.config.max_piggyback,
            View::Shared { .. } => 0,
        };
        let capacity = (wire::HEADER_MAX + content + membership).min(self.config.max_packet_size);
        PacketWriter::with_capacity(self.config.max_packet_size, self.header(), capacity)
    }

    /// Fills the rest of a data packet with membership updates and
    /// finishes it.
    fn finish(&mut self, mut writer: PacketWriter) -> Bytes {
        if let View::Gossiped(m) = &mut self.view {
            m.piggyback(None, &mut writer);
        }
        writer.finish()
    }

    /// Encodes and queues what the membership layer asked to send, and
    /// passes on its events.
    fn drain_membership(&mut self) {
        loop {
            let mut writer = self.writer();
            let View::Gossiped(m) = &mut self.view else { return };
            let Some(out) = m.poll_outgoing() else { break };
            writer.push_member(&m.own_frame());
            let to = match out {
                Outgoing::Ping { to, seq, target } => {
                    writer.push_ping(seq, target);
                    to
                }
                Outgoing::Ack { to, seq } => {
                    writer.push_ack(seq);
                    to
                }
                Outgoing::PingReq { to, seq, target, addr } => {
                    writer.push_ping_req(seq, target, &addr);
                    to
                }
                Outgoing::Sync { to, reply } => {
                    writer.push_sync(reply);
                    m.write_slice(&mut writer);
                    to
                }
                Outgoing::Join { to } => {
                    writer.push_join();
                    to
                }
                Outgoing::Leave { to } | Outgoing::Hello { to } => to,
            };
            m.piggyback(Some(&to), &mut writer);
            let packet = writer.finish();
            self.send(to, packet);
        }
        let View::Gossiped(m) = &mut self.view else { return };
        let events: Vec<Event<A>> = m.drain_events().collect();
        self.stats.membership = m.stats.clone();
        for event in events {
            self.emit(event);
        }
    }

    fn send(&mut self, to: A, bytes: Bytes) {
        if self.transmits.len() >= self.config.max_transmits {
            self.stats.drops.transmit_queue_full = self.stats.drops.transmit_queue_full.saturating_add(1);
            return;
        }
        self.stats.packets_out += 1;
        self.stats.bytes_out += bytes.len() as u64;
        self.transmits.push_back(Transmit { to, bytes });
    }

    fn send_all(&mut self, targets: &[A], packets: &[Bytes]) {
        for packet in packets {
            for to in targets {
                self.send(to.clone(), packet.clone());
            }
        }
    }

    fn emit(&mut self, event: Event<A>) {
        if self.events.len() >= self.config.max_events {
            self.stats.drops.event_queue_full += 1;
            return;
        }
        self.events.push_back(event);
    }

    fn targets(&mut self, group: GroupId, out: &mut Vec<A>) {
        let count = self.config.fanout as usize;
        let how = self.config.targets;
        match &self.view {
            View::Gossiped(membership) => membership.targets(group, count, how, &mut self.rng, out),
            View::Shared { members, index } => {
                let list = members.group(group);
                let (me, own) = (self.id, *index);
                let pick = |i: usize| {
                    let at = list[i];
                    let (id, addr) = members.get(at)?;
                    (Some(at) != own && id != me).then(|| addr.clone())
                };
                draw(list.len(), count, how, &mut self.rng, pick, out);
            }
        }
    }

    /// Rounds a message of `group` is pushed for.
    fn lifetime(&mut self, group: GroupId) -> u32 {
        // Group sizes change slowly: compute once per group and round.
        let auto = |node: &mut Self| {
            let (cached_group, cached_round, rounds) = node.lifetime_cache;
            if cached_group == group && cached_round == node.round {
                return rounds;
            }
            let rounds = push_rounds(node.group_size(group) + 1, node.config.fanout, AUTOMATIC_RESIDUE);
            node.lifetime_cache = (group, node.round, rounds);
            rounds
        };
        match self.config.lifetime {
            Lifetime::Rounds(r) => r,
            Lifetime::Automatic => auto(self),
            Lifetime::Counter(_) => 4 * auto(self),
        }
    }

    /// A packet holding only `frame`, however large.
    fn alone(&self, frame: &MessageFrame) -> Bytes {
        let mut writer = PacketWriter::new(wire::single_message_packet_len(frame.payload.len()), self.header());
        writer.push_message(frame);
        writer.finish()
    }

    /// Packs message frames into packets, in the order given.
    fn pack(&mut self, frames: &[MessageFrame]) -> Vec<Bytes> {
        let single = self.config.batching == Batching::Single;
        let mut left: usize = frames.iter().map(wire::message_len).sum();
        let mut packets = Vec::new();
        let mut writer = self.writer_for(left);
        for frame in frames {
            if (single && writer.frames() > 0) || !writer.push_message(frame) {
                if writer.frames() > 0 {
                    let full = std::mem::replace(&mut writer, self.writer_for(left));
                    packets.push(self.finish(full));
                }
                // A message larger than a packet travels alone, in a
                // packet of its own size (see `max_message_size`).
                if !writer.push_message(frame) {
                    packets.push(self.alone(frame));
                }
            }
            left -= wire::message_len(frame);
        }
        if writer.frames() > 0 {
            packets.push(self.finish(writer));
        }
        packets
    }

    /// Whether pushed copies ask for feedback (Demers' counter).
    fn wants_feedback(&self) -> bool {
        matches!(self.config.lifetime, Lifetime::Counter(_))
    }

    /// Sends `frames` to `targets`, packed as configured.
    fn push_to(&mut self, targets: &[A], frames: &[MessageFrame]) {
        let packets = self.pack(frames);
        self.stats.messages_sent += (frames.len() * targets.len()) as u64;
        self.send_all(targets, &packets);
    }

    /// Pushes `frames` (all of `group`) to `b` fresh targets now; returns
    /// whether there was anyone to send to.
    fn push_now(&mut self, group: GroupId, frames: &[MessageFrame]) -> bool {
        let mut targets = Vec::new();
        self.targets(group, &mut targets);
        if targets.is_empty() {
            return false;
        }
        self.push_to(&targets, frames);
        true
    }

    /// One periodic push round over every active rumor.
    ///
    /// A group with no reachable member is skipped without ageing anything
    /// out, and a node's own message counts its age from its first
    /// transmission, so a message multicast before the membership was known
    /// still gets its full lifetime.
    fn push_round(&mut self) -> bool {
        let round = self.round;
        let order = self.config.order;
        let mut active = self.store.take_active(|stored| sort_key(order, stored));
        active.sort_unstable();
        let pull_only = self.config.mode == Mode::Pull;
        let mut sent = false;
        let mut start = 0;
        while start < active.len() {
            let group = active[start].0;
            let end = start + active[start..].iter().take_while(|(g, ..)| *g == group).count();
            let mut targets = Vec::new();
            self.targets(group, &mut targets);
            if targets.is_empty() {
                start = end;
                continue;
            }
            // In pull mode only a non-member's own messages are pushed, once.
            let lifetime = if pull_only { 0 } else { self.lifetime(group) };
            let feedback = self.wants_feedback();
            let mut frames = Vec::with_capacity(end - start);
            for (_, _, id) in &active[start..end] {
                let Some(stored) = self.store.get_mut(id) else { continue };
                if stored.awaiting_ack {
                    frames.push(frame_of(*id, stored, 0, feedback));
                    continue;
                }
                let first = stored.unsent_own;
                if first {
                    stored.unsent_own = false;
                    stored.round_at = round.saturating_sub(1);
                }
                let age = stored.age(round);
                if first || age <= lifetime {
                    frames.push(frame_of(*id, stored, age, feedback));
                }
                if age >= lifetime {
                    stored.active = false;
                }
            }
            if !frames.is_empty() {
                self.push_to(&targets, &frames);
                sent = true;
            }
            start = end;
        }
        sent
    }

    /// One pull round: a digest of each subscribed group to `b` members.
    fn pull_round(&mut self) -> bool {
        let mut sent = false;
        for group in self.subscriptions.clone() {
            let mut targets = Vec::new();
            self.targets(group, &mut targets);
            if targets.is_empty() {
                continue;
            }
            let mut entries: Vec<DigestEntry> = self
                .streams
                .range((group, NodeId(0))..=(group, NodeId(u64::MAX)))
                .map(|((_, origin), stream)| DigestEntry {
                    origin: *origin,
                    base: stream.window.base(),
                    bitmap: stream.window.bitmap(),
                })
                .collect();
            if let Some(seq) = self.next_seq.get(&group) {
                entries.push(DigestEntry { origin: self.id, base: *seq, bitmap: Bytes::new() });
            }
            // Start at a random stream so that digests too large for one
            // packet still cover every stream over a few rounds.
            let offset = if entries.is_empty() { 0 } else { self.rng.random_range(0..entries.len()) };
            let mut writer = self.writer();
            writer.push_digest(group, true, entries[offset..].iter().chain(&entries[..offset]));
            let packet = self.finish(writer);
            self.stats.digests_sent += targets.len() as u64;
            self.send_all(&targets, &[packet]);
            sent = true;
        }
        sent
    }

    fn expire(&mut self, now: Time) {
        let retention = self.config.retention;
        let cutoff = Time::from_micros(now.as_micros().saturating_sub(retention.as_micros() as u64));
        self.store.expire(cutoff);
        // A stream idle for twice the oldest accepted age can only receive
        // copies that are too old anyway, so it is safe to forget.
        let idle = self.config.period * self.max_age.saturating_mul(2);
        self.streams.retain(|_, stream| now.saturating_duration_since(stream.last_at) <= idle);
    }

    /// Records an arriving message. Returns `None` if it was not new, else
    /// `Some` with a copy to forward at once when `forward` is set.
    fn accept(&mut self, now: Time, frame: MessageFrame, forward: bool) -> Option<Option<MessageFrame>> {
        let id = frame.id;
        if id.origin == self.id {
            self.stats.duplicates += 1;
            return None;
        }
        if !self.is_subscribed(id.group) {
            self.stats.drops.not_member += 1;
            return None;
        }
        if frame.age > self.max_age {
            self.stats.drops.too_old += 1;
            return None;
        }
        let room = self.streams.len() < self.config.max_streams;
        let fresh = || room.then(|| Stream { window: Window::default(), last_at: now });
        let Some(stream) = self.streams.get_or_try_insert((id.group, id.origin), fresh) else {
            self.stats.drops.streams_full += 1;
            return None;
        };
        match stream.window.insert(id.seq, self.config.dedup_window) {
            Insert::Duplicate => {
                self.stats.duplicates += 1;
                None
            }
            Insert::New { skipped } => {
                stream.last_at = now;
                self.stats.drops.window_skipped += skipped;
                self.stats.deliveries += 1;
                self.emit(Event::Delivered(Delivery { id, payload: frame.payload.clone(), hops: frame.hops }));
                let copy =
                    forward.then(|| MessageFrame { hops: frame.hops.saturating_add(1), ack: false, ..frame.clone() });
                let active = self.config.mode.pushes() && frame.age < self.lifetime(id.group);
                let stored = Stored {
                    payload: frame.payload,
                    priority: frame.priority,
                    send_hops: frame.hops.saturating_add(1),
                    age_at: frame.age,
                    round_at: self.round,
                    misses: 0,
                    active,
                    unsent_own: false,
                    awaiting_ack: false,
                    arrival: 0,
                };
                self.buffer(now, id, stored);
                Some(copy)
            }
        }
    }

    fn buffer(&mut self, now: Time, id: MessageId, stored: Stored) {
        let evicted = self.store.insert(now, id, stored, self.config.max_buffer_messages, self.config.max_buffer_bytes);
        self.stats.drops.buffer_evicted += evicted;
    }

    /// Answers a pull digest with the buffered messages the asker lacks.
    fn answer_digest(&mut self, from: &A, digest: &DigestFrame) {
        let mut held: Vec<&DigestEntry> = digest.entries.iter().collect();
        held.sort_unstable_by_key(|entry| entry.origin);
        let group = digest.group;
        let origins: Vec<NodeId> = self.store.origins(group).collect();
        let round = self.round;
        let mut candidates: Vec<((u8, u64), MessageFrame)> = Vec::new();
        'origins: for origin in origins {
            let entry = held.binary_search_by_key(&origin, |e| e.origin).ok().map(|i| held[i]);
            let base = match entry {
                Some(entry) => entry.base,
                None if digest.complete => 0,
                None => continue,
            };
            for (id, stored) in self.store.stream_after(group, origin, base) {
                if entry.is_some_and(|e| digest_contains(e.base, &e.bitmap, id.seq)) {
                    continue;
                }
                // Serve only what was held when this round began: what
                // arrived during it is pushed on, and pulled from the next
                // round, as in the synchronous model.
                if stored.round_at >= round {
                    continue;
                }
                let age = stored.age(round);
                if age > self.max_age {
                    continue;
                }
                candidates
                    .push((sort_key(self.config.order, stored), frame_of(id, stored, age, self.wants_feedback())));
                if candidates.len() >= MAX_PULL_CANDIDATES {
                    break 'origins;
                }
            }
        }
        if candidates.is_empty() {
            return;
        }
        candidates.sort_by_key(|(key, _)| *key);
        let mut writer = self.writer();
        let mut answered = 0u64;
        for (_, frame) in &candidates {
            if self.config.batching == Batching::Single && answered > 0 {
                break;
            }
            if writer.push_message(frame) {
                answered += 1;
            }
        }
        // A message larger than a packet is answered alone.
        let packet = match candidates.first() {
            Some((_, frame)) if answered == 0 => {
                answered = 1;
                self.alone(frame)
            }
            _ => self.finish(writer),
        };
        self.stats.pull_answers += answered;
        self.stats.messages_sent += answered;
        self.send(from.clone(), packet);
    }

    /// `Known` reports: a member acknowledging one of this node's messages
    /// to a group it is not in (which ends the origin's part), or, under
    /// Demers' counter, a push that reached a node already holding it.
    fn handle_known(&mut self, ids: &[MessageId]) {
        let counter = match self.config.lifetime {
            Lifetime::Counter(k) => Some(k),
            _ => None,
        };
        for id in ids {
            let Some(stored) = self.store.get_mut(id) else { continue };
            if stored.awaiting_ack {
                stored.awaiting_ack = false;
                stored.active = false;
            } else if let Some(k) = counter {
                stored.misses += 1;
                if stored.misses >= k {
                    stored.active = false;
                }
            }
        }
    }

    /// Acts on a decoded packet's frames.
    fn handle_frames(&mut self, now: Time, from: A, header: Header, frames: &mut Vec<Frame<A>>) {
        let sender = header.sender;
        if sender == self.id {
            return;
        }
        if let View::Gossiped(m) = &mut self.view {
            m.handle_sender(now, sender, header.incarnation, &from, &mut self.rng);
        }
        let eager = self.config.eager_push && self.config.mode.pushes();
        let mut fresh: Vec<MessageFrame> = Vec::new();
        let mut known: Vec<MessageId> = Vec::new();
        let (mut answered_digest, mut answered_sync) = (false, false);
        for frame in frames.drain(..) {
            match frame {
                Frame::Message(message) => {
                    let (id, feedback) = (message.id, message.feedback);
                    let ack = message.ack && self.is_subscribed(id.group);
                    let new = match self.accept(now, message, eager) {
                        Some(forward) => {
                            fresh.extend(forward);
                            true
                        }
                        None => false,
                    };
                    if ack || (feedback && !new) {
                        known.push(id);
                    }
                }
                // One answer of each kind per packet, however many frames
                // ask: a packet must not buy more than a packet's worth.
                Frame::Digest(digest) if !answered_digest => {
                    answered_digest = true;
                    self.answer_digest(&from, &digest);
                }
                Frame::Digest(_) => {}
                Frame::Known(ids) => self.handle_known(&ids),
                frame => {
                    let View::Gossiped(m) = &mut self.view else { continue };
                    match frame {
                        Frame::Member(entry) => m.handle_entry(now, entry, sender, &from, &mut self.rng),
                        Frame::Ping { seq, target } => m.handle_ping(seq, target, &from),
                        Frame::Ack { seq } => m.handle_ack(seq),
                        Frame::PingReq { seq, target, addr } => {
                            m.handle_ping_req(now, seq, target, addr, sender, &from)
                        }
                        // One table slice per packet, however many frames ask.
                        Frame::Join if !answered_sync => {
                            answered_sync = true;
                            m.handle_join(&from);
                        }
                        Frame::Sync { reply: true } if !answered_sync => {
                            answered_sync = true;
                            m.handle_sync_request(sender, &from);
                        }
                        Frame::Sync { reply: false } => m.handle_sync_answer(),
                        _ => {}
                    }
                }
            }
        }
        if let View::Gossiped(m) = &mut self.view {
            m.end_packet(now, &mut self.rng);
        }
        self.drain_membership();
        if !known.is_empty() {
            let mut writer = self.writer();
            writer.push_known(&known);
            let packet = writer.finish();
            self.send(from, packet);
        }
        if !fresh.is_empty() {
            fresh.sort_by_key(|frame| frame.id.group);
            while let Some(group) = fresh.first().map(|frame| frame.id.group) {
                let end = fresh.iter().take_while(|f| f.id.group == group).count();
                let lifetime = self.lifetime(group);
                let frames: Vec<MessageFrame> = fresh.drain(..end).filter(|f| f.age < lifetime).collect();
                if !frames.is_empty() {
                    self.push_now(group, &frames);
                }
            }
        }
    }
}

impl<A: Address, R: RngCore> Protocol for Node<A, R> {
    type Address = A;

    fn handle_packet(&mut self, now: Time, from: A, packet: Bytes) -> Result<(), DecodeError> {
        self.stats.packets_in += 1;
        self.stats.bytes_in += packet.len() as u64;
        if self.left {
            self.stats.drops.after_leave += 1;
            return Ok(());
        }
        let max = self.config.max_wire_size();
        if packet.len() > max {
            self.stats.decode_errors += 1;
            return Err(DecodeError::Oversized { len: packet.len(), max });
        }
        let mut frames = std::mem::take(&mut self.scratch);
        let header = match wire::decode_into::<A>(&packet, &mut frames) {
            Ok(header) => header,
            Err(err) => {
                self.scratch = frames;
                self.stats.decode_errors += 1;
                return Err(err);
            }
        };
        self.handle_frames(now, from, header, &mut frames);
        frames.clear();
        // Keep the buffer unless a pathological packet made it large.
        if frames.capacity() <= 64 {
            self.scratch = frames;
        }
        Ok(())
    }

    fn handle_timeout(&mut self, now: Time) {
        if self.left {
            return;
        }
        if let View::Gossiped(m) = &mut self.view {
            m.handle_timeout(now, &mut self.rng);
            self.drain_membership();
        }
        if now < self.next_round {
            return;
        }
        let period = self.config.period;
        self.next_round = if now >= self.next_round + period { now + period } else { self.next_round + period };
        self.round += 1;
        self.expire(now);
        // Pull mode has active rumors too: a non-member's own messages.
        self.push_round();
        if self.config.mode.pulls() {
            self.pull_round();
        }
    }

    fn multicast(&mut self, now: Time, group: GroupId, payload: Bytes) -> Result<MessageId, MulticastError> {
        self.multicast_with_priority(now, group, payload, 0)
    }

    fn subscribe(&mut self, _now: Time, group: GroupId) -> Result<(), SubscribeError> {
        if let Err(pos) = self.subscriptions.binary_search(&group) {
            if self.subscriptions.len() >= self.config.max_groups {
                return Err(SubscribeError::TooManyGroups { max: self.config.max_groups });
            }
            self.subscriptions.insert(pos, group);
            self.announce_groups();
        }
        Ok(())
    }

    fn unsubscribe(&mut self, _now: Time, group: GroupId) {
        if let Ok(pos) = self.subscriptions.binary_search(&group) {
            self.subscriptions.remove(pos);
            self.announce_groups();
            self.streams.retain(|(g, _), _| *g != group);
        }
    }

    fn join(&mut self, now: Time, seeds: &[A]) {
        if self.left || seeds.is_empty() {
            return;
        }
        if let View::Gossiped(m) = &mut self.view {
            m.join(now, seeds);
            self.drain_membership();
        }
    }

    fn leave(&mut self, _now: Time) {
        if self.left {
            return;
        }
        if let View::Gossiped(m) = &mut self.view {
            m.leave(&mut self.rng);
            self.drain_membership();
        }
        self.left = true;
    }

    fn handle_unreachable(&mut self, now: Time, addr: &A) {
        if let View::Gossiped(m) = &mut self.view {
            m.handle_unreachable(now, addr);
            self.drain_membership();
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit<A>> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<Event<A>> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Time> {
        if self.left {
            return None;
        }
        let membership = match &self.view {
            View::Gossiped(m) => m.poll_timeout(),
            View::Shared { .. } => None,
        };
        Some(membership.map_or(self.next_round, |at| at.min(self.next_round)))
    }

    fn stats(&self) -> &Stats {
        &self.stats
    }

    fn members(&self) -> Vec<Member<A>> {
        Node::members(self)
    }

    fn set_meta(&mut self, now: Time, meta: Bytes) -> Result<(), MetaError> {
        Node::set_meta(self, now, meta)
    }
}

impl<A: Address, R: RngCore> Node<A, R> {
    /// Multicasts with a priority: with [`Order::Priority`], higher goes
    /// first when not everything fits in a packet. [`Protocol::multicast`]
    /// uses priority 0.
    pub fn multicast_with_priority(
        &mut self,
        now: Time,
        group: GroupId,
        payload: Bytes,
        priority: u8,
    ) -> Result<MessageId, MulticastError> {
        if self.left {
            return Err(MulticastError::Left);
        }
        let max = self.config.max_payload();
        if payload.len() > max {
            return Err(MulticastError::PayloadTooLarge { size: payload.len(), max });
        }
        let seq = self.next_seq.entry(group).or_insert(0);
        *seq += 1;
        let id = MessageId { group, origin: self.id, seq: *seq };
        self.stats.multicasts += 1;
        let member = self.is_subscribed(group);
        if member {
            self.stats.deliveries += 1;
            self.emit(Event::Delivered(Delivery { id, payload: payload.clone(), hops: 0 }));
        }
        // Members pull from members only, so a sender outside the group
        // hands its message over: it sends it every round until a member
        // acknowledges it. A member's own message spreads as any other.
        let pull_only = self.config.mode == Mode::Pull;
        let stored = Stored {
            payload,
            priority,
            send_hops: 0,
            age_at: 0,
            round_at: self.round,
            misses: 0,
            active: !pull_only || !member,
            unsent_own: true,
            awaiting_ack: !member,
            arrival: 0,
        };
        let first = frame_of(id, &stored, 0, self.wants_feedback());
        self.buffer(now, id, stored);
        let inject = !member || (!pull_only && self.config.eager_push);
        if inject && self.push_now(group, &[first]) {
            if let Some(stored) = self.store.get_mut(&id) {
                stored.unsent_own = false;
            }
        }
        Ok(id)
    }
}
