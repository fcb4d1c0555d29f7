//! Typed errors.

use thiserror::Error;

/// A link-model parameter was out of range.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum LinkError {
    /// Loss must be a probability.
    #[error("loss probability {0} is not in 0.0..=1.0")]
    InvalidLoss(f64),
    /// A latency distribution's parameters are inconsistent.
    #[error("invalid latency: {0}")]
    InvalidLatency(&'static str),
}
