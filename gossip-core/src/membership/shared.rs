//! [`SharedMembers`]: one read-only member list shared by many nodes.

use crate::address::Address;
use crate::ids::{GroupId, NodeId};

/// A fixed member list that many nodes can share through an [`Arc`](std::sync::Arc), so a
/// simulated node's memory does not grow with the group size.
///
/// Nodes built on it learn nothing from gossip and never report members
/// up or down.
#[derive(Clone, Debug, Default)]
pub struct SharedMembers<A> {
    ids: Vec<NodeId>,
    addrs: Vec<A>,
    /// Index of each id.
    index: std::collections::HashMap<NodeId, u32>,
    /// Sorted by group: a node belongs to few groups, so a binary search
    /// beats hashing here.
    groups: Vec<(GroupId, Vec<u32>)>,
}

impl<A: Address> SharedMembers<A> {
    /// An empty list.
    pub fn new() -> Self {
        SharedMembers {
            ids: Vec::new(),
            addrs: Vec::new(),
            index: std::collections::HashMap::new(),
            groups: Vec::new(),
        }
    }

    /// Adds a member belonging to `groups`; returns its index.
    ///
    /// # Panics
    /// If the list already holds `u32::MAX` members.
    pub fn push(&mut self, id: NodeId, addr: A, groups: &[GroupId]) -> u32 {
        let index = u32::try_from(self.ids.len()).expect("at most u32::MAX shared members");
        self.ids.push(id);
        self.addrs.push(addr);
        self.index.entry(id).or_insert(index);
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

    /// The index of the member with id `id` (the first, if pushed twice).
    pub fn index_of(&self, id: NodeId) -> Option<u32> {
        self.index.get(&id).copied()
    }

    /// Members of `group`, as indices.
    pub fn group(&self, group: GroupId) -> &[u32] {
        match self.groups.binary_search_by_key(&group, |(g, _)| *g) {
            Ok(at) => &self.groups[at].1,
            Err(_) => &[],
        }
    }
}
