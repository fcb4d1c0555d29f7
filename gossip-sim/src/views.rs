//! Every node's view of the membership, tracked from its `MemberUp`,
//! `MemberSuspect` and `MemberDown` events, and what the views say about
//! the failure detector: how fast views become complete, which events were
//! about live members (false suspicions and deaths), how fast crashed
//! members are detected and removed.
//!
//! Node `i`'s view is a row of N bits (bit `j`: `i` believes `j` is up), so
//! tracking costs N² bits (12.5 MB at 10,000 nodes) and is off unless
//! [`SimConfig::track_views`](crate::SimConfig::track_views) is set. Two
//! counters keep every question O(1) per event: how many live members a
//! node believes up, and how many nodes believe a member up.
//!
//! The rows are kept by the lanes ([`ViewShard`], one per lane, for the
//! lane's own nodes), so a lane updates its nodes' views from their events
//! on its own thread, in any order: what a change about a live member does
//! is the same whatever came before it in other lanes. Only changes about
//! crashed members, whose records keep first times and counts, go to
//! [`Views`] as [`CrashNews`], merged in the events' order.
//!
//! Events name members by [`NodeId`]; the tracker reads the node index and
//! incarnation back from ids made by [`node_id`](crate::node_id), and counts
//! events about any other id, or about an earlier incarnation, as stale.

use std::collections::HashSet;

use gossip_core::{DownReason, Event, NodeId, Time};

use crate::link::LinkModel;

/// When a crashed member was noticed and forgotten.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrashRecord {
    /// The node that crashed.
    pub node: u32,
    /// When it crashed.
    pub at: Time,
    /// The first suspicion of it by a live node.
    pub first_suspected: Option<Time>,
    /// The first time a live node declared it down.
    pub first_down: Option<Time>,
    /// When the last live node that believed it up stopped doing so.
    pub removed_from_all: Option<Time>,
    /// Live nodes that believe it up (at the end, in a finished run).
    pub believers: u32,
    /// Of these, the ones whose latest word about it was a suspicion (their
    /// timer still running), as opposed to ones that never heard of it.
    pub suspecting: u32,
}

/// The membership views' record for a whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ViewRecord {
    /// `MemberUp` events.
    pub ups: u64,
    /// `MemberSuspect` events.
    pub suspicions: u64,
    /// `MemberDown` events (any reason).
    pub downs: u64,
    /// Suspicions of a member that was up at the time.
    pub false_suspicions: u64,
    /// `MemberDown` for failure about a member that was up at the time.
    pub false_deaths: u64,
    /// Events about an id no node holds now (an earlier incarnation, an id
    /// not made by [`node_id`](crate::node_id)).
    pub stale: u64,
    /// Live nodes at the end of each round.
    pub live_by_round: Vec<u32>,
    /// Live nodes whose view was complete (every other live node believed
    /// up) at the end of each round.
    pub complete_by_round: Vec<u32>,
    /// The first round (from 1) at whose end every live node's view was
    /// complete.
    pub first_all_complete: Option<u32>,
    /// Every crash, in order.
    pub crashes: Vec<CrashRecord>,
}

impl ViewRecord {
    /// The first round at or after `round` (from 1) at whose end every live
    /// node's view was complete: the heal time after a partition ends in
    /// round `round`, say.
    pub fn all_complete_from(&self, round: u32) -> Option<u32> {
        let from = round.saturating_sub(1) as usize;
        let ends = self.complete_by_round.iter().zip(&self.live_by_round).enumerate().skip(from);
        ends.filter(|(_, (complete, live))| complete == live).map(|(i, _)| i as u32 + 1).next()
    }
}

/// What a membership event says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Up,
    Suspect,
    Down { failure: bool },
}

/// A membership event as the views need it: about whom, and what.
#[derive(Clone, Copy)]
pub(crate) struct ViewChange {
    id: NodeId,
    change: Change,
}

impl ViewChange {
    /// What `event` says about the membership, if anything.
    pub(crate) fn of<C>(event: &Event<u32, C>) -> Option<Self> {
        let (id, change) = match event {
            Event::MemberUp { id, .. } => (*id, Change::Up),
            Event::MemberSuspect { id, .. } => (*id, Change::Suspect),
            Event::MemberDown { id, reason, .. } => (*id, Change::Down { failure: *reason == DownReason::Failed }),
            _ => return None,
        };
        Some(ViewChange { id, change })
    }
}

/// A change one node's view made about a crashed member, for its record.
pub(crate) struct CrashNews {
    observer: u32,
    member: u32,
    change: Change,
    /// Whether the observer believes the member up after the change.
    believes: bool,
    /// The observer just stopped believing it up.
    dropped: bool,
    /// The observer just started believing it up (a stale entry).
    added: bool,
}

/// The counters of [`ViewRecord`] a shard adds up between merges.
#[derive(Clone, Copy, Default)]
struct Counts {
    ups: u64,
    suspicions: u64,
    downs: u64,
    false_suspicions: u64,
    false_deaths: u64,
    stale: u64,
}

/// The views of one lane's nodes (every `stride`-th from `first`).
pub(crate) struct ViewShard {
    first: usize,
    stride: usize,
    n: usize,
    words: usize,
    bits: Vec<u64>,
    /// Per row: live members it believes up.
    known_live: Vec<u32>,
    /// Per member: this shard's nodes that believe it up.
    believers: Vec<u32>,
    counts: Counts,
}

/// The member an id names, if it is the current incarnation of one of `n`.
fn member(id: NodeId, n: usize, incarnations: &[u32]) -> Option<usize> {
    let index = (id.0 & u64::from(u32::MAX)).checked_sub(1)? as usize;
    let incarnation = (id.0 >> 32) as u32;
    (index < n && incarnations[index] == incarnation).then_some(index)
}

impl ViewShard {
    /// The views of `rows` nodes of `n`, every `stride`-th from `first`.
    pub(crate) fn new(first: usize, stride: usize, rows: usize, n: usize) -> Self {
        let words = n.div_ceil(64);
        ViewShard {
            first,
            stride,
            n,
            words,
            bits: vec![0; rows * words],
            known_live: vec![0; rows],
            believers: vec![0; n],
            counts: Counts::default(),
        }
    }

    fn rows(&self) -> usize {
        self.known_live.len()
    }

    /// Node `i`'s row, if this shard holds it.
    fn row(&self, i: usize) -> Option<usize> {
        (i % self.stride == self.first && i / self.stride < self.rows()).then_some(i / self.stride)
    }

    /// The node of row `r`.
    fn node(&self, r: usize) -> usize {
        r * self.stride + self.first
    }

    /// Whether row `r` believes `j` up.
    fn believes(&self, r: usize, j: usize) -> bool {
        self.bits[r * self.words + j / 64] & (1 << (j % 64)) != 0
    }

    fn set(&mut self, r: usize, j: usize, on: bool) {
        let word = &mut self.bits[r * self.words + j / 64];
        if on {
            *word |= 1 << (j % 64);
        } else {
            *word &= !(1 << (j % 64));
        }
    }

    /// Node `observer` (live, of this shard) reported `change`; what the
    /// crashed member's record must hear of it, if it is about one.
    pub(crate) fn apply(
        &mut self,
        observer: u32,
        change: ViewChange,
        incarnations: &[u32],
        link: &LinkModel,
    ) -> Option<CrashNews> {
        let ViewChange { id, change } = change;
        let i = observer as usize;
        // The observer is one of the shard's own nodes.
        let r = self.row(i)?;
        match change {
            Change::Up => self.counts.ups += 1,
            Change::Suspect => self.counts.suspicions += 1,
            Change::Down { .. } => self.counts.downs += 1,
        }
        let Some(j) = member(id, self.n, incarnations) else {
            self.counts.stale += 1;
            return None;
        };
        if i == j {
            return None;
        }
        let alive = link.is_up(j as u32);
        let (mut added, mut dropped) = (false, false);
        match change {
            Change::Up => {
                if !self.believes(r, j) {
                    self.set(r, j, true);
                    self.believers[j] += 1;
                    added = true;
                    if alive {
                        self.known_live[r] += 1;
                    }
                }
            }
            Change::Suspect => {
                if alive {
                    self.counts.false_suspicions += 1;
                }
            }
            Change::Down { failure } => {
                if alive && failure {
                    self.counts.false_deaths += 1;
                }
                if self.believes(r, j) {
                    self.set(r, j, false);
                    self.believers[j] -= 1;
                    dropped = true;
                    if alive {
                        self.known_live[r] -= 1;
                    }
                }
            }
        }
        let believes = self.believes(r, j);
        (!alive).then_some(CrashNews { observer, member: j as u32, change, believes, dropped, added })
    }
}

/// The record of the views, kept up to date by the simulator from the
/// shards' counters and news.
pub(crate) struct Views {
    n: usize,
    /// Per node: index into `record.crashes` of its latest crash, while down.
    crash_of: Vec<Option<usize>>,
    /// Per member, while down: the nodes that believe it up.
    down_believers: Vec<u32>,
    /// Per crash (as `record.crashes`): the live nodes that suspect it now.
    suspecting: Vec<HashSet<u32>>,
    pub(crate) record: ViewRecord,
}

impl Views {
    pub(crate) fn new(n: usize) -> Self {
        Views {
            n,
            crash_of: vec![None; n],
            down_believers: vec![0; n],
            suspecting: Vec::new(),
            record: ViewRecord::default(),
        }
    }

    /// Adds what `shard` counted since the last merge.
    pub(crate) fn absorb(&mut self, shard: &mut ViewShard) {
        let c = std::mem::take(&mut shard.counts);
        let r = &mut self.record;
        r.ups += c.ups;
        r.suspicions += c.suspicions;
        r.downs += c.downs;
        r.false_suspicions += c.false_suspicions;
        r.false_deaths += c.false_deaths;
        r.stale += c.stale;
    }

    /// A node's view changed about a crashed member at `now`.
    pub(crate) fn news(&mut self, now: Time, news: CrashNews) {
        let j = news.member as usize;
        let Some(c) = self.crash_of[j] else { return };
        let crash = &mut self.record.crashes[c];
        match news.change {
            Change::Up => {}
            Change::Suspect => {
                crash.first_suspected.get_or_insert(now);
            }
            Change::Down { .. } => {
                crash.first_suspected.get_or_insert(now);
                crash.first_down.get_or_insert(now);
            }
        }
        if news.added {
            self.down_believers[j] += 1;
        }
        if news.dropped {
            self.down_believers[j] -= 1;
            self.check_removed(j, now);
        }
        match news.change {
            Change::Suspect if news.believes => self.suspecting[c].insert(news.observer),
            _ => self.suspecting[c].remove(&news.observer),
        };
        self.note_crash(j);
    }

    /// Brings the crash record of `j` (down) up to date with its believers
    /// (every node in `suspecting` believes it up: one that stops leaves).
    fn note_crash(&mut self, j: usize) {
        let Some(c) = self.crash_of[j] else { return };
        let crash = &mut self.record.crashes[c];
        crash.believers = self.down_believers[j];
        crash.suspecting = self.suspecting[c].len() as u32;
    }

    fn check_removed(&mut self, j: usize, now: Time) {
        if self.down_believers[j] == 0
            && let Some(crash) = self.crash_of[j].map(|c| &mut self.record.crashes[c])
        {
            crash.removed_from_all.get_or_insert(now);
        }
    }

    /// Node `c` crashed at `now`: it no longer counts as a live member, and
    /// its own view is gone.
    pub(crate) fn crashed(&mut self, c: usize, now: Time, shards: &mut [&mut ViewShard]) {
        for shard in shards.iter_mut() {
            for r in 0..shard.rows() {
                if shard.believes(r, c) {
                    shard.known_live[r] -= 1;
                }
            }
        }
        if let Some((owner, r)) = shards.iter_mut().find_map(|s| s.row(c).map(|r| (s, r))) {
            for j in 0..self.n {
                if owner.believes(r, j) {
                    owner.set(r, j, false);
                    owner.believers[j] -= 1;
                    if let Some(crash) = self.crash_of[j] {
                        self.down_believers[j] -= 1;
                        self.check_removed(j, now);
                        self.suspecting[crash].remove(&(c as u32));
                        self.note_crash(j);
                    }
                }
            }
            owner.known_live[r] = 0;
        }
        let believers = shards.iter().map(|s| s.believers[c]).sum();
        self.down_believers[c] = believers;
        self.crash_of[c] = Some(self.record.crashes.len());
        self.suspecting.push(HashSet::new());
        self.record.crashes.push(CrashRecord {
            node: c as u32,
            at: now,
            first_suspected: None,
            first_down: None,
            removed_from_all: (believers == 0).then_some(now),
            believers,
            suspecting: 0,
        });
    }

    /// Node `r` restarted with a new id: what others believed about its
    /// old incarnation no longer names it.
    pub(crate) fn restarted(&mut self, r: usize, shards: &mut [&mut ViewShard]) {
        for shard in shards.iter_mut() {
            for row in 0..shard.rows() {
                shard.set(row, r, false);
            }
            shard.believers[r] = 0;
        }
        self.down_believers[r] = 0;
        self.crash_of[r] = None;
    }

    /// Records the round that just ended.
    pub(crate) fn close_round(&mut self, link: &LinkModel, shards: &[&ViewShard]) {
        let live = self.n - link.down_count();
        let want = live.saturating_sub(1) as u32;
        let complete = shards
            .iter()
            .map(|s| (0..s.rows()).filter(|&r| link.is_up(s.node(r) as u32) && s.known_live[r] == want).count())
            .sum::<usize>() as u32;
        self.record.live_by_round.push(live as u32);
        self.record.complete_by_round.push(complete);
        if complete == live as u32 && self.record.first_all_complete.is_none() {
            self.record.first_all_complete = Some(self.record.complete_by_round.len() as u32);
        }
    }
}
