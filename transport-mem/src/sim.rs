//! A deterministic discrete-event simulator: virtual time, one thread, one
//! seed, any [`Protocol`] addressed by `u32` node indices.
//!
//! Nodes are numbered `0..n` by the entries of a shared
//! [`SharedMembers`] list; a factory builds each node (again after every
//! restart). The [`LinkModel`] decides each packet's fate; a [`Script`]
//! changes it over time (crashes, restarts, partitions, loss, latency).
//!
//! Two kinds of time:
//!
//! * [`Timing::Rounds`], the textbook synchronous model: every node runs
//!   its timer on the same ticks `k·period`; everything sent on a tick
//!   arrives before the next tick (half a period later; the link's latency
//!   is not used, its loss, crashes and partitions are). Pull requests
//!   (recognised by [`SimConfig::requests_first`]) are delivered before the
//!   other packets of the round, so that an answer reflects what the
//!   responder held at the start of the round, as the model assumes.
//! * [`Timing::Events`]: every node's timer fires when its
//!   [`poll_timeout`](Protocol::poll_timeout) asks, and every packet takes a
//!   latency drawn from the link model. Rounds are then `period`-long
//!   windows of time for the records.
//!
//! The simulator records, per multicast message, when and at which hop each
//! node first delivered it and how many live nodes held it after each round,
//! and per round the packets and bytes sent. [`Simulator::run`] stops when
//! every live member of the group of every message holds it and nothing more
//! is scheduled, when the
//! network is quiet (nothing in flight, nothing sent for a round), or at
//! [`SimConfig::max_rounds`].

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gossip_core::{
    Config, ConfigError, Event, GroupId, Lifetime, MessageId, Mode, MulticastError, Node, NodeId, Protocol,
    SharedMembers, SmallRng, Targets, Time,
};
use rand::{Rng, SeedableRng};

use crate::error::SimError;
use gossip_sim::link::{DropReason, FaultAction, LinkModel, Script, Verdict};

/// How virtual time advances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// Synchronous rounds: every node ticks at `k·period`; packets of a
    /// round arrive before the next tick.
    Rounds,
    /// Discrete events: timers when each node asks, packets after the
    /// link's latency.
    Events {
        /// Start each node's first round at a uniformly random offset in
        /// `[0, period)` instead of all at time zero.
        start_jitter: bool,
    },
}

/// Simulator settings. Start from [`SimConfig::rounds`] or
/// [`SimConfig::events`] and adjust the public fields.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seeds the network's generator and, through [`Spawn::seed`], every node's.
    pub seed: u64,
    /// How time advances.
    pub timing: Timing,
    /// Round length: the tick spacing in [`Timing::Rounds`], the width of a
    /// per-round record in [`Timing::Events`]. Should equal the protocol's
    /// gossip period.
    pub period: Duration,
    /// The network's initial conditions.
    pub link: LinkModel,
    /// Stop after this many rounds at the latest.
    pub max_rounds: u32,
    /// Most packets in flight at once; more are dropped and counted
    /// ([`DropReason::QueueFull`]).
    pub max_in_flight: usize,
    /// In [`Timing::Rounds`], packets this returns `true` for are delivered
    /// before the others sent in the same round. The default recognises
    /// gossip-core's pull digests ([`is_gossip_request`]).
    pub requests_first: Option<fn(&[u8]) -> bool>,
}

impl SimConfig {
    /// Synchronous rounds of `period`, perfect links, at most 1,000 rounds.
    pub fn rounds(seed: u64, period: Duration) -> Self {
        SimConfig {
            seed,
            timing: Timing::Rounds,
            period,
            link: LinkModel::new(),
            max_rounds: 1_000,
            max_in_flight: 1 << 26,
            requests_first: Some(is_gossip_request),
        }
    }

    /// Discrete events with rounds of `period` for the records, perfect
    /// links (zero latency: set [`SimConfig::link`]), start jitter on.
    pub fn events(seed: u64, period: Duration) -> Self {
        SimConfig { timing: Timing::Events { start_jitter: true }, ..SimConfig::rounds(seed, period) }
    }

    fn validate(&self) -> Result<(), SimError> {
        if self.period.is_zero() {
            return Err(SimError::InvalidConfig("period must be positive"));
        }
        if self.max_rounds == 0 {
            return Err(SimError::InvalidConfig("max_rounds must be positive"));
        }
        if self.max_in_flight == 0 {
            return Err(SimError::InvalidConfig("max_in_flight must be positive"));
        }
        self.link.latency().validate()?;
        Ok(())
    }
}

/// Whether `packet` is a gossip-core pull request (a digest) or join
/// request, by peeking at its first frame's type without decoding it.
pub fn is_gossip_request(packet: &[u8]) -> bool {
    // Header: version (1), sender (8, little-endian), heartbeat (varint).
    if packet.first() != Some(&gossip_core::wire::VERSION) {
        return false;
    }
    let mut at = 9;
    while packet.get(at).is_some_and(|b| b & 0x80 != 0) {
        at += 1;
    }
    // 0x02 digest, 0x05 join (docs/wire.md).
    matches!(packet.get(at + 1), Some(0x02 | 0x05))
}

/// What a node factory is told about the node to build.
#[derive(Debug)]
pub struct Spawn<'a> {
    /// The node's index, which is also its address.
    pub index: u32,
    /// 0 for the first start, then one more at every restart.
    pub incarnation: u32,
    /// The virtual time it starts at.
    pub now: Time,
    /// A seed for its generator, derived from the simulation seed, the index
    /// and the incarnation.
    pub seed: u64,
    /// The shared member list.
    pub members: &'a Arc<SharedMembers<u32>>,
}

/// A node factory.
pub type Factory<P> = Box<dyn FnMut(&Spawn<'_>) -> P>;

/// The id the gossip helpers give node `index` in `incarnation`: unique
/// per start, so a restarted node never reuses sequence numbers.
pub fn node_id(index: u32, incarnation: u32) -> NodeId {
    NodeId((u64::from(incarnation) << 32) | (u64::from(index) + 1))
}

/// A member list of `n` nodes (`0..n`, ids from [`node_id`]) that all belong
/// to `group`.
pub fn one_group(n: u32, group: GroupId) -> Arc<SharedMembers<u32>> {
    let mut list = SharedMembers::new();
    for i in 0..n {
        list.push(node_id(i, 0), i, &[group]);
    }
    Arc::new(list)
}

/// A factory of gossip-core nodes on the shared list with `config`: node
/// `index` subscribes to those of `groups` whose shared member list holds it.
///
/// A restarted node gets a new id ([`node_id`]) that the read-only shared
/// list does not know, so it may (rarely, with probability about
/// `fanout/n` per round) draw itself as a target; it ignores its own packets.
pub fn gossip_factory(config: Config, groups: Vec<GroupId>) -> Factory<Node<u32>> {
    // One config for all nodes: a million copies would cost 176 MB.
    let config = Arc::new(config);
    Box::new(move |spawn: &Spawn<'_>| {
        let rng = SmallRng::seed_from_u64(spawn.seed);
        let id = node_id(spawn.index, spawn.incarnation);
        // A restarted node has an id the shared list does not hold: tell
        // it its own entry so that it never draws itself.
        let mut node = Node::with_shared_members(id, config.clone(), rng, spawn.members.clone()).at_index(spawn.index);
        for &group in &groups {
            if spawn.members.group(group).binary_search(&spawn.index).is_ok() {
                // Cannot fail below the max_groups cap; extra groups are skipped.
                let _ = node.subscribe(spawn.now, group);
            }
        }
        node
    })
}

/// The engine config of the textbook synchronous model: `mode`, fan-out
/// `fanout` with replacement, no eager push (a node informed in round `r`
/// first sends in round `r + 1`), rumors pushed for 10,000 rounds (so the
/// lifetime never cuts dissemination short) and buffered as long, so pulls
/// can always be answered.
pub fn textbook_engine(mode: Mode, fanout: u32, period: Duration) -> Result<Config, ConfigError> {
    Config::builder()
        .mode(mode)
        .fanout(fanout)
        .period(period)
        .targets(Targets::WithReplacement)
        .eager_push(false)
        .lifetime(Lifetime::Rounds(10_000))
        .retention(period.saturating_mul(10_000))
        .dedup_window(64)
        .build()
}

fn mix(mut x: u64) -> u64 {
    // splitmix64
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn node_seed(seed: u64, index: u32, incarnation: u32) -> u64 {
    mix(mix(seed) ^ ((u64::from(incarnation) << 32) | u64::from(index)))
}

/// Refers to a message scheduled with [`Simulator::multicast`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageHandle(pub usize);

/// Why a scheduled multicast was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IssueFailure {
    /// The origin was crashed at the scheduled time.
    OriginDown,
    /// The protocol refused it.
    Refused(MulticastError),
}

const NEVER: u64 = u64::MAX;
const NO_HOP: u32 = u32::MAX;

/// What happened to one multicast message.
#[derive(Clone, Debug)]
pub struct MessageRecord {
    /// The node that multicast it.
    pub origin: u32,
    /// Its group.
    pub group: GroupId,
    /// When it was scheduled to be sent.
    pub scheduled_at: Time,
    /// Its id, once sent.
    pub id: Option<MessageId>,
    /// Why it was not sent, if it was not.
    pub failure: Option<IssueFailure>,
    /// When it was sent.
    pub sent_at: Option<Time>,
    /// Rounds completed before it was sent.
    pub sent_round: u32,
    /// When, and in which round, every live member first held it at once.
    pub completed: Option<(Time, u32)>,
    /// Live members holding it after each round since it was sent (index 0
    /// is the round it was sent in).
    pub holders_by_round: Vec<u32>,
    /// Live members holding it now.
    pub holders: u32,
    /// Nodes that delivered it at least once, in any incarnation.
    pub delivered: u32,
    /// Deliveries by a node that had delivered it in an earlier incarnation.
    pub redeliveries: u64,
    /// Deliveries by a node that had already delivered it in the same
    /// incarnation: an exactly-once violation, always 0 for a correct protocol.
    pub duplicate_deliveries: u64,
    first_at: Vec<u64>,
    first_hop: Vec<u32>,
    held: Vec<u64>,
}

impl MessageRecord {
    /// When and at which hop `node` first delivered it.
    pub fn delivery(&self, node: u32) -> Option<(Time, u32)> {
        let at = *self.first_at.get(node as usize)?;
        (at != NEVER).then(|| (Time::from_micros(at), self.first_hop[node as usize]))
    }

    /// Whether `node`'s current incarnation holds it.
    pub fn is_held_by(&self, node: u32) -> bool {
        self.held.get((node / 64) as usize).is_some_and(|w| w & (1 << (node % 64)) != 0)
    }

    /// Rounds from sending until every live member held it (the textbook
    /// figure in [`Timing::Rounds`]).
    pub fn rounds_to_all(&self) -> Option<u32> {
        self.completed.map(|(_, round)| round - self.sent_round)
    }

    /// Time from sending until every live member held it.
    pub fn time_to_all(&self) -> Option<Duration> {
        Some(self.completed?.0.saturating_duration_since(self.sent_at?))
    }

    /// How many nodes first delivered it at each hop count (index = hops).
    pub fn hop_histogram(&self) -> Vec<u64> {
        let mut histogram = Vec::new();
        for &hop in self.first_hop.iter().filter(|h| **h != NO_HOP) {
            let h = hop as usize;
            if h >= histogram.len() {
                histogram.resize(h + 1, 0);
            }
            histogram[h] += 1;
        }
        histogram
    }

    /// Delivery times, relative to sending, of every node that delivered it, sorted.
    pub fn latencies(&self) -> Vec<Duration> {
        let Some(sent) = self.sent_at else { return Vec::new() };
        let mut out: Vec<Duration> = self
            .first_at
            .iter()
            .filter(|at| **at != NEVER)
            .map(|at| Duration::from_micros(at.saturating_sub(sent.as_micros())))
            .collect();
        out.sort_unstable();
        out
    }
}

/// Counters for one round.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundRecord {
    /// The round's number, from 1.
    pub round: u32,
    /// Virtual time at its end.
    pub end: Time,
    /// Packets nodes emitted.
    pub packets_sent: u64,
    /// Bytes nodes emitted.
    pub bytes_sent: u64,
    /// Packets handed to a node.
    pub packets_delivered: u64,
    /// Packets the network dropped.
    pub packets_dropped: u64,
}

/// Whole-run counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Packets nodes emitted.
    pub packets_sent: u64,
    /// Bytes nodes emitted.
    pub bytes_sent: u64,
    /// Packets handed to a node.
    pub packets_delivered: u64,
    /// Packets lost to random loss.
    pub dropped_loss: u64,
    /// Packets dropped by a partition.
    pub dropped_partition: u64,
    /// Packets to or from a crashed node.
    pub dropped_down: u64,
    /// Packets dropped because [`SimConfig::max_in_flight`] were in flight.
    pub dropped_queue_full: u64,
    /// Packets addressed to no node.
    pub misaddressed: u64,
    /// Packets a node rejected as malformed.
    pub decode_errors: u64,
    /// Deliveries of tracked messages (all nodes, all incarnations).
    pub deliveries: u64,
    /// Timer calls made.
    pub timeouts: u64,
    /// Most packets in flight at once.
    pub peak_in_flight: usize,
}

/// Why [`Simulator::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every live member of every message's group holds it, and nothing
    /// more (multicast or fault) is scheduled.
    AllDelivered,
    /// Nothing is in flight and nothing was sent for a round.
    Quiescent,
    /// [`SimConfig::max_rounds`] were simulated.
    RoundCap,
    /// The time given to [`Simulator::run_until`] was reached.
    TimeReached,
}

/// What a run ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Why it stopped.
    pub stop: Stop,
    /// Virtual time at the stop.
    pub now: Time,
    /// Rounds completed.
    pub rounds: u32,
}

struct Packet {
    to: u32,
    from: u32,
    payload: Payload,
}

/// Longest packet carried inline.
const INLINE: usize = 46;

/// A packet's bytes. Small packets (one short message) are copied into the
/// queue entry itself: the engine builds each packet in a buffer sized for
/// the largest packet, and a node keeps an accepted payload as a slice of
/// the packet that brought it, which would pin that whole buffer; inline, a
/// packet costs no allocation or pointer chase until it is delivered, and
/// the node then gets an allocation of exactly its length.
enum Payload {
    Inline { len: u8, data: [u8; INLINE] },
    Heap(Bytes),
}

impl Payload {
    fn new(bytes: Bytes) -> Self {
        if bytes.len() <= INLINE {
            let mut data = [0u8; INLINE];
            data[..bytes.len()].copy_from_slice(&bytes);
            Payload::Inline { len: bytes.len() as u8, data }
        } else {
            Payload::Heap(bytes)
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Payload::Inline { len, data } => &data[..usize::from(*len)],
            Payload::Heap(bytes) => bytes,
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Payload::Inline { len, data } => Bytes::copy_from_slice(&data[..usize::from(len)]),
            Payload::Heap(bytes) => bytes,
        }
    }
}

/// Destination nodes per outbox bucket (as a power of two): a round's
/// packets are delivered bucket by bucket, so the receivers' state is
/// touched in address order instead of at random, which keeps it in cache.
const BUCKET_SHIFT: u32 = 8;

/// One round's packets, bucketed by destination; buckets keep their
/// capacity from round to round.
#[derive(Default)]
struct Outbox {
    buckets: Vec<Vec<Packet>>,
    len: usize,
}

impl Outbox {
    fn push(&mut self, packet: Packet) {
        let bucket = (packet.to >> BUCKET_SHIFT) as usize;
        if bucket >= self.buckets.len() {
            self.buckets.resize_with(bucket + 1, Vec::new);
        }
        self.buckets[bucket].push(packet);
        self.len += 1;
    }
}

enum Kind {
    Timer { node: u32, incarnation: u32 },
    Packet(Packet),
}

struct Entry {
    at: u64,
    seq: u64,
    kind: Kind,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct PendingCast {
    at: Time,
    handle: usize,
    payload: Bytes,
}

/// Everything except the nodes, so a node and the network can be borrowed
/// at the same time.
struct Core {
    config: SimConfig,
    link: LinkModel,
    rng: SmallRng,
    members: Arc<SharedMembers<u32>>,
    n: usize,
    now: Time,
    /// Rounds completed.
    rounds_done: u32,
    incarnations: Vec<u32>,
    // Rounds timing.
    requests: Outbox,
    others: Outbox,
    // Events timing.
    queue: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    timer_at: Vec<u64>,
    boot_at: Vec<u64>,
    in_flight: usize,
    last_send: Time,
    // Inputs.
    steps: VecDeque<(Time, FaultAction)>,
    casts: VecDeque<PendingCast>,
    // Records.
    messages: Vec<MessageRecord>,
    by_id: HashMap<MessageId, usize>,
    satisfied: Vec<bool>,
    satisfied_count: usize,
    group_live: HashMap<GroupId, u32>,
    rounds: Vec<RoundRecord>,
    current: RoundRecord,
    stats: SimStats,
}

/// The simulator. See the [module docs](self).
pub struct Simulator<P: Protocol<Address = u32>> {
    nodes: Vec<Option<P>>,
    factory: Factory<P>,
    core: Core,
}

impl<P: Protocol<Address = u32>> std::fmt::Debug for Simulator<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("nodes", &self.core.n)
            .field("now", &self.core.now)
            .field("rounds", &self.core.rounds_done)
            .field("stats", &self.core.stats)
            .finish_non_exhaustive()
    }
}

impl Simulator<Node<u32>> {
    /// `n` gossip-core nodes with `engine` config, all members of `group`,
    /// sharing one member list.
    pub fn gossip(config: SimConfig, engine: Config, n: u32, group: GroupId) -> Result<Self, SimError> {
        Simulator::new(config, one_group(n, group), gossip_factory(engine, vec![group]))
    }
}

impl<P: Protocol<Address = u32>> Simulator<P> {
    /// One node per entry of `members`, built by `factory`.
    pub fn new(config: SimConfig, members: Arc<SharedMembers<u32>>, mut factory: Factory<P>) -> Result<Self, SimError> {
        config.validate()?;
        let n = members.len();
        let mut rng = SmallRng::seed_from_u64(mix(config.seed ^ 0x5eed));
        let boot_at: Vec<u64> = match config.timing {
            Timing::Events { start_jitter: true } => {
                let period = u64::try_from(config.period.as_micros()).unwrap_or(u64::MAX).max(1);
                (0..n).map(|_| rng.random_range(0..period)).collect()
            }
            _ => Vec::new(),
        };
        let mut nodes = Vec::with_capacity(n);
        for index in 0..n {
            let index = index as u32;
            let spawn = Spawn {
                index,
                incarnation: 0,
                now: Time::ZERO,
                seed: node_seed(config.seed, index, 0),
                members: &members,
            };
            nodes.push(Some(factory(&spawn)));
        }
        let link = config.link.clone();
        let timed = matches!(config.timing, Timing::Events { .. });
        let core = Core {
            link,
            rng,
            members,
            n,
            now: Time::ZERO,
            rounds_done: 0,
            incarnations: vec![0; n],
            requests: Outbox::default(),
            others: Outbox::default(),
            queue: BinaryHeap::new(),
            seq: 0,
            timer_at: if timed { vec![NEVER; n] } else { Vec::new() },
            boot_at,
            in_flight: 0,
            last_send: Time::ZERO,
            steps: VecDeque::new(),
            casts: VecDeque::new(),
            messages: Vec::new(),
            by_id: HashMap::new(),
            satisfied: Vec::new(),
            satisfied_count: 0,
            group_live: HashMap::new(),
            rounds: Vec::new(),
            current: RoundRecord { round: 1, ..RoundRecord::default() },
            stats: SimStats::default(),
            config,
        };
        let mut sim = Simulator { nodes, factory, core };
        for index in 0..n as u32 {
            sim.after_call(index);
        }
        Ok(sim)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.core.n
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.core.n == 0
    }

    /// Current virtual time.
    pub fn now(&self) -> Time {
        self.core.now
    }

    /// Rounds completed.
    pub fn rounds_done(&self) -> u32 {
        self.core.rounds_done
    }

    /// Node `index`, if it is up.
    pub fn node(&self, index: u32) -> Option<&P> {
        self.nodes.get(index as usize)?.as_ref()
    }

    /// Node `index`, if it is up, for direct calls; packets and events it
    /// produces are collected at the next simulation step.
    pub fn node_mut(&mut self, index: u32) -> Option<&mut P> {
        self.nodes.get_mut(index as usize)?.as_mut()
    }

    /// The current link model.
    pub fn link(&self) -> &LinkModel {
        &self.core.link
    }

    /// The shared member list.
    pub fn members(&self) -> &Arc<SharedMembers<u32>> {
        &self.core.members
    }

    /// Every scheduled message's record, in scheduling order.
    pub fn messages(&self) -> &[MessageRecord] {
        &self.core.messages
    }

    /// One message's record.
    pub fn message(&self, handle: MessageHandle) -> Option<&MessageRecord> {
        self.core.messages.get(handle.0)
    }

    /// Per-round counters of the completed rounds.
    pub fn rounds(&self) -> &[RoundRecord] {
        &self.core.rounds
    }

    /// Whole-run counters.
    pub fn stats(&self) -> &SimStats {
        &self.core.stats
    }

    fn check_node(&self, index: u32) -> Result<(), SimError> {
        if (index as usize) < self.core.n { Ok(()) } else { Err(SimError::NoSuchNode { index, nodes: self.core.n }) }
    }

    fn check_time(&self, at: Time) -> Result<(), SimError> {
        if at < self.core.now {
            return Err(SimError::InThePast { at_us: at.as_micros(), now_us: self.core.now.as_micros() });
        }
        Ok(())
    }

    /// Schedules node `from` to multicast `payload` to `group` at `at` (in
    /// [`Timing::Rounds`], at the first tick at or after `at`, before the
    /// nodes run their rounds).
    pub fn multicast(
        &mut self,
        at: Time,
        from: u32,
        group: GroupId,
        payload: Bytes,
    ) -> Result<MessageHandle, SimError> {
        self.check_node(from)?;
        self.check_time(at)?;
        let handle = self.core.messages.len();
        self.core.messages.push(MessageRecord {
            origin: from,
            group,
            scheduled_at: at,
            id: None,
            failure: None,
            sent_at: None,
            sent_round: 0,
            completed: None,
            holders_by_round: Vec::new(),
            holders: 0,
            delivered: 0,
            redeliveries: 0,
            duplicate_deliveries: 0,
            first_at: Vec::new(),
            first_hop: Vec::new(),
            held: Vec::new(),
        });
        self.core.satisfied.push(false);
        let pos = self.core.casts.partition_point(|c| c.at <= at);
        self.core.casts.insert(pos, PendingCast { at, handle, payload });
        Ok(MessageHandle(handle))
    }

    /// Schedules a fault action at `at`.
    pub fn schedule(&mut self, at: Time, action: FaultAction) -> Result<(), SimError> {
        self.check_time(at)?;
        match &action {
            FaultAction::Crash(nodes) | FaultAction::Restart(nodes) => {
                nodes.iter().try_for_each(|n| self.check_node(*n))?;
            }
            FaultAction::SetLoss(_) | FaultAction::SetLatency(_) => LinkModel::new().apply(&action)?,
            FaultAction::Partition(_) | FaultAction::Heal => {}
        }
        let pos = self.core.steps.partition_point(|(t, _)| *t <= at);
        self.core.steps.insert(pos, (at, action));
        Ok(())
    }

    /// Schedules every step of `script`.
    pub fn script(&mut self, script: &Script) -> Result<(), SimError> {
        script.validate()?;
        for (at, action) in script.steps() {
            self.schedule(*at, action.clone())?;
        }
        Ok(())
    }

    /// Runs until a [`Stop`] condition other than [`Stop::TimeReached`].
    pub fn run(&mut self) -> Outcome {
        self.run_inner(None)
    }

    /// Runs until `until` (inclusive) at most, or an earlier stop condition.
    pub fn run_until(&mut self, until: Time) -> Outcome {
        self.run_inner(Some(until))
    }

    fn run_inner(&mut self, until: Option<Time>) -> Outcome {
        let stop = match self.core.config.timing {
            Timing::Rounds => self.run_rounds(until),
            Timing::Events { .. } => self.run_events(until),
        };
        Outcome { stop, now: self.core.now, rounds: self.core.rounds_done }
    }

    fn period_us(&self) -> u64 {
        u64::try_from(self.core.config.period.as_micros()).unwrap_or(u64::MAX).max(1)
    }

    fn all_delivered(&self) -> bool {
        let core = &self.core;
        core.casts.is_empty()
            && core.steps.is_empty()
            && !core.messages.is_empty()
            && core.satisfied_count == core.messages.len()
    }

    /// Applies due script steps and multicasts (steps first).
    fn apply_due(&mut self, now: Time) {
        while self.core.steps.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, action)) = self.core.steps.pop_front() {
                self.apply(now, &action);
            }
        }
        while self.core.casts.front().is_some_and(|c| c.at <= now) {
            if let Some(cast) = self.core.casts.pop_front() {
                self.issue(now, cast);
            }
        }
    }

    fn next_input_at(&self) -> Option<Time> {
        let step = self.core.steps.front().map(|(at, _)| *at);
        let cast = self.core.casts.front().map(|c| c.at);
        match (step, cast) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn apply(&mut self, now: Time, action: &FaultAction) {
        match action {
            FaultAction::Crash(list) => {
                for &index in list {
                    if self.core.link.crash(index) {
                        self.nodes[index as usize] = None;
                        if !self.core.timer_at.is_empty() {
                            self.core.timer_at[index as usize] = NEVER;
                        }
                        for record in &mut self.core.messages {
                            let (word, bit) = ((index / 64) as usize, index % 64);
                            if record.held.get(word).is_some_and(|w| w & (1 << bit) != 0) {
                                record.held[word] &= !(1 << bit);
                                record.holders -= 1;
                            }
                        }
                    }
                }
                self.liveness_changed(now);
            }
            FaultAction::Restart(list) => {
                for &index in list {
                    if self.core.link.restart(index) {
                        let i = index as usize;
                        self.core.incarnations[i] += 1;
                        let incarnation = self.core.incarnations[i];
                        let spawn = Spawn {
                            index,
                            incarnation,
                            now,
                            seed: node_seed(self.core.config.seed, index, incarnation),
                            members: &self.core.members,
                        };
                        self.nodes[i] = Some((self.factory)(&spawn));
                        if !self.core.boot_at.is_empty() {
                            self.core.boot_at[i] = now.as_micros();
                        }
                        self.after_call(index);
                    }
                }
                self.liveness_changed(now);
            }
            other => {
                // Parameters were validated when scheduled.
                let _ = self.core.link.apply(other);
            }
        }
    }

    fn liveness_changed(&mut self, now: Time) {
        self.core.group_live.clear();
        for i in 0..self.core.messages.len() {
            self.core.refresh(i, now);
        }
    }

    fn issue(&mut self, now: Time, cast: PendingCast) {
        let core = &mut self.core;
        let record = &mut core.messages[cast.handle];
        record.sent_round = core.rounds_done;
        let Some(node) = self.nodes[record.origin as usize].as_mut() else {
            record.failure = Some(IssueFailure::OriginDown);
            core.refresh(cast.handle, now);
            return;
        };
        match node.multicast(now, record.group, cast.payload) {
            Ok(id) => {
                record.id = Some(id);
                record.sent_at = Some(now);
                record.first_at = vec![NEVER; core.n];
                record.first_hop = vec![NO_HOP; core.n];
                record.held = vec![0; core.n.div_ceil(64)];
                core.by_id.insert(id, cast.handle);
            }
            Err(err) => record.failure = Some(IssueFailure::Refused(err)),
        }
        let origin = record.origin;
        core.refresh(cast.handle, now);
        self.after_call(origin);
    }

    /// Collects what node `index` produced and reschedules its timer.
    fn after_call(&mut self, index: u32) {
        let Some(node) = self.nodes[index as usize].as_mut() else { return };
        self.core.collect(index, node);
    }

    // ----- synchronous rounds -----

    fn run_rounds(&mut self, until: Option<Time>) -> Stop {
        let period = self.period_us();
        loop {
            if self.all_delivered() {
                return Stop::AllDelivered;
            }
            if self.core.rounds_done >= self.core.config.max_rounds {
                return Stop::RoundCap;
            }
            let now = Time::from_micros(u64::from(self.core.rounds_done).saturating_mul(period));
            if until.is_some_and(|u| now > u) {
                return Stop::TimeReached;
            }
            self.core.now = now;
            self.apply_due(now);
            for index in 0..self.core.n {
                if let Some(node) = self.nodes[index].as_mut() {
                    node.handle_timeout(now);
                    self.core.stats.timeouts += 1;
                    self.core.collect(index as u32, node);
                }
            }
            let arrive = Time::from_micros(now.as_micros() + period / 2);
            self.core.now = arrive;
            loop {
                // Packets sent while a batch is delivered (pull answers) go
                // to a fresh outbox; the drained batch's capacity is kept
                // for the next round when nothing was sent meanwhile.
                let requests = self.core.requests.len > 0;
                let mut batch = if requests {
                    std::mem::take(&mut self.core.requests)
                } else if self.core.others.len > 0 {
                    std::mem::take(&mut self.core.others)
                } else {
                    break;
                };
                for bucket in &mut batch.buckets {
                    for packet in bucket.drain(..) {
                        self.deliver(arrive, packet);
                    }
                }
                batch.len = 0;
                let slot = if requests { &mut self.core.requests } else { &mut self.core.others };
                if slot.len == 0 {
                    *slot = batch;
                }
            }
            let sent = self.core.current.packets_sent;
            self.core.now = Time::from_micros(now.as_micros() + period);
            self.core.close_round();
            if sent == 0 && self.next_input_at().is_none() && !self.core.messages.is_empty() {
                return Stop::Quiescent;
            }
        }
    }

    fn deliver(&mut self, at: Time, packet: Packet) {
        self.core.in_flight = self.core.in_flight.saturating_sub(1);
        let to = packet.to;
        if !self.core.link.is_up(to) {
            self.core.drop_packet(DropReason::ReceiverDown);
            return;
        }
        let Some(node) = self.nodes[to as usize].as_mut() else {
            self.core.drop_packet(DropReason::ReceiverDown);
            return;
        };
        self.core.stats.packets_delivered += 1;
        self.core.current.packets_delivered += 1;
        if node.handle_packet(at, packet.from, packet.payload.into_bytes()).is_err() {
            self.core.stats.decode_errors += 1;
        }
        self.core.collect(to, node);
    }

    // ----- discrete events -----

    fn run_events(&mut self, until: Option<Time>) -> Stop {
        let period = self.period_us();
        let cap = u64::from(self.core.config.max_rounds).saturating_mul(period);
        loop {
            if self.all_delivered() {
                return Stop::AllDelivered;
            }
            let next_event = self.core.queue.peek().map(|Reverse(e)| e.at);
            let next_input = self.next_input_at().map(Time::as_micros);
            let next = match (next_event, next_input) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => return Stop::Quiescent,
            };
            if next >= cap {
                self.core.now = Time::from_micros(cap);
                while self.core.rounds_done < self.core.config.max_rounds {
                    self.core.close_round();
                }
                return Stop::RoundCap;
            }
            if let Some(until) = until
                && next > until.as_micros()
            {
                self.core.now = until;
                self.close_rounds_before(until.as_micros(), period);
                return Stop::TimeReached;
            }
            self.close_rounds_before(next, period);
            if self.core.in_flight == 0
                && next_input.is_none()
                && !self.core.messages.is_empty()
                && next.saturating_sub(self.core.last_send.as_micros()) > 2 * period
            {
                return Stop::Quiescent;
            }
            let now = Time::from_micros(next);
            self.core.now = now;
            if next_input == Some(next) {
                self.apply_due(now);
                continue;
            }
            let Some(Reverse(entry)) = self.core.queue.pop() else { continue };
            match entry.kind {
                Kind::Packet(packet) => self.deliver(now, packet),
                Kind::Timer { node, incarnation } => {
                    let i = node as usize;
                    if self.core.timer_at[i] != entry.at || self.core.incarnations[i] != incarnation {
                        continue;
                    }
                    self.core.timer_at[i] = NEVER;
                    if let Some(p) = self.nodes[i].as_mut() {
                        p.handle_timeout(now);
                        self.core.stats.timeouts += 1;
                        self.core.collect(node, p);
                    }
                }
            }
        }
    }

    fn close_rounds_before(&mut self, t: u64, period: u64) {
        while u64::from(self.core.rounds_done + 1).saturating_mul(period) <= t {
            let end = Time::from_micros(u64::from(self.core.rounds_done + 1) * period);
            let now = std::mem::replace(&mut self.core.now, end);
            self.core.close_round();
            self.core.now = now;
        }
    }
}

impl Core {
    fn drop_packet(&mut self, reason: DropReason) {
        self.current.packets_dropped += 1;
        match reason {
            DropReason::Loss => self.stats.dropped_loss += 1,
            DropReason::Partition => self.stats.dropped_partition += 1,
            DropReason::SenderDown | DropReason::ReceiverDown => self.stats.dropped_down += 1,
            DropReason::QueueFull => self.stats.dropped_queue_full += 1,
        }
    }

    /// Drains node `index`'s transmits and events, and reschedules its timer.
    fn collect<P: Protocol<Address = u32>>(&mut self, index: u32, node: &mut P) {
        let now = self.now;
        while let Some(transmit) = node.poll_transmit() {
            self.stats.packets_sent += 1;
            self.stats.bytes_sent += transmit.bytes.len() as u64;
            self.current.packets_sent += 1;
            self.current.bytes_sent += transmit.bytes.len() as u64;
            self.last_send = now;
            let to = transmit.to;
            if to as usize >= self.n {
                self.stats.misaddressed += 1;
                self.current.packets_dropped += 1;
                continue;
            }
            let delay = match self.link.route(index, to, &mut self.rng) {
                Verdict::Drop(reason) => {
                    self.drop_packet(reason);
                    continue;
                }
                Verdict::Deliver(delay) => delay,
            };
            if self.in_flight >= self.config.max_in_flight {
                self.drop_packet(DropReason::QueueFull);
                continue;
            }
            self.in_flight += 1;
            self.stats.peak_in_flight = self.stats.peak_in_flight.max(self.in_flight);
            let packet = Packet { to, from: index, payload: Payload::new(transmit.bytes) };
            match self.config.timing {
                Timing::Rounds => {
                    if self.config.requests_first.is_some_and(|is_request| is_request(packet.payload.as_slice())) {
                        self.requests.push(packet);
                    } else {
                        self.others.push(packet);
                    }
                }
                Timing::Events { .. } => {
                    let at = (now + delay).as_micros();
                    self.push_entry(at, Kind::Packet(packet));
                }
            }
        }
        while let Some(event) = node.poll_event() {
            if let Event::Delivered(delivery) = event {
                self.delivered(index, delivery.id, delivery.hops);
            }
        }
        if !self.timer_at.is_empty() {
            let i = index as usize;
            if let Some(want) = node.poll_timeout() {
                let boot = self.boot_at.get(i).copied().unwrap_or(0);
                let at = want.as_micros().max(now.as_micros()).max(boot);
                if at != self.timer_at[i] {
                    self.timer_at[i] = at;
                    let incarnation = self.incarnations[i];
                    self.push_entry(at, Kind::Timer { node: index, incarnation });
                }
            }
        }
    }

    fn push_entry(&mut self, at: u64, kind: Kind) {
        self.seq += 1;
        self.queue.push(Reverse(Entry { at, seq: self.seq, kind }));
    }

    fn delivered(&mut self, index: u32, id: MessageId, hops: u32) {
        let Some(&handle) = self.by_id.get(&id) else { return };
        self.stats.deliveries += 1;
        let now = self.now.as_micros();
        let record = &mut self.messages[handle];
        let i = index as usize;
        let (word, bit) = (i / 64, index % 64);
        if record.held[word] & (1 << bit) != 0 {
            record.duplicate_deliveries += 1;
            return;
        }
        record.held[word] |= 1 << bit;
        record.holders += 1;
        if record.first_at[i] == NEVER {
            record.first_at[i] = now;
            record.first_hop[i] = hops;
            record.delivered += 1;
        } else {
            record.redeliveries += 1;
        }
        self.refresh(handle, self.now);
    }

    fn live_members(&mut self, group: GroupId) -> u32 {
        if let Some(&count) = self.group_live.get(&group) {
            return count;
        }
        let link = &self.link;
        let count = self.members.group(group).iter().filter(|&&i| link.is_up(i)).count() as u32;
        self.group_live.insert(group, count);
        count
    }

    /// Recomputes whether message `handle` is held by every live member.
    fn refresh(&mut self, handle: usize, now: Time) {
        let group = self.messages[handle].group;
        let live = self.live_members(group);
        let record = &mut self.messages[handle];
        let ok = record.failure.is_some() || (record.id.is_some() && record.holders >= live);
        if ok && record.completed.is_none() && record.failure.is_none() {
            record.completed = Some((now, self.rounds_done + 1));
        }
        if ok != self.satisfied[handle] {
            self.satisfied[handle] = ok;
            if ok {
                self.satisfied_count += 1;
            } else {
                self.satisfied_count -= 1;
            }
        }
    }

    fn close_round(&mut self) {
        let round = self.rounds_done + 1;
        let record = std::mem::replace(&mut self.current, RoundRecord { round: round + 1, ..RoundRecord::default() });
        self.rounds.push(RoundRecord { round, end: self.now, ..record });
        for message in &mut self.messages {
            if message.sent_at.is_some() {
                message.holders_by_round.push(message.holders);
            }
        }
        self.rounds_done = round;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifier_tells_digests_from_messages() {
        let header = gossip_core::wire::Header { sender: NodeId(7), incarnation: 300 };
        let mut w = gossip_core::wire::PacketWriter::new(1200, header);
        w.push_digest(GroupId(1), true, std::iter::empty());
        assert!(is_gossip_request(&w.finish()));
        let mut w = gossip_core::wire::PacketWriter::new(1200, header);
        let frame = gossip_core::wire::MessageFrame {
            id: MessageId { group: GroupId(1), origin: NodeId(7), seq: 1 },
            age: 0,
            hops: 0,
            priority: 0,
            feedback: false,
            ack: false,
            payload: Bytes::from_static(b"x"),
        };
        assert!(w.push_message(&frame));
        assert!(!is_gossip_request(&w.finish()));
        assert!(!is_gossip_request(&[]));
    }

    #[test]
    fn a_small_push_run_reaches_everyone() {
        let engine = Config::builder()
            .mode(Mode::Push)
            .fanout(2)
            .eager_push(false)
            .lifetime(Lifetime::Rounds(100))
            .period(Duration::from_secs(1))
            .build()
            .unwrap();
        let mut sim = Simulator::gossip(SimConfig::rounds(1, Duration::from_secs(1)), engine, 100, GroupId(1)).unwrap();
        let h = sim.multicast(Time::ZERO, 0, GroupId(1), Bytes::from_static(b"m")).unwrap();
        let out = sim.run();
        assert_eq!(out.stop, Stop::AllDelivered);
        let rec = sim.message(h).unwrap();
        assert_eq!(rec.holders, 100);
        assert_eq!(rec.duplicate_deliveries, 0);
        assert_eq!(rec.delivery(0).unwrap().1, 0);
        // Origin delivers at once; round 1 informs at most b = 2 more.
        assert!(rec.holders_by_round[0] <= 3);
        assert_eq!(rec.rounds_to_all(), Some(out.rounds));
    }
}
