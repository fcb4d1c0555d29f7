//! Membership: who is in the cluster, in which groups, and who has failed.
//!
//! A node learns its view one of two ways. [`SharedMembers`] is one
//! read-only list shared by many simulated nodes. [`Membership`] is the
//! gossiped view, a sans-IO state machine of its own that the node composes
//! with dissemination:
//!
//! * failure detection by SWIM (Das, Gupta, Motivala 2002): each probe
//!   interval a node pings one member in a shuffled round-robin order; no
//!   ack within the probe timeout, it pings it once more and asks `k`
//!   others to ping it (ping-req), more than `k` when its direct probes
//!   often miss (so that at the loss they suggest, all fail with a chance
//!   below 1%); no ack by the end of the interval, it *suspects* the member;
//! * Lifeguard (Dadgar, Phillips, Currey 2018): a local health multiplier
//!   that stretches this node's own probe interval and timeout while its
//!   probes go unanswered, a suspicion timeout that starts long and shrinks
//!   with each independent confirmation, and the suspicion sent to the
//!   suspect first (the buddy system) so it can refute at once;
//! * incarnation numbers that only a member raises, to refute a suspicion
//!   or announce a change of its groups or metadata; a third party may only
//!   suspect (a relayed "dead" or "left" counts as a suspicion);
//! * updates piggy-backed on every packet the node sends, each about
//!   `λ·log N` times, least-sent first ([`updates`]);
//! * anti-entropy: every sync interval a request to one random member,
//!   with a [`summary`] of this view, answered with up to 8 packets of that
//!   member's table unless its view sums to the same; and every reconnect
//!   interval a probe of one dead member and a join sent to one seed, so
//!   partitions heal;
//! * catching up ([`catch_up`]): a node that has just learned its first
//!   member asks it for its whole table at once, then asks it again 1, 2,
//!   4, 8… gossip periods later, for only what changed since, until its
//!   view stops growing, so a bulk join completes in a few periods whatever
//!   N and costs each node about one table;
//! * corrections: a member that tells of another as suspect at an
//!   incarnation since refuted gets the fresh entry back, and a suspicion
//!   still standing at half its minimum timeout is gossiped once more, so a
//!   node that every refutation missed learns it before its timer runs out.

mod apply;
mod catch_up;
mod detector;
mod draw;
mod groups;
mod member;
mod probe;
mod profiles;
mod shared;
mod summary;
mod suspicion;
mod sync;
mod table;
mod updates;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::{Rng, RngCore};

pub(crate) use draw::draw;
pub use member::{Member, MemberStatus};
pub use shared::SharedMembers;

use catch_up::{CatchUp, FullAnswer};
use probe::{Probe, Prober};
use suspicion::Suspicion;
use table::Table;
use updates::{OWN, Updates, Written};

use crate::address::Address;
use crate::config::{Config, Targets};
use crate::event::{DownReason, Event};
use crate::ids::{GroupId, NodeId};
use crate::stats::MembershipStats;
use crate::time::Time;
use crate::wire::{MemberFrame, MemberGroups, PacketWriter, TABLE_FRAME_MAX};

/// The hasher of the membership's maps and indexes: seeded at random for
/// each (their keys come from peers, and their inserts are capped per
/// sender), and several times cheaper than SipHash on the short keys they
/// hold, which a bulk join hashes about N² times across the cluster.
type RandomState = foldhash::fast::RandomState;
/// A map with [`RandomState`].
type Map<K, V> = HashMap<K, V, RandomState>;

/// Most packets in one sync answer.
pub(crate) const SYNC_PACKETS: usize = 8;
/// About how many entries fit in one packet of the default size.
const SYNC_ENTRIES_PER_PACKET: usize = 40;
/// Largest event buffer kept between packets (a packet holds at most a
/// few dozen entries, so this is room for several).
const EVENTS_KEPT: usize = 256;

/// A packet the membership layer wants sent; the node encodes it (with this
/// node's own entry and piggy-backed updates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outgoing<A> {
    /// A probe.
    Ping { to: A, seq: u64, target: NodeId },
    /// A probe's answer (direct, or relayed for an indirect probe).
    Ack { to: A, seq: u64 },
    /// An indirect probe request.
    PingReq { to: A, seq: u64, target: NodeId, addr: A },
    /// A slice of the table, asking for one back when `reply`.
    Sync { to: A, reply: bool },
    /// A join request to a seed, or a catch-up request for the entries
    /// changed after the receiver's change mark `since` (when not 0).
    Join { to: A, since: u64 },
    /// This node's own departure.
    Leave { to: A },
    /// Only this node's own entry: the answer to a probe meant for an
    /// earlier node at this address, so the prober learns of the
    /// replacement first-hand.
    Hello { to: A },
    /// The entries of these slots: members `to` told of as suspect, dead
    /// or departed at an incarnation they have since refuted.
    Correct { to: A, slots: Vec<u32> },
}

/// Where a node draws its gossip targets from.
#[derive(Debug)]
pub(crate) enum View<A> {
    /// Boxed: a simulator holds a million shared-view nodes, which should
    /// not each carry room for a gossiped view.
    Gossiped(Box<Membership<A>>),
    Shared {
        members: Arc<SharedMembers<A>>,
        /// This node's own entry, when known.
        index: Option<u32>,
    },
}

/// The gossiped membership view and failure detector.
#[derive(Debug)]
pub(crate) struct Membership<A> {
    me: NodeId,
    config: Arc<Config>,
    incarnation: u64,
    groups: Vec<GroupId>,
    meta: Bytes,
    left: bool,
    table: Table<A>,
    updates: Updates,
    prober: Prober<A>,
    seeds: Vec<A>,
    next_join: Option<Time>,
    next_sync: Time,
    next_reconnect: Time,
    /// The table slot the last sync slice ended at.
    sync_cursor: u32,
    /// Members first learned from each sender this probe interval.
    new_from: Map<NodeId, u32>,
    new_from_reset: Time,
    started: bool,
    /// The packet being handled is a sync answer.
    in_sync_answer: bool,
    /// Members first learned from the packet being handled.
    learned: u32,
    /// The sender of the packet being handled was a live member at its
    /// address before this packet.
    sender_known: bool,
    /// Members the packet being handled told of as suspect, dead or
    /// departed at an older incarnation than this node's alive entry, and
    /// where to send the correction (at most `max_piggyback` members).
    stale_told: Vec<u32>,
    stale_to: Option<A>,
    /// This node's catch-up after its first member, while it runs.
    catch_up: Option<CatchUp>,
    /// The whole-table answer being written, if any.
    full_answer: Option<FullAnswer<A>>,
    /// Where whole-table answers went lately, oldest first, at most
    /// [`catch_up::MAX_FULL_ANSWERED`].
    full_answered: VecDeque<(A, Time)>,
    /// The time of the latest input.
    now: Time,
    out: VecDeque<Outgoing<A>>,
    events: Vec<Event<A>>,
    pub(crate) stats: MembershipStats,
}

impl<A: Address> Membership<A> {
    pub(crate) fn new(me: NodeId, config: Arc<Config>) -> Self {
        Membership {
            me,
            config,
            incarnation: 0,
            groups: Vec::new(),
            meta: Bytes::new(),
            left: false,
            table: Table::new(),
            updates: Updates::default(),
            prober: Prober::new(),
            seeds: Vec::new(),
            next_join: None,
            next_sync: Time::ZERO,
            next_reconnect: Time::ZERO,
            sync_cursor: 0,
            new_from: Map::default(),
            new_from_reset: Time::ZERO,
            started: false,
            in_sync_answer: false,
            learned: 0,
            sender_known: false,
            stale_told: Vec::new(),
            stale_to: None,
            catch_up: None,
            full_answer: None,
            full_answered: VecDeque::new(),
            now: Time::ZERO,
            out: VecDeque::new(),
            events: Vec::new(),
            stats: MembershipStats::default(),
        }
    }

    // ---- what the node reads -------------------------------------------

    pub(crate) fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// Live members (alive or suspect), not counting this node.
    /// Whether `id` is a live member whose known address is `addr`.
    pub(crate) fn is_member_at(&self, id: NodeId, addr: &A) -> bool {
        self.table.get(id).is_some_and(|e| e.status.is_live() && e.addr == *addr)
    }

    pub(crate) fn live_len(&self) -> usize {
        self.table.live().len()
    }

    pub(crate) fn known_len(&self) -> usize {
        self.table.len()
    }

    pub(crate) fn queued_updates(&self) -> usize {
        self.updates.len()
    }

    pub(crate) fn indexed_groups(&self) -> usize {
        self.table.indexed_groups()
    }

    /// (member, group) pairs in the group index.
    pub(crate) fn indexed_memberships(&self) -> usize {
        self.table.indexed_memberships()
    }

    /// Distinct member profiles (groups and metadata) held.
    pub(crate) fn profiles(&self) -> usize {
        self.table.profiles()
    }

    /// Heap bytes of the member table, its indexes, the update queue and
    /// the recent whole-table answers.
    pub(crate) fn heap_bytes(&self) -> usize {
        let answered = self.full_answered.capacity() * size_of::<(A, Time)>();
        self.table.heap_bytes() + self.updates.heap_bytes() + self.prober.heap_bytes() + answered
    }

    pub(crate) fn health(&self) -> u32 {
        self.prober.health()
    }

    pub(crate) fn members(&self) -> Vec<Member<A>> {
        self.table.members()
    }

    /// Live members of `group` (not counting this node).
    pub(crate) fn group_len(&self, group: GroupId) -> usize {
        self.table.group(group).len()
    }

    /// Live members of `group` (not counting this node) and their addresses.
    pub(crate) fn group_members(&self, group: GroupId) -> impl Iterator<Item = (NodeId, &A)> {
        self.table.group(group).iter().filter_map(|slot| self.table.slot(*slot)).map(|e| (e.id, &e.addr))
    }

    /// Draws `count` targets from `group`'s live members.
    pub(crate) fn targets(&self, group: GroupId, count: usize, how: Targets, rng: &mut impl RngCore, out: &mut Vec<A>) {
        let items = self.table.group(group);
        draw(items.len(), count, how, rng, |i| self.table.slot(items[i]).map(|e| e.addr.clone()), out);
    }

    /// Draws `count` distinct targets from all live members.
    pub(crate) fn any_targets(&self, count: usize, rng: &mut impl RngCore, out: &mut Vec<A>) {
        let items = self.table.live();
        let pick = |i: usize| self.table.slot(items[i]).map(|e| e.addr.clone());
        draw(items.len(), count, Targets::WithoutReplacement, rng, pick, out);
    }

    pub(crate) fn poll_outgoing(&mut self) -> Option<Outgoing<A>> {
        self.next_full_answer().or_else(|| self.out.pop_front())
    }

    /// The events since the last call; give the emptied buffer back with
    /// [`restore_events`](Self::restore_events).
    pub(crate) fn take_events(&mut self) -> Vec<Event<A>> {
        std::mem::take(&mut self.events)
    }

    /// Gives back the buffer [`take_events`](Self::take_events) took
    /// (emptied), unless a catch-up made it large.
    pub(crate) fn restore_events(&mut self, mut events: Vec<Event<A>>) {
        events.clear();
        if self.events.is_empty() && events.capacity() <= EVENTS_KEPT {
            self.events = events;
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next run.
    pub(crate) fn poll_timeout(&self) -> Option<Time> {
        if self.left {
            return None;
        }
        if !self.started {
            return Some(Time::ZERO);
        }
        let probe = match &self.prober.current {
            Some(p) if !p.indirect_sent && !p.acked => p.ack_deadline.min(p.period_end),
            Some(p) => p.period_end,
            None => self.prober.next_at,
        };
        [
            Some(probe),
            Some(self.next_sync),
            Some(self.next_reconnect),
            self.next_join,
            self.catch_up.as_ref().map(|c| c.at),
            self.table.next_suspicion().map(|(at, _)| at),
            self.table.next_reannounce().map(|(at, _)| at),
            self.table.next_forget().map(|(at, _)| at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- this node's own entry -----------------------------------------

    /// Appends this node's entry to a packet if it fits (address: the
    /// packet's source).
    pub(crate) fn write_own(&self, writer: &mut PacketWriter) -> bool {
        let status = if self.left { MemberStatus::Left } else { MemberStatus::Alive };
        writer.push_member_parts::<A>(self.me, self.incarnation, status, None, &self.groups, &self.meta)
    }

    /// Announces a new own entry: a higher incarnation, queued for gossip.
    fn bump(&mut self) {
        self.incarnation = self.incarnation.saturating_add(1);
        self.queue_update(self.me);
    }

    pub(crate) fn set_groups(&mut self, groups: &[GroupId]) {
        if self.groups != groups {
            self.groups = groups.to_vec();
            self.bump();
        }
    }

    pub(crate) fn set_meta(&mut self, meta: Bytes) {
        if self.meta != meta {
            self.meta = meta;
            self.bump();
        }
    }

    fn queue_update(&mut self, id: NodeId) {
        let key = if id == self.me {
            OWN
        } else {
            let Some(slot) = self.table.find(id) else { return };
            slot
        };
        self.queue_key(key);
    }

    /// Queues the entry of a table slot (or [`OWN`]) for gossip.
    fn queue_key(&mut self, key: u32) {
        if self.updates.push(key, self.config.max_members) {
            self.stats.updates_dropped = self.stats.updates_dropped.saturating_add(1);
        }
    }

    // ---- joining and leaving -------------------------------------------

    pub(crate) fn join(&mut self, now: Time, seeds: &[A]) {
        self.seeds = seeds.to_vec();
        self.next_join = Some(now);
        self.contact_seeds(now);
    }

    fn contact_seeds(&mut self, now: Time) {
        let Some(at) = self.next_join else { return };
        if now < at || self.seeds.is_empty() {
            return;
        }
        if self.table.live().is_empty() {
            for seed in self.seeds.clone() {
                self.out.push_back(Outgoing::Join { to: seed, since: 0 });
            }
            self.next_join = Some(now + self.config.join_retry);
        } else {
            self.next_join = None;
        }
    }

    /// Says goodbye to a few members directly; they accept it first-hand
    /// and spread it.
    pub(crate) fn leave(&mut self, rng: &mut impl RngCore) {
        self.left = true;
        self.incarnation = self.incarnation.saturating_add(1);
        let mut to = Vec::new();
        self.any_targets(8, rng, &mut to);
        for addr in to {
            self.out.push_back(Outgoing::Leave { to: addr });
        }
    }
}

/// Sorted, deduplicated, at most `max`.
fn clean_groups(mut groups: MemberGroups, max: usize) -> MemberGroups {
    groups.sort_unstable();
    groups.dedup();
    groups.truncate(max);
    groups
}

fn clip(meta: Bytes, max: usize) -> Bytes {
    if meta.len() > max { meta.slice(..max) } else { meta }
}

/// A random fraction of `interval`, so that nodes started together do not
/// act in lockstep.
fn jitter(interval: Duration, rng: &mut impl RngCore) -> Duration {
    interval.mul_f64(rng.random::<f64>())
}
