//! A sans-IO gossip multicast engine.
//!
//! [`Node`] is a pure state machine in the style of `quinn-proto`: the
//! driver feeds it packets, timeouts and user calls with the current
//! [`Time`], and drains the packets to send and the events (deliveries,
//! membership changes) it produced. It never reads a clock, never touches a
//! socket, and draws all randomness from the generator it was given, so the
//! same seed gives the same run.
//!
//! It spreads each message to the members of one group by **push**, **pull**
//! or **push-pull** gossip with fan-out `b` every period `t`, keeps a
//! bounded buffer for pull repair, suppresses duplicates per
//! `(origin, group)` stream with a high-water mark and a bitmap, and learns
//! the membership by piggy-backing entries on its packets. Every queue,
//! buffer and table is capped; what the caps drop is counted in [`Stats`].
//!
//! The [`Protocol`] trait is the surface every driver in the workspace uses,
//! so the runtime, the in-memory network and the simulator run any protocol.
//!
//! ```
//! use bytes::Bytes;
//! use gossip_core::{Config, Event, GroupId, Node, NodeId, Protocol, SharedMembers, Time};
//! use rand::{SeedableRng, rngs::SmallRng};
//! use std::sync::Arc;
//!
//! // Three nodes that share one read-only member list, addressed 0, 1, 2.
//! let group = GroupId(1);
//! let mut list = SharedMembers::new();
//! for i in 0..3u32 {
//!     list.push(NodeId(u64::from(i) + 1), i, &[group]);
//! }
//! let list = Arc::new(list);
//! let mut nodes: Vec<Node<u32>> = (0..3u32)
//!     .map(|i| {
//!         let rng = SmallRng::seed_from_u64(u64::from(i));
//!         let mut node = Node::with_shared_members(NodeId(u64::from(i) + 1), Config::lan(), rng, list.clone());
//!         node.subscribe(Time::ZERO, group).unwrap();
//!         node
//!     })
//!     .collect();
//!
//! let now = Time::ZERO;
//! nodes[0].multicast(now, group, Bytes::from_static(b"hi")).unwrap();
//! // Move packets until none are left (eager push spreads it at once).
//! loop {
//!     let mut moved = false;
//!     for from in 0..3 {
//!         while let Some(t) = nodes[from].poll_transmit() {
//!             nodes[t.to as usize].handle_packet(now, from as u32, t.bytes).unwrap();
//!             moved = true;
//!         }
//!     }
//!     if !moved { break; }
//! }
//! for node in &mut nodes {
//!     let got = std::iter::from_fn(|| node.poll_event())
//!         .filter(|e| matches!(e, Event::Delivered(_)))
//!         .count();
//!     assert_eq!(got, 1, "every member delivers exactly once");
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod address;
mod config;
mod error;
mod event;
mod ids;
pub mod lifetime;
mod membership;
mod node;
mod protocol;
mod sequencer;
mod stats;
mod store;
mod streams;
mod subscription;
mod time;
mod window;
// The whole-packet decoder serves only the codec facade and the tests.
#[cfg_attr(not(feature = "codec"), allow(dead_code, unused_imports))]
mod wire;

#[cfg(feature = "codec")]
pub mod codec;

pub use address::{Address, MAX_ADDRESS_LEN};
pub use config::{Batching, Config, ConfigBuilder, Lifetime, MAX_PACKET_SIZE, MIN_PACKET_SIZE, Mode, Order, Targets};
pub use error::{ConfigError, DecodeError, Error, MetaError, MulticastError, SubscribeError};
pub use event::{Delivery, DownReason, Event, Gap, GapReason, Transmit, TransmitKind};
pub use ids::{GroupId, MessageId, NodeId};
pub use membership::{Member, MemberStatus, SharedMembers};
pub use node::{Node, Usage};
pub use protocol::Protocol;
pub use sequencer::Sequencer;
pub use stats::{CommonStats, Drops, MembershipStats, ProtocolStats, Stats};
pub use subscription::SubscribeFrom;
pub use time::Time;

/// The RNG type nodes use unless told otherwise, re-exported so drivers need
/// not name `rand` themselves.
pub use rand::rngs::SmallRng;
