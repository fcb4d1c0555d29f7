//! Duplicate suppression for one stream: a high-water mark plus a bitmap of
//! what arrived beyond it. The same state is the stream's pull digest.

use bytes::Bytes;

/// Which sequence numbers of one `(origin, group)` stream have arrived.
///
/// Every number up to `base` has arrived (or was given up on); bit `i` of the
/// bitmap records `base + 1 + i`. The bitmap never covers more than the
/// window's capacity: a number beyond it slides the window forward, giving up
/// on the numbers it passes over.
#[derive(Clone, Debug, Default)]
pub(crate) struct Window {
    base: u64,
    bits: Vec<u64>,
}

/// What [`Window::insert`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Insert {
    /// First arrival; `skipped` earlier numbers were given up on to make room.
    New { skipped: u64 },
    /// Already recorded.
    Duplicate,
}

impl Window {
    /// A window in which every number up to `base` has arrived.
    pub(crate) fn starting_at(base: u64) -> Self {
        Window { base, bits: Vec::new() }
    }

    /// The highest number that arrived (or `base` when none beyond it did).
    pub(crate) fn top(&self) -> u64 {
        match self.bits.last() {
            Some(&word) if word != 0 => {
                let words = (self.bits.len() - 1) as u64;
                self.base + 1 + words * 64 + u64::from(63 - word.leading_zeros())
            }
            _ => self.base,
        }
    }

    /// Whether some number below [`top`](Self::top) is still missing.
    pub(crate) fn has_holes(&self) -> bool {
        !self.bits.is_empty()
    }

    /// Whether `seq` has arrived (or was given up on).
    pub(crate) fn contains(&self, seq: u64) -> bool {
        if seq <= self.base {
            return true;
        }
        let off = seq - self.base - 1;
        let word = (off / 64) as usize;
        word < self.bits.len() && self.bits[word] & (1 << (off % 64)) != 0
    }

    /// Records `seq` in a window of `capacity` bits (a multiple of 64).
    pub(crate) fn insert(&mut self, seq: u64, capacity: u32) -> Insert {
        // The common case: the next number, nothing out of order.
        if self.bits.is_empty() && seq == self.base.wrapping_add(1) {
            self.base = seq;
            return Insert::New { skipped: 0 };
        }
        if self.contains(seq) {
            return Insert::Duplicate;
        }
        let capacity = u64::from(capacity);
        let mut skipped = 0;
        // `contains` is false, so `seq > base`.
        let mut off = seq - self.base - 1;
        if off >= capacity {
            let slide = off - capacity + 1;
            skipped = self.missing_below(slide);
            self.shift(slide);
            off = seq - self.base - 1;
        }
        let word = (off / 64) as usize;
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        self.bits[word] |= 1 << (off % 64);
        let ones = self.bits.first().map_or(0, |w| u64::from(w.trailing_ones()));
        if ones > 0 {
            self.shift(ones);
        }
        Insert::New { skipped }
    }

    /// How many of the first `n` positions are unset.
    fn missing_below(&self, n: u64) -> u64 {
        let mut set = 0u64;
        let full = (n / 64) as usize;
        for (i, word) in self.bits.iter().enumerate() {
            if i < full {
                set += u64::from(word.count_ones());
            } else if i == full {
                let mask = (1u64 << (n % 64)) - 1;
                set += u64::from((word & mask).count_ones());
            }
        }
        n - set
    }

    /// Advances `base` by `n`, dropping the first `n` bits and keeping
    /// runs of ones at the front folded into `base`.
    fn shift(&mut self, n: u64) {
        let mut n = n;
        loop {
            self.base += n;
            let words = (n / 64) as usize;
            if words >= self.bits.len() {
                self.bits.clear();
                return;
            }
            self.bits.drain(..words);
            let bits = (n % 64) as u32;
            if bits > 0 {
                for i in 0..self.bits.len() {
                    let next = self.bits.get(i + 1).copied().unwrap_or(0);
                    self.bits[i] = (self.bits[i] >> bits) | (next << (64 - bits));
                }
            }
            while self.bits.last() == Some(&0) {
                self.bits.pop();
            }
            n = self.bits.first().map_or(0, |w| u64::from(w.trailing_ones()));
            if n == 0 {
                return;
            }
        }
    }

    /// The high-water mark.
    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    /// The bitmap as digest bytes: little-endian, trailing zeros trimmed.
    pub(crate) fn bitmap(&self) -> Bytes {
        if self.bits.is_empty() {
            return Bytes::new();
        }
        let mut out: Vec<u8> = self.bits.iter().flat_map(|w| w.to_le_bytes()).collect();
        while out.last() == Some(&0) {
            out.pop();
        }
        Bytes::from(out)
    }

    /// Bytes of memory the window holds beyond its own size.
    #[cfg(test)]
    pub(crate) fn words(&self) -> usize {
        self.bits.len()
    }
}

/// The highest number a digest `(base, bitmap)` says is held.
pub(crate) fn digest_top(base: u64, bitmap: &[u8]) -> u64 {
    match bitmap.iter().rposition(|byte| *byte != 0) {
        Some(at) => {
            let bit = 7 - bitmap[at].leading_zeros() as u64;
            base.saturating_add(1).saturating_add(at as u64 * 8).saturating_add(bit)
        }
        None => base,
    }
}

/// Whether a digest `(base, bitmap)` says `seq` is held.
pub(crate) fn digest_contains(base: u64, bitmap: &[u8], seq: u64) -> bool {
    if seq <= base {
        return true;
    }
    let off = seq - base - 1;
    let byte = (off / 8) as usize;
    byte < bitmap.len() && bitmap[byte] & (1 << (off % 8)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_top_is_its_highest_held_number() {
        assert_eq!(digest_top(7, &[]), 7);
        assert_eq!(digest_top(7, &[0b1, 0]), 8);
        assert_eq!(digest_top(7, &[0, 0b100]), 7 + 1 + 8 + 2);
        assert_eq!(digest_top(u64::MAX, &[0xff]), u64::MAX);
        let mut w = Window::default();
        for seq in [1, 2, 5, 70] {
            w.insert(seq, 1024);
        }
        assert_eq!(digest_top(w.base(), &w.bitmap()), w.top());
    }

    #[test]
    fn in_order_arrivals_only_move_the_base() {
        let mut w = Window::default();
        for seq in 1..=1000 {
            assert_eq!(w.insert(seq, 64), Insert::New { skipped: 0 });
        }
        assert_eq!((w.base(), w.words()), (1000, 0));
        assert_eq!(w.insert(500, 64), Insert::Duplicate);
    }

    #[test]
    fn out_of_order_arrivals_fill_the_bitmap() {
        let mut w = Window::default();
        assert_eq!(w.insert(3, 64), Insert::New { skipped: 0 });
        assert_eq!(w.insert(2, 64), Insert::New { skipped: 0 });
        assert!(w.contains(3) && w.contains(2) && !w.contains(1));
        assert_eq!(w.base(), 0);
        assert!(digest_contains(w.base(), &w.bitmap(), 2));
        assert!(!digest_contains(w.base(), &w.bitmap(), 1));
        assert_eq!(w.insert(1, 64), Insert::New { skipped: 0 });
        assert_eq!((w.base(), w.words()), (3, 0));
    }

    #[test]
    fn far_arrivals_slide_and_count_what_they_skip() {
        let mut w = Window::default();
        w.insert(2, 64);
        // 200 needs offset 199 < 64: slide by 136, passing 1..=136 of which 2 arrived.
        assert_eq!(w.insert(200, 64), Insert::New { skipped: 135 });
        assert_eq!(w.base(), 136);
        assert!(w.contains(200) && !w.contains(137));
        assert_eq!(w.insert(100, 64), Insert::Duplicate);
        assert_eq!(w.insert(137, 64), Insert::New { skipped: 0 });
    }

    #[test]
    fn never_grows_past_capacity() {
        let mut w = Window::default();
        for seq in (2..100_000).step_by(2) {
            w.insert(seq, 128);
            assert!(w.words() <= 2);
        }
    }
}
