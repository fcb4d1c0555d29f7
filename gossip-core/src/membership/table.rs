//! [`Table`]: every member this node knows, in a slab of compact entries
//! addressed by `u32` slots, with the indexes that keep each lookup O(1) or
//! O(log n): by id and by address (hash tables of slots, keyed through the
//! entries themselves), live members (gossip and probe targets), dead ones
//! (to try again), members by group, and the timers of suspicions and of
//! forgetting. An entry allocates nothing of its own and takes 40 bytes
//! beside its address: its groups and metadata are an interned
//! [`Profile`], its change mark is 32 bits relative to the table's, and its
//! suspicion (rare) sits in a side table.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::hash::BuildHasher;

use bytes::Bytes;
use hashbrown::HashTable;

use super::groups::{GroupIndex, UNINDEXED};
use super::member::{Member, MemberStatus};
use super::profiles::{Profile, ProfileId, Profiles, same_bytes};
use super::summary::summand;
use super::suspicion::Suspicion;
use super::{Map, RandomState};
use crate::address::Address;
use crate::ids::{GroupId, NodeId};
use crate::time::Time;
#[cfg(test)]
use crate::wire::MemberFrame;
use crate::wire::PacketWriter;

/// One member's entry.
#[derive(Clone, Debug)]
pub(crate) struct Entry<A> {
    pub(crate) id: NodeId,
    pub(crate) incarnation: u64,
    profile: ProfileId,
    pub(crate) addr: A,
    /// Position in `live` (alive or suspect) or `dead` (dead); none when left.
    pos: u32,
    /// Position in the index of its first group.
    first_group_pos: u32,
    pub(crate) status: MemberStatus,
    /// Learned from a packet header alone: groups and metadata unknown
    /// until an entry at this incarnation arrives.
    pub(crate) partial: bool,
    /// When this entry last changed: the table's change mark, less the
    /// table's `marks_from` ([`Table::mark`]).
    changed: u32,
}

impl<A: Address> Entry<A> {
    /// What this entry adds to its table's summary.
    fn summand(&self) -> u64 {
        summand(self.id, self.incarnation, self.status, self.partial)
    }
}

#[derive(Debug)]
pub(crate) struct Table<A> {
    slots: Vec<Option<Entry<A>>>,
    free: Vec<u32>,
    hasher: RandomState,
    by_id: HashTable<u32>,
    /// The last id found, and its slot.
    last_found: Cell<(NodeId, u32)>,
    by_addr: HashTable<u32>,
    live: Vec<u32>,
    dead: Vec<u32>,
    groups: GroupIndex,
    profiles: Profiles,
    suspicions: Map<u32, Suspicion>,
    suspicion_timers: BTreeSet<(Time, u32)>,
    /// Suspicions still to be gossiped once more, at half the minimum
    /// timeout ([`Suspicion::reannounce_at`]).
    reannounce: BTreeSet<(Time, u32)>,
    forget: BTreeSet<(Time, u32)>,
    forget_at: Map<u32, Time>,
    /// Changes so far: every insert or change of an entry raises it by one
    /// and stamps the entry, so a catch-up can ask for what changed after a
    /// mark (a u64 never runs out: it saturates, and then every later change
    /// shares the last mark, which only makes answers larger).
    changes: u64,
    /// The base of the entries' 32-bit marks: an entry's mark is this plus
    /// its `changed`. Raised when a mark would no longer fit (once per 2^32
    /// changes), which moves every entry's mark up to it: never down, so
    /// an answer can only grow.
    marks_from: u64,
    /// The wrapping sum of [`summand`] over the entries.
    summary: u64,
}

/// No position in `live` or `dead`.
const NOWHERE: u32 = u32::MAX;

impl<A: Address> Table<A> {
    pub(crate) fn new() -> Self {
        Table {
            slots: Vec::new(),
            free: Vec::new(),
            hasher: RandomState::default(),
            by_id: HashTable::new(),
            last_found: Cell::new((NodeId(0), u32::MAX)),
            by_addr: HashTable::new(),
            live: Vec::new(),
            dead: Vec::new(),
            groups: GroupIndex::default(),
            profiles: Profiles::default(),
            suspicions: Map::default(),
            suspicion_timers: BTreeSet::new(),
            reannounce: BTreeSet::new(),
            forget: BTreeSet::new(),
            forget_at: Map::default(),
            changes: 0,
            marks_from: 0,
            summary: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Live members, as slots.
    pub(crate) fn live(&self) -> &[u32] {
        &self.live
    }

    /// Dead members, as slots.
    pub(crate) fn dead(&self) -> &[u32] {
        &self.dead
    }

    pub(crate) fn indexed_groups(&self) -> usize {
        self.groups.len()
    }

    /// (member, group) pairs in the group index.
    pub(crate) fn indexed_memberships(&self) -> usize {
        self.groups.memberships()
    }

    /// Memberships left out of the group index because it was full.
    pub(crate) fn groups_full(&self) -> u64 {
        self.groups.full
    }

    /// Distinct profiles (groups and metadata) of the members held.
    pub(crate) fn profiles(&self) -> usize {
        self.profiles.len()
    }

    /// Makes room for `more` members beyond those held, so that a table
    /// filling from a catch-up answer does not grow and rehash step by step.
    pub(crate) fn reserve(&mut self, more: usize) {
        let more = more.saturating_sub(self.free.len());
        self.slots.reserve(more);
        self.live.reserve(more);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_id.reserve(more, |s| slots[*s as usize].as_ref().map_or(0, |e| hasher.hash_one(e.id)));
        self.by_addr.reserve(more, |s| slots[*s as usize].as_ref().map_or(0, |e| hasher.hash_one(&e.addr)));
    }

    /// Live members of `group`, as slots.
    pub(crate) fn group(&self, group: GroupId) -> &[u32] {
        self.groups.members(group)
    }

    pub(crate) fn slot(&self, slot: u32) -> Option<&Entry<A>> {
        self.slots.get(slot as usize)?.as_ref()
    }

    /// An entry, for the indexes' bookkeeping (not a change of what the
    /// wire carries: see [`change`](Self::change)).
    fn entry_mut(&mut self, slot: u32) -> Option<&mut Entry<A>> {
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    /// Changes the wire state of an entry with `f`: the entry is stamped
    /// with a new change mark, and the summary follows.
    fn change<R>(&mut self, slot: u32, f: impl FnOnce(&mut Entry<A>) -> R) -> Option<R> {
        self.slot(slot)?;
        let changed = self.stamp();
        let entry = self.slots.get_mut(slot as usize)?.as_mut()?;
        entry.changed = changed;
        let before = entry.summand();
        let out = f(entry);
        self.summary = self.summary.wrapping_sub(before).wrapping_add(entry.summand());
        Some(out)
    }

    /// The wrapping sum of [`summand`] over the entries held (see
    /// [`summary`](super::summary)).
    pub(crate) fn summary(&self) -> u64 {
        self.summary
    }

    /// A new change mark, as an entry holds it.
    fn stamp(&mut self) -> u32 {
        self.changes = self.changes.saturating_add(1);
        if self.changes - self.marks_from > u64::from(u32::MAX) {
            // Every entry's mark moves up to the last one given, and this
            // change comes after it.
            self.marks_from = self.changes - 1;
            for entry in self.slots.iter_mut().flatten() {
                entry.changed = 0;
            }
        }
        (self.changes - self.marks_from) as u32
    }

    /// The change mark: entries changed since a mark `m` are those whose
    /// [`mark`](Self::mark) is above `m`.
    pub(crate) fn changes(&self) -> u64 {
        self.changes
    }

    /// The change mark of `entry`'s last change (or later, never earlier).
    pub(crate) fn mark(&self, entry: &Entry<A>) -> u64 {
        self.marks_from + u64::from(entry.changed)
    }

    /// Entries (live, dead or departed) changed after mark `since`.
    pub(crate) fn changed_after(&self, since: u64) -> usize {
        if since == 0 {
            return self.len();
        }
        self.slots.iter().flatten().filter(|e| self.mark(e) > since).count()
    }

    /// `entry`'s groups.
    pub(crate) fn groups_of(&self, entry: &Entry<A>) -> &[GroupId] {
        &self.profiles.get(entry.profile).groups
    }

    /// `entry`'s metadata.
    pub(crate) fn meta_of(&self, entry: &Entry<A>) -> &Bytes {
        &self.profiles.get(entry.profile).meta
    }

    /// Appends `entry` to a packet if it fits.
    pub(crate) fn write(&self, entry: &Entry<A>, writer: &mut PacketWriter) -> bool {
        let Profile { groups, meta } = self.profiles.get(entry.profile);
        writer.push_member_parts(entry.id, entry.incarnation, entry.status, Some(&entry.addr), groups, meta)
    }

    /// `entry` as the wire carries it.
    #[cfg(test)]
    pub(crate) fn frame(&self, entry: &Entry<A>) -> MemberFrame<A> {
        MemberFrame {
            id: entry.id,
            incarnation: entry.incarnation,
            status: entry.status,
            addr: Some(entry.addr.clone()),
            groups: self.groups_of(entry).into(),
            meta: self.meta_of(entry).clone(),
        }
    }

    /// The slot of member `id`. A packet names its sender several times
    /// (header, own entry, replies), so the last answer is kept and checked
    /// first.
    pub(crate) fn find(&self, id: NodeId) -> Option<u32> {
        let slots = &self.slots;
        let (last_id, last_slot) = self.last_found.get();
        if last_id == id && slots.get(last_slot as usize).and_then(Option::as_ref).is_some_and(|e| e.id == id) {
            return Some(last_slot);
        }
        let eq = |s: &u32| slots[*s as usize].as_ref().is_some_and(|e| e.id == id);
        let found = self.by_id.find(self.hasher.hash_one(id), eq).copied();
        if let Some(slot) = found {
            self.last_found.set((id, slot));
        }
        found
    }

    pub(crate) fn get(&self, id: NodeId) -> Option<&Entry<A>> {
        self.slot(self.find(id)?)
    }

    /// The member this node reaches at `addr`.
    pub(crate) fn by_addr(&self, addr: &A) -> Option<NodeId> {
        let slots = &self.slots;
        let eq = |s: &u32| slots[*s as usize].as_ref().is_some_and(|e| e.addr == *addr);
        let slot = self.by_addr.find(self.hasher.hash_one(addr), eq)?;
        self.slot(*slot).map(|e| e.id)
    }

    fn addr_slot(&self, addr: &A) -> Option<u32> {
        let slots = &self.slots;
        let eq = |s: &u32| slots[*s as usize].as_ref().is_some_and(|e| e.addr == *addr);
        self.by_addr.find(self.hasher.hash_one(addr), eq).copied()
    }

    fn unlink_addr(&mut self, slot: u32) {
        let Some(addr) = self.slot(slot).map(|e| e.addr.clone()) else { return };
        if let Ok(found) = self.by_addr.find_entry(self.hasher.hash_one(&addr), |s| *s == slot) {
            found.remove();
        }
    }

    fn link_addr(&mut self, slot: u32) {
        let Some(addr) = self.slot(slot).map(|e| e.addr.clone()) else { return };
        if let Some(other) = self.addr_slot(&addr) {
            if other == slot {
                return;
            }
            self.unlink_addr(other);
        }
        let (slots, hasher) = (&self.slots, &self.hasher);
        let rehash = |s: &u32| slots[*s as usize].as_ref().map_or(0, |e| hasher.hash_one(&e.addr));
        self.by_addr.insert_unique(self.hasher.hash_one(&addr), slot, rehash);
    }

    /// Adds a new live member; returns its slot.
    pub(crate) fn insert(
        &mut self,
        id: NodeId,
        addr: A,
        incarnation: u64,
        profile: (&[GroupId], &Bytes),
        partial: bool,
    ) -> u32 {
        debug_assert!(self.find(id).is_none());
        let profile = self.profiles.intern(profile.0, profile.1);
        let changed = self.stamp();
        let entry = Entry {
            id,
            incarnation,
            profile,
            addr,
            pos: NOWHERE,
            first_group_pos: UNINDEXED,
            status: MemberStatus::Alive,
            partial,
            changed,
        };
        self.summary = self.summary.wrapping_add(entry.summand());
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(entry);
                slot
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
        let (slots, hasher) = (&self.slots, &self.hasher);
        let rehash = |s: &u32| slots[*s as usize].as_ref().map_or(0, |e| hasher.hash_one(e.id));
        self.by_id.insert_unique(self.hasher.hash_one(id), slot, rehash);
        // An address still held by another live member keeps pointing there
        // until the newcomer speaks from it first-hand (see `claim_addr`).
        let held = self
            .slot(slot)
            .and_then(|e| self.addr_slot(&e.addr))
            .and_then(|other| self.slot(other))
            .is_some_and(|e| e.status.is_live());
        if !held {
            self.link_addr(slot);
        }
        self.enter_list(slot);
        self.index_groups(slot);
        slot
    }

    /// Puts `slot` in the list of its status: live, dead, or none.
    fn enter_list(&mut self, slot: u32) {
        let Some(status) = self.slot(slot).map(|e| e.status) else { return };
        let list = match status {
            MemberStatus::Alive | MemberStatus::Suspect => &mut self.live,
            MemberStatus::Dead => &mut self.dead,
            MemberStatus::Left => return,
        };
        let pos = list.len() as u32;
        list.push(slot);
        if let Some(e) = self.entry_mut(slot) {
            e.pos = pos;
        }
    }

    fn leave_list(&mut self, slot: u32) {
        let Some((status, pos)) = self.slot(slot).map(|e| (e.status, e.pos)) else { return };
        let list = match status {
            MemberStatus::Alive | MemberStatus::Suspect => &mut self.live,
            MemberStatus::Dead => &mut self.dead,
            MemberStatus::Left => return,
        };
        if list.get(pos as usize) != Some(&slot) {
            return;
        }
        list.swap_remove(pos as usize);
        let moved = list.get(pos as usize).copied();
        if let Some(moved) = moved.and_then(|m| self.entry_mut(m)) {
            moved.pos = pos;
        }
        if let Some(e) = self.entry_mut(slot) {
            e.pos = NOWHERE;
        }
    }

    fn index_groups(&mut self, slot: u32) {
        let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else { return };
        if entry.status.is_live() {
            self.groups.insert(slot, &self.profiles.get(entry.profile).groups, &mut entry.first_group_pos);
        }
    }

    fn unindex_groups(&mut self, slot: u32) {
        let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else { return };
        let groups = &self.profiles.get(entry.profile).groups;
        let mut first = entry.first_group_pos;
        let mut moves = Vec::new();
        self.groups.remove(slot, groups, &mut first, |s, p| moves.push((s, p)));
        if let Some(e) = self.entry_mut(slot) {
            e.first_group_pos = first;
        }
        for (s, p) in moves {
            if let Some(e) = self.entry_mut(s) {
                e.first_group_pos = p;
            }
        }
    }

    /// Changes a member's status, keeping the indexes in step. A member that
    /// stops being live is forgotten at `forget_at`.
    pub(crate) fn set_status(&mut self, id: NodeId, status: MemberStatus, forget_at: Time) {
        let Some(slot) = self.find(id) else { return };
        let Some(was) = self.slot(slot).map(|e| e.status) else { return };
        if status != MemberStatus::Suspect {
            self.clear_suspicion(slot);
        }
        if was == status {
            return;
        }
        if was.is_live() && !status.is_live() {
            self.unindex_groups(slot);
        }
        self.leave_list(slot);
        self.change(slot, |e| e.status = status);
        self.enter_list(slot);
        match (was.is_live(), status.is_live()) {
            (true, false) => self.schedule_forget(slot, forget_at),
            (false, true) => {
                self.index_groups(slot);
                self.cancel_forget(slot);
            }
            _ => {}
        }
    }

    fn schedule_forget(&mut self, slot: u32, at: Time) {
        self.cancel_forget(slot);
        self.forget.insert((at, slot));
        self.forget_at.insert(slot, at);
    }

    fn cancel_forget(&mut self, slot: u32) {
        if let Some(at) = self.forget_at.remove(&slot) {
            self.forget.remove(&(at, slot));
        }
    }

    fn clear_suspicion(&mut self, slot: u32) {
        if let Some(s) = self.suspicions.remove(&slot) {
            self.suspicion_timers.remove(&(s.deadline(), slot));
            self.reannounce.remove(&(s.reannounce_at(), slot));
        }
    }

    /// The current suspicion of `id`, if it is suspect.
    pub(crate) fn suspicion(&self, id: NodeId) -> Option<&Suspicion> {
        self.suspicions.get(&self.find(id)?)
    }

    /// Starts or replaces a member's suspicion timer (the member must be
    /// suspect).
    pub(crate) fn set_suspicion(&mut self, id: NodeId, suspicion: Suspicion) {
        let Some(slot) = self.find(id) else { return };
        self.clear_suspicion(slot);
        self.suspicion_timers.insert((suspicion.deadline(), slot));
        self.reannounce.insert((suspicion.reannounce_at(), slot));
        self.suspicions.insert(slot, suspicion);
    }

    /// Counts a confirmation of a member's suspicion; returns whether it
    /// was a new one (the deadline moved).
    pub(crate) fn confirm(&mut self, id: NodeId, by: NodeId) -> bool {
        let Some(slot) = self.find(id) else { return false };
        let Some(s) = self.suspicions.get_mut(&slot) else { return false };
        let before = s.deadline();
        if !s.confirm(by) {
            return false;
        }
        self.suspicion_timers.remove(&(before, slot));
        self.suspicion_timers.insert((s.deadline(), slot));
        true
    }

    fn timer_id(&self, timer: Option<&(Time, u32)>) -> Option<(Time, NodeId)> {
        let (at, slot) = timer?;
        Some((*at, self.slot(*slot)?.id))
    }

    /// The suspicion that runs out first.
    pub(crate) fn next_suspicion(&self) -> Option<(Time, NodeId)> {
        self.timer_id(self.suspicion_timers.first())
    }

    /// The suspicion to gossip once more first.
    pub(crate) fn next_reannounce(&self) -> Option<(Time, NodeId)> {
        self.timer_id(self.reannounce.first())
    }

    /// Takes the first suspicion to gossip once more, if it is due at `now`.
    pub(crate) fn take_reannounce(&mut self, now: Time) -> Option<u32> {
        let &(at, slot) = self.reannounce.first()?;
        (at <= now).then(|| {
            self.reannounce.pop_first();
            slot
        })
    }

    /// The dead or departed member to forget first.
    pub(crate) fn next_forget(&self) -> Option<(Time, NodeId)> {
        self.timer_id(self.forget.first())
    }

    pub(crate) fn set_incarnation(&mut self, id: NodeId, incarnation: u64) {
        if let Some(slot) = self.find(id) {
            self.change(slot, |e| e.incarnation = incarnation);
        }
    }

    /// Marks an entry as known from a header only (groups and metadata to follow).
    pub(crate) fn set_partial(&mut self, id: NodeId) {
        if let Some(slot) = self.find(id) {
            self.change(slot, |e| e.partial = true);
        }
    }

    pub(crate) fn set_groups_and_meta(&mut self, id: NodeId, groups: &[GroupId], meta: &Bytes) {
        let Some(slot) = self.find(id) else { return };
        let Some(entry) = self.slot(slot) else { return };
        let (same_groups, same_meta) = (self.groups_of(entry) == groups, same_bytes(self.meta_of(entry), meta));
        if same_groups && same_meta {
            self.change(slot, |e| e.partial = false);
            return;
        }
        if !same_groups {
            self.unindex_groups(slot);
        }
        let profile = self.profiles.intern(groups, meta);
        let replaced = self.change(slot, |e| {
            e.partial = false;
            std::mem::replace(&mut e.profile, profile)
        });
        let Some(old) = replaced else { return };
        self.profiles.release(old);
        if !same_groups {
            self.index_groups(slot);
        }
    }

    /// Points `addr` at `id`, which spoke from it first-hand, if that is
    /// the address its entry holds.
    pub(crate) fn claim_addr(&mut self, id: NodeId, addr: &A) {
        if let Some(slot) = self.find(id).filter(|s| self.slot(*s).is_some_and(|e| e.addr == *addr)) {
            self.link_addr(slot);
        }
    }

    pub(crate) fn set_addr(&mut self, id: NodeId, addr: A) {
        let Some(slot) = self.find(id) else { return };
        if self.slot(slot).and_then(|e| self.addr_slot(&e.addr)) == Some(slot) {
            self.unlink_addr(slot);
        }
        self.change(slot, |e| e.addr = addr);
        self.link_addr(slot);
    }

    /// Forgets a member entirely; returns its former slot.
    pub(crate) fn remove(&mut self, id: NodeId) -> Option<u32> {
        let slot = self.find(id)?;
        self.clear_suspicion(slot);
        self.cancel_forget(slot);
        if self.slot(slot).is_some_and(|e| e.status.is_live()) {
            self.unindex_groups(slot);
        }
        self.leave_list(slot);
        if self.slot(slot).and_then(|e| self.addr_slot(&e.addr)) == Some(slot) {
            self.unlink_addr(slot);
        }
        if let Ok(found) = self.by_id.find_entry(self.hasher.hash_one(id), |s| *s == slot) {
            found.remove();
        }
        let entry = self.slots[slot as usize].take()?;
        self.summary = self.summary.wrapping_sub(entry.summand());
        self.profiles.release(entry.profile);
        self.free.push(slot);
        Some(slot)
    }

    /// Offers the entries after slot `cursor`, wrapping around once, to
    /// `take` until it refuses one; returns the last slot taken (the cursor
    /// for next time).
    pub(crate) fn scan_from(&self, cursor: u32, mut take: impl FnMut(&Entry<A>) -> bool) -> u32 {
        let n = self.slots.len();
        let mut last = cursor;
        for step in 1..=n {
            let slot = ((cursor as usize + step) % n) as u32;
            let Some(entry) = self.slot(slot) else { continue };
            if !take(entry) {
                break;
            }
            last = slot;
        }
        last
    }

    /// The public view of every entry.
    pub(crate) fn members(&self) -> Vec<Member<A>> {
        let mut members: Vec<Member<A>> = self
            .slots
            .iter()
            .flatten()
            .map(|e| Member {
                id: e.id,
                addr: e.addr.clone(),
                status: e.status,
                incarnation: e.incarnation,
                groups: self.groups_of(e).to_vec(),
                meta: self.meta_of(e).clone(),
            })
            .collect();
        members.sort_unstable_by_key(|m| m.id);
        members
    }

    /// Heap bytes held by the table and its indexes (capacities, so what
    /// the allocator holds, not only what is in use).
    pub(crate) fn heap_bytes(&self) -> usize {
        let slots = self.slots.capacity() * size_of::<Option<Entry<A>>>();
        let lists = (self.free.capacity() + self.live.capacity() + self.dead.capacity()) * 4;
        let hashes = (self.by_id.capacity() + self.by_addr.capacity()) * (4 + 1);
        let suspicions = self.suspicions.capacity() * (size_of::<(u32, Suspicion)>() + 1)
            + (self.suspicion_timers.len() + self.reannounce.len()) * 2 * size_of::<(Time, u32)>();
        let forget = self.forget.len() * 2 * size_of::<(Time, u32)>()
            + self.forget_at.capacity() * (size_of::<(u32, Time)>() + 1);
        slots + lists + hashes + suspicions + forget + self.groups.heap_bytes() + self.profiles.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn add(t: &mut Table<u32>, id: u64, addr: u32, groups: &[u32]) {
        let groups: Vec<GroupId> = groups.iter().map(|g| GroupId(*g)).collect();
        t.insert(NodeId(id), addr, 0, (&groups, &Bytes::new()), false);
    }

    fn group_ids(t: &Table<u32>, g: u32) -> Vec<u64> {
        let mut ids: Vec<u64> = t.group(GroupId(g)).iter().map(|s| t.slot(*s).unwrap().id.0).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn indexes_follow_status_groups_and_address() {
        let mut t = Table::<u32>::new();
        add(&mut t, 1, 10, &[7]);
        add(&mut t, 2, 20, &[7, 8]);
        assert_eq!(group_ids(&t, 7), vec![1, 2]);
        assert_eq!(t.profiles(), 2);
        t.set_status(NodeId(1), MemberStatus::Dead, Time::from_millis(100));
        assert_eq!((t.live().len(), t.dead().len()), (1, 1));
        assert_eq!(group_ids(&t, 7), vec![2]);
        assert_eq!(t.next_forget(), Some((Time::from_millis(100), NodeId(1))));
        t.set_status(NodeId(1), MemberStatus::Alive, Time::ZERO);
        assert_eq!(t.next_forget(), None);
        assert_eq!(group_ids(&t, 7), vec![1, 2]);
        t.set_groups_and_meta(NodeId(2), &[GroupId(9)], &Bytes::new());
        assert!(t.group(GroupId(8)).is_empty());
        assert_eq!(group_ids(&t, 7), vec![1]);
        t.set_addr(NodeId(2), 21);
        assert_eq!((t.by_addr(&20), t.by_addr(&21)), (None, Some(NodeId(2))));
        t.remove(NodeId(2));
        assert_eq!((t.len(), t.indexed_groups(), t.profiles()), (1, 1, 1));
        // The freed slot is reused, and the indexes still find everyone.
        add(&mut t, 3, 30, &[7]);
        assert_eq!((t.get(NodeId(3)).map(|e| e.addr), t.by_addr(&10)), (Some(30), Some(NodeId(1))));
        assert_eq!(t.get(NodeId(3)).map(|e| t.frame(e)).map(|f| f.groups.to_vec()), Some(vec![GroupId(7)]));
        assert_eq!(group_ids(&t, 7), vec![1, 3]);
    }

    #[test]
    fn the_summary_follows_every_change_and_ignores_order_and_the_dead() {
        let from_scratch = |t: &Table<u32>| {
            let live = t.live().iter().filter_map(|s| t.slot(*s));
            live.fold(0u64, |sum, e| sum.wrapping_add(e.summand()))
        };
        let mut t = Table::<u32>::new();
        let steps: [fn(&mut Table<u32>); 10] = [
            |t| add(t, 1, 10, &[7]),
            |t| add(t, 2, 20, &[]),
            |t| add(t, 3, 30, &[]),
            |t| t.set_status(NodeId(1), MemberStatus::Suspect, Time::ZERO),
            |t| t.set_incarnation(NodeId(1), 4),
            |t| t.set_status(NodeId(1), MemberStatus::Alive, Time::ZERO),
            |t| t.set_partial(NodeId(2)),
            |t| t.set_groups_and_meta(NodeId(2), &[GroupId(3)], &Bytes::new()),
            |t| t.set_addr(NodeId(2), 21),
            |t| t.set_status(NodeId(3), MemberStatus::Dead, Time::from_millis(9)),
        ];
        for step in &steps {
            step(&mut t);
            assert_eq!(t.summary(), from_scratch(&t));
        }
        // The same live members reached in another order, without the dead
        // one, sum to the same summary.
        let mut other = Table::<u32>::new();
        other.insert(NodeId(2), 21, 0, (&[GroupId(3)], &Bytes::new()), false);
        other.insert(NodeId(1), 10, 4, (&[GroupId(7)], &Bytes::new()), false);
        assert_eq!(other.summary(), t.summary());
        t.remove(NodeId(3));
        t.remove(NodeId(1));
        assert_eq!(t.summary(), summand(NodeId(2), 0, MemberStatus::Alive, false));
    }

    #[test]
    fn a_held_address_is_claimed_only_first_hand() {
        let mut t = Table::<u32>::new();
        add(&mut t, 1, 10, &[]);
        add(&mut t, 2, 10, &[]);
        assert_eq!(t.by_addr(&10), Some(NodeId(1)));
        t.claim_addr(NodeId(2), &10);
        assert_eq!(t.by_addr(&10), Some(NodeId(2)));
        t.remove(NodeId(1));
        assert_eq!(t.by_addr(&10), Some(NodeId(2)));
    }

    #[test]
    fn suspicion_timers_are_ordered_and_cleared() {
        let mut t = Table::<u32>::new();
        for id in 1..=2 {
            add(&mut t, id, id as u32, &[]);
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
            add(&mut t, id, id as u32, &[]);
        }
        let mut seen = Vec::new();
        // Slots 0..5 hold ids 1..=5.
        let next = t.scan_from(2, |e| {
            seen.push(e.id.0);
            seen.len() < 4
        });
        // Id 2 (slot 1) was offered but not taken: the next scan starts there.
        assert_eq!(seen, vec![4, 5, 1, 2]);
        assert_eq!(next, 0);
    }

    #[test]
    fn an_entry_takes_40_bytes_beside_its_address() {
        assert_eq!(size_of::<Option<Entry<u32>>>(), 40);
        assert_eq!(size_of::<Option<Entry<std::net::SocketAddr>>>(), 72);
    }

    #[test]
    fn marks_that_outgrow_32_bits_move_up_and_never_hide_a_change() {
        let mut t = Table::<u32>::new();
        for id in 1..=3 {
            add(&mut t, id, id as u32, &[]);
        }
        let before = t.changes();
        t.set_incarnation(NodeId(1), 1);
        assert_eq!(t.changed_after(before), 1);
        // 2^32 changes later (as if made elsewhere), the next one no longer
        // fits an entry's 32 bits.
        t.changes += u64::from(u32::MAX);
        let old: Vec<u64> = (1..=3).map(|id| t.mark(t.get(NodeId(id)).unwrap())).collect();
        let since = t.changes();
        t.set_incarnation(NodeId(2), 1);
        assert_eq!(t.marks_from, since, "renumbered once");
        for (id, old) in (1..=3).zip(old) {
            assert!(t.mark(t.get(NodeId(id)).unwrap()) >= old, "a mark never goes down");
        }
        assert_eq!(t.mark(t.get(NodeId(2)).unwrap()), t.changes());
        assert_eq!(t.changed_after(since), 1, "only the new change is after the last mark given");
        assert_eq!(t.changed_after(before), 3, "older marks see every entry, not fewer");
        t.set_incarnation(NodeId(3), 1);
        assert_eq!((t.marks_from, t.changed_after(since)), (since, 2));
    }
}
