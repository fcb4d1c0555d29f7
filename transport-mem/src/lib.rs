//! An in-memory network for the gossip runtime, in real time.
//!
//! * [`net`]: [`MemNetwork`], an in-memory datagram network on tokio
//!   channels whose endpoints implement gossip-runtime's `Transport`, with
//!   faults changed at run time through a [`NetHandle`] and packets and
//!   bytes counted per link.
//! * the link model it applies ([`LinkModel`], from `gossip-sim`, whose
//!   virtual-time simulator applies the same rules): loss, latency (fixed,
//!   uniform, log-normal), crashes and restarts, partitions, and scripts of
//!   changes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
pub mod net;

pub use error::NetError;
pub use gossip_sim::LinkError;
pub use gossip_sim::link::{DropReason, FaultAction, Latency, LinkModel, Script, Verdict};
pub use net::{LinkStats, MemEndpoint, MemNetwork, NetConfig, NetHandle, NetStats};
