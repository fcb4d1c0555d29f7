//! Typed errors: link-model parameters and simulator requests.

use thiserror::Error;

/// A link-model parameter was out of range.
#[derive(Clone, Debug, PartialEq, Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Loss must be a probability.
    #[error("loss probability {0} is not in 0.0..=1.0")]
    InvalidLoss(f64),
    /// A latency distribution's parameters are inconsistent.
    #[error("invalid latency: {0}")]
    InvalidLatency(&'static str),
    /// Duplication must be a probability.
    #[error("duplication probability {0} is not in 0.0..=1.0")]
    InvalidDuplicate(f64),
    /// Reordering must be a probability.
    #[error("reordering probability {0} is not in 0.0..=1.0")]
    InvalidReorder(f64),
    /// Reordering needs a positive window to hold packets back by.
    #[error("a reordering probability above zero needs a positive window")]
    ZeroReorderWindow,
}

/// The simulator refused a request.
#[derive(Clone, Debug, PartialEq, Error)]
#[non_exhaustive]
pub enum SimError {
    /// A node index past the end of the member list.
    #[error("no node {index} (the simulation has {nodes})")]
    NoSuchNode {
        /// The index asked for.
        index: u32,
        /// How many nodes there are.
        nodes: usize,
    },
    /// Something was scheduled before the current virtual time.
    #[error("cannot schedule at {at_us} us, the simulation is already at {now_us} us")]
    InThePast {
        /// Requested time, in microseconds.
        at_us: u64,
        /// Current time, in microseconds.
        now_us: u64,
    },
    /// A simulator setting is out of range.
    #[error("invalid simulator config: {0}")]
    InvalidConfig(&'static str),
    /// A link-model parameter is out of range.
    #[error(transparent)]
    Link(#[from] LinkError),
}
