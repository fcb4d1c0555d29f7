//! Replay protection: a sliding window of the counters seen from each
//! sender instance (the IPsec / WireGuard scheme), in a table bounded in
//! the number of senders it remembers.

use std::collections::HashMap;

/// Counters below the highest one seen that a window still remembers.
pub const REPLAY_WINDOW: u64 = 1024;
const WORDS: usize = (REPLAY_WINDOW / 64) as usize;

/// What a window says about a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not seen before: accept.
    Fresh,
    /// Seen before: a replay (or a duplicate on the network).
    Replayed,
    /// At least [`REPLAY_WINDOW`] below the highest counter seen: too old
    /// to tell, so refused.
    TooOld,
}

/// The counters seen from one sender instance: the highest, and a bitmap
/// of the [`REPLAY_WINDOW`] below and including it (bit `i` is counter
/// `top - i`).
#[derive(Debug, Clone)]
struct Window {
    top: u64,
    bits: [u64; WORDS],
    /// The table's tick when a datagram last passed: least recently seen
    /// goes first.
    seen: u64,
}

impl Window {
    fn starting_at(counter: u64, seen: u64) -> Self {
        let mut bits = [0; WORDS];
        bits[0] = 1;
        Window { top: counter, bits, seen }
    }

    fn check(&self, counter: u64) -> Verdict {
        if counter > self.top {
            return Verdict::Fresh;
        }
        let behind = self.top - counter;
        if behind >= REPLAY_WINDOW {
            return Verdict::TooOld;
        }
        let (word, bit) = ((behind / 64) as usize, behind % 64);
        if self.bits[word] & (1 << bit) == 0 { Verdict::Fresh } else { Verdict::Replayed }
    }

    /// Records `counter`, which [`check`](Self::check) found fresh.
    fn record(&mut self, counter: u64) {
        if counter > self.top {
            self.shift(counter - self.top);
            self.top = counter;
        }
        let behind = self.top - counter;
        self.bits[(behind / 64) as usize] |= 1 << (behind % 64);
    }

    /// Moves every bit `by` places towards older counters.
    fn shift(&mut self, by: u64) {
        if by >= REPLAY_WINDOW {
            self.bits = [0; WORDS];
            return;
        }
        let (words, bits) = ((by / 64) as usize, (by % 64) as u32);
        for i in (0..WORDS).rev() {
            let from = i.checked_sub(words).map_or(0, |j| self.bits[j]);
            let carry = match i.checked_sub(words + 1) {
                Some(j) if bits > 0 => self.bits[j] >> (64 - bits),
                _ => 0,
            };
            self.bits[i] = (from << bits) | carry;
        }
    }
}

/// Which window a datagram belongs to: its key id and sender instance.
pub(crate) type SenderKey = (u8, u64);

/// Replay windows for at most `cap` senders; the least recently seen is
/// evicted to make room for a new one.
#[derive(Debug)]
pub(crate) struct ReplayTable {
    windows: HashMap<SenderKey, Window>,
    cap: usize,
    tick: u64,
    evictions: u64,
}

impl ReplayTable {
    /// An empty table for at most `cap` senders (at least one).
    pub(crate) fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        ReplayTable { windows: HashMap::with_capacity(cap.min(1024)), cap, tick: 0, evictions: 0 }
    }

    /// Checks `counter` from `sender` and records it if fresh. A sender
    /// not in the table starts a window at `counter`, which may evict the
    /// least recently seen sender: a scan of the table, only when a new
    /// sender instance (which needs a valid key) shows up in a full table.
    pub(crate) fn admit(&mut self, sender: SenderKey, counter: u64) -> Verdict {
        self.tick = self.tick.saturating_add(1);
        if let Some(window) = self.windows.get_mut(&sender) {
            let verdict = window.check(counter);
            if verdict == Verdict::Fresh {
                window.record(counter);
                window.seen = self.tick;
            }
            return verdict;
        }
        if self.windows.len() >= self.cap {
            let oldest = self.windows.iter().min_by_key(|(_, w)| w.seen).map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                self.windows.remove(&oldest);
                self.evictions = self.evictions.saturating_add(1);
            }
        }
        self.windows.insert(sender, Window::starting_at(counter, self.tick));
        Verdict::Fresh
    }

    /// Windows evicted to make room so far.
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Senders remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    #[test]
    fn window_accepts_each_counter_once_and_refuses_the_too_old() {
        let mut t = ReplayTable::new(8);
        let s = (1, 42);
        assert_eq!(t.admit(s, 5), Verdict::Fresh);
        assert_eq!(t.admit(s, 5), Verdict::Replayed);
        assert_eq!(t.admit(s, 3), Verdict::Fresh);
        assert_eq!(t.admit(s, 3), Verdict::Replayed);
        assert_eq!(t.admit(s, 5 + REPLAY_WINDOW - 1), Verdict::Fresh);
        // 5 is now REPLAY_WINDOW - 1 behind: still remembered.
        assert_eq!(t.admit(s, 5), Verdict::Replayed);
        assert_eq!(t.admit(s, 4), Verdict::TooOld);
        assert_eq!(t.admit(s, u64::MAX), Verdict::Fresh);
        assert_eq!(t.admit(s, u64::MAX), Verdict::Replayed);
        assert_eq!(t.admit(s, 6 + REPLAY_WINDOW), Verdict::TooOld);
        // Another key id is another window.
        assert_eq!(t.admit((2, 42), 5), Verdict::Fresh);
    }

    /// Against a set of everything seen: random counters near a moving
    /// top, in random order, with repeats.
    #[test]
    fn window_matches_a_model_over_random_orders() {
        let mut rng = StdRng::seed_from_u64(13);
        let mut t = ReplayTable::new(1);
        let mut seen = std::collections::BTreeSet::new();
        let mut top = 0u64;
        for _ in 0..50_000 {
            let counter = (top + rng.random_range(0..200)).saturating_sub(rng.random_range(0..1_300));
            let expected = if top >= REPLAY_WINDOW && counter <= top - REPLAY_WINDOW && !seen.is_empty() {
                Verdict::TooOld
            } else if seen.contains(&counter) {
                Verdict::Replayed
            } else {
                Verdict::Fresh
            };
            assert_eq!(t.admit((0, 0), counter), expected, "counter {counter}, top {top}");
            if expected == Verdict::Fresh {
                seen.insert(counter);
                top = top.max(counter);
            }
        }
    }

    #[test]
    fn the_least_recently_seen_sender_is_evicted() {
        let mut t = ReplayTable::new(2);
        t.admit((1, 1), 0);
        t.admit((1, 2), 0);
        t.admit((1, 1), 1); // sender 1 seen again: sender 2 is the oldest
        t.admit((1, 3), 0);
        assert_eq!((t.len(), t.evictions()), (2, 1));
        assert_eq!(t.admit((1, 1), 1), Verdict::Replayed, "sender 1 kept its window");
        // Sender 2 lost its window: its old counter looks fresh again (the
        // timestamp check is what refuses an old capture then).
        assert_eq!(t.admit((1, 2), 0), Verdict::Fresh);
        assert_eq!(t.evictions(), 2);
    }
}
