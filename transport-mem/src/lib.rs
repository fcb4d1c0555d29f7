//! An in-memory network for the gossip runtime.
//!
//! * [`net`]: [`MemNetwork`], an in-memory datagram network on tokio
//!   channels (real time, or virtual time under `tokio::time::pause`) whose
//!   endpoints implement gossip-runtime's `Transport`, with faults changed
//!   at run time through a [`NetHandle`] and packets and bytes counted per
//!   link.
//! * the link model it applies ([`LinkModel`], from `gossip-sim`, also
//!   applied by gossip-runtime's `FaultyTransport` and by gossip-sim's
//!   virtual-time simulator): loss, latency (fixed, uniform, log-normal),
//!   duplication, reordering, crashes and restarts, partitions, and scripts
//!   of changes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
pub mod net;

pub use error::NetError;
pub use gossip_sim::LinkError;
pub use gossip_sim::link::{DropReason, Fate, FaultAction, Latency, LinkModel, Script, SharedLink, Verdict};
pub use net::{LinkStats, MemEndpoint, MemNetwork, NetConfig, NetHandle, NetStats};
