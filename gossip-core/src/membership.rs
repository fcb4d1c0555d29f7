//! Who is in the cluster and in which groups: either a view each node keeps
//! up to date by gossip, or one read-only list shared by many nodes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, RngCore};

use crate::address::Address;
use crate::config::Targets;
use crate::event::{DownReason, Event};
use crate::ids::{GroupId, NodeId};
use crate::time::Time;
use crate::wire::{MemberFrame, MemberStatus};

/// A fixed member list that many nodes can share through an [`Arc`], so a
/// simulated node's memory does not grow with the group size.
///
/// Nodes built on it learn nothing from gossip and never report members
/// up or down.
#[derive(Clone, Debug, Default)]
pub struct SharedMembers<A> {
    ids: Vec<NodeId>,
    addrs: Vec<A>,
    /// Sorted by group: a node belongs to few groups, so a binary search
    /// beats hashing here.
    groups: Vec<(GroupId, Vec<u32>)>,
}

impl<A: Address> SharedMembers<A> {
    /// An empty list.
    pub fn new() -> Self {
        SharedMembers { ids: Vec::new(), addrs: Vec::new(), groups: Vec::new() }
    }

    /// Adds a member belonging to `groups`; returns its index.
    ///
    /// # Panics
    /// If the list already holds `u32::MAX` members.
    pub fn push(&mut self, id: NodeId, addr: A, groups: &[GroupId]) -> u32 {
        let index = u32::try_from(self.ids.len()).expect("at most u32::MAX shared members");
        self.ids.push(id);
        self.addrs.push(addr);
        for group in groups {
            match self.groups.binary_search_by_key(group, |(g, _)| *g) {
                Ok(at) => self.groups[at].1.push(index),
                Err(at) => self.groups.insert(at, (*group, vec![index])),
            }
        }
        index
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id and address of member `index`.
    pub fn get(&self, index: u32) -> Option<(NodeId, &A)> {
        let i = index as usize;
        Some((*self.ids.get(i)?, self.addrs.get(i)?))
    }

    /// Members of `group`, as indices.
    pub fn group(&self, group: GroupId) -> &[u32] {
        match self.groups.binary_search_by_key(&group, |(g, _)| *g) {
            Ok(at) => &self.groups[at].1,
            Err(_) => &[],
        }
    }
}

/// A vector with O(1) insert, remove and uniform random pick.
#[derive(Clone, Debug, Default)]
struct IndexSet {
    items: Vec<NodeId>,
    positions: HashMap<NodeId, usize>,
}

impl IndexSet {
    fn insert(&mut self, id: NodeId) {
        if !self.positions.contains_key(&id) {
            self.positions.insert(id, self.items.len());
            self.items.push(id);
        }
    }

    fn remove(&mut self, id: NodeId) {
        if let Some(pos) = self.positions.remove(&id) {
            self.items.swap_remove(pos);
            if let Some(moved) = self.items.get(pos) {
                self.positions.insert(*moved, pos);
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Member<A> {
    addr: A,
    heartbeat: u64,
    progress_at: Time,
    down: Option<(DownReason, Time)>,
    groups: Vec<GroupId>,
}

/// A membership view kept up to date from gossip: heartbeats piggy-backed on
/// every packet, entries for changed members spread a bounded number of
/// times, failure detection by heartbeat timeout.
#[derive(Debug)]
pub(crate) struct Members<A> {
    me: NodeId,
    members: BTreeMap<NodeId, Member<A>>,
    alive: IndexSet,
    /// Members down for a reason other than leaving: probed now and then so
    /// that a healed partition reconnects.
    suspects: IndexSet,
    groups: HashMap<GroupId, IndexSet>,
    updates: VecDeque<(NodeId, u32)>,
    max_members: usize,
    max_groups: usize,
}

/// Where a node draws its gossip targets from.
#[derive(Debug)]
pub(crate) enum View<A> {
    /// Boxed: a simulator holds a million shared-view nodes, which should
    /// not each carry room for a gossiped view.
    Gossiped(Box<Members<A>>),
    Shared {
        members: Arc<SharedMembers<A>>,
        /// This node's own entry, when known.
        index: Option<u32>,
    },
}

/// What applying an entry did.
pub(crate) struct Applied<A> {
    pub(crate) event: Option<Event<A>>,
    pub(crate) rejected_full: bool,
}

impl<A> Applied<A> {
    fn none() -> Self {
        Applied { event: None, rejected_full: false }
    }

    fn event(event: Event<A>) -> Self {
        Applied { event: Some(event), rejected_full: false }
    }
}

impl<A: Address> Members<A> {
    pub(crate) fn new(me: NodeId, max_members: usize, max_groups: usize) -> Self {
        Members {
            me,
            members: BTreeMap::new(),
            alive: IndexSet::default(),
            suspects: IndexSet::default(),
            groups: HashMap::new(),
            updates: VecDeque::new(),
            max_members,
            max_groups,
        }
    }

    /// Number of members considered alive (not counting this node).
    pub(crate) fn alive_len(&self) -> usize {
        self.alive.items.len()
    }

    fn retransmits(&self) -> u32 {
        // Enough sends for an update to reach everyone with high
        // probability: 3·⌈log2(n+2)⌉.
        3 * (usize::BITS - (self.alive_len() + 1).leading_zeros())
    }

    fn announce(&mut self, id: NodeId) {
        let sends = self.retransmits();
        self.updates.retain(|(queued, _)| *queued != id);
        self.updates.push_back((id, sends));
        while self.updates.len() > self.max_members {
            self.updates.pop_front();
        }
    }

    fn index(&mut self, id: NodeId, groups: &[GroupId]) {
        self.suspects.remove(id);
        self.alive.insert(id);
        for group in groups {
            self.groups.entry(*group).or_default().insert(id);
        }
    }

    fn unindex(&mut self, id: NodeId, groups: &[GroupId]) {
        self.alive.remove(id);
        for group in groups {
            if let Some(set) = self.groups.get_mut(group) {
                set.remove(id);
                if set.items.is_empty() {
                    self.groups.remove(group);
                }
            }
        }
    }

    /// A packet arrived directly from `id` at `addr`.
    pub(crate) fn observe(&mut self, now: Time, id: NodeId, addr: &A, heartbeat: u64) -> Applied<A> {
        if id == self.me {
            return Applied::none();
        }
        match self.members.get_mut(&id) {
            Some(member) => {
                if member.addr != *addr {
                    member.addr = addr.clone();
                    self.announce(id);
                }
                let member = self.members.get_mut(&id).expect("present");
                if heartbeat > member.heartbeat {
                    member.heartbeat = heartbeat;
                    member.progress_at = now;
                }
                // A direct packet proves life unless the member said it left.
                match member.down {
                    Some((DownReason::Left, _)) | None => Applied::none(),
                    Some(_) => {
                        member.down = None;
                        member.progress_at = now;
                        let groups = member.groups.clone();
                        self.index(id, &groups);
                        self.announce(id);
                        Applied::event(Event::MemberUp { id, addr: addr.clone() })
                    }
                }
            }
            None => self.add(now, id, addr.clone(), heartbeat, Vec::new()),
        }
    }

    fn add(&mut self, now: Time, id: NodeId, addr: A, heartbeat: u64, groups: Vec<GroupId>) -> Applied<A> {
        if self.members.len() >= self.max_members {
            return Applied { event: None, rejected_full: true };
        }
        self.index(id, &groups);
        self.members.insert(id, Member { addr: addr.clone(), heartbeat, progress_at: now, down: None, groups });
        self.announce(id);
        Applied::event(Event::MemberUp { id, addr })
    }

    /// Applies a gossiped entry; `source` is the packet's source address and
    /// `sender` its sender, used when the entry describes the sender itself.
    pub(crate) fn apply(&mut self, now: Time, entry: MemberFrame<A>, sender: NodeId, source: &A) -> Applied<A> {
        if entry.id == self.me {
            return Applied::none();
        }
        let addr = match entry.addr {
            Some(addr) => addr,
            None if entry.id == sender => source.clone(),
            None => return Applied::none(),
        };
        let mut groups = entry.groups;
        groups.truncate(self.max_groups);
        groups.sort_unstable();
        groups.dedup();
        let id = entry.id;
        let Some(member) = self.members.get_mut(&id) else {
            return match entry.status {
                MemberStatus::Alive => self.add(now, id, addr, entry.heartbeat, groups),
                MemberStatus::Left => Applied::none(),
            };
        };
        if entry.heartbeat < member.heartbeat {
            return Applied::none();
        }
        let newer = entry.heartbeat > member.heartbeat;
        if newer {
            member.heartbeat = entry.heartbeat;
            member.progress_at = now;
        }
        let down = member.down.map(|(reason, _)| reason);
        match (entry.status, down) {
            // Leaving is final: a restarted node comes back with a new id.
            (_, Some(DownReason::Left)) => Applied::none(),
            (MemberStatus::Left, _) => {
                member.down = Some((DownReason::Left, now));
                self.suspects.remove(id);
                let old = std::mem::take(&mut member.groups);
                if down.is_none() {
                    self.unindex(id, &old);
                }
                self.announce(id);
                match down {
                    None => Applied::event(Event::MemberDown { id, reason: DownReason::Left }),
                    Some(_) => Applied::none(),
                }
            }
            (MemberStatus::Alive, Some(_)) if newer => {
                member.down = None;
                member.groups = groups.clone();
                let addr_now = member.addr.clone();
                self.index(id, &groups);
                self.announce(id);
                Applied::event(Event::MemberUp { id, addr: addr_now })
            }
            (MemberStatus::Alive, Some(_)) => Applied::none(),
            (MemberStatus::Alive, None) => {
                if member.groups != groups {
                    let old = std::mem::replace(&mut member.groups, groups.clone());
                    self.unindex(id, &old);
                    self.index(id, &groups);
                    self.announce(id);
                }
                Applied::none()
            }
        }
    }

    /// Marks members whose heartbeat stalled for `timeout` as down, and
    /// forgets members down for three timeouts.
    pub(crate) fn expire(&mut self, now: Time, timeout: Duration, events: &mut Vec<Event<A>>) {
        let mut newly_down = Vec::new();
        let mut forget = Vec::new();
        for (id, member) in &self.members {
            match member.down {
                None if now.saturating_duration_since(member.progress_at) > timeout => newly_down.push(*id),
                Some((_, since)) if now.saturating_duration_since(since) > timeout * 3 => forget.push(*id),
                _ => {}
            }
        }
        for id in newly_down {
            self.mark_down(now, id, DownReason::Timeout, events);
        }
        for id in forget {
            self.members.remove(&id);
            self.suspects.remove(id);
        }
    }

    fn mark_down(&mut self, now: Time, id: NodeId, reason: DownReason, events: &mut Vec<Event<A>>) {
        let Some(member) = self.members.get_mut(&id) else {
            return;
        };
        if member.down.is_some() {
            return;
        }
        member.down = Some((reason, now));
        let groups = member.groups.clone();
        self.unindex(id, &groups);
        if reason != DownReason::Left {
            self.suspects.insert(id);
        }
        events.push(Event::MemberDown { id, reason });
    }

    /// The transport could not reach `addr`.
    pub(crate) fn unreachable(&mut self, now: Time, addr: &A, events: &mut Vec<Event<A>>) {
        let ids: Vec<NodeId> =
            self.members.iter().filter(|(_, m)| m.addr == *addr && m.down.is_none()).map(|(id, _)| *id).collect();
        for id in ids {
            self.mark_down(now, id, DownReason::Unreachable, events);
        }
    }

    /// Entries to piggy-back: recently changed members first (each sent a
    /// bounded number of times), then random alive ones to refresh heartbeats.
    pub(crate) fn entries(&mut self, max: usize, rng: &mut impl RngCore, out: &mut Vec<MemberFrame<A>>) {
        let mut taken = 0;
        let mut i = 0;
        while taken < max && i < self.updates.len() {
            let (id, sends) = self.updates[i];
            if let Some(frame) = self.frame(id) {
                out.push(frame);
                taken += 1;
            }
            if sends <= 1 {
                self.updates.remove(i);
            } else {
                self.updates[i].1 -= 1;
                i += 1;
            }
        }
        let alive = self.alive.items.len();
        for _ in 0..(max - taken).min(alive) {
            let id = self.alive.items[rng.random_range(0..alive)];
            if let Some(frame) = self.frame(id) {
                out.push(frame);
            }
        }
    }

    /// A sample of up to `max` alive members, for a join answer.
    pub(crate) fn sample(&self, max: usize, rng: &mut impl RngCore, out: &mut Vec<MemberFrame<A>>) {
        let alive = self.alive.items.len();
        if alive <= max {
            out.extend(self.alive.items.iter().filter_map(|id| self.frame(*id)));
        } else {
            for _ in 0..max {
                let id = self.alive.items[rng.random_range(0..alive)];
                out.extend(self.frame(id));
            }
        }
    }

    fn frame(&self, id: NodeId) -> Option<MemberFrame<A>> {
        let member = self.members.get(&id)?;
        let status = match member.down {
            Some((DownReason::Left, _)) => MemberStatus::Left,
            Some(_) => return None,
            None => MemberStatus::Alive,
        };
        Some(MemberFrame {
            id,
            heartbeat: member.heartbeat,
            status,
            addr: Some(member.addr.clone()),
            groups: member.groups.clone(),
        })
    }

    /// A random member considered down (not one that left), to probe.
    pub(crate) fn suspect(&self, rng: &mut impl RngCore) -> Option<A> {
        let items = &self.suspects.items;
        if items.is_empty() {
            return None;
        }
        let id = items[rng.random_range(0..items.len())];
        self.members.get(&id).map(|m| m.addr.clone())
    }

    /// Alive members of `group` (not counting this node).
    pub(crate) fn group_len(&self, group: GroupId) -> usize {
        self.groups.get(&group).map_or(0, |set| set.items.len())
    }

    /// Draws `count` targets from `group`'s alive members.
    pub(crate) fn targets(&self, group: GroupId, count: usize, how: Targets, rng: &mut impl RngCore, out: &mut Vec<A>) {
        let Some(set) = self.groups.get(&group) else {
            return;
        };
        let addr = |id: &NodeId| self.members.get(id).map(|m| m.addr.clone());
        draw(set.items.len(), count, how, rng, |i| addr(&set.items[i]), out);
    }

    /// Draws `count` targets from all alive members.
    pub(crate) fn any_targets(&self, count: usize, rng: &mut impl RngCore, out: &mut Vec<A>) {
        let items = &self.alive.items;
        let addr = |i: usize| self.members.get(&items[i]).map(|m| m.addr.clone());
        draw(items.len(), count, Targets::WithoutReplacement, rng, addr, out);
    }
}

/// Draws `count` of `len` candidates; `pick` maps an index to an address or
/// `None` to skip it (this node itself, say).
pub(crate) fn draw<A>(
    len: usize,
    count: usize,
    how: Targets,
    rng: &mut impl RngCore,
    mut pick: impl FnMut(usize) -> Option<A>,
    out: &mut Vec<A>,
) {
    if len == 0 {
        return;
    }
    match how {
        Targets::WithReplacement => {
            // Redraw when `pick` skips a candidate; bounded so that a list
            // holding only skipped candidates cannot loop for ever.
            let mut tries = 0;
            let mut drawn = 0;
            while drawn < count && tries < count * 4 + 8 {
                tries += 1;
                if let Some(addr) = pick(rng.random_range(0..len)) {
                    out.push(addr);
                    drawn += 1;
                }
            }
        }
        Targets::WithoutReplacement => {
            if len <= count * 2 {
                // Small list: shuffle the prefix.
                let mut order: Vec<usize> = (0..len).collect();
                let mut drawn = 0;
                for i in 0..len {
                    if drawn == count {
                        break;
                    }
                    let j = rng.random_range(i..len);
                    order.swap(i, j);
                    if let Some(addr) = pick(order[i]) {
                        out.push(addr);
                        drawn += 1;
                    }
                }
            } else {
                let mut chosen: Vec<usize> = Vec::with_capacity(count);
                let mut drawn = 0;
                let mut tries = 0;
                while drawn < count && tries < count * 8 + 8 {
                    tries += 1;
                    let i = rng.random_range(0..len);
                    if chosen.contains(&i) {
                        continue;
                    }
                    chosen.push(i);
                    if let Some(addr) = pick(i) {
                        out.push(addr);
                        drawn += 1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn entry(id: u64, hb: u64, status: MemberStatus, groups: &[u32]) -> MemberFrame<u32> {
        MemberFrame {
            id: NodeId(id),
            heartbeat: hb,
            status,
            addr: Some(id as u32),
            groups: groups.iter().map(|g| GroupId(*g)).collect(),
        }
    }

    #[test]
    fn entries_add_update_and_remove_members() {
        let mut m = Members::<u32>::new(NodeId(0), 10, 8);
        let t = Time::ZERO;
        let up = m.apply(t, entry(1, 5, MemberStatus::Alive, &[7]), NodeId(9), &9);
        assert_eq!(up.event, Some(Event::MemberUp { id: NodeId(1), addr: 1 }));
        assert_eq!(m.group_len(GroupId(7)), 1);
        // A stale entry changes nothing; a newer one moves the groups.
        assert!(m.apply(t, entry(1, 4, MemberStatus::Alive, &[8]), NodeId(9), &9).event.is_none());
        m.apply(t, entry(1, 6, MemberStatus::Alive, &[8]), NodeId(9), &9);
        assert_eq!((m.group_len(GroupId(7)), m.group_len(GroupId(8))), (0, 1));
        let down = m.apply(t, entry(1, 7, MemberStatus::Left, &[8]), NodeId(9), &9);
        assert_eq!(down.event, Some(Event::MemberDown { id: NodeId(1), reason: DownReason::Left }));
        assert_eq!((m.alive_len(), m.group_len(GroupId(8))), (0, 0));
    }

    #[test]
    fn heartbeat_timeout_marks_down_and_direct_contact_revives() {
        let mut m = Members::<u32>::new(NodeId(0), 10, 8);
        m.observe(Time::ZERO, NodeId(1), &1, 1);
        let mut events = Vec::new();
        m.expire(Time::from_millis(500), Duration::from_secs(1), &mut events);
        assert!(events.is_empty());
        m.expire(Time::from_millis(1500), Duration::from_secs(1), &mut events);
        assert_eq!(events, vec![Event::MemberDown { id: NodeId(1), reason: DownReason::Timeout }]);
        let mut rng = SmallRng::seed_from_u64(3);
        assert_eq!(m.suspect(&mut rng), Some(1));
        let back = m.observe(Time::from_millis(1600), NodeId(1), &1, 9);
        assert_eq!(m.suspect(&mut rng), None);
        assert_eq!(back.event, Some(Event::MemberUp { id: NodeId(1), addr: 1 }));
    }

    #[test]
    fn the_member_cap_holds() {
        let mut m = Members::<u32>::new(NodeId(0), 2, 8);
        for id in 1..=5 {
            m.observe(Time::ZERO, NodeId(id), &(id as u32), 1);
        }
        assert_eq!(m.alive_len(), 2);
        assert!(m.observe(Time::ZERO, NodeId(9), &9, 1).rejected_full);
    }

    #[test]
    fn draws_respect_the_replacement_rule() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut out = Vec::new();
        draw(5, 5, Targets::WithoutReplacement, &mut rng, Some, &mut out);
        out.sort_unstable();
        assert_eq!(out, vec![0, 1, 2, 3, 4]);
        out.clear();
        draw(3, 100, Targets::WithReplacement, &mut rng, Some, &mut out);
        assert_eq!(out.len(), 100);
        out.clear();
        // Index 0 is "self": never drawn.
        draw(2, 10, Targets::WithReplacement, &mut rng, |i| (i != 0).then_some(i), &mut out);
        assert!(out.iter().all(|i| *i == 1) && out.len() == 10);
    }
}
