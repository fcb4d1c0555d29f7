//! Deterministic simulation for gossip protocols.
//!
//! * [`link`]: the link model shared by this crate, `transport-mem`'s
//!   in-memory network and `gossip-runtime`'s fault-injecting transport
//!   decorator: loss, latency (fixed, uniform, log-normal), duplication,
//!   reordering, crashes and restarts, partitions, and scripts of changes
//!   over time; [`SharedLink`] shares one model between threads.
//! * [`DueQueue`]: items due at given times, earliest first, the delay line
//!   of every user of the link model.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod due;
mod error;
pub mod link;

pub use due::DueQueue;
pub use error::LinkError;
pub use link::{DropReason, Fate, FaultAction, Latency, LinkModel, Script, SharedLink, Verdict};
