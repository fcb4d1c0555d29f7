//! How a simulation runs: the timing model, the network's initial
//! conditions and the caps.

use std::time::Duration;

#[cfg(doc)]
use gossip_core::TransmitKind;

use crate::error::SimError;
#[cfg(doc)]
use crate::link::DropReason;
use crate::link::LinkModel;

/// How virtual time advances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timing {
    /// Synchronous rounds: every node ticks at `k·period`; packets of a
    /// round arrive before the next tick.
    Rounds,
    /// Discrete events: timers when each node asks, packets after the
    /// link's latency.
    Events {
        /// Start each node's first round at a uniformly random offset in
        /// `[0, period)` instead of all at time zero.
        start_jitter: bool,
    },
}

/// Simulator settings. Start from [`SimConfig::rounds`] or
/// [`SimConfig::events`] and adjust the public fields.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SimConfig {
    /// Seeds the start jitter, each sending node's link draws and, through
    /// [`Spawn::seed`](crate::Spawn::seed), every node's generator.
    pub seed: u64,
    /// How time advances.
    pub timing: Timing,
    /// Round length: the tick spacing in [`Timing::Rounds`], the width of a
    /// per-round record in [`Timing::Events`]. Should equal the protocol's
    /// gossip period.
    pub period: Duration,
    /// The network's initial conditions.
    pub link: LinkModel,
    /// Stop after this many rounds at the latest.
    pub max_rounds: u32,
    /// Most packets in flight at once; more are dropped and counted
    /// ([`DropReason::QueueFull`]).
    pub max_in_flight: usize,
    /// In [`Timing::Rounds`], deliver the packets the protocol marks
    /// [`TransmitKind::Request`] before the others sent in the same round,
    /// so that an answer reflects what the responder held at the start of
    /// the round (on by default).
    pub requests_first: bool,
    /// Track every node's view of the membership from its `MemberUp` and
    /// `MemberDown` events ([`ViewRecord`](crate::ViewRecord)): N² bits, so
    /// off by default; turn it on for gossiped-membership studies.
    pub track_views: bool,
    /// Threads the nodes run on in [`Timing::Events`] (1 by default; see
    /// the crate docs on lanes). Every count gives the same run, event for
    /// event: more threads only make it faster, and only while the link's
    /// smallest delay is at least a microsecond (time then advances in
    /// windows of that delay, within which the nodes' shares run apart).
    /// [`Timing::Rounds`] always runs on the calling thread.
    pub threads: usize,
}

impl SimConfig {
    /// Synchronous rounds of `period`, perfect links, at most 1,000 rounds.
    pub fn rounds(seed: u64, period: Duration) -> Self {
        SimConfig {
            seed,
            timing: Timing::Rounds,
            period,
            link: LinkModel::new(),
            max_rounds: 1_000,
            max_in_flight: 1 << 26,
            requests_first: true,
            track_views: false,
            threads: 1,
        }
    }

    /// Discrete events with rounds of `period` for the records, perfect
    /// links (zero latency: set [`SimConfig::link`]), start jitter on.
    pub fn events(seed: u64, period: Duration) -> Self {
        SimConfig { timing: Timing::Events { start_jitter: true }, ..SimConfig::rounds(seed, period) }
    }

    pub(crate) fn validate(&self) -> Result<(), SimError> {
        if self.period.is_zero() {
            return Err(SimError::InvalidConfig("period must be positive"));
        }
        if self.max_rounds == 0 {
            return Err(SimError::InvalidConfig("max_rounds must be positive"));
        }
        if self.threads == 0 {
            return Err(SimError::InvalidConfig("threads must be positive"));
        }
        if self.max_in_flight == 0 {
            return Err(SimError::InvalidConfig("max_in_flight must be positive"));
        }
        self.link.latency().validate()?;
        Ok(())
    }
}
