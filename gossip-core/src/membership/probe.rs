//! [`Prober`]: SWIM's failure detector state: whom to probe next (a
//! shuffled round-robin, so every member is probed once per cycle and
//! detection time is bounded), the probe in flight, the indirect probes this
//! node relays for others, Lifeguard's local health multiplier, and the
//! round-trip times of recent direct probes until the driver takes them.

use std::collections::VecDeque;
use std::time::Duration;

use rand::{Rng, RngCore};

use crate::ids::NodeId;
use crate::time::Time;

/// Relayed probes kept at most; more requests are refused (and counted).
pub(crate) const MAX_RELAYS: usize = 64;
/// Probe round-trip times kept until drained; a newer one overwrites the
/// oldest (and is counted).
pub(crate) const MAX_RTTS: usize = 256;

/// The probe in flight.
#[derive(Clone, Debug)]
pub(crate) struct Probe<A> {
    pub(crate) target: NodeId,
    pub(crate) addr: A,
    pub(crate) seq: u64,
    /// When the ping went out.
    pub(crate) sent: Time,
    /// When to give up on a direct ack and ask others.
    pub(crate) ack_deadline: Time,
    /// When the probe ends: no ack by then means suspect.
    pub(crate) period_end: Time,
    pub(crate) indirect_sent: bool,
    pub(crate) acked: bool,
}

/// A probe this node sends on another's behalf.
#[derive(Clone, Debug)]
struct Relay<A> {
    seq: u64,
    reply_to: A,
    reply_seq: u64,
    expires: Time,
}

#[derive(Debug)]
pub(crate) struct Prober<A> {
    /// Table slots, in this cycle's order.
    order: Vec<u32>,
    next: usize,
    seq: u64,
    pub(crate) current: Option<Probe<A>>,
    pub(crate) next_at: Time,
    health: u32,
    relays: VecDeque<Relay<A>>,
    /// Moving average of the direct probes that got no ack within the
    /// probe timeout: this node's estimate of its links' loss.
    direct_misses: f64,
    /// Round-trip times of direct probes, oldest first, at most [`MAX_RTTS`].
    rtts: VecDeque<Duration>,
}

impl<A: Clone> Prober<A> {
    pub(crate) fn new() -> Self {
        Prober {
            order: Vec::new(),
            next: 0,
            seq: 0,
            current: None,
            next_at: Time::ZERO,
            health: 0,
            relays: VecDeque::new(),
            direct_misses: 0.0,
            rtts: VecDeque::new(),
        }
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Lifeguard's multiplier for the probe interval and timeout: 1 when
    /// healthy, up to the configured ceiling.
    pub(crate) fn multiplier(&self) -> u32 {
        self.health + 1
    }

    pub(crate) fn health(&self) -> u32 {
        self.health
    }

    /// This node missed something it should have heard (an ack, a
    /// refutation of itself was needed): trust its own timing less.
    pub(crate) fn health_worse(&mut self, max: u32) {
        self.health = (self.health + 1).min(max.saturating_sub(1));
    }

    pub(crate) fn health_better(&mut self) {
        self.health = self.health.saturating_sub(1);
    }

    /// Counts a direct probe's outcome by its ack deadline into the
    /// moving average of misses (weight 1/16 for the newest).
    pub(crate) fn direct_outcome(&mut self, missed: bool) {
        self.direct_misses += (f64::from(u8::from(missed)) - self.direct_misses) / 16.0;
    }

    /// How many members to ask for indirect probes: at least `k`, and
    /// enough that, at the loss the direct misses suggest, all of them
    /// fail with a chance below 1% (each indirect path has four legs where
    /// a direct round trip has two), at most `max`.
    pub(crate) fn indirect_count(&self, k: usize, max: usize) -> usize {
        // A direct round trip survives with (1 − p)², an indirect one with
        // (1 − p)⁴, its square.
        let indirect_fails = 1.0 - (1.0 - self.direct_misses).powi(2);
        if indirect_fails <= 0.0 || k >= max {
            return k.min(max);
        }
        let needed = (0.01f64.ln() / indirect_fails.ln()).ceil();
        if needed.is_finite() && needed > 0.0 { (needed as usize).clamp(k, max) } else { max }
    }

    /// Heap bytes held by the probe order and the relays.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.order.capacity() * 4 + self.relays.capacity() * size_of::<Relay<A>>()
    }

    /// The next member to probe (a slot of `live`, which `is_live` tells
    /// apart): the round-robin order over live members, reshuffled once
    /// per full cycle (O(N) per N probes).
    pub(crate) fn pick(&mut self, live: &[u32], is_live: impl Fn(u32) -> bool, rng: &mut impl RngCore) -> Option<u32> {
        for _ in 0..=self.order.len() + 1 {
            if self.next >= self.order.len() {
                self.order.clear();
                self.order.extend_from_slice(live);
                for i in (1..self.order.len()).rev() {
                    let j = rng.random_range(0..=i);
                    self.order.swap(i, j);
                }
                self.next = 0;
                if self.order.is_empty() {
                    return None;
                }
            }
            let id = self.order[self.next];
            self.next += 1;
            if is_live(id) {
                return Some(id);
            }
        }
        None
    }

    /// Makes room in the probe order for `more` members beyond those in it.
    pub(crate) fn reserve(&mut self, more: usize) {
        self.order.reserve(more);
    }

    /// Puts a new member at a random place among those not yet probed this
    /// cycle, in O(1).
    pub(crate) fn add(&mut self, id: u32, rng: &mut impl RngCore) {
        let len = self.order.len();
        let at = rng.random_range(self.next..=len);
        if at == len {
            self.order.push(id);
        } else {
            let moved = self.order[at];
            self.order[at] = id;
            self.order.push(moved);
        }
    }

    /// Remembers a probe sent for `reply_to`; false when full.
    pub(crate) fn relay(&mut self, now: Time, seq: u64, reply_to: A, reply_seq: u64, expires: Time) -> bool {
        while self.relays.front().is_some_and(|r| r.expires <= now) {
            self.relays.pop_front();
        }
        if self.relays.len() >= MAX_RELAYS {
            return false;
        }
        self.relays.push_back(Relay { seq, reply_to, reply_seq, expires });
        true
    }

    /// Keeps one probe's round-trip time; returns false when that
    /// overwrote the oldest kept.
    pub(crate) fn record_rtt(&mut self, rtt: Duration) -> bool {
        let room = self.rtts.len() < MAX_RTTS;
        if !room {
            self.rtts.pop_front();
        }
        self.rtts.push_back(rtt);
        room
    }

    /// The kept round-trip times, oldest first; taking them empties the record.
    pub(crate) fn drain_rtts(&mut self) -> std::collections::vec_deque::Drain<'_, Duration> {
        self.rtts.drain(..)
    }

    /// The asker to forward an ack of `seq` to, if this node relayed it.
    pub(crate) fn take_relay(&mut self, seq: u64) -> Option<(A, u64)> {
        let at = self.relays.iter().position(|r| r.seq == seq)?;
        self.relays.remove(at).map(|r| (r.reply_to, r.reply_seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn every_live_member_is_probed_once_per_cycle() {
        let mut rng = SmallRng::seed_from_u64(4);
        let mut live: Vec<u32> = (0..10).collect();
        let mut p = Prober::<u32>::new();
        let mut cycle: Vec<u32> = (0..10).map(|_| p.pick(&live, |_| true, &mut rng).unwrap()).collect();
        cycle.sort_unstable();
        assert_eq!(cycle, (0..10).collect::<Vec<_>>());
        live.retain(|s| *s != 3);
        live.push(42);
        p.add(42, &mut rng);
        let mut cycle: Vec<u32> = (0..10).map(|_| p.pick(&live, |s| s != 3, &mut rng).unwrap()).collect();
        cycle.sort_unstable();
        assert!(!cycle.contains(&3) && cycle.contains(&42));
    }

    #[test]
    fn indirect_probes_grow_with_the_direct_misses() {
        let mut p = Prober::<u32>::new();
        assert_eq!(p.indirect_count(3, 16), 3, "no loss seen: k");
        for i in 0..400 {
            p.direct_outcome(i % 2 == 0);
        }
        // About half the direct probes missed: ~29% loss per leg, an
        // indirect path fails ~75% of the time, 16 of them all fail ~1%.
        let k = p.indirect_count(3, 16);
        assert!((14..=16).contains(&k), "half missed: {k}");
        for i in 0..400 {
            p.direct_outcome(i % 5 == 0);
        }
        let k = p.indirect_count(3, 16);
        assert!((4..=6).contains(&k), "a fifth missed: {k}");
        for _ in 0..400 {
            p.direct_outcome(true);
        }
        assert_eq!(p.indirect_count(3, 16), 16, "every probe missed: the cap");
        assert_eq!(p.indirect_count(0, 0), 0);
    }

    #[test]
    fn health_is_bounded_and_relays_expire() {
        let mut p = Prober::<u32>::new();
        for _ in 0..20 {
            p.health_worse(8);
        }
        assert_eq!(p.multiplier(), 8);
        p.health_better();
        assert_eq!(p.multiplier(), 7);
        assert!(p.relay(Time::ZERO, 5, 1, 9, Time::from_millis(10)));
        assert_eq!(p.take_relay(5), Some((1, 9)));
        assert_eq!(p.take_relay(5), None);
        for seq in 0..MAX_RELAYS as u64 {
            assert!(p.relay(Time::ZERO, seq, 1, 0, Time::from_millis(10)));
        }
        assert!(!p.relay(Time::ZERO, 99, 1, 0, Time::from_millis(10)));
        assert!(p.relay(Time::from_millis(10), 99, 1, 0, Time::from_millis(20)), "expired relays make room");
    }

    #[test]
    fn the_newest_round_trip_times_are_kept_up_to_the_cap() {
        let mut p = Prober::<u32>::new();
        let ms = |n: usize| Duration::from_millis(n as u64);
        for n in 0..MAX_RTTS {
            assert!(p.record_rtt(ms(n)));
        }
        assert!(!p.record_rtt(ms(MAX_RTTS)), "the 257th overwrites the oldest");
        let kept: Vec<Duration> = p.drain_rtts().collect();
        assert_eq!(kept.len(), MAX_RTTS);
        assert_eq!((kept[0], kept[MAX_RTTS - 1]), (ms(1), ms(MAX_RTTS)));
        assert_eq!(p.drain_rtts().count(), 0, "draining empties the record");
        assert!(p.record_rtt(ms(7)));
    }
}
