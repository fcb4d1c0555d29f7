//! How long a packet takes: fixed, uniform or log-normal delays.

use std::time::Duration;

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

/// A duration in whole microseconds, saturating.
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
