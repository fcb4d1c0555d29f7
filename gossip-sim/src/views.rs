//! Every node's view of the membership, tracked from its `MemberUp`,
//! `MemberSuspect` and `MemberDown` events, and what the views say about
//! the failure detector: how fast views become complete, which events were
//! about live members (false suspicions and deaths), how fast crashed
//! members are detected and removed.
//!
//! Node `i`'s view is a row of N bits (bit `j`: `i` believes `j` is up), so
//! tracking costs N² bits (12.5 MB at 10,000 nodes) and is off unless
//! [`SimConfig::track_views`](crate::SimConfig::track_views) is set. Two
//! counters per node keep every question O(1) per event: how many live
//! members a node believes up, and how many live nodes believe a member up.
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
#[derive(Clone, Copy)]
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

/// The views, kept up to date by the simulator.
pub(crate) struct Views {
    n: usize,
    words: usize,
    bits: Vec<u64>,
    /// Per node: live members it believes up.
    known_live: Vec<u32>,
    /// Per member: live nodes that believe it up.
    believers: Vec<u32>,
    /// Per node: index into `record.crashes` of its latest crash, while down.
    crash_of: Vec<Option<usize>>,
    /// Per crash (as `record.crashes`): the live nodes that suspect it now.
    suspecting: Vec<HashSet<u32>>,
    pub(crate) record: ViewRecord,
}

impl Views {
    pub(crate) fn new(n: usize) -> Self {
        let words = n.div_ceil(64);
        Views {
            n,
            words,
            bits: vec![0; n * words],
            known_live: vec![0; n],
            believers: vec![0; n],
            crash_of: vec![None; n],
            suspecting: Vec::new(),
            record: ViewRecord::default(),
        }
    }

    fn believes(&self, i: usize, j: usize) -> bool {
        self.bits[i * self.words + j / 64] & (1 << (j % 64)) != 0
    }

    fn set(&mut self, i: usize, j: usize, on: bool) {
        let word = &mut self.bits[i * self.words + j / 64];
        if on {
            *word |= 1 << (j % 64);
        } else {
            *word &= !(1 << (j % 64));
        }
    }

    /// The member an id names, if it is the current incarnation of one.
    fn member(&self, id: NodeId, incarnations: &[u32]) -> Option<usize> {
        let index = (id.0 & u64::from(u32::MAX)).checked_sub(1)? as usize;
        let incarnation = (id.0 >> 32) as u32;
        (index < self.n && incarnations[index] == incarnation).then_some(index)
    }

    /// Node `observer` (live) reported `change` at `now`.
    pub(crate) fn apply(
        &mut self,
        now: Time,
        observer: u32,
        change: ViewChange,
        incarnations: &[u32],
        link: &LinkModel,
    ) {
        let ViewChange { id, change } = change;
        let i = observer as usize;
        match change {
            Change::Up => self.record.ups += 1,
            Change::Suspect => self.record.suspicions += 1,
            Change::Down { .. } => self.record.downs += 1,
        }
        let Some(j) = self.member(id, incarnations) else {
            self.record.stale += 1;
            return;
        };
        if i == j {
            return;
        }
        let alive = link.is_up(j as u32);
        match change {
            Change::Up => {
                if !self.believes(i, j) {
                    self.set(i, j, true);
                    self.believers[j] += 1;
                    if alive {
                        self.known_live[i] += 1;
                    }
                }
            }
            Change::Suspect => {
                if alive {
                    self.record.false_suspicions += 1;
                } else if let Some(crash) = self.crash_of[j].map(|c| &mut self.record.crashes[c]) {
                    crash.first_suspected.get_or_insert(now);
                }
            }
            Change::Down { failure } => {
                if alive && failure {
                    self.record.false_deaths += 1;
                }
                if let Some(crash) = self.crash_of[j].map(|c| &mut self.record.crashes[c]) {
                    crash.first_suspected.get_or_insert(now);
                    crash.first_down.get_or_insert(now);
                }
                if self.believes(i, j) {
                    self.set(i, j, false);
                    self.believers[j] -= 1;
                    if alive {
                        self.known_live[i] -= 1;
                    }
                    self.check_removed(j, now);
                }
            }
        }
        if let Some(c) = self.crash_of[j] {
            match change {
                Change::Suspect if self.believes(i, j) => self.suspecting[c].insert(observer),
                _ => self.suspecting[c].remove(&observer),
            };
            self.note_crash(j);
        }
    }

    /// Brings the crash record of `j` (down) up to date with its believers
    /// (every node in `suspecting` believes it up: one that stops leaves).
    fn note_crash(&mut self, j: usize) {
        let Some(c) = self.crash_of[j] else { return };
        let crash = &mut self.record.crashes[c];
        crash.believers = self.believers[j];
        crash.suspecting = self.suspecting[c].len() as u32;
    }

    fn check_removed(&mut self, j: usize, now: Time) {
        if self.believers[j] == 0
            && let Some(crash) = self.crash_of[j].map(|c| &mut self.record.crashes[c])
        {
            crash.removed_from_all.get_or_insert(now);
        }
    }

    /// Node `c` crashed at `now`: it no longer counts as a live member, and
    /// its own view is gone.
    pub(crate) fn crashed(&mut self, c: usize, now: Time) {
        for i in 0..self.n {
            if self.believes(i, c) {
                self.known_live[i] -= 1;
            }
        }
        for j in 0..self.n {
            if self.believes(c, j) {
                self.set(c, j, false);
                self.believers[j] -= 1;
                self.check_removed(j, now);
                if let Some(crash) = self.crash_of[j] {
                    self.suspecting[crash].remove(&(c as u32));
                }
                self.note_crash(j);
            }
        }
        self.known_live[c] = 0;
        self.crash_of[c] = Some(self.record.crashes.len());
        self.suspecting.push(HashSet::new());
        self.record.crashes.push(CrashRecord {
            node: c as u32,
            at: now,
            first_suspected: None,
            first_down: None,
            removed_from_all: (self.believers[c] == 0).then_some(now),
            believers: self.believers[c],
            suspecting: 0,
        });
    }

    /// Node `r` restarted with a new id: what others believed about its
    /// old incarnation no longer names it.
    pub(crate) fn restarted(&mut self, r: usize) {
        for i in 0..self.n {
            if self.believes(i, r) {
                self.set(i, r, false);
            }
        }
        self.believers[r] = 0;
        self.crash_of[r] = None;
    }

    /// Records the round that just ended.
    pub(crate) fn close_round(&mut self, link: &LinkModel) {
        let live = self.n - link.down_count();
        let want = live.saturating_sub(1) as u32;
        let complete = (0..self.n).filter(|&i| link.is_up(i as u32) && self.known_live[i] == want).count() as u32;
        self.record.live_by_round.push(live as u32);
        self.record.complete_by_round.push(complete);
        if complete == live as u32 && self.record.first_all_complete.is_none() {
            self.record.first_all_complete = Some(self.record.complete_by_round.len() as u32);
        }
    }
}
