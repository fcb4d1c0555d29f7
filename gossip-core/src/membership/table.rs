//! [`Table`]: every member this node knows, with the indexes that keep each
//! lookup O(1) or O(log n): live members (gossip and probe targets), dead
//! ones (to try again), members by group and by address, and the timers of
//! suspicions and of forgetting.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use bytes::Bytes;

use super::index_set::IndexSet;
use super::member::{Member, MemberStatus};
use super::suspicion::Suspicion;
use crate::address::Address;
use crate::ids::{GroupId, NodeId};
use crate::time::Time;

/// Distinct groups indexed at most; members' groups beyond it are not
/// indexed (and counted), so forged entries cannot grow the index freely.
pub(crate) const MAX_INDEXED_GROUPS: usize = 4_096;

/// One member's entry.
#[derive(Clone, Debug)]
pub(crate) struct Entry<A> {
    pub(crate) addr: A,
    pub(crate) incarnation: u64,
    pub(crate) status: MemberStatus,
    pub(crate) groups: Vec<GroupId>,
    pub(crate) meta: Bytes,
    pub(crate) suspicion: Option<Suspicion>,
    /// Learned from a packet header alone: groups and metadata unknown
    /// until an entry at this incarnation arrives.
    pub(crate) partial: bool,
}

#[derive(Debug)]
pub(crate) struct Table<A> {
    entries: BTreeMap<NodeId, Entry<A>>,
    live: IndexSet,
    dead: IndexSet,
    groups: HashMap<GroupId, IndexSet>,
    by_addr: HashMap<A, NodeId>,
    suspicions: BTreeSet<(Time, NodeId)>,
    forget: BTreeSet<(Time, NodeId)>,
    forget_at: HashMap<NodeId, Time>,
    /// Group memberships not indexed because the index was full.
    pub(crate) groups_full: u64,
}

impl<A: Address> Table<A> {
    pub(crate) fn new() -> Self {
        Table {
            entries: BTreeMap::new(),
            live: IndexSet::default(),
            dead: IndexSet::default(),
            groups: HashMap::new(),
            by_addr: HashMap::new(),
            suspicions: BTreeSet::new(),
            forget: BTreeSet::new(),
            forget_at: HashMap::new(),
            groups_full: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn live(&self) -> &IndexSet {
        &self.live
    }

    pub(crate) fn dead(&self) -> &IndexSet {
        &self.dead
    }

    pub(crate) fn indexed_groups(&self) -> usize {
        self.groups.len()
    }

    pub(crate) fn get(&self, id: NodeId) -> Option<&Entry<A>> {
        self.entries.get(&id)
    }

    pub(crate) fn by_addr(&self, addr: &A) -> Option<NodeId> {
        self.by_addr.get(addr).copied()
    }

    pub(crate) fn group(&self, group: GroupId) -> Option<&IndexSet> {
        self.groups.get(&group)
    }

    /// Adds a new live member.
    pub(crate) fn insert(&mut self, id: NodeId, entry: Entry<A>) {
        debug_assert!(entry.status.is_live());
        // An address still held by another live member keeps pointing there
        // until the newcomer speaks from it first-hand (see `claim_addr`).
        let held =
            self.by_addr.get(&entry.addr).and_then(|other| self.entries.get(other)).is_some_and(|e| e.status.is_live());
        if !held {
            self.by_addr.insert(entry.addr.clone(), id);
        }
        self.live.insert(id);
        let groups = entry.groups.clone();
        self.entries.insert(id, entry);
        self.index_groups(id, &groups);
    }

    fn index_groups(&mut self, id: NodeId, groups: &[GroupId]) {
        for group in groups {
            if !self.groups.contains_key(group) && self.groups.len() >= MAX_INDEXED_GROUPS {
                self.groups_full = self.groups_full.saturating_add(1);
                continue;
            }
            self.groups.entry(*group).or_default().insert(id);
        }
    }

    fn unindex_groups(&mut self, id: NodeId, groups: &[GroupId]) {
        for group in groups {
            if let Some(set) = self.groups.get_mut(group) {
                set.remove(id);
                if set.is_empty() {
                    self.groups.remove(group);
                }
            }
        }
    }

    /// Changes a member's status, keeping the indexes in step. A member that
    /// stops being live is forgotten at `forget_at`.
    pub(crate) fn set_status(&mut self, id: NodeId, status: MemberStatus, forget_at: Time) {
        let Some(entry) = self.entries.get_mut(&id) else { return };
        let was = entry.status;
        entry.status = status;
        if status != MemberStatus::Suspect {
            if let Some(s) = entry.suspicion.take() {
                self.suspicions.remove(&(s.deadline(), id));
            }
        }
        let groups = entry.groups.clone();
        match (was.is_live(), status.is_live()) {
            (true, false) => {
                self.live.remove(id);
                self.unindex_groups(id, &groups);
                self.schedule_forget(id, forget_at);
            }
            (false, true) => {
                self.live.insert(id);
                self.index_groups(id, &groups);
                self.cancel_forget(id);
            }
            _ => {}
        }
        if status == MemberStatus::Dead {
            self.dead.insert(id);
        } else {
            self.dead.remove(id);
        }
    }

    fn schedule_forget(&mut self, id: NodeId, at: Time) {
        self.cancel_forget(id);
        self.forget.insert((at, id));
        self.forget_at.insert(id, at);
    }

    fn cancel_forget(&mut self, id: NodeId) {
        if let Some(at) = self.forget_at.remove(&id) {
            self.forget.remove(&(at, id));
        }
    }

    /// Starts or replaces a member's suspicion timer (the member must be
    /// suspect).
    pub(crate) fn set_suspicion(&mut self, id: NodeId, suspicion: Suspicion) {
        let Some(entry) = self.entries.get_mut(&id) else { return };
        if let Some(old) = entry.suspicion.take() {
            self.suspicions.remove(&(old.deadline(), id));
        }
        self.suspicions.insert((suspicion.deadline(), id));
        entry.suspicion = Some(suspicion);
    }

    /// Counts a confirmation of a member's suspicion; returns whether it
    /// was a new one (the deadline moved).
    pub(crate) fn confirm(&mut self, id: NodeId, by: NodeId) -> bool {
        let Some(entry) = self.entries.get_mut(&id) else { return false };
        let Some(s) = &mut entry.suspicion else { return false };
        let before = s.deadline();
        if !s.confirm(by) {
            return false;
        }
        self.suspicions.remove(&(before, id));
        self.suspicions.insert((s.deadline(), id));
        true
    }

    /// The suspicion that runs out first.
    pub(crate) fn next_suspicion(&self) -> Option<(Time, NodeId)> {
        self.suspicions.first().copied()
    }

    /// The dead or departed member to forget first.
    pub(crate) fn next_forget(&self) -> Option<(Time, NodeId)> {
        self.forget.first().copied()
    }

    pub(crate) fn set_incarnation(&mut self, id: NodeId, incarnation: u64) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.incarnation = incarnation;
        }
    }

    /// Marks an entry as known from a header only (groups and metadata to follow).
    pub(crate) fn set_partial(&mut self, id: NodeId) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.partial = true;
        }
    }

    pub(crate) fn set_groups_and_meta(&mut self, id: NodeId, groups: Vec<GroupId>, meta: Bytes) {
        let Some(entry) = self.entries.get_mut(&id) else { return };
        entry.meta = meta;
        entry.partial = false;
        if entry.groups == groups {
            return;
        }
        let old = std::mem::replace(&mut entry.groups, groups.clone());
        if entry.status.is_live() {
            self.unindex_groups(id, &old);
            self.index_groups(id, &groups);
        }
    }

    /// Points `addr` at `id` (which spoke from it first-hand).
    pub(crate) fn claim_addr(&mut self, id: NodeId, addr: &A) {
        if self.entries.contains_key(&id) {
            self.by_addr.insert(addr.clone(), id);
        }
    }

    pub(crate) fn set_addr(&mut self, id: NodeId, addr: A) {
        let Some(entry) = self.entries.get_mut(&id) else { return };
        let old = std::mem::replace(&mut entry.addr, addr.clone());
        if self.by_addr.get(&old) == Some(&id) {
            self.by_addr.remove(&old);
        }
        self.by_addr.insert(addr, id);
    }

    /// Forgets a member entirely.
    pub(crate) fn remove(&mut self, id: NodeId) -> Option<Entry<A>> {
        let entry = self.entries.remove(&id)?;
        self.live.remove(id);
        self.dead.remove(id);
        self.unindex_groups(id, &entry.groups);
        if self.by_addr.get(&entry.addr) == Some(&id) {
            self.by_addr.remove(&entry.addr);
        }
        if let Some(s) = &entry.suspicion {
            self.suspicions.remove(&(s.deadline(), id));
        }
        self.cancel_forget(id);
        Some(entry)
    }

    /// Offers the entries after `cursor` in id order, wrapping around once,
    /// to `take` until it refuses one; returns the last id taken (the
    /// cursor for next time).
    pub(crate) fn scan_from(&self, cursor: NodeId, mut take: impl FnMut(NodeId, &Entry<A>) -> bool) -> NodeId {
        let after = self.entries.range((Bound::Excluded(cursor), Bound::Unbounded));
        let before = self.entries.range(..=cursor);
        let mut last = cursor;
        for (id, entry) in after.chain(before) {
            if !take(*id, entry) {
                break;
            }
            last = *id;
        }
        last
    }

    /// The public view of every entry.
    pub(crate) fn members(&self) -> Vec<Member<A>> {
        self.entries
            .iter()
            .map(|(id, e)| Member {
                id: *id,
                addr: e.addr.clone(),
                status: e.status,
                incarnation: e.incarnation,
                groups: e.groups.clone(),
                meta: e.meta.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(addr: u32, groups: &[u32]) -> Entry<u32> {
        Entry {
            addr,
            incarnation: 0,
            status: MemberStatus::Alive,
            groups: groups.iter().map(|g| GroupId(*g)).collect(),
            meta: Bytes::new(),
            suspicion: None,
            partial: false,
        }
    }

    #[test]
    fn indexes_follow_status_groups_and_address() {
        let mut t = Table::<u32>::new();
        t.insert(NodeId(1), entry(10, &[7]));
        t.insert(NodeId(2), entry(20, &[7, 8]));
        assert_eq!(t.group(GroupId(7)).map(IndexSet::len), Some(2));
        t.set_status(NodeId(1), MemberStatus::Dead, Time::from_millis(100));
        assert_eq!((t.live().len(), t.dead().len()), (1, 1));
        assert_eq!(t.group(GroupId(7)).map(IndexSet::len), Some(1));
        assert_eq!(t.next_forget(), Some((Time::from_millis(100), NodeId(1))));
        t.set_status(NodeId(1), MemberStatus::Alive, Time::ZERO);
        assert_eq!(t.next_forget(), None);
        t.set_groups_and_meta(NodeId(2), vec![GroupId(9)], Bytes::new());
        assert!(t.group(GroupId(8)).is_none());
        t.set_addr(NodeId(2), 21);
        assert_eq!((t.by_addr(&20), t.by_addr(&21)), (None, Some(NodeId(2))));
        t.remove(NodeId(2));
        assert_eq!((t.len(), t.indexed_groups()), (1, 1));
    }

    #[test]
    fn suspicion_timers_are_ordered_and_cleared() {
        let mut t = Table::<u32>::new();
        for id in 1..=2 {
            t.insert(NodeId(id), entry(id as u32, &[]));
            t.set_status(NodeId(id), MemberStatus::Suspect, Time::ZERO);
            let s = Suspicion::new(
                Time::from_millis(id * 10),
                0,
                NodeId(0),
                Duration::from_secs(1),
                Duration::from_secs(6),
                3,
                false,
            );
            t.set_suspicion(NodeId(id), s);
        }
        assert_eq!(t.next_suspicion().map(|(_, id)| id), Some(NodeId(1)));
        assert!(t.confirm(NodeId(2), NodeId(5)));
        assert_eq!(t.next_suspicion().map(|(_, id)| id), Some(NodeId(2)));
        t.set_status(NodeId(2), MemberStatus::Alive, Time::ZERO);
        t.set_status(NodeId(1), MemberStatus::Alive, Time::ZERO);
        assert_eq!(t.next_suspicion(), None);
    }

    #[test]
    fn scans_wrap_around_once() {
        let mut t = Table::<u32>::new();
        for id in 1..=5 {
            t.insert(NodeId(id), entry(id as u32, &[]));
        }
        let mut seen = Vec::new();
        let next = t.scan_from(NodeId(3), |id, _| {
            seen.push(id.0);
            seen.len() < 4
        });
        // 2 was offered but not taken: the next scan starts there.
        assert_eq!(seen, vec![4, 5, 1, 2]);
        assert_eq!(next, NodeId(1));
    }
}
