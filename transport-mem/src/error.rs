//! Typed errors.

use gossip_sim::LinkError;
use thiserror::Error;

/// The simulator refused a request.
#[derive(Clone, Debug, PartialEq, Error)]
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

/// The in-memory network refused a request.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum NetError {
    /// The address is already bound to an endpoint.
    #[error("address {0} is already bound")]
    AddressInUse(u32),
    /// A network setting is out of range.
    #[error("invalid network config: {0}")]
    InvalidConfig(&'static str),
    /// A link-model parameter is out of range.
    #[error(transparent)]
    Link(#[from] LinkError),
}
