//! [`GroupIndex`]: the live members of each group, as lists of table slots
//! with O(1) insert, remove and uniform random pick. A member's position in
//! the list of its first group is kept in its entry (most members belong
//! to one group, and then cost the index nothing beyond their slot in the
//! list); positions in its other groups live in a side table. Both the
//! groups and the memberships indexed are capped, so forged entries cannot
//! grow the index freely.

use super::Map;
use crate::ids::GroupId;

/// Distinct groups indexed at most; members' groups beyond it are not
/// indexed (and counted).
pub(crate) const MAX_INDEXED_GROUPS: usize = 4_096;

/// (member, group) pairs indexed at most, over all groups; pairs beyond it
/// are not indexed (and counted). Enough for 16,384 members in 64 groups.
pub(crate) const MAX_GROUP_MEMBERSHIPS: usize = 1 << 20;

/// No position: the member is not indexed in its first group.
pub(crate) const UNINDEXED: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(crate) struct GroupIndex {
    lists: Map<GroupId, Vec<u32>>,
    /// A member's position in each of its groups but the first.
    other_pos: Map<(u32, GroupId), u32>,
    memberships: usize,
    /// Memberships not indexed because a cap was reached.
    pub(crate) full: u64,
}

impl GroupIndex {
    /// Groups indexed.
    pub(crate) fn len(&self) -> usize {
        self.lists.len()
    }

    /// (member, group) pairs indexed.
    pub(crate) fn memberships(&self) -> usize {
        self.memberships
    }

    /// The live members of `group`, as slots.
    pub(crate) fn members(&self, group: GroupId) -> &[u32] {
        self.lists.get(&group).map_or(&[], Vec::as_slice)
    }

    /// Indexes `slot` in `groups` (sorted, distinct); `first_pos` is the
    /// entry's field for its position in `groups[0]`.
    pub(crate) fn insert(&mut self, slot: u32, groups: &[GroupId], first_pos: &mut u32) {
        *first_pos = UNINDEXED;
        for (i, group) in groups.iter().enumerate() {
            let groups_full = self.lists.len() >= MAX_INDEXED_GROUPS;
            let list = match self.lists.get_mut(group) {
                Some(list) if self.memberships < MAX_GROUP_MEMBERSHIPS => list,
                None if !groups_full && self.memberships < MAX_GROUP_MEMBERSHIPS => {
                    self.lists.entry(*group).or_default()
                }
                _ => {
                    self.full = self.full.saturating_add(1);
                    continue;
                }
            };
            let pos = list.len() as u32;
            list.push(slot);
            if i == 0 {
                *first_pos = pos;
            } else {
                self.other_pos.insert((slot, *group), pos);
            }
            self.memberships += 1;
        }
    }

    /// Removes `slot` from `groups`, the same list it was indexed with.
    /// A member moved to fill the gap in its own first group is reported to
    /// `moved` (slot, new position), for its entry to record.
    pub(crate) fn remove(
        &mut self,
        slot: u32,
        groups: &[GroupId],
        first_pos: &mut u32,
        mut moved: impl FnMut(u32, u32),
    ) {
        for (i, group) in groups.iter().enumerate() {
            let pos = if i == 0 {
                std::mem::replace(first_pos, UNINDEXED)
            } else {
                match self.other_pos.remove(&(slot, *group)) {
                    Some(pos) => pos,
                    None => continue,
                }
            };
            let Some(list) = self.lists.get_mut(group) else { continue };
            if list.get(pos as usize) != Some(&slot) {
                continue;
            }
            list.swap_remove(pos as usize);
            self.memberships -= 1;
            if let Some(&other) = list.get(pos as usize) {
                match self.other_pos.get_mut(&(other, *group)) {
                    Some(p) => *p = pos,
                    None => moved(other, pos),
                }
            }
            if list.is_empty() {
                self.lists.remove(group);
            }
        }
    }

    /// Heap bytes held by the lists and the side table.
    pub(crate) fn heap_bytes(&self) -> usize {
        let lists: usize = self.lists.values().map(|l| l.capacity() * 4).sum();
        let buckets = self.lists.capacity() * (size_of::<(GroupId, Vec<u32>)>() + 1);
        let side = self.other_pos.capacity() * (size_of::<((u32, GroupId), u32)>() + 1);
        lists + buckets + side
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_swaps_in_first_and_other_groups() {
        let mut index = GroupIndex::default();
        let mut first = [0u32; 3];
        let (g1, g2) = (GroupId(1), GroupId(2));
        index.insert(0, &[g1, g2], &mut first[0]);
        index.insert(1, &[g2], &mut first[1]);
        index.insert(2, &[g1, g2], &mut first[2]);
        assert_eq!((index.members(g1), index.members(g2)), (&[0, 2][..], &[0, 1, 2][..]));
        let mut moves = Vec::new();
        index.remove(0, &[g1, g2], &mut first[0], |s, p| moves.push((s, p)));
        // Slot 2 moved to position 0 of g1 (its first group, recorded in its
        // entry) and of g2 (one of its other groups, recorded in the side table).
        assert_eq!(moves, vec![(2, 0)]);
        first[2] = 0;
        assert_eq!(index.members(g2), &[2, 1]);
        let mut moves = Vec::new();
        index.remove(2, &[g1, g2], &mut first[2], |s, p| moves.push((s, p)));
        assert_eq!(moves, vec![(1, 0)], "slot 1 moved in g2, its first group");
        first[1] = 0;
        index.remove(1, &[g2], &mut first[1], |_, _| {});
        assert_eq!((index.len(), index.memberships()), (0, 0));
    }
}
