//! [`Updates`]: the membership changes waiting to be piggy-backed, each sent
//! a bounded number of times, least-sent (then newest) first.

use std::collections::{BTreeSet, HashMap};

use crate::ids::NodeId;

/// A queue of members whose entry changed. Every operation is O(log n); a
/// packet takes from the front without scanning the rest.
#[derive(Debug, Default)]
pub(crate) struct Updates {
    /// (sends so far, newest first, member).
    queue: BTreeSet<(u32, u64, NodeId)>,
    keys: HashMap<NodeId, (u32, u64)>,
    counter: u64,
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

    /// Queues (or re-queues, as unsent) the update for `id`. When more than
    /// `cap` are queued, the most-sent one is dropped; returns whether one was.
    pub(crate) fn push(&mut self, id: NodeId, cap: usize) -> bool {
        if let Some(key) = self.keys.remove(&id) {
            self.queue.remove(&(key.0, key.1, id));
        }
        self.counter += 1;
        let order = u64::MAX - self.counter;
        self.queue.insert((0, order, id));
        self.keys.insert(id, (0, order));
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
    pub(crate) fn take(&mut self, max: usize, limit: u32, mut write: impl FnMut(NodeId) -> Written) {
        let mut done: Vec<(u32, u64, NodeId)> = Vec::new();
        let mut gone: Vec<(u32, u64, NodeId)> = Vec::new();
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
        for (sends, order, id) in done {
            self.queue.remove(&(sends, order, id));
            let sends = sends.saturating_add(1);
            if sends >= limit {
                self.keys.remove(&id);
            } else {
                self.queue.insert((sends, order, id));
                self.keys.insert(id, (sends, order));
            }
        }
    }

    /// Forgets the update for `id`.
    pub(crate) fn remove(&mut self, id: NodeId) {
        if let Some(key) = self.keys.remove(&id) {
            self.queue.remove(&(key.0, key.1, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(u: &mut Updates, max: usize, limit: u32) -> Vec<u64> {
        let mut out = Vec::new();
        u.take(max, limit, |id| {
            out.push(id.0);
            Written::Yes
        });
        out
    }

    #[test]
    fn least_sent_then_newest_first_and_bounded_sends() {
        let mut u = Updates::default();
        for id in 1..=3 {
            u.push(NodeId(id), 10);
        }
        assert_eq!(drain(&mut u, 2, 2), vec![3, 2]);
        assert_eq!(drain(&mut u, 2, 2), vec![1, 3]);
        assert_eq!(drain(&mut u, 5, 2), vec![2, 1]);
        assert_eq!(u.len(), 0);
        // A re-queued update starts again as unsent.
        u.push(NodeId(1), 10);
        drain(&mut u, 1, 5);
        u.push(NodeId(2), 10);
        u.push(NodeId(1), 10);
        assert_eq!(drain(&mut u, 5, 5), vec![1, 2]);
    }

    #[test]
    fn the_cap_drops_the_most_sent() {
        let mut u = Updates::default();
        u.push(NodeId(1), 2);
        drain(&mut u, 1, 9);
        u.push(NodeId(2), 2);
        assert!(u.push(NodeId(3), 2));
        assert_eq!(drain(&mut u, 5, 9), vec![3, 2]);
    }

    #[test]
    fn full_stops_and_gone_drops() {
        let mut u = Updates::default();
        for id in 1..=3 {
            u.push(NodeId(id), 10);
        }
        u.take(5, 9, |id| if id.0 == 3 { Written::Gone } else { Written::Full });
        assert_eq!(u.len(), 2);
    }
}
