//! The gossip node: the [`Protocol`] implementation this crate is about.

mod packets;
mod proven;
mod pull;
mod push;
mod receive;
mod tree;
mod usage;

pub use usage::Usage;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{Rng, RngCore};

use crate::address::Address;
use crate::config::{Batching, Config, Lifetime, Mode, Order};
use crate::error::{DecodeError, MetaError, MulticastError, SubscribeError};
use crate::event::{Delivery, Event, Gap, GapReason, Transmit, TransmitKind};
use crate::ids::{GroupId, MessageId, NodeId};
use crate::lifetime::{AUTOMATIC_RESIDUE, push_rounds};
use crate::membership::{Member, Membership, Outgoing, SharedMembers, View, draw};
use crate::protocol::Protocol;
use crate::sequencer::Sequencer;
use crate::stats::Stats;
use crate::store::{Store, Stored};
use crate::streams::{Limits, StreamKey, Streams, Verdict};
use crate::subscription::{self, SubscribeFrom};
use crate::time::Time;
use crate::window::{digest_contains, digest_top};
use crate::wire::{self, DigestEntry, DigestFrame, Frame, Header, MAX_AGE, MessageFrame, PacketWriter};

/// Candidates gathered for one pull answer at most; more than fit in one
/// packet, so ordering still has a choice, but bounded.
const MAX_PULL_CANDIDATES: usize = 1024;

/// How many dedup windows past what a stream has seen a relayed copy may
/// jump; the origin's own copies may jump any distance.
const MAX_JUMP_WINDOWS: u64 = 64;

/// An answer to a digest from a member whose address is not proven yet is
/// at most this many times the digest's size.
const UNPROVEN_ANSWER_FACTOR: usize = 3;

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
    /// Round of each subscription that delivers from then on only.
    since: BTreeMap<GroupId, u64>,
    sequencer: Sequencer,
    streams: Streams,
    /// Gaps found while handling one input, turned into events after it.
    gaps: Vec<Gap>,
    /// Members heard from lately at their known address.
    heard: proven::Proven,
    /// The group rings of tree mode (gossiped view).
    rings: tree::Rings<A>,
    /// New messages waiting to go down their trees at the next poll.
    eager: Vec<MessageFrame>,
    /// What digests showed, since the last round, that others hold and
    /// this node lacks (tree mode): a stream and the top seen there, at
    /// most one per digest and [`pull::MAX_LACKING`] in all.
    lacking: Vec<(StreamKey, u64)>,
    /// Round of the last new message of each subscribed group (tree mode's
    /// digests follow activity).
    fresh: BTreeMap<GroupId, u64>,
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
            since: BTreeMap::new(),
            sequencer: Sequencer::default(),
            streams: Streams::default(),
            gaps: Vec::new(),
            heard: proven::Proven::default(),
            rings: tree::Rings::default(),
            eager: Vec::new(),
            lacking: Vec::new(),
            fresh: BTreeMap::new(),
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
            stream_floors: self.streams.floors(),
            queued_transmits: self.transmits.len() + self.eager.len(),
            queued_events: self.events.len(),
            ..Usage::default()
        };
        match &self.view {
            View::Gossiped(m) => {
                usage.members = m.live_len();
                usage.known_members = m.known_len();
                usage.membership_updates = m.queued_updates();
                usage.indexed_groups = m.indexed_groups();
                usage.indexed_memberships = m.indexed_memberships();
                usage.member_profiles = m.profiles();
                usage.membership_bytes = m.heap_bytes();
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

    /// Joins `group`, delivering from `from` on: [`SubscribeFrom::Now`]
    /// (what [`Protocol::subscribe`] does) or also what members still
    /// buffer. Subscribing to a group already joined changes nothing. A
    /// group left and joined again never delivers a message twice.
    pub fn subscribe_from(&mut self, _now: Time, group: GroupId, from: SubscribeFrom) -> Result<(), SubscribeError> {
        if let Err(pos) = self.subscriptions.binary_search(&group) {
            if self.subscriptions.len() >= self.config.max_groups {
                return Err(SubscribeError::TooManyGroups { max: self.config.max_groups });
            }
            self.subscriptions.insert(pos, group);
            if from == SubscribeFrom::Now {
                self.since.insert(group, self.round);
            }
            self.announce_groups();
        }
        Ok(())
    }

    /// The caps the stream table applies.
    fn stream_limits(&self) -> Limits {
        Limits {
            max_streams: self.config.max_streams,
            max_floors: self.config.max_stream_floors,
            window: self.config.dedup_window,
            max_jump: u64::from(self.config.dedup_window) * MAX_JUMP_WINDOWS,
        }
    }

    /// Whether a copy of `age` rounds in `group` was multicast before this
    /// node subscribed from now on.
    fn before_subscription(&self, group: GroupId, age: u32) -> bool {
        self.since.get(&group).is_some_and(|since| subscription::before(age, *since, self.round))
    }

    /// Whether `member`'s address is proven: a packet from it at its known
    /// address arrived within the last `retention` (before this packet).
    fn proven(&self, member: NodeId) -> bool {
        let within = self.config.retention.as_micros() / self.config.period.as_micros().max(1);
        self.heard.is_proven(member, self.round, u64::try_from(within).unwrap_or(u64::MAX))
    }

    /// Turns the gaps found into events.
    fn emit_gaps(&mut self) {
        for gap in std::mem::take(&mut self.gaps) {
            if self.is_subscribed(gap.group) {
                self.emit(Event::Gap(gap));
            }
        }
    }

    /// Tells the membership layer this node's groups changed.
    fn announce_groups(&mut self) {
        if let View::Gossiped(m) = &mut self.view {
            m.set_groups(&self.subscriptions);
        }
    }
}

impl<A: Address, R: RngCore> Protocol for Node<A, R> {
    type Address = A;
    type Stats = Stats;
    type Error = DecodeError;
    type Custom = std::convert::Infallible;

    fn handle_packet(&mut self, now: Time, from: A, packet: Bytes) -> Result<(), DecodeError> {
        self.stats.packets_in = self.stats.packets_in.saturating_add(1);
        self.stats.bytes_in = self.stats.bytes_in.saturating_add(packet.len() as u64);
        if self.left {
            self.stats.drops.after_leave = self.stats.drops.after_leave.saturating_add(1);
            return Ok(());
        }
        let max = self.config.max_wire_size();
        if packet.len() > max {
            self.stats.decode_errors = self.stats.decode_errors.saturating_add(1);
            return Err(DecodeError::Oversized { len: packet.len(), max });
        }
        let mut frames = std::mem::take(&mut self.scratch);
        let header = match wire::decode_into::<A>(&packet, &mut frames) {
            Ok(header) => header,
            Err(err) => {
                self.scratch = frames;
                self.stats.decode_errors = self.stats.decode_errors.saturating_add(1);
                return Err(err);
            }
        };
        self.handle_frames(now, from, header, &mut frames, packet.len());
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
        if self.config.mode == Mode::Tree {
            // Here rather than on the first message of the round, so that
            // no delivery waits for it.
            self.rebuild_rings_for_round();
        }
        self.expire(now);
        // Pull mode has active rumors too: a non-member's own messages.
        self.push_round();
        if self.config.mode.pulls() {
            self.pull_round();
        }
        self.gossip_membership();
    }

    fn multicast(&mut self, now: Time, group: GroupId, payload: Bytes) -> Result<MessageId, MulticastError> {
        self.multicast_with_priority(now, group, payload, 0)
    }

    fn subscribe(&mut self, now: Time, group: GroupId) -> Result<(), SubscribeError> {
        self.subscribe_from(now, group, SubscribeFrom::Now)
    }

    fn subscribe_from(&mut self, now: Time, group: GroupId, from: SubscribeFrom) -> Result<(), SubscribeError> {
        Node::subscribe_from(self, now, group, from)
    }

    fn unsubscribe(&mut self, _now: Time, group: GroupId) {
        if let Ok(pos) = self.subscriptions.binary_search(&group) {
            self.subscriptions.remove(pos);
            self.since.remove(&group);
            self.fresh.remove(&group);
            self.announce_groups();
            let limits = self.stream_limits();
            self.streams.forget_group(group, limits);
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
        if !self.eager.is_empty() {
            self.flush_tree();
        }
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

    /// The gossiped view keeps the last 256 direct-probe round trips
    /// (overwritten ones counted in
    /// [`MembershipStats::probe_rtts_dropped`](crate::MembershipStats::probe_rtts_dropped));
    /// a node on a shared view has none.
    fn drain_probe_rtts(&mut self) -> impl Iterator<Item = std::time::Duration> + '_ {
        let rtts = match &mut self.view {
            View::Gossiped(m) => Some(m.drain_probe_rtts()),
            View::Shared { .. } => None,
        };
        rtts.into_iter().flatten()
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
        let id = self.sequencer.next(self.id, group, payload.len(), self.config.max_payload(), self.left)?;
        self.stats.multicasts = self.stats.multicasts.saturating_add(1);
        let member = self.is_subscribed(group);
        if member {
            self.fresh.insert(group, self.round);
            self.stats.deliveries = self.stats.deliveries.saturating_add(1);
            self.emit(Event::Delivered(Delivery { id, payload: payload.clone(), hops: 0 }));
        }
        // Members pull from members only, so a sender outside the group
        // hands its message over: it sends it every round until a member
        // acknowledges it. A member's own message spreads as any other.
        let pull_only = self.config.mode == Mode::Pull;
        let stored = Stored {
            held: payload.len(),
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
        let tree = self.config.mode == Mode::Tree;
        // In tree mode a member's message goes down its tree with the next
        // poll, once it knows its group.
        if tree && member && self.group_size(group) > 0 {
            self.defer_tree([first]);
            if let Some(stored) = self.store.get_mut(&id) {
                stored.unsent_own = false;
                stored.active = false;
            }
            return Ok(id);
        }
        let inject = !member || (!pull_only && self.config.eager_push);
        let sent = inject && self.push_now(group, &[first]);
        if sent {
            if let Some(stored) = self.store.get_mut(&id) {
                stored.unsent_own = false;
            }
        }
        Ok(id)
    }
}
