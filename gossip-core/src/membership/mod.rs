//! Membership: who is in the cluster, in which groups, and who has failed.
//!
//! A node learns its view one of two ways. [`SharedMembers`] is one
//! read-only list shared by many simulated nodes. [`Membership`] is the
//! gossiped view, a sans-IO state machine of its own that the node composes
//! with dissemination:
//!
//! * failure detection by SWIM (Das, Gupta, Motivala 2002): each probe
//!   interval a node pings one member in a shuffled round-robin order; no
//!   ack within the probe timeout, it asks `k` others to ping it (ping-req);
//!   no ack by the end of the interval, it *suspects* the member;
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
//! * anti-entropy: a packet's worth of the table swapped with one random
//!   member every sync interval; and every reconnect interval a probe of one
//!   dead member and a join sent to one seed, so partitions heal.

mod draw;
mod index_set;
mod member;
mod probe;
mod shared;
mod suspicion;
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

use probe::{Probe, Prober};
use suspicion::Suspicion;
use table::{Entry, Table};
use updates::{Updates, Written};

use crate::address::Address;
use crate::config::{Config, Targets};
use crate::event::{DownReason, Event};
use crate::ids::{GroupId, NodeId};
use crate::stats::MembershipStats;
use crate::time::Time;
use crate::wire::{MemberFrame, PacketWriter};

/// Most packets in one sync answer.
pub(crate) const SYNC_PACKETS: usize = 8;
/// About how many entries fit in one packet of the default size.
const SYNC_ENTRIES_PER_PACKET: usize = 40;

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
    /// A join request to a seed.
    Join { to: A },
    /// This node's own departure.
    Leave { to: A },
    /// Only this node's own entry: the answer to a probe meant for an
    /// earlier node at this address, so the prober learns of the
    /// replacement first-hand.
    Hello { to: A },
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
    sync_cursor: NodeId,
    /// Members first learned from each sender this probe interval.
    new_from: HashMap<NodeId, u32>,
    new_from_reset: Time,
    started: bool,
    /// The packet being handled is a sync answer.
    in_sync_answer: bool,
    /// Members first learned from the packet being handled.
    learned: u32,
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
            sync_cursor: NodeId(0),
            new_from: HashMap::new(),
            new_from_reset: Time::ZERO,
            started: false,
            in_sync_answer: false,
            learned: 0,
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

    pub(crate) fn health(&self) -> u32 {
        self.prober.health()
    }

    pub(crate) fn members(&self) -> Vec<Member<A>> {
        self.table.members()
    }

    /// Live members of `group` (not counting this node).
    pub(crate) fn group_len(&self, group: GroupId) -> usize {
        self.table.group(group).map_or(0, |set| set.len())
    }

    /// Draws `count` targets from `group`'s live members.
    pub(crate) fn targets(&self, group: GroupId, count: usize, how: Targets, rng: &mut impl RngCore, out: &mut Vec<A>) {
        let Some(set) = self.table.group(group) else { return };
        let items = set.items();
        draw(items.len(), count, how, rng, |i| self.table.get(items[i]).map(|e| e.addr.clone()), out);
    }

    /// Draws `count` distinct targets from all live members.
    pub(crate) fn any_targets(&self, count: usize, rng: &mut impl RngCore, out: &mut Vec<A>) {
        let items = self.table.live().items();
        let pick = |i: usize| self.table.get(items[i]).map(|e| e.addr.clone());
        draw(items.len(), count, Targets::WithoutReplacement, rng, pick, out);
    }

    pub(crate) fn poll_outgoing(&mut self) -> Option<Outgoing<A>> {
        self.out.pop_front()
    }

    pub(crate) fn drain_events(&mut self) -> std::vec::Drain<'_, Event<A>> {
        self.events.drain(..)
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
            self.table.next_suspicion().map(|(at, _)| at),
            self.table.next_forget().map(|(at, _)| at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- this node's own entry -----------------------------------------

    /// This node's entry as the wire carries it (address: the packet's source).
    pub(crate) fn own_frame(&self) -> MemberFrame<A> {
        MemberFrame {
            id: self.me,
            incarnation: self.incarnation,
            status: if self.left { MemberStatus::Left } else { MemberStatus::Alive },
            addr: None,
            groups: self.groups.clone(),
            meta: self.meta.clone(),
        }
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
        if self.updates.push(id, self.config.max_members) {
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
                self.out.push_back(Outgoing::Join { to: seed });
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

    // ---- timers --------------------------------------------------------

    pub(crate) fn handle_timeout(&mut self, now: Time, rng: &mut impl RngCore) {
        if self.left {
            return;
        }
        self.now = now;
        if !self.started {
            self.started = true;
            self.prober.next_at = now;
            self.next_sync = now + jitter(self.config.sync_interval, rng);
            self.next_reconnect = now + jitter(self.config.reconnect_interval, rng);
        }
        if now >= self.new_from_reset {
            self.new_from.clear();
            self.new_from_reset = now + self.config.probe_interval;
        }
        self.contact_seeds(now);
        self.advance_probe(now, rng);
        while let Some((at, id)) = self.table.next_suspicion() {
            if at > now {
                break;
            }
            self.declare_dead(now, id);
        }
        while let Some((at, id)) = self.table.next_forget() {
            if at > now {
                break;
            }
            self.table.remove(id);
            self.updates.remove(id);
        }
        if now >= self.next_sync {
            self.next_sync = now + self.config.sync_interval;
            if let Some(id) = self.table.live().random(rng) {
                if let Some(entry) = self.table.get(id) {
                    self.out.push_back(Outgoing::Sync { to: entry.addr.clone(), reply: true });
                }
            }
        }
        if now >= self.next_reconnect {
            self.next_reconnect = now + self.config.reconnect_interval;
            self.reconnect(rng);
        }
    }

    /// Pings one dead member (its death rides along, so it can refute) and
    /// sends a join to one seed that is not a live member.
    fn reconnect(&mut self, rng: &mut impl RngCore) {
        if let Some(id) = self.table.dead().random(rng) {
            if let Some(entry) = self.table.get(id) {
                let seq = self.prober.next_seq();
                self.out.push_back(Outgoing::Ping { to: entry.addr.clone(), seq, target: id });
            }
        }
        if !self.seeds.is_empty() {
            let seed = self.seeds[rng.random_range(0..self.seeds.len())].clone();
            let live = self.table.by_addr(&seed).and_then(|id| self.table.get(id)).is_some_and(|e| e.status.is_live());
            if !live {
                self.out.push_back(Outgoing::Join { to: seed });
            }
        }
    }

    fn advance_probe(&mut self, now: Time, rng: &mut impl RngCore) {
        let m = self.prober.multiplier();
        if let Some(probe) = &mut self.prober.current {
            if !probe.acked && !probe.indirect_sent && now >= probe.ack_deadline {
                probe.indirect_sent = true;
                let (target, seq, addr) = (probe.target, probe.seq, probe.addr.clone());
                self.ask_indirect(target, seq, addr, rng);
            }
            let Some(probe) = &self.prober.current else { return };
            if now < probe.period_end {
                return;
            }
            let probe = self.prober.current.take().expect("checked above");
            if probe.acked {
                self.prober.health_better();
            } else {
                self.stats.probe_failures = self.stats.probe_failures.saturating_add(1);
                self.prober.health_worse(self.config.max_health);
                let incarnation = self.table.get(probe.target).map_or(0, |e| e.incarnation);
                self.suspect(now, probe.target, incarnation, self.me, false);
            }
        }
        if self.prober.current.is_none() && now >= self.prober.next_at {
            let interval = self.config.probe_interval * m;
            self.prober.next_at = now + interval;
            let Some(target) = self.prober.pick(self.table.live(), rng) else { return };
            let Some(entry) = self.table.get(target) else { return };
            let addr = entry.addr.clone();
            let seq = self.prober.next_seq();
            self.prober.current = Some(Probe {
                target,
                addr: addr.clone(),
                seq,
                ack_deadline: now + self.config.probe_timeout * m,
                period_end: now + interval,
                indirect_sent: false,
                acked: false,
            });
            self.stats.probes = self.stats.probes.saturating_add(1);
            self.out.push_back(Outgoing::Ping { to: addr, seq, target });
        }
    }

    fn ask_indirect(&mut self, target: NodeId, seq: u64, addr: A, rng: &mut impl RngCore) {
        let k = self.config.indirect_probes as usize;
        let live = self.table.live().items();
        let mut helpers = Vec::with_capacity(k);
        let pick = |i: usize| {
            let id = live[i];
            (id != target).then(|| self.table.get(id).map(|e| e.addr.clone())).flatten()
        };
        draw(live.len(), k, Targets::WithoutReplacement, rng, pick, &mut helpers);
        for to in helpers {
            self.stats.indirect_probes = self.stats.indirect_probes.saturating_add(1);
            self.out.push_back(Outgoing::PingReq { to, seq, target, addr: addr.clone() });
        }
    }

    fn suspicion_bounds(&self) -> (Duration, Duration, u32) {
        let n = (self.table.live().len() + 1) as f64;
        let scale = n.log10().max(1.0);
        let min = self.config.probe_interval.mul_f64(f64::from(self.config.suspicion_mult) * scale);
        let max = min * self.config.suspicion_max_mult;
        let expected = self.config.indirect_probes.min(self.table.live().len().saturating_sub(1) as u32);
        (min, max, expected)
    }

    /// `by` suspects `id` at `incarnation`: start a suspicion, or count a
    /// confirmation of the current one.
    fn suspect(&mut self, now: Time, id: NodeId, incarnation: u64, by: NodeId, left_hint: bool) {
        let Some(entry) = self.table.get(id) else { return };
        if incarnation < entry.incarnation || !entry.status.is_live() {
            return;
        }
        let current = entry.suspicion.as_ref().map(|s| s.incarnation);
        match (entry.status, current) {
            (MemberStatus::Suspect, Some(suspected)) if suspected >= incarnation => {
                if self.table.confirm(id, by) {
                    self.stats.confirmations = self.stats.confirmations.saturating_add(1);
                }
            }
            _ => {
                let (min, max, expected) = self.suspicion_bounds();
                self.table.set_incarnation(id, incarnation);
                self.table.set_status(id, MemberStatus::Suspect, now);
                self.table.set_suspicion(id, Suspicion::new(now, incarnation, by, min, max, expected, left_hint));
                self.stats.suspicions = self.stats.suspicions.saturating_add(1);
                self.events.push(Event::MemberSuspect { id, incarnation });
                self.queue_update(id);
            }
        }
    }

    fn declare_dead(&mut self, now: Time, id: NodeId) {
        let Some(entry) = self.table.get(id) else { return };
        let left = entry.suspicion.as_ref().is_some_and(|s| s.left_hint);
        let incarnation = entry.incarnation;
        let (status, reason) =
            if left { (MemberStatus::Left, DownReason::Left) } else { (MemberStatus::Dead, DownReason::Failed) };
        self.table.set_status(id, status, now + self.config.dead_retention);
        self.stats.deaths = self.stats.deaths.saturating_add(1);
        self.events.push(Event::MemberDown { id, incarnation, reason });
        self.queue_update(id);
    }

    /// A member that stopped being live, first-hand (it left) or by
    /// replacement.
    fn down(&mut self, now: Time, id: NodeId, status: MemberStatus, reason: DownReason) {
        let Some(entry) = self.table.get(id) else { return };
        let (was_live, incarnation) = (entry.status.is_live(), entry.incarnation);
        self.table.set_status(id, status, now + self.config.dead_retention);
        if was_live {
            self.events.push(Event::MemberDown { id, incarnation, reason });
        }
        self.queue_update(id);
    }

    // ---- input ---------------------------------------------------------

    fn may_add(&mut self, sender: NodeId) -> bool {
        if self.table.len() >= self.config.max_members {
            self.stats.members_full = self.stats.members_full.saturating_add(1);
            return false;
        }
        let count = self.new_from.entry(sender).or_insert(0);
        if *count >= self.config.max_new_members {
            self.stats.new_members_capped = self.stats.new_members_capped.saturating_add(1);
            return false;
        }
        *count += 1;
        true
    }

    fn add(&mut self, id: NodeId, frame: MemberFrame<A>, addr: A, partial: bool, rng: &mut impl RngCore) {
        if self.table.live().is_empty() && self.started {
            // The first member known: swap tables with someone soon, rather
            // than a whole sync interval from now.
            let soon = self.config.probe_interval.mul_f64(1.0 + rng.random::<f64>());
            self.next_sync = self.next_sync.min(self.now + soon);
        }
        let groups = clean_groups(frame.groups, self.config.max_groups);
        let meta = clip(frame.meta, self.config.max_meta_len);
        let incarnation = frame.incarnation;
        let status = MemberStatus::Alive;
        let entry = Entry { addr: addr.clone(), incarnation, status, groups, meta, suspicion: None, partial };
        self.table.insert(id, entry);
        self.learned = self.learned.saturating_add(1);
        self.prober.add(id, rng);
        self.events.push(Event::MemberUp { id, addr, incarnation });
        self.queue_update(id);
    }

    /// A packet came from `sender` at `from`, claiming `incarnation`: the
    /// sender speaks for itself.
    pub(crate) fn handle_sender(
        &mut self,
        now: Time,
        sender: NodeId,
        incarnation: u64,
        from: &A,
        rng: &mut impl RngCore,
    ) {
        if sender == self.me || self.left {
            return;
        }
        self.now = now;
        // A new node answering at a known member's address replaces it.
        if let Some(old) = self.table.by_addr(from) {
            if old != sender && self.table.get(old).is_some_and(|e| e.status != MemberStatus::Left) {
                // Kept as departed until forgotten, so stale relays of the
                // old id cannot bring it back.
                self.down(now, old, MemberStatus::Left, DownReason::Replaced);
                self.stats.replaced = self.stats.replaced.saturating_add(1);
                self.table.claim_addr(sender, from);
            }
        }
        let frame = MemberFrame {
            id: sender,
            incarnation,
            status: MemberStatus::Alive,
            addr: None,
            groups: Vec::new(),
            meta: Bytes::new(),
        };
        self.first_hand_alive(now, frame, from, false, rng);
    }

    /// The member `frame.id` tells of itself, from `from`. `full` says the
    /// frame carries its groups and metadata (a header alone does not).
    fn first_hand_alive(&mut self, now: Time, frame: MemberFrame<A>, from: &A, full: bool, rng: &mut impl RngCore) {
        let id = frame.id;
        let Some(entry) = self.table.get(id) else {
            if self.may_add(id) {
                self.add(id, frame, from.clone(), !full, rng);
            }
            return;
        };
        let (known, status, same_addr, partial) = (entry.incarnation, entry.status, entry.addr == *from, entry.partial);
        if frame.incarnation < known {
            return;
        }
        let newer = frame.incarnation > known;
        if full && !newer && partial {
            let groups = clean_groups(frame.groups.clone(), self.config.max_groups);
            self.table.set_groups_and_meta(id, groups, clip(frame.meta.clone(), self.config.max_meta_len));
        }
        // An address changes only with a fresher incarnation, or once the
        // old address fell silent: a replayed packet from elsewhere cannot
        // move a member that is still answering.
        if !same_addr {
            if newer || status != MemberStatus::Alive {
                self.table.set_addr(id, from.clone());
            } else {
                self.stats.address_refused = self.stats.address_refused.saturating_add(1);
                return;
            }
        }
        match status {
            MemberStatus::Dead | MemberStatus::Left if newer => {
                self.table.set_incarnation(id, frame.incarnation);
                self.table.set_status(id, MemberStatus::Alive, now);
                self.prober.add(id, rng);
                self.events.push(Event::MemberUp { id, addr: from.clone(), incarnation: frame.incarnation });
                self.queue_update(id);
            }
            MemberStatus::Dead | MemberStatus::Left => return,
            MemberStatus::Suspect if newer => {
                self.table.set_incarnation(id, frame.incarnation);
                self.table.set_status(id, MemberStatus::Alive, now);
                self.stats.refuted = self.stats.refuted.saturating_add(1);
                self.queue_update(id);
            }
            _ if newer => {
                self.table.set_incarnation(id, frame.incarnation);
                if !full {
                    // The entry with its groups follows by gossip.
                    self.table.set_partial(id);
                    return;
                }
                self.queue_update(id);
            }
            _ => {}
        }
        if full && newer {
            let groups = clean_groups(frame.groups, self.config.max_groups);
            self.table.set_groups_and_meta(id, groups, clip(frame.meta, self.config.max_meta_len));
        }
    }

    /// Applies a member entry carried in a packet from `sender` at `from`.
    pub(crate) fn handle_entry(
        &mut self,
        now: Time,
        frame: MemberFrame<A>,
        sender: NodeId,
        from: &A,
        rng: &mut impl RngCore,
    ) {
        if self.left {
            return;
        }
        let id = frame.id;
        if id == self.me {
            self.about_me(frame);
            return;
        }
        if id == sender {
            match frame.status {
                MemberStatus::Left if self.table.get(id).is_some_and(|e| frame.incarnation >= e.incarnation) => {
                    self.table.set_incarnation(id, frame.incarnation);
                    self.down(now, id, MemberStatus::Left, DownReason::Left);
                }
                MemberStatus::Alive => self.first_hand_alive(now, frame, from, true, rng),
                // Nobody suspects itself.
                _ => {}
            }
            return;
        }
        // A third party's word.
        let Some(addr) = frame.addr.clone() else { return };
        let Some(entry) = self.table.get(id) else {
            if frame.status.is_live() && self.may_add(sender) {
                self.add(id, frame, addr, false, rng);
            }
            return;
        };
        let (known, status, partial) = (entry.incarnation, entry.status, entry.partial);
        if partial && frame.incarnation == known && frame.status.is_live() {
            let groups = clean_groups(frame.groups.clone(), self.config.max_groups);
            self.table.set_groups_and_meta(id, groups, clip(frame.meta.clone(), self.config.max_meta_len));
        }
        match frame.status {
            MemberStatus::Alive if frame.incarnation > known => {
                // A relayed refutation or change. It never moves an address
                // (only the member itself does), and it revives a dead member
                // only with an incarnation the member raised after its death.
                if status == MemberStatus::Left {
                    return;
                }
                self.table.set_incarnation(id, frame.incarnation);
                let groups = clean_groups(frame.groups, self.config.max_groups);
                self.table.set_groups_and_meta(id, groups, clip(frame.meta, self.config.max_meta_len));
                match status {
                    MemberStatus::Dead => {
                        self.table.set_status(id, MemberStatus::Alive, now);
                        self.prober.add(id, rng);
                        let addr = self.table.get(id).map(|e| e.addr.clone()).unwrap_or(addr);
                        self.events.push(Event::MemberUp { id, addr, incarnation: frame.incarnation });
                    }
                    MemberStatus::Suspect => {
                        self.table.set_status(id, MemberStatus::Alive, now);
                        self.stats.refuted = self.stats.refuted.saturating_add(1);
                    }
                    _ => {}
                }
                self.queue_update(id);
            }
            MemberStatus::Alive => {}
            // A third party may only suspect: its "dead" or "left" is a
            // suspicion the member can refute.
            MemberStatus::Suspect | MemberStatus::Dead | MemberStatus::Left => {
                if frame.incarnation >= known {
                    self.suspect(now, id, frame.incarnation, sender, frame.status == MemberStatus::Left);
                }
            }
        }
    }

    /// Someone says something about this node: refute anything but alive at
    /// the current incarnation.
    fn about_me(&mut self, frame: MemberFrame<A>) {
        let doubted = frame.status != MemberStatus::Alive;
        if (doubted && frame.incarnation >= self.incarnation) || frame.incarnation > self.incarnation {
            self.incarnation = frame.incarnation;
            self.bump();
            self.stats.refutations = self.stats.refutations.saturating_add(1);
            if doubted {
                self.prober.health_worse(self.config.max_health);
            }
        }
    }

    /// The transport could not reach `addr`: suspect its member at once,
    /// as if a probe had failed.
    pub(crate) fn handle_unreachable(&mut self, now: Time, addr: &A) {
        if let Some(id) = self.table.by_addr(addr) {
            let incarnation = self.table.get(id).map_or(0, |e| e.incarnation);
            self.suspect(now, id, incarnation, self.me, false);
        }
    }

    pub(crate) fn handle_ping(&mut self, seq: u64, target: NodeId, from: &A) {
        // A probe for an earlier node at this address is not ours to
        // acknowledge; say who answers here instead.
        if self.left {
            return;
        }
        if target == self.me {
            self.out.push_back(Outgoing::Ack { to: from.clone(), seq });
        } else {
            self.out.push_back(Outgoing::Hello { to: from.clone() });
        }
    }

    pub(crate) fn handle_ack(&mut self, seq: u64) {
        if let Some(probe) = &mut self.prober.current {
            if probe.seq == seq {
                probe.acked = true;
                return;
            }
        }
        if let Some((to, reply)) = self.prober.take_relay(seq) {
            self.out.push_back(Outgoing::Ack { to, seq: reply });
        }
    }

    /// Probes `target` for the asker, if the asker is a live member (so an
    /// outsider cannot use this node to reach third parties).
    pub(crate) fn handle_ping_req(&mut self, now: Time, seq: u64, target: NodeId, addr: A, sender: NodeId, from: &A) {
        let known = self.table.get(sender).is_some_and(|e| e.status.is_live() && e.addr == *from);
        if !known || target == self.me || self.left {
            return;
        }
        let ours = self.prober.next_seq();
        let expires = now + self.config.probe_interval;
        if self.prober.relay(now, ours, from.clone(), seq, expires) {
            self.out.push_back(Outgoing::Ping { to: addr, seq: ours, target });
        } else {
            self.stats.relays_full = self.stats.relays_full.saturating_add(1);
        }
    }

    /// A join: answer with one packet of the table (the joiner's address is
    /// not proven yet, so the answer stays about the size of a packet).
    pub(crate) fn handle_join(&mut self, from: &A) {
        if !self.left {
            self.out.push_back(Outgoing::Sync { to: from.clone(), reply: false });
        }
    }

    /// A live member at its known address asks for a sync: answer with up
    /// to [`SYNC_PACKETS`] packets of the table, enough for the whole of a
    /// table of a few hundred members.
    pub(crate) fn handle_sync_request(&mut self, sender: NodeId, from: &A) {
        let known = self.table.get(sender).is_some_and(|e| e.status.is_live() && e.addr == *from);
        if self.left || !known {
            return;
        }
        let packets = self.table.live().len().div_ceil(SYNC_ENTRIES_PER_PACKET).clamp(1, SYNC_PACKETS);
        for _ in 0..packets {
            self.out.push_back(Outgoing::Sync { to: from.clone(), reply: false });
        }
    }

    /// This packet is a slice of someone's table.
    pub(crate) fn handle_sync_answer(&mut self) {
        self.in_sync_answer = true;
    }

    /// The packet is done: a sync answer that taught something new means
    /// the view is still filling, so sync again soon rather than a whole
    /// interval from now.
    pub(crate) fn end_packet(&mut self, now: Time, rng: &mut impl RngCore) {
        if std::mem::take(&mut self.in_sync_answer) && std::mem::take(&mut self.learned) > 0 {
            let soon = now + self.config.probe_interval.mul_f64(0.5 + rng.random::<f64>());
            self.next_sync = self.next_sync.min(soon);
        }
        self.learned = 0;
    }

    // ---- output --------------------------------------------------------

    fn frame_of(&self, id: NodeId) -> Option<MemberFrame<A>> {
        if id == self.me {
            return Some(self.own_frame());
        }
        let e = self.table.get(id)?;
        Some(MemberFrame {
            id,
            incarnation: e.incarnation,
            status: e.status,
            addr: Some(e.addr.clone()),
            groups: e.groups.clone(),
            meta: e.meta.clone(),
        })
    }

    fn retransmit_limit(&self) -> u32 {
        let n = (self.table.live().len() + 2) as f64;
        self.config.retransmit_mult * (n.log10().ceil().max(1.0) as u32)
    }

    /// Fills the rest of a packet to `to` with updates: first the entry of
    /// `to` itself when it is suspected or declared down (so it can refute
    /// at once), then queued updates, least-sent first.
    pub(crate) fn piggyback(&mut self, to: Option<&A>, writer: &mut PacketWriter) {
        let max = self.config.max_piggyback;
        if max == 0 {
            return;
        }
        let mut budget = max;
        // A data packet carries the sender's own entry, so receivers learn
        // its groups first-hand.
        if to.is_none() && writer.push_member(&self.own_frame()) {
            budget -= 1;
        }
        if let Some(id) = to.and_then(|to| self.table.by_addr(to)) {
            if let Some(frame) = self.frame_of(id).filter(|f| f.status != MemberStatus::Alive) {
                if writer.push_member(&frame) {
                    budget -= 1;
                }
            }
        }
        let limit = self.retransmit_limit();
        let (table, me) = (&self.table, self.me);
        let own = self.own_frame();
        self.updates.take(budget, limit, |id| {
            let frame = if id == me {
                own.clone()
            } else {
                let Some(e) = table.get(id) else { return Written::Gone };
                MemberFrame {
                    id,
                    incarnation: e.incarnation,
                    status: e.status,
                    addr: Some(e.addr.clone()),
                    groups: e.groups.clone(),
                    meta: e.meta.clone(),
                }
            };
            if writer.push_member(&frame) { Written::Yes } else { Written::Full }
        });
    }

    /// Fills a sync packet with live entries, continuing where the last one
    /// stopped so successive syncs cover the whole table.
    pub(crate) fn write_slice(&mut self, writer: &mut PacketWriter) {
        let start = self.sync_cursor;
        let mut taken = 0usize;
        let cursor = self.table.scan_from(start, |id, e| {
            if taken >= self.table.len() {
                return false;
            }
            taken += 1;
            if !e.status.is_live() {
                return true;
            }
            let frame = MemberFrame {
                id,
                incarnation: e.incarnation,
                status: e.status,
                addr: Some(e.addr.clone()),
                groups: e.groups.clone(),
                meta: e.meta.clone(),
            };
            writer.push_member(&frame)
        });
        self.sync_cursor = cursor;
    }
}

/// Sorted, deduplicated, at most `max`.
fn clean_groups(mut groups: Vec<GroupId>, max: usize) -> Vec<GroupId> {
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
