//! [`Streams`]: which messages of each `(group, origin)` stream arrived, so
//! that each is delivered at most once for as long as the node runs.
//!
//! A tracked stream keeps a dedup [`Window`]. When the table is full the
//! stream delivered to least recently gives way, and a stream that goes
//! idle or whose group is left is forgotten; either way its *floor* (the
//! highest number it had seen) stays in a second, larger table, so a
//! replay of anything it had passed is refused however late it comes. Both
//! tables are capped; every number given up on is reported as a [`Gap`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::event::{Gap, GapReason};
use crate::ids::{GroupId, NodeId};
use crate::time::Time;
use crate::window::{Insert, Window};

/// A stream: a group and an origin.
pub(crate) type StreamKey = (GroupId, NodeId);

/// The highest sequence number accepted. No origin gets near it (2^62
/// messages), so a larger one is forged or corrupt; refusing it keeps one
/// frame from moving a stream's window to the top of the range.
pub(crate) const MAX_SEQ: u64 = 1 << 62;

/// The caps and bounds [`Streams::insert`] applies.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// Streams tracked with a window at most.
    pub(crate) max_streams: usize,
    /// Floors of forgotten streams kept at most.
    pub(crate) max_floors: usize,
    /// Bits of each window.
    pub(crate) window: u32,
    /// How far past what a stream has seen a number relayed by another
    /// member may jump (the origin itself may jump any distance).
    pub(crate) max_jump: u64,
}

#[derive(Debug)]
struct Tracked {
    window: Window,
    /// The last delivery.
    last_at: Time,
    /// Order of the last delivery, for least-recently-delivered eviction.
    touched: u64,
    /// Since when the lowest missing number has been missing (`None` when
    /// nothing is missing below the highest number seen).
    hole_since: Option<Time>,
}

/// What [`Streams::insert`] decided about one sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// First arrival: deliver it.
    New,
    /// Already arrived (or given up on).
    Duplicate,
    /// At or below the floor of a stream this node stopped tracking: it was
    /// passed long ago, so it is a replay or a straggler.
    Stale,
    /// Beyond [`MAX_SEQ`], or further past what the stream has seen than a
    /// relayed copy may jump.
    OutOfRange,
}

/// The dedup state of every stream, tracked and forgotten.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    tracked: BTreeMap<StreamKey, Tracked>,
    by_touch: BTreeSet<(u64, StreamKey)>,
    floors: BTreeMap<StreamKey, (u64, u64)>,
    floors_by_age: BTreeSet<(u64, StreamKey)>,
    clock: u64,
    /// Tracked streams evicted to make room for a new one.
    pub(crate) evicted: u64,
    /// Floors forgotten to stay within `max_floors`.
    pub(crate) floors_dropped: u64,
}

impl Streams {
    /// Streams tracked with a window.
    pub(crate) fn len(&self) -> usize {
        self.tracked.len()
    }

    /// Floors kept for forgotten streams.
    pub(crate) fn floors(&self) -> usize {
        self.floors.len()
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Records `seq` of stream `key`; `first_hand` says the packet came
    /// from the origin itself. Numbers given up on are pushed to `gaps`.
    pub(crate) fn insert(
        &mut self,
        now: Time,
        key: StreamKey,
        seq: u64,
        first_hand: bool,
        limits: Limits,
        gaps: &mut Vec<Gap>,
    ) -> Verdict {
        if seq > MAX_SEQ {
            return Verdict::OutOfRange;
        }
        let far = |top: u64| !first_hand && seq > top.saturating_add(limits.max_jump);
        if !self.tracked.contains_key(&key) {
            let floor = self.floors.get(&key).map(|(floor, _)| *floor);
            match floor {
                Some(floor) if seq <= floor => return Verdict::Stale,
                Some(floor) if far(floor) => return Verdict::OutOfRange,
                _ => {}
            }
            if let Some((floor, stamp)) = self.floors.remove(&key) {
                self.floors_by_age.remove(&(stamp, key));
                self.track(key, Window::starting_at(floor), now, limits, gaps);
            } else {
                self.track(key, Window::default(), now, limits, gaps);
            }
        }
        let touched = self.tick();
        let Some(stream) = self.tracked.get_mut(&key) else { return Verdict::Duplicate };
        if far(stream.window.top()) {
            return Verdict::OutOfRange;
        }
        let base = stream.window.base();
        match stream.window.insert(seq, limits.window) {
            Insert::Duplicate => Verdict::Duplicate,
            Insert::New { skipped } => {
                if skipped > 0 {
                    gaps.push(Gap {
                        group: key.0,
                        origin: key.1,
                        from: base + 1,
                        to: stream.window.base(),
                        reason: GapReason::WindowSkip,
                    });
                }
                if !stream.window.has_holes() {
                    stream.hole_since = None;
                } else if stream.hole_since.is_none() || stream.window.base() != base {
                    // Conservative: the lowest hole is at most this old.
                    stream.hole_since = Some(now);
                }
                stream.last_at = now;
                self.by_touch.remove(&(stream.touched, key));
                stream.touched = touched;
                self.by_touch.insert((touched, key));
                Verdict::New
            }
        }
    }

    /// Starts tracking `key`, evicting the least recently delivered stream
    /// when the table is full.
    fn track(&mut self, key: StreamKey, window: Window, now: Time, limits: Limits, gaps: &mut Vec<Gap>) {
        while self.tracked.len() >= limits.max_streams.max(1) {
            let Some(&(_, oldest)) = self.by_touch.first() else { break };
            self.evicted = self.evicted.saturating_add(1);
            self.forget(oldest, limits, Some((gaps, GapReason::Evicted)));
        }
        let touched = self.tick();
        self.by_touch.insert((touched, key));
        self.tracked.insert(key, Tracked { window, last_at: now, touched, hole_since: None });
    }

    /// Stops tracking `key`, keeping its floor; its holes are given up on
    /// (reported to `gaps` with the reason when given).
    fn forget(&mut self, key: StreamKey, limits: Limits, gaps: Option<(&mut Vec<Gap>, GapReason)>) {
        let Some(stream) = self.tracked.remove(&key) else { return };
        self.by_touch.remove(&(stream.touched, key));
        let (base, top) = (stream.window.base(), stream.window.top());
        if let Some((gaps, reason)) = gaps {
            if top > base + 1 {
                gaps.push(Gap { group: key.0, origin: key.1, from: base + 1, to: top - 1, reason });
            }
        }
        while self.floors.len() >= limits.max_floors.max(1) {
            let Some((_, oldest)) = self.floors_by_age.pop_first() else { break };
            self.floors.remove(&oldest);
            self.floors_dropped = self.floors_dropped.saturating_add(1);
        }
        let stamp = self.tick();
        self.floors.insert(key, (top, stamp));
        self.floors_by_age.insert((stamp, key));
    }

    /// Once a round: gives up on numbers missing for longer than `give_up`
    /// (no copy young enough to be accepted can still exist), and forgets
    /// streams idle for longer than `idle`.
    pub(crate) fn expire(&mut self, now: Time, give_up: Duration, idle: Duration, limits: Limits, gaps: &mut Vec<Gap>) {
        let mut idle_keys = Vec::new();
        for (key, stream) in &mut self.tracked {
            if stream.hole_since.is_some_and(|since| now.saturating_duration_since(since) > give_up) {
                let (base, top) = (stream.window.base(), stream.window.top());
                gaps.push(Gap {
                    group: key.0,
                    origin: key.1,
                    from: base + 1,
                    to: top - 1,
                    reason: GapReason::Retention,
                });
                stream.window = Window::starting_at(top);
                stream.hole_since = None;
            }
            if now.saturating_duration_since(stream.last_at) > idle {
                idle_keys.push(*key);
            }
        }
        for key in idle_keys {
            self.forget(key, limits, None);
        }
    }

    /// Forgets every tracked stream of `group` (the node left it), keeping
    /// their floors so that joining again delivers nothing twice.
    pub(crate) fn forget_group(&mut self, group: GroupId, limits: Limits) {
        let keys: Vec<StreamKey> = self.range(group).map(|(key, _)| *key).collect();
        for key in keys {
            self.forget(key, limits, None);
        }
    }

    /// What is held of stream `key`: its base and top, or the floor of a
    /// forgotten stream as both; `None` for a stream never seen.
    pub(crate) fn held(&self, key: &StreamKey) -> Option<(u64, u64)> {
        match self.tracked.get(key) {
            Some(stream) => Some((stream.window.base(), stream.window.top())),
            None => self.floors.get(key).map(|(floor, _)| (*floor, *floor)),
        }
    }

    /// The tracked windows of `group`, by origin.
    pub(crate) fn range(&self, group: GroupId) -> impl Iterator<Item = (&StreamKey, &Window)> {
        self.tracked.range((group, NodeId(0))..=(group, NodeId(u64::MAX))).map(|(key, s)| (key, &s.window))
    }

    /// The floor kept for a forgotten stream.
    #[cfg(test)]
    pub(crate) fn floor(&self, key: &StreamKey) -> Option<u64> {
        self.floors.get(key).map(|(floor, _)| *floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_streams: 2, max_floors: 3, window: 64, max_jump: 1_000 };

    fn key(origin: u64) -> StreamKey {
        (GroupId(1), NodeId(origin))
    }

    fn insert(streams: &mut Streams, origin: u64, seq: u64) -> Verdict {
        streams.insert(Time::ZERO, key(origin), seq, false, LIMITS, &mut Vec::new())
    }

    #[test]
    fn eviction_keeps_the_floor() {
        let mut s = Streams::default();
        assert_eq!(insert(&mut s, 1, 1), Verdict::New);
        assert_eq!(insert(&mut s, 2, 1), Verdict::New);
        assert_eq!(insert(&mut s, 1, 2), Verdict::New);
        // Stream 2 was delivered to least recently: it gives way.
        assert_eq!(insert(&mut s, 3, 1), Verdict::New);
        assert_eq!((s.len(), s.floors(), s.evicted), (2, 1, 1));
        assert_eq!(insert(&mut s, 2, 1), Verdict::Stale);
        assert_eq!(insert(&mut s, 2, 2), Verdict::New);
    }

    #[test]
    fn jumps_are_bounded_for_relayed_copies_only() {
        let mut s = Streams::default();
        assert_eq!(insert(&mut s, 1, 5), Verdict::New);
        assert_eq!(insert(&mut s, 1, u64::MAX), Verdict::OutOfRange);
        assert_eq!(insert(&mut s, 1, 5 + 1_001), Verdict::OutOfRange);
        let mut gaps = Vec::new();
        assert_eq!(s.insert(Time::ZERO, key(1), 5 + 1_001, true, LIMITS, &mut gaps), Verdict::New);
        assert_eq!(gaps.len(), 1);
        assert_eq!((gaps[0].from, gaps[0].reason), (1, GapReason::WindowSkip));
        assert_eq!(insert(&mut s, 1, 1), Verdict::Duplicate);
    }

    #[test]
    fn holes_are_given_up_once_no_copy_can_arrive() {
        let mut s = Streams::default();
        let mut gaps = Vec::new();
        s.insert(Time::ZERO, key(1), 3, false, LIMITS, &mut gaps);
        s.expire(Time::from_millis(500), Duration::from_secs(1), Duration::from_secs(10), LIMITS, &mut gaps);
        assert!(gaps.is_empty());
        s.expire(Time::from_millis(1_500), Duration::from_secs(1), Duration::from_secs(10), LIMITS, &mut gaps);
        assert_eq!(
            gaps,
            vec![Gap { group: GroupId(1), origin: NodeId(1), from: 1, to: 2, reason: GapReason::Retention }]
        );
        assert_eq!(insert(&mut s, 1, 1), Verdict::Duplicate);
        // Idle: forgotten, floor kept.
        s.expire(Time::from_millis(20_000), Duration::from_secs(1), Duration::from_secs(10), LIMITS, &mut gaps);
        assert_eq!((s.len(), s.floor(&key(1))), (0, Some(3)));
        assert_eq!(gaps.len(), 1);
    }

    #[test]
    fn floors_are_capped_oldest_first() {
        let mut s = Streams::default();
        for origin in 1..=10 {
            insert(&mut s, origin, 1);
        }
        assert_eq!((s.len(), s.floors(), s.floors_dropped), (2, 3, 5));
        assert_eq!(s.floor(&key(8)), Some(1));
        assert_eq!(s.floor(&key(1)), None);
    }
}
