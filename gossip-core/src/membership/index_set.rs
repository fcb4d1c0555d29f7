//! [`IndexSet`]: ids with O(1) insert, remove and uniform random pick.

use std::collections::HashMap;

use rand::{Rng, RngCore};

use crate::ids::NodeId;

/// A vector of ids with a position index: O(1) insert, remove, membership
/// test and uniform random pick.
#[derive(Clone, Debug, Default)]
pub(crate) struct IndexSet {
    items: Vec<NodeId>,
    positions: HashMap<NodeId, usize>,
}

impl IndexSet {
    pub(crate) fn insert(&mut self, id: NodeId) {
        if !self.positions.contains_key(&id) {
            self.positions.insert(id, self.items.len());
            self.items.push(id);
        }
    }

    pub(crate) fn remove(&mut self, id: NodeId) {
        if let Some(pos) = self.positions.remove(&id) {
            self.items.swap_remove(pos);
            if let Some(moved) = self.items.get(pos) {
                self.positions.insert(*moved, pos);
            }
        }
    }

    pub(crate) fn contains(&self, id: NodeId) -> bool {
        self.positions.contains_key(&id)
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn items(&self) -> &[NodeId] {
        &self.items
    }

    pub(crate) fn random(&self, rng: &mut impl RngCore) -> Option<NodeId> {
        (!self.items.is_empty()).then(|| self.items[rng.random_range(0..self.items.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_and_positions_stay_consistent() {
        let mut set = IndexSet::default();
        for i in 0..10 {
            set.insert(NodeId(i));
        }
        set.insert(NodeId(3));
        assert_eq!(set.len(), 10);
        set.remove(NodeId(0));
        set.remove(NodeId(5));
        set.remove(NodeId(42));
        assert_eq!(set.len(), 8);
        for id in set.items().to_vec() {
            assert!(set.contains(id));
            set.remove(id);
        }
        assert!(set.is_empty());
    }
}
