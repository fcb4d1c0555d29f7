//! An in-memory network and a deterministic simulator for gossip protocols.
//!
//! * [`sim`]: a discrete-event simulator in virtual time, single-threaded and
//!   seeded, that drives any [`gossip_core::Protocol`] directly, scales to a
//!   million nodes sharing one member list, and records per message when and
//!   at which hop every node delivered it.
//! * [`net`]: [`MemNetwork`], an in-memory datagram network on tokio
//!   channels (real time, or virtual time under `tokio::time::pause`) whose
//!   endpoints implement gossip-runtime's `Transport`, with faults changed
//!   at run time through a [`NetHandle`] and packets and bytes counted per
//!   link.
//! * the link model both use ([`LinkModel`], from `gossip-sim`, also
//!   applied by gossip-runtime's `FaultyTransport`): loss, latency (fixed,
//!   uniform, log-normal), duplication, reordering, crashes and restarts,
//!   partitions, and scripts of changes.
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use gossip_core::{Config, GroupId, Lifetime, Mode, Time};
//! use transport_mem::sim::{SimConfig, Simulator, Stop};
//!
//! // The textbook model: push, fan-out 2, synchronous rounds, 1,000 nodes.
//! let engine = Config::builder()
//!     .mode(Mode::Push)
//!     .fanout(2)
//!     .eager_push(false)
//!     .lifetime(Lifetime::Rounds(1_000))
//!     .period(Duration::from_secs(1))
//!     .build()?;
//! let group = GroupId(1);
//! let mut sim = Simulator::gossip(SimConfig::rounds(7, Duration::from_secs(1)), engine, 1_000, group)?;
//! let msg = sim.multicast(Time::ZERO, 0, group, Bytes::from_static(b"hello"))?;
//! let outcome = sim.run();
//! assert_eq!(outcome.stop, Stop::AllDelivered);
//! let record = sim.message(msg).unwrap();
//! assert_eq!(record.holders, 1_000);
//! println!("everyone informed after {} rounds", record.rounds_to_all().unwrap());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
pub mod net;
pub mod sim;

pub use error::{NetError, SimError};
pub use gossip_sim::LinkError;
pub use gossip_sim::link::{DropReason, Fate, FaultAction, Latency, LinkModel, Script, SharedLink, Verdict};
pub use net::{LinkStats, MemEndpoint, MemNetwork, NetConfig, NetHandle, NetStats};
