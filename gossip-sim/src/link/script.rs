//! Changes to the link model: one [`FaultAction`], and a [`Script`] of them
//! at given times.

use std::time::Duration;

use gossip_core::Time;

use super::{Latency, LinkModel};
use crate::error::LinkError;

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
    /// Makes one node slow: every packet to it takes `delay` more
    /// (`Duration::ZERO`: normal again; see [`LinkModel::set_slow`]).
    Slow {
        /// The node.
        node: u32,
        /// The extra delay.
        delay: Duration,
    },
}

/// Fault actions to apply at given times, for the simulator (virtual time)
/// or a [`SharedLink`](super::SharedLink) driven by `gossip-runtime`'s `run_script` (tokio's
/// clock, counted from the start of the script).
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
