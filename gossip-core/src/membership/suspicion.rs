//! [`Suspicion`]: Lifeguard's suspicion timer, which starts long and shrinks
//! toward a minimum with each independent confirmation.

use std::time::Duration;

use crate::ids::NodeId;
use crate::time::Time;

/// One member under suspicion.
#[derive(Clone, Debug)]
pub(crate) struct Suspicion {
    /// The incarnation suspected; a refutation must exceed it.
    pub(crate) incarnation: u64,
    started: Time,
    min: Duration,
    max: Duration,
    /// Confirmations that shrink the timeout fully.
    expected: u32,
    /// Distinct members that suspected it, the first included.
    confirmers: Vec<NodeId>,
    /// Some claim said it left: when the timer runs out it is reported as
    /// having left, not as failed.
    pub(crate) left_hint: bool,
}

impl Suspicion {
    pub(crate) fn new(
        now: Time,
        incarnation: u64,
        by: NodeId,
        min: Duration,
        max: Duration,
        expected: u32,
        left_hint: bool,
    ) -> Self {
        Suspicion { incarnation, started: now, min, max: max.max(min), expected, confirmers: vec![by], left_hint }
    }

    /// When it turns into a death: `max − (max − min)·ln(c + 1)/ln(k + 1)`
    /// after the start, never below `min`, for `c` independent
    /// confirmations of `k` expected.
    pub(crate) fn deadline(&self) -> Time {
        let confirmations = self.confirmers.len().saturating_sub(1) as f64;
        let k = f64::from(self.expected.max(1));
        let shrink = ((confirmations + 1.0).ln() / (k + 1.0).ln()).clamp(0.0, 1.0);
        let span = self.max.saturating_sub(self.min).as_secs_f64() * (1.0 - shrink);
        self.started + self.min + Duration::from_secs_f64(span)
    }

    /// When the suspicion is gossiped once more, if it still stands: half
    /// the minimum timeout after the start, before any deadline. A node
    /// that every refutation missed (under heavy loss, about one in a
    /// thousand per rumor) so tells members that know better, and they send
    /// it the refutation.
    pub(crate) fn reannounce_at(&self) -> Time {
        self.started + self.min / 2
    }

    /// Counts `by` as a confirmation if it is new; returns whether it was.
    pub(crate) fn confirm(&mut self, by: NodeId) -> bool {
        if self.confirmers.len() > self.expected as usize || self.confirmers.contains(&by) {
            return false;
        }
        self.confirmers.push(by);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmations_shrink_the_timeout_to_the_minimum() {
        let (min, max) = (Duration::from_secs(4), Duration::from_secs(24));
        let mut s = Suspicion::new(Time::ZERO, 3, NodeId(1), min, max, 3, false);
        assert_eq!(s.deadline(), Time::ZERO + max);
        assert!(!s.confirm(NodeId(1)), "the same member twice is one confirmation");
        let mut last = s.deadline();
        for by in 2..=4 {
            assert!(s.confirm(NodeId(by)));
            assert!(s.deadline() < last);
            last = s.deadline();
        }
        assert_eq!(s.deadline(), Time::ZERO + min);
        assert!(!s.confirm(NodeId(9)), "no more than expected are kept");
    }
}
