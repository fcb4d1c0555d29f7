//! A map kept as a sorted vector: the per-node tables here are small and
//! read far more often than they change, and a vector holds one entry in one
//! entry's memory, where an ordered tree allocates a node for eleven. With a
//! million simulated nodes that difference is most of their memory.

use std::ops::RangeInclusive;

/// Entries sorted by key, looked up by binary search.
#[derive(Clone, Debug)]
pub(crate) struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap { entries: Vec::new() }
    }
}

impl<K: Ord + Copy, V> SortedMap<K, V> {
    fn find(&self, key: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.find(key).ok().map(|at| &self.entries[at].1)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.find(key).ok().map(|at| &mut self.entries[at].1)
    }

    /// The value for `key`, inserted by `make` if absent, unless `make`
    /// returns `None` (a full table, say).
    pub(crate) fn get_or_try_insert(&mut self, key: K, make: impl FnOnce() -> Option<V>) -> Option<&mut V> {
        match self.find(&key) {
            Ok(at) => Some(&mut self.entries[at].1),
            Err(at) => {
                self.entries.insert(at, (key, make()?));
                Some(&mut self.entries[at].1)
            }
        }
    }

    /// The value for `key`, inserted as `V::default()` if absent.
    pub(crate) fn get_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        let at = match self.find(&key) {
            Ok(at) => at,
            Err(at) => {
                self.entries.insert(at, (key, V::default()));
                at
            }
        };
        &mut self.entries[at].1
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        self.find(key).ok().map(|at| self.entries.remove(at).1)
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// Entries with keys in `range`, ascending.
    pub(crate) fn range(&self, range: RangeInclusive<K>) -> impl Iterator<Item = (&K, &V)> {
        let from = self.entries.partition_point(|(k, _)| k < range.start());
        let to = self.entries.partition_point(|(k, _)| k <= range.end());
        self.entries[from..to.max(from)].iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_an_ordered_map() {
        let mut map = SortedMap::default();
        for k in [5, 1, 3, 9, 7] {
            map.get_or_try_insert(k, || Some(k * 10));
        }
        assert_eq!(map.get_or_try_insert(4, || None), None);
        assert_eq!(map.len(), 5);
        *map.get_or_default(2) += 20;
        assert_eq!(map.remove(&2), Some(20));
        assert_eq!(map.get(&3), Some(&30));
        *map.get_mut(&3).unwrap() += 1;
        assert_eq!(map.range(2..=7).map(|(k, v)| (*k, *v)).collect::<Vec<_>>(), vec![(3, 31), (5, 50), (7, 70)]);
        assert_eq!(map.remove(&5), Some(50));
        map.retain(|k, _| *k != 9);
        assert_eq!(map.range(0..=100).map(|(k, _)| *k).collect::<Vec<_>>(), vec![1, 3, 7]);
    }
}
