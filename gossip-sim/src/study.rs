//! Membership studies: N gossip-core nodes with gossiped membership join
//! through a few seeds in bulk, then meet one fault (crashes, loss, a slow
//! member, a partition and heal), and the run is summed up from the
//! tracked views ([`ViewRecord`]) in one [`StudyReport`].

use std::time::Duration;

use gossip_core::{Config, GroupId, Time};

use crate::config::SimConfig;
use crate::error::SimError;
use crate::link::{FaultAction, Latency, LinkModel};
use crate::simulator::Simulator;
use crate::views::{CrashRecord, ViewRecord};

/// The fault a study meets after its warm-up.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StudyFault {
    /// None: the join and the idle periods after it.
    None,
    /// This fraction of the nodes (never a seed) crashes at once.
    Crash {
        /// In `[0, 1)`.
        fraction: f64,
    },
    /// Every packet is lost with this probability from then on.
    Loss {
        /// In `[0, 1]`.
        loss: f64,
    },
    /// One member (the last node) becomes slow: every packet sent to it
    /// takes this many periods more (so its answers come that much later).
    Slow {
        /// Extra delay, in periods.
        periods: u32,
    },
    /// The nodes split into two halves for this many periods, then heal.
    Partition {
        /// How long the partition lasts, in periods.
        periods: u32,
    },
}

/// One membership study. Start from [`Study::join`] and adjust the fields.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Study {
    /// Nodes.
    pub nodes: u32,
    /// The seeds every node joins through (node indices).
    pub seeds: Vec<u32>,
    /// The engine config of every node.
    pub engine: Config,
    /// Periods (of `engine.period()`) simulated in all.
    pub periods: u32,
    /// The period at which the fault starts.
    pub fault_at: u32,
    /// The fault.
    pub fault: StudyFault,
    /// Link latency.
    pub latency: Latency,
    /// The simulation's seed.
    pub seed: u64,
    /// Threads to run on ([`SimConfig::threads`]: the same report on any
    /// number, only faster).
    pub threads: usize,
}

impl Study {
    /// `nodes` nodes with `engine` joining through nodes 0, 1 and 2 at time
    /// zero, for `periods` periods, no fault (a fault set later starts at
    /// half the periods), 1 ms links, one thread.
    pub fn join(nodes: u32, engine: Config, periods: u32, seed: u64) -> Self {
        Study {
            nodes,
            seeds: (0..nodes.min(3)).collect(),
            engine,
            periods,
            fault_at: periods / 2,
            fault: StudyFault::None,
            latency: Latency::Fixed(Duration::from_millis(1)),
            seed,
            threads: 1,
        }
    }

    /// Builds the simulator with every fault scheduled, and runs it.
    pub fn run(&self) -> Result<StudyReport, SimError> {
        let period = self.engine.period();
        let mut config = SimConfig::events(self.seed, period);
        config.link = LinkModel::new().with_latency(self.latency.clone())?;
        config.max_rounds = self.periods;
        config.threads = self.threads;
        let group = GroupId(1);
        let mut sim = Simulator::gossip_joining(config, self.engine.clone(), self.nodes, group, &self.seeds)?;
        let at = |periods: u32| Time::ZERO + period * periods;
        let fault_at = at(self.fault_at);
        let mut crashed = 0;
        match &self.fault {
            StudyFault::None => {}
            StudyFault::Crash { fraction } => {
                let count = (fraction * f64::from(self.nodes)).round() as u32;
                let victims: Vec<u32> =
                    (0..self.nodes).rev().filter(|i| !self.seeds.contains(i)).take(count as usize).collect();
                crashed = victims.len() as u32;
                sim.schedule(fault_at, FaultAction::Crash(victims))?;
            }
            StudyFault::Loss { loss } => sim.schedule(fault_at, FaultAction::SetLoss(*loss))?,
            StudyFault::Partition { periods } => {
                let half = self.nodes / 2;
                sim.schedule(
                    fault_at,
                    FaultAction::Partition(vec![(0..half).collect(), (half..self.nodes).collect()]),
                )?;
                sim.schedule(at(self.fault_at + periods), FaultAction::Heal)?;
            }
            StudyFault::Slow { .. } => {}
        }
        if let StudyFault::Slow { periods } = self.fault {
            sim.run_until(fault_at);
            sim.set_slow(self.nodes - 1, period * periods)?;
        }
        let outcome = sim.run_until(at(self.periods));
        let stats = sim.stats();
        let views = sim.views().cloned().unwrap_or_default();
        let fault_end = match self.fault {
            StudyFault::Partition { periods } => self.fault_at + periods,
            _ => self.fault_at,
        };
        let late: u64 = sim.rounds().iter().filter(|r| r.round > fault_end).map(|r| r.membership_bytes).sum();
        let bytes = Bytes { all: stats.bytes_sent, membership: stats.membership_bytes, membership_after_fault: late };
        Ok(StudyReport::new(self, &views, outcome.rounds, crashed, fault_end, bytes))
    }
}

/// What a study found. Times are in periods.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct StudyReport {
    /// Periods simulated.
    pub periods: u32,
    /// Live nodes at the end.
    pub live: u32,
    /// The first period at whose end every live node's view was complete.
    pub all_complete: Option<u32>,
    /// Live nodes with a complete view at the end.
    pub complete_at_end: u32,
    /// Periods from the end of the fault (the heal, for a partition; the
    /// start, otherwise) until every live view was complete again.
    pub complete_after_fault: Option<u32>,
    /// Suspicions of members that were up.
    pub false_suspicions: u64,
    /// Deaths (`MemberDown` for failure) of members that were up.
    pub false_deaths: u64,
    /// Nodes crashed.
    pub crashed: u32,
    /// Crashed nodes some live node suspected or declared down.
    pub detected: u32,
    /// Mean periods from a crash to its first detection, over detected ones.
    pub first_detection_mean: Option<f64>,
    /// Most periods from a crash to its first detection.
    pub first_detection_max: Option<f64>,
    /// Crashed nodes no live node believes up any more.
    pub removed: u32,
    /// Most periods from a crash until no live node believed it up.
    pub removed_max: Option<f64>,
    /// Most periods from a crashed node's first suspicion until no live
    /// node believed it up (the suspicion timeout plus the spreading of the
    /// deaths, without the time to the first probe).
    pub removed_after_suspicion_max: Option<f64>,
    /// Most periods from the first live node declaring a crashed node down
    /// until no live node believed it up (how long the news took to spread).
    pub removed_after_first_down_max: Option<f64>,
    /// Live views that still believe some crashed node up at the end.
    pub still_believed: u32,
    /// Of these, the ones that suspect it (a suspicion timer still running;
    /// the others never heard of the crash).
    pub still_suspected: u32,
    /// Membership bytes sent per live node per period.
    pub membership_bytes_per_node_period: f64,
    /// All bytes sent per live node per period.
    pub bytes_per_node_period: f64,
    /// Membership bytes sent per live node per period after the fault
    /// ended (for a join alone, over its second half: the idle cluster,
    /// without the join's one-off table transfers).
    pub membership_bytes_per_node_period_after_fault: f64,
}

/// Bytes a study's nodes sent.
struct Bytes {
    all: u64,
    membership: u64,
    /// Membership bytes in the rounds after the fault ended.
    membership_after_fault: u64,
}

impl StudyReport {
    fn new(study: &Study, views: &ViewRecord, periods: u32, crashed: u32, fault_end: u32, bytes: Bytes) -> Self {
        let period = study.engine.period().as_micros().max(1) as f64;
        let since = |from: Time, to: Time| to.saturating_duration_since(from).as_micros() as f64 / period;
        let detections: Vec<f64> =
            views.crashes.iter().filter_map(|c| c.first_suspected.map(|at| since(c.at, at))).collect();
        let removals: Vec<f64> =
            views.crashes.iter().filter_map(|c| c.removed_from_all.map(|at| since(c.at, at))).collect();
        let removals_after = |from: fn(&CrashRecord) -> Option<Time>| -> Vec<f64> {
            views.crashes.iter().filter_map(|c| Some(since(from(c)?, c.removed_from_all?))).collect()
        };
        let after_suspicion = removals_after(|c| c.first_suspected);
        let after_first_down = removals_after(|c| c.first_down);
        let max = |v: &[f64]| v.iter().copied().reduce(f64::max);
        let live = views.live_by_round.last().copied().unwrap_or(study.nodes);
        let node_periods = f64::from(live.max(1)) * f64::from(periods.max(1));
        StudyReport {
            periods,
            live,
            all_complete: views.first_all_complete,
            complete_at_end: views.complete_by_round.last().copied().unwrap_or(0),
            complete_after_fault: views.all_complete_from(fault_end + 1).map(|r| r - fault_end),
            false_suspicions: views.false_suspicions,
            false_deaths: views.false_deaths,
            crashed,
            detected: detections.len() as u32,
            first_detection_mean: (!detections.is_empty())
                .then(|| detections.iter().sum::<f64>() / detections.len() as f64),
            first_detection_max: max(&detections),
            removed: removals.len() as u32,
            removed_max: max(&removals),
            removed_after_suspicion_max: max(&after_suspicion),
            removed_after_first_down_max: max(&after_first_down),
            still_believed: views.crashes.iter().map(|c| c.believers).sum(),
            still_suspected: views.crashes.iter().map(|c| c.suspecting).sum(),
            membership_bytes_per_node_period: bytes.membership as f64 / node_periods,
            bytes_per_node_period: bytes.all as f64 / node_periods,
            membership_bytes_per_node_period_after_fault: bytes.membership_after_fault as f64
                / (f64::from(live.max(1)) * f64::from(periods.saturating_sub(fault_end).max(1))),
        }
    }
}
