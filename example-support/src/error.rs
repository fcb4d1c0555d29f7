//! The one error type of this crate.

use thiserror::Error;

/// Why a chat or a measurement stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SupportError {
    /// The runtime refused a request or has shut down.
    #[error(transparent)]
    Runtime(#[from] gossip_runtime::RuntimeError),
    /// The runtime could not be started.
    #[error(transparent)]
    Build(#[from] gossip_runtime::BuildError),
    /// The engine configuration is invalid.
    #[error(transparent)]
    Config(#[from] gossip_core::ConfigError),
    /// Reading stdin failed.
    #[error("reading stdin: {0}")]
    Stdin(#[source] std::io::Error),
    /// The receiver never delivered the first message.
    #[error("the receiver delivered nothing within {0:?}: the two nodes did not connect")]
    NoContact(std::time::Duration),
}
