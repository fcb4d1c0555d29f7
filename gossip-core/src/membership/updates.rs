//! [`Updates`]: the membership changes waiting to be piggy-backed, each sent
//! a bounded number of times, least-sent (then newest) first.

use std::collections::BTreeSet;

use super::Map;

/// The key of this node's own entry (member entries are keyed by their
/// table slot).
pub(crate) const OWN: u32 = u32::MAX;

/// A queue of members whose entry changed, keyed by table slot. Every
/// operation is O(log n); a packet takes from the front without scanning
/// the rest. 12 bytes of key per update, in the queue and in its index.
#[derive(Debug, Default)]
pub(crate) struct Updates {
    /// (sends so far, newest first, slot).
    queue: BTreeSet<(u32, u32, u32)>,
    keys: Map<u32, (u32, u32)>,
    /// Counts down: a newer update has a smaller order.
    counter: u32,
}

/// What writing one update into a packet did.
pub(crate) enum Written {
    /// It went in.
    Yes,
    /// It did not fit: stop filling this packet.
    Full,
    /// The member is gone: drop the update.
    Gone,
}

impl Updates {
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Heap bytes held (the B-tree's nodes, about two keys of room per key).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.queue.len() * 2 * size_of::<(u32, u32, u32)>()
            + self.keys.capacity() * (size_of::<(u32, (u32, u32))>() + 1)
    }

    fn next_order(&mut self) -> u32 {
        if self.counter == 0 {
            // 2^32 updates queued since the last renumbering: renumber the
            // queued ones in their order, once, to make room again.
            let old = std::mem::take(&mut self.queue);
            let base = u32::MAX - old.len() as u32;
            self.counter = base;
            for (order, (sends, _, slot)) in (base..=u32::MAX).zip(old) {
                self.queue.insert((sends, order, slot));
                self.keys.insert(slot, (sends, order));
            }
        }
        self.counter -= 1;
        self.counter
    }

    /// Queues (or re-queues, as unsent) the update for `slot`. When more
    /// than `cap` are queued, the most-sent one is dropped; returns whether
    /// one was.
    pub(crate) fn push(&mut self, slot: u32, cap: usize) -> bool {
        self.remove(slot);
        let order = self.next_order();
        self.queue.insert((0, order, slot));
        self.keys.insert(slot, (0, order));
        if self.queue.len() > cap.max(1) {
            if let Some(last) = self.queue.pop_last() {
                self.keys.remove(&last.2);
                return true;
            }
        }
        false
    }

    /// Writes up to `max` updates with `write`, least-sent first; each one
    /// written counts a send and is dropped after `limit` sends.
    pub(crate) fn take(&mut self, max: usize, limit: u32, mut write: impl FnMut(u32) -> Written) {
        let mut done: Vec<(u32, u32, u32)> = Vec::new();
        let mut gone: Vec<(u32, u32, u32)> = Vec::new();
        for &key in self.queue.iter() {
            if done.len() >= max {
                break;
            }
            match write(key.2) {
                Written::Yes => done.push(key),
                Written::Gone => gone.push(key),
                Written::Full => break,
            }
        }
        for key in gone {
            self.queue.remove(&key);
            self.keys.remove(&key.2);
        }
        for (sends, order, slot) in done {
            self.queue.remove(&(sends, order, slot));
            let sends = sends.saturating_add(1);
            if sends >= limit {
                self.keys.remove(&slot);
            } else {
                self.queue.insert((sends, order, slot));
                self.keys.insert(slot, (sends, order));
            }
        }
    }

    /// Forgets the update for `slot`.
    pub(crate) fn remove(&mut self, slot: u32) {
        if let Some(key) = self.keys.remove(&slot) {
            self.queue.remove(&(key.0, key.1, slot));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(u: &mut Updates, max: usize, limit: u32) -> Vec<u32> {
        let mut out = Vec::new();
        u.take(max, limit, |id| {
            out.push(id);
            Written::Yes
        });
        out
    }

    #[test]
    fn least_sent_then_newest_first_and_bounded_sends() {
        let mut u = Updates::default();
        for id in 1..=3 {
            u.push(id, 10);
        }
        assert_eq!(drain(&mut u, 2, 2), vec![3, 2]);
        assert_eq!(drain(&mut u, 2, 2), vec![1, 3]);
        assert_eq!(drain(&mut u, 5, 2), vec![2, 1]);
        assert_eq!(u.len(), 0);
        // A re-queued update starts again as unsent.
        u.push(1, 10);
        drain(&mut u, 1, 5);
        u.push(2, 10);
        u.push(1, 10);
        assert_eq!(drain(&mut u, 5, 5), vec![1, 2]);
    }

    #[test]
    fn the_cap_drops_the_most_sent() {
        let mut u = Updates::default();
        u.push(1, 2);
        drain(&mut u, 1, 9);
        u.push(2, 2);
        assert!(u.push(3, 2));
        assert_eq!(drain(&mut u, 5, 9), vec![3, 2]);
    }

    #[test]
    fn full_stops_and_gone_drops() {
        let mut u = Updates::default();
        for id in 1..=3 {
            u.push(id, 10);
        }
        u.take(5, 9, |id| if id == 3 { Written::Gone } else { Written::Full });
        assert_eq!(u.len(), 2);
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;

    #[test]
    fn renumbering_keeps_the_order() {
        let mut u = Updates { counter: 2, ..Updates::default() };
        u.push(1, 10);
        u.push(2, 10);
        u.push(3, 10);
        let mut out = Vec::new();
        u.take(5, 9, |id| {
            out.push(id);
            Written::Yes
        });
        assert_eq!(out, vec![3, 2, 1]);
    }
}
