//! Deterministic simulation for gossip protocols.
//!
//! * [`link`]: the link model shared by this crate and `transport-mem`'s
//!   in-memory network: loss, latency (fixed, uniform, log-normal), crashes
//!   and restarts, partitions, and scripts of changes over time.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
pub mod link;

pub use error::LinkError;
pub use link::{DropReason, FaultAction, Latency, LinkModel, Script, Verdict};
