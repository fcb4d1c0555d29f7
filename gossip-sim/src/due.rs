//! A queue of items due at given times: the earliest first, and items due
//! at the same time in the order they were pushed. The simulator's
//! counterpart of a timer wheel, shared with the delay lines of the
//! in-memory network and the fault decorator.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Items due at times of type `K` (virtual [`Time`](gossip_core::Time),
/// tokio's `Instant`, …).
///
/// It has no cap of its own: every user bounds what it pushes (and counts
/// what it refuses), since only the user knows what a full queue means.
#[derive(Debug)]
pub struct DueQueue<K, T> {
    heap: BinaryHeap<Reverse<Entry<K, T>>>,
    pushed: u64,
}

impl<K: Ord, T> Default for DueQueue<K, T> {
    fn default() -> Self {
        DueQueue { heap: BinaryHeap::new(), pushed: 0 }
    }
}

impl<K: Ord, T> DueQueue<K, T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `item`, due at `at`.
    pub fn push(&mut self, at: K, item: T) {
        let seq = self.pushed;
        self.pushed = self.pushed.wrapping_add(1);
        self.heap.push(Reverse(Entry { at, seq, item }));
    }

    /// When the earliest item is due.
    pub fn next_at(&self) -> Option<&K> {
        self.heap.peek().map(|Reverse(entry)| &entry.at)
    }

    /// Removes and returns the earliest item if it is due at or before `now`.
    pub fn pop_due(&mut self, now: &K) -> Option<T> {
        if self.next_at()? > now {
            return None;
        }
        self.pop().map(|(_, item)| item)
    }

    /// Removes and returns the earliest item and its time, due or not.
    pub fn pop(&mut self) -> Option<(K, T)> {
        self.heap.pop().map(|Reverse(entry)| (entry.at, entry.item))
    }

    /// How many items wait.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[derive(Debug)]
struct Entry<K, T> {
    at: K,
    seq: u64,
    item: T,
}

impl<K: Ord, T> PartialEq for Entry<K, T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<K: Ord, T> Eq for Entry<K, T> {}
impl<K: Ord, T> PartialOrd for Entry<K, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: Ord, T> Ord for Entry<K, T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.at, self.seq).cmp(&(&other.at, other.seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_ties_in_push_order() {
        let mut queue = DueQueue::new();
        for (at, item) in [(5, 'a'), (1, 'b'), (5, 'c'), (3, 'd'), (1, 'e')] {
            queue.push(at, item);
        }
        assert_eq!((queue.len(), queue.next_at()), (5, Some(&1)));
        assert_eq!(queue.pop_due(&0), None);
        let mut due = Vec::new();
        while let Some(item) = queue.pop_due(&4) {
            due.push(item);
        }
        assert_eq!(due, vec!['b', 'e', 'd']);
        assert_eq!(queue.pop(), Some((5, 'a')));
        assert_eq!(queue.pop(), Some((5, 'c')));
        assert!(queue.is_empty() && queue.pop().is_none());
    }
}
