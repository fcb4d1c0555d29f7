//! Typed errors.

use gossip_sim::LinkError;
use thiserror::Error;

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
