//! Why building the runtime or calling a [`Handle`](crate::Handle) failed.

use gossip_core::{MetaError, MulticastError, SubscribeError};
use thiserror::Error;

/// Why the runtime could not be built.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The engine would build packets the transport cannot carry.
    #[error("engine packets of up to {engine} bytes exceed the transport's maximum of {transport}")]
    PacketTooLarge {
        /// The largest packet the engine may build (`Config::max_wire_size`).
        engine: usize,
        /// The transport's maximum.
        transport: usize,
    },
    /// The transport cannot carry the smallest packet the engine allows.
    #[error("transport maximum packet size {0} is below the engine minimum")]
    TransportTooSmall(usize),
    /// [`Builder::spawn`] was called outside a tokio runtime.
    #[error("not inside a tokio runtime")]
    NoRuntime,
    /// A capacity was zero.
    #[error("{0} must be at least 1")]
    ZeroCapacity(&'static str),
    /// The node's metadata was refused.
    #[error("invalid node metadata: {0}")]
    Meta(MetaError),
}

/// Why a [`Handle`] call failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The engine refused the multicast.
    #[error(transparent)]
    Multicast(#[from] MulticastError),
    /// The engine refused the subscription.
    #[error(transparent)]
    Subscribe(#[from] SubscribeError),
    /// The engine refused the metadata.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The runtime has shut down.
    #[error("the runtime has shut down")]
    Closed,
    /// No member answered within this time after joining
    /// ([`Handle::join_within`](crate::Handle::join_within)).
    #[error("no member answered within {0:?}")]
    NotJoined(std::time::Duration),
}

/// Why [`Handle::try_multicast`](crate::Handle::try_multicast) did not queue
/// a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TryMulticastError {
    /// The command queue is full: the node is behind. Back off and retry.
    #[error("the node's command queue is full")]
    Full,
    /// The runtime has shut down.
    #[error("the runtime has shut down")]
    Closed,
}
