//! Typed errors.

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
