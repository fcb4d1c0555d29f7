//! The link model shared by the simulator and the in-memory network: loss,
//! latency, crashed nodes and partitions, and scripts that change them over
//! time.
//!
//! Nodes are named by their index (`u32`), which is also their address in
//! both the simulator and `transport-mem`'s `MemNetwork`. A [`LinkModel`]
//! decides the fate of one packet with [`LinkModel::route`]; the simulator
//! calls it with its seeded generator in virtual time, the network with its
//! own generator in real time, so both apply exactly the same rules.

use std::time::Duration;

use gossip_core::Time;
use rand::{Rng, RngCore};

use crate::error::LinkError;

/// How long a packet takes from sender to receiver.
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    /// Always the same delay.
    Fixed(Duration),
    /// Uniform between `min` and `max`, inclusive.
    Uniform {
        /// Shortest delay.
        min: Duration,
        /// Longest delay.
        max: Duration,
    },
    /// Log-normal: `median · e^(sigma·Z)` with `Z` standard normal, capped
    /// at [`Latency::LOG_NORMAL_CAP`] medians so one draw cannot stall a run.
    LogNormal {
        /// The median delay.
        median: Duration,
        /// Standard deviation of the delay's natural logarithm (0 gives `median`).
        sigma: f64,
    },
}

impl Default for Latency {
    /// No delay.
    fn default() -> Self {
        Latency::Fixed(Duration::ZERO)
    }
}

impl Latency {
    /// The longest log-normal draw, in medians.
    pub const LOG_NORMAL_CAP: f64 = 1_000.0;

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), LinkError> {
        match self {
            Latency::Fixed(_) => Ok(()),
            Latency::Uniform { min, max } if min <= max => Ok(()),
            Latency::Uniform { .. } => Err(LinkError::InvalidLatency("uniform latency needs min <= max")),
            Latency::LogNormal { sigma, .. } if sigma.is_finite() && *sigma >= 0.0 => Ok(()),
            Latency::LogNormal { .. } => Err(LinkError::InvalidLatency("log-normal sigma must be finite and >= 0")),
        }
    }

    /// Draws one delay.
    pub fn sample(&self, rng: &mut impl RngCore) -> Duration {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform { min, max } => {
                let (lo, hi) = (micros(min), micros(max));
                if lo >= hi { min } else { Duration::from_micros(rng.random_range(lo..=hi)) }
            }
            Latency::LogNormal { median, sigma } => {
                if sigma == 0.0 {
                    return median;
                }
                // Box–Muller: u1 in (0, 1] so the logarithm is finite.
                let u1: f64 = 1.0 - rng.random::<f64>();
                let u2: f64 = rng.random::<f64>();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let factor = (sigma * z).exp().min(Self::LOG_NORMAL_CAP);
                Duration::from_secs_f64(median.as_secs_f64() * factor)
            }
        }
    }

    /// The smallest delay this distribution can produce.
    pub fn min(&self) -> Duration {
        match *self {
            Latency::Fixed(d) => d,
            Latency::Uniform { min, .. } => min,
            Latency::LogNormal { .. } => Duration::ZERO,
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

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

/// One change to the link model, as a script step or a run-time command.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// These nodes crash: they send and receive nothing until restarted.
    /// In the simulator their state is discarded.
    Crash(Vec<u32>),
    /// These nodes come back. In the simulator each gets a fresh protocol
    /// instance (a new identity, empty state).
    Restart(Vec<u32>),
    /// Splits the network: the nodes of each set can only reach nodes of the
    /// same set; nodes in no set form one more side together. Replaces any
    /// earlier partition.
    Partition(Vec<Vec<u32>>),
    /// Removes the partition.
    Heal,
    /// Sets the loss probability of every link, in `0.0..=1.0`.
    SetLoss(f64),
    /// Sets the latency of every link.
    SetLatency(Latency),
}

/// Link conditions between numbered nodes: one loss probability and one
/// latency distribution for all links, which nodes are crashed, and which
/// side of a partition each node is on.
#[derive(Clone, Debug, Default)]
pub struct LinkModel {
    loss: f64,
    latency: Latency,
    /// Bit set of crashed nodes, grown on demand.
    down: Vec<u64>,
    down_count: usize,
    /// Partition side per node; empty when not partitioned, and nodes past
    /// the end are on side 0.
    sides: Vec<u32>,
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

    /// The loss probability.
    pub fn loss(&self) -> f64 {
        self.loss
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
        }
        Ok(())
    }

    /// Decides the fate of a packet from `from` to `to`: crashed ends and
    /// partitions first, then random loss, then the delay.
    pub fn route(&self, from: u32, to: u32, rng: &mut impl RngCore) -> Verdict {
        if self.down_count > 0 {
            if !self.is_up(from) {
                return Verdict::Drop(DropReason::SenderDown);
            }
            if !self.is_up(to) {
                return Verdict::Drop(DropReason::ReceiverDown);
            }
        }
        if !self.sides.is_empty() && !self.connected(from, to) {
            return Verdict::Drop(DropReason::Partition);
        }
        if self.loss > 0.0 && rng.random::<f64>() < self.loss {
            return Verdict::Drop(DropReason::Loss);
        }
        Verdict::Deliver(self.latency.sample(rng))
    }
}

/// Fault actions to apply at given times, for the simulator (virtual time)
/// or [`NetHandle::run_script`](crate::NetHandle::run_script) (real time
/// since the script started).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Script {
    steps: Vec<(Time, FaultAction)>,
}

impl Script {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `action` at `at`; steps at the same time keep their order.
    pub fn at(mut self, at: Time, action: FaultAction) -> Self {
        self.push(at, action);
        self
    }

    /// Adds `action` at `at`.
    pub fn push(&mut self, at: Time, action: FaultAction) {
        let pos = self.steps.partition_point(|(t, _)| *t <= at);
        self.steps.insert(pos, (at, action));
    }

    /// The steps, in time order.
    pub fn steps(&self) -> &[(Time, FaultAction)] {
        &self.steps
    }

    /// Checks every step's parameters.
    pub fn validate(&self) -> Result<(), LinkError> {
        let mut scratch = LinkModel::new();
        for (_, action) in &self.steps {
            match action {
                FaultAction::SetLoss(_) | FaultAction::SetLatency(_) => scratch.apply(action)?,
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
