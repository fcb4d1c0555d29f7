//! The link model shared by the simulator, the in-memory network and the
//! fault-injecting transport decorator: loss, latency, duplication,
//! reordering, slow nodes, crashed nodes and partitions, and scripts that
//! change them over time (`latency`, `script`, `shared` beside the model).
//!
//! Nodes are named by their index (`u32`), which is also their address in
//! both the simulator and `transport-mem`'s `MemNetwork`. A [`LinkModel`]
//! decides the fate of one packet with [`LinkModel::route`] (the packet
//! itself) or [`LinkModel::fate`] (the packet and the extra copy a
//! duplicating link makes). The simulator calls it with its seeded generator
//! in virtual time, the network and `gossip-runtime`'s `FaultyTransport`
//! with their own seeded generators under tokio's clock, so all three apply
//! exactly the same rules. [`SharedLink`] is one model shared between
//! threads and changed at run time.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::{Rng, RngCore};

use crate::error::LinkError;

mod latency;
mod script;
mod shared;

pub use latency::Latency;
pub(crate) use latency::micros;
pub use script::{FaultAction, Script};
pub use shared::SharedLink;

/// Why the link model dropped a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Random loss.
    Loss,
    /// Sender and receiver are on different sides of a partition.
    Partition,
    /// The sender is crashed.
    SenderDown,
    /// The receiver is crashed (when sent, or when the packet arrived).
    ReceiverDown,
    /// A bounded queue was full.
    QueueFull,
}

/// What happens to one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It arrives after this delay.
    Deliver(Duration),
    /// It is lost.
    Drop(DropReason),
}

/// What happens to one packet and to the extra copy a duplicating link
/// makes of it (see [`LinkModel::fate`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fate {
    /// The packet itself.
    pub verdict: Verdict,
    /// The delay of an extra copy, when the link duplicated the packet
    /// (only ever with a [`Verdict::Deliver`]).
    pub copy: Option<Duration>,
    /// How many of the deliveries (the packet and its copy) were held back
    /// by an extra delay so that later packets overtake them.
    pub reordered: u8,
}

impl Fate {
    /// The delay of every delivery: none when dropped, two when duplicated.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let first = match self.verdict {
            Verdict::Deliver(delay) => Some(delay),
            Verdict::Drop(_) => None,
        };
        first.into_iter().chain(self.copy)
    }
}

/// Link conditions between numbered nodes: one loss probability, one
/// latency distribution, one duplication and one reordering probability for
/// all links, which nodes are crashed, and which side of a partition each
/// node is on.
#[derive(Clone, Debug, Default)]
pub struct LinkModel {
    loss: f64,
    latency: Latency,
    duplicate: f64,
    reorder: f64,
    reorder_window: Duration,
    /// Bit set of crashed nodes, grown on demand.
    down: Vec<u64>,
    down_count: usize,
    /// Partition side per node; empty when not partitioned, and nodes past
    /// the end are on side 0.
    sides: Vec<u32>,
    /// Extra delay of every packet to each slow node (none until a node is
    /// made slow).
    slow: BTreeMap<u32, Duration>,
}

impl LinkModel {
    /// A perfect network: no loss, no delay, nobody crashed.
    pub fn new() -> Self {
        Self::default()
    }

    /// This model with loss probability `loss`.
    pub fn with_loss(mut self, loss: f64) -> Result<Self, LinkError> {
        self.set_loss(loss)?;
        Ok(self)
    }

    /// This model with latency `latency`.
    pub fn with_latency(mut self, latency: Latency) -> Result<Self, LinkError> {
        self.set_latency(latency)?;
        Ok(self)
    }

    /// This model duplicating a delivered packet with probability `duplicate`.
    pub fn with_duplicate(mut self, duplicate: f64) -> Result<Self, LinkError> {
        self.set_duplicate(duplicate)?;
        Ok(self)
    }

    /// This model holding back a delivery with probability `reorder` by an
    /// extra delay drawn uniformly from `1 µs..=window`.
    pub fn with_reorder(mut self, reorder: f64, window: Duration) -> Result<Self, LinkError> {
        self.set_reorder(reorder, window)?;
        Ok(self)
    }

    /// The loss probability.
    pub fn loss(&self) -> f64 {
        self.loss
    }

    /// The duplication probability.
    pub fn duplicate(&self) -> f64 {
        self.duplicate
    }

    /// The reordering probability and the largest extra delay.
    pub fn reorder(&self) -> (f64, Duration) {
        (self.reorder, self.reorder_window)
    }

    /// The latency distribution.
    pub fn latency(&self) -> &Latency {
        &self.latency
    }

    /// Sets the loss probability (`0.0..=1.0`).
    pub fn set_loss(&mut self, loss: f64) -> Result<(), LinkError> {
        if !(0.0..=1.0).contains(&loss) {
            return Err(LinkError::InvalidLoss(loss));
        }
        self.loss = loss;
        Ok(())
    }

    /// Sets the latency distribution.
    pub fn set_latency(&mut self, latency: Latency) -> Result<(), LinkError> {
        latency.validate()?;
        self.latency = latency;
        Ok(())
    }

    /// Sets the probability (`0.0..=1.0`) that a delivered packet arrives twice.
    pub fn set_duplicate(&mut self, duplicate: f64) -> Result<(), LinkError> {
        if !(0.0..=1.0).contains(&duplicate) {
            return Err(LinkError::InvalidDuplicate(duplicate));
        }
        self.duplicate = duplicate;
        Ok(())
    }

    /// Sets the probability (`0.0..=1.0`) that a delivery is held back by an
    /// extra delay of up to `window` (which must be positive when the
    /// probability is).
    pub fn set_reorder(&mut self, reorder: f64, window: Duration) -> Result<(), LinkError> {
        if !(0.0..=1.0).contains(&reorder) {
            return Err(LinkError::InvalidReorder(reorder));
        }
        if reorder > 0.0 && window.is_zero() {
            return Err(LinkError::ZeroReorderWindow);
        }
        self.reorder = reorder;
        self.reorder_window = window;
        Ok(())
    }

    /// Whether `node` is up (not crashed).
    pub fn is_up(&self, node: u32) -> bool {
        let (word, bit) = ((node / 64) as usize, node % 64);
        self.down.get(word).is_none_or(|w| w & (1 << bit) == 0)
    }

    /// How many nodes are crashed.
    pub fn down_count(&self) -> usize {
        self.down_count
    }

    /// Crashes `node`; returns whether it was up.
    pub fn crash(&mut self, node: u32) -> bool {
        let (word, bit) = ((node / 64) as usize, node % 64);
        if word >= self.down.len() {
            self.down.resize(word + 1, 0);
        }
        let was_up = self.down[word] & (1 << bit) == 0;
        self.down[word] |= 1 << bit;
        self.down_count += usize::from(was_up);
        was_up
    }

    /// Restarts `node`; returns whether it was crashed.
    pub fn restart(&mut self, node: u32) -> bool {
        let (word, bit) = ((node / 64) as usize, node % 64);
        let Some(w) = self.down.get_mut(word) else { return false };
        let was_down = *w & (1 << bit) != 0;
        *w &= !(1 << bit);
        self.down_count -= usize::from(was_down);
        was_down
    }

    /// Partitions the network into `sets` (plus the side of nodes in no set).
    pub fn partition(&mut self, sets: &[Vec<u32>]) {
        self.sides.clear();
        for (i, set) in sets.iter().enumerate() {
            let side = u32::try_from(i + 1).unwrap_or(u32::MAX);
            for &node in set {
                let at = node as usize;
                if at >= self.sides.len() {
                    self.sides.resize(at + 1, 0);
                }
                self.sides[at] = side;
            }
        }
    }

    /// Makes `node` slow: every packet delivered to it takes `delay` more
    /// (an overloaded host, a long queue in front of it), so whatever it
    /// answers leaves that much later too; `Duration::ZERO` makes it
    /// normal again. Draws nothing from the generator.
    pub fn set_slow(&mut self, node: u32, delay: Duration) {
        if delay.is_zero() {
            self.slow.remove(&node);
        } else {
            self.slow.insert(node, delay);
        }
    }

    /// This model with `node` slow by `delay` (see [`LinkModel::set_slow`]).
    pub fn with_slow(mut self, node: u32, delay: Duration) -> Self {
        self.set_slow(node, delay);
        self
    }

    /// The extra delay of every packet to `node` (zero unless it is slow).
    pub fn slowness(&self, node: u32) -> Duration {
        self.slow.get(&node).copied().unwrap_or_default()
    }

    /// Removes the partition.
    pub fn heal(&mut self) {
        self.sides = Vec::new();
    }

    /// Whether a partition is in place.
    pub fn is_partitioned(&self) -> bool {
        !self.sides.is_empty()
    }

    /// Whether `a` and `b` are on the same side of the partition (always,
    /// when there is none).
    pub fn connected(&self, a: u32, b: u32) -> bool {
        self.side(a) == self.side(b)
    }

    fn side(&self, node: u32) -> u32 {
        self.sides.get(node as usize).copied().unwrap_or(0)
    }

    /// Applies one action.
    pub fn apply(&mut self, action: &FaultAction) -> Result<(), LinkError> {
        match action {
            FaultAction::Crash(nodes) => nodes.iter().for_each(|&n| {
                self.crash(n);
            }),
            FaultAction::Restart(nodes) => nodes.iter().for_each(|&n| {
                self.restart(n);
            }),
            FaultAction::Partition(sets) => self.partition(sets),
            FaultAction::Heal => self.heal(),
            FaultAction::SetLoss(loss) => self.set_loss(*loss)?,
            FaultAction::SetLatency(latency) => self.set_latency(latency.clone())?,
            FaultAction::Slow { node, delay } => self.set_slow(*node, *delay),
        }
        Ok(())
    }

    /// Decides the fate of a packet from `from` to `to`, without its
    /// duplicate (see [`LinkModel::fate`]): crashed ends and partitions
    /// first, then random loss, then the delay (latency, plus a hold-back
    /// when the packet is reordered).
    ///
    /// A probability at zero draws nothing from `rng`, so adding knobs to
    /// the model does not change the runs of models that leave them off.
    pub fn route(&self, from: u32, to: u32, rng: &mut impl RngCore) -> Verdict {
        match self.pass(from, to, rng) {
            Err(reason) => Verdict::Drop(reason),
            Ok(()) => Verdict::Deliver(self.delay(rng).0 + self.slowness(to)),
        }
    }

    /// Decides the fate of a packet from `from` to `to` and of its
    /// duplicate: [`LinkModel::route`], then, for a delivered packet, with
    /// the duplication probability, an extra copy with a delay of its own.
    pub fn fate(&self, from: u32, to: u32, rng: &mut impl RngCore) -> Fate {
        if let Err(reason) = self.pass(from, to, rng) {
            return Fate { verdict: Verdict::Drop(reason), copy: None, reordered: 0 };
        }
        let slow = self.slowness(to);
        let (delay, held_back) = self.delay(rng);
        let delay = delay + slow;
        let mut fate = Fate { verdict: Verdict::Deliver(delay), copy: None, reordered: u8::from(held_back) };
        if self.duplicate > 0.0 && rng.random::<f64>() < self.duplicate {
            let (delay, held_back) = self.delay(rng);
            fate.copy = Some(delay + slow);
            fate.reordered += u8::from(held_back);
        }
        fate
    }

    /// Whether the packet survives crashes, partitions and loss.
    fn pass(&self, from: u32, to: u32, rng: &mut impl RngCore) -> Result<(), DropReason> {
        if self.down_count > 0 {
            if !self.is_up(from) {
                return Err(DropReason::SenderDown);
            }
            if !self.is_up(to) {
                return Err(DropReason::ReceiverDown);
            }
        }
        if !self.sides.is_empty() && !self.connected(from, to) {
            return Err(DropReason::Partition);
        }
        if self.loss > 0.0 && rng.random::<f64>() < self.loss {
            return Err(DropReason::Loss);
        }
        Ok(())
    }

    /// One delivery's delay, and whether it was held back to reorder it.
    fn delay(&self, rng: &mut impl RngCore) -> (Duration, bool) {
        let latency = self.latency.sample(rng);
        if self.reorder > 0.0 && rng.random::<f64>() < self.reorder {
            let window = micros(self.reorder_window).max(1);
            (latency + Duration::from_micros(rng.random_range(1..=window)), true)
        } else {
            (latency, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gossip_core::Time;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn crashes_partitions_and_loss() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut link = LinkModel::new();
        assert_eq!(link.route(0, 1, &mut rng), Verdict::Deliver(Duration::ZERO));
        assert!(link.crash(130));
        assert!(!link.crash(130));
        assert_eq!(link.route(130, 1, &mut rng), Verdict::Drop(DropReason::SenderDown));
        assert_eq!(link.route(1, 130, &mut rng), Verdict::Drop(DropReason::ReceiverDown));
        assert!(link.restart(130) && !link.restart(130) && !link.restart(9_999));
        assert_eq!(link.down_count(), 0);
        link.partition(&[vec![0, 1], vec![2]]);
        assert_eq!(link.route(0, 2, &mut rng), Verdict::Drop(DropReason::Partition));
        assert_eq!(link.route(0, 3, &mut rng), Verdict::Drop(DropReason::Partition));
        assert!(link.connected(3, 4) && link.connected(0, 1));
        link.heal();
        assert!(link.connected(0, 2));
        link.set_loss(1.0).unwrap();
        assert_eq!(link.route(0, 1, &mut rng), Verdict::Drop(DropReason::Loss));
        assert!(link.set_loss(1.5).is_err() && link.set_loss(f64::NAN).is_err());
    }

    #[test]
    fn a_slow_node_gets_every_packet_late_and_draws_nothing() {
        let latency = Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(5) };
        let slow = Duration::from_millis(200);
        let plain = LinkModel::new().with_latency(latency.clone()).unwrap().with_duplicate(1.0).unwrap();
        let link = plain.clone().with_slow(7, slow);
        let (mut a, mut b) = (SmallRng::seed_from_u64(4), SmallRng::seed_from_u64(4));
        for _ in 0..50 {
            let (late, normal) = (link.fate(1, 7, &mut a), plain.fate(1, 7, &mut b));
            let delays: Vec<Duration> = normal.delays().map(|d| d + slow).collect();
            assert_eq!(late.delays().collect::<Vec<_>>(), delays);
            assert_eq!(link.route(7, 1, &mut a), plain.route(7, 1, &mut b), "only packets to it");
        }
        let mut link = link;
        link.apply(&FaultAction::Slow { node: 7, delay: Duration::ZERO }).unwrap();
        assert_eq!(link.slowness(7), Duration::ZERO);
    }

    #[test]
    fn latency_distributions_stay_in_range() {
        let mut rng = SmallRng::seed_from_u64(2);
        let uniform = Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(3) };
        for _ in 0..1000 {
            let d = uniform.sample(&mut rng);
            assert!(d >= Duration::from_millis(1) && d <= Duration::from_millis(3));
        }
        let ln = Latency::LogNormal { median: Duration::from_millis(10), sigma: 0.5 };
        let mut draws: Vec<Duration> = (0..10_001).map(|_| ln.sample(&mut rng)).collect();
        draws.sort();
        let median = draws[5_000].as_secs_f64() * 1e3;
        assert!((9.0..11.0).contains(&median), "median {median} ms");
        assert!(Latency::Uniform { min: Duration::from_millis(2), max: Duration::ZERO }.validate().is_err());
        assert!(Latency::LogNormal { median: Duration::ZERO, sigma: -1.0 }.validate().is_err());
    }

    #[test]
    fn duplication_and_reordering_follow_their_probabilities() {
        let latency = Latency::Fixed(Duration::from_millis(5));
        let window = Duration::from_millis(2);
        let link = LinkModel::new()
            .with_latency(latency.clone())
            .unwrap()
            .with_duplicate(0.25)
            .unwrap()
            .with_reorder(0.5, window)
            .unwrap();
        let mut rng = SmallRng::seed_from_u64(3);
        let (mut copies, mut held_back, mut deliveries) = (0, 0u32, 0);
        for _ in 0..4_000 {
            let fate = link.fate(0, 1, &mut rng);
            copies += usize::from(fate.copy.is_some());
            held_back += u32::from(fate.reordered);
            for delay in fate.delays() {
                deliveries += 1;
                assert!(delay >= Duration::from_millis(5) && delay <= Duration::from_millis(7), "{delay:?}");
            }
        }
        assert!((800..1_200).contains(&copies), "{copies} copies of 4000 at p = 0.25");
        assert_eq!(deliveries, 4_000 + copies);
        let share = f64::from(held_back) / deliveries as f64;
        assert!((0.45..0.55).contains(&share), "held back {share} of deliveries at p = 0.5");
        // Dropped packets have no copy.
        let mut dead = link.clone();
        dead.crash(1);
        let fate = dead.fate(0, 1, &mut rng);
        assert_eq!((fate.verdict, fate.delays().count()), (Verdict::Drop(DropReason::ReceiverDown), 0));
        assert_eq!(LinkModel::new().with_duplicate(1.1).err(), Some(LinkError::InvalidDuplicate(1.1)));
        assert_eq!(LinkModel::new().with_reorder(0.1, Duration::ZERO).err(), Some(LinkError::ZeroReorderWindow));
    }

    #[test]
    fn knobs_left_off_draw_nothing() {
        // route on a model with duplication and reordering off draws exactly
        // what it drew before they existed: loss, then the latency.
        let link = LinkModel::new()
            .with_loss(0.3)
            .unwrap()
            .with_latency(Latency::Uniform { min: Duration::ZERO, max: Duration::from_millis(9) })
            .unwrap();
        let (mut a, mut b) = (SmallRng::seed_from_u64(4), SmallRng::seed_from_u64(4));
        for _ in 0..1_000 {
            let expected = if b.random::<f64>() < 0.3 {
                Verdict::Drop(DropReason::Loss)
            } else {
                Verdict::Deliver(link.latency().sample(&mut b))
            };
            assert_eq!(link.fate(0, 1, &mut a).verdict, expected);
        }
    }

    #[test]
    fn a_shared_link_is_one_model() {
        let shared = SharedLink::new(LinkModel::new());
        let other = shared.clone();
        assert!(other.crash(4));
        let mut rng = SmallRng::seed_from_u64(5);
        assert_eq!(shared.route(4, 0, &mut rng), Verdict::Drop(DropReason::SenderDown));
        assert!(!shared.is_up(4) && shared.restart(4) && other.is_up(4));
        assert!(shared.set_loss(2.0).is_err());
        shared.apply(&FaultAction::SetLoss(1.0)).unwrap();
        assert_eq!(other.snapshot().loss(), 1.0);
    }

    #[test]
    fn scripts_stay_sorted() {
        let s = Script::new()
            .at(Time::from_millis(5), FaultAction::Heal)
            .at(Time::from_millis(1), FaultAction::Crash(vec![1]))
            .at(Time::from_millis(5), FaultAction::SetLoss(0.1));
        let times: Vec<u64> = s.steps().iter().map(|(t, _)| t.as_micros()).collect();
        assert_eq!(times, vec![1_000, 5_000, 5_000]);
        assert_eq!(s.steps()[2].1, FaultAction::SetLoss(0.1));
        assert!(Script::new().at(Time::ZERO, FaultAction::SetLoss(2.0)).validate().is_err());
    }
}
