//! A deterministic discrete-event simulator for gossip-core protocols:
//! virtual time, one seed, one thread or several ([`SimConfig::threads`],
//! the same run on any number), any [`Protocol`] addressed by `u32`
//! node indices. It depends on gossip-core only (no async runtime).
//!
//! Nodes are numbered `0..n` by the entries of a shared
//! [`SharedMembers`] list; a factory builds each node (again after every
//! restart). The [`LinkModel`] decides each packet's fate; a [`Script`]
//! changes it over time (crashes, restarts, partitions, loss, latency).
//!
//! Two kinds of time:
//!
//! * [`Timing::Rounds`], the textbook synchronous model: every node runs
//!   its timer on the same ticks `k·period`; everything sent on a tick
//!   arrives before the next tick (half a period later; the link's latency
//!   is not used, its loss, crashes and partitions are). Requests (the
//!   transmits a protocol marks [`TransmitKind::Request`], such as pull
//!   digests; see [`SimConfig::requests_first`]) are delivered before the
//!   other packets of the round, so that an answer reflects what the
//!   responder held at the start of the round, as the model assumes.
//! * [`Timing::Events`]: every node's timer fires when its
//!   [`poll_timeout`](Protocol::poll_timeout) asks, and every packet takes a
//!   latency drawn from the link model. Rounds are then `period`-long
//!   windows of time for the records.
//!
//! The simulator records, per multicast message, when and at which hop each
//! node first delivered it and how many live nodes held it after each round,
//! and per round the packets and bytes sent (membership bytes apart, from
//! [`TransmitKind::Membership`]). With [`SimConfig::track_views`] it also
//! follows every node's view of the membership from its events
//! ([`ViewRecord`]): when views are complete, false suspicions and deaths,
//! when crashed members are detected and forgotten. [`Simulator::run`] stops when
//! every live member of the group of every message holds it and nothing more
//! is scheduled, when the network is quiet (nothing in flight, nothing sent for a round), or at
//! [`SimConfig::max_rounds`].
//!
//! The crate is split by concept: [`link`] (the link model shared by this
//! crate, `transport-mem`'s in-memory network and `gossip-runtime`'s
//! fault-injecting transport decorator: loss, latency, duplication,
//! reordering, slow members, crashes and restarts, partitions, scripts;
//! [`SharedLink`] shares one model between threads), `due` ([`DueQueue`],
//! items due at given times, earliest first: the delay line of the link
//! model's real-time users), `config` ([`SimConfig`], [`Timing`]),
//! `factory` (node factories and ids), `lane` (shares of the nodes that run
//! side by side in windows shorter than the link's smallest delay, and what
//! they produce until it is merged), `queue` (the events of a lane's queue
//! and the round outboxes), `network` (merging and bookkeeping), `record`
//! (what a run records), `views` (membership views), `study` (membership
//! studies: bulk joins through seeds, then crashes, loss, a slow member or
//! a partition, summed up in a [`StudyReport`]), and the runners
//! (`simulator`, `rounds`, `events`).
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use gossip_core::{Config, GroupId, Lifetime, Mode, Time};
//! use gossip_sim::{SimConfig, Simulator, Stop};
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

mod config;
mod due;
mod error;
mod events;
mod factory;
mod lane;
pub mod link;
mod network;
mod queue;
mod record;
mod rounds;
mod simulator;
mod study;
mod views;

#[cfg(doc)]
use gossip_core::{Protocol, SharedMembers, TransmitKind};

pub use config::{SimConfig, Timing};
pub use due::DueQueue;
pub use error::{LinkError, SimError};
pub use factory::{Factory, Spawn, gossip_factory, joining_factory, node_id, one_group, textbook_engine};
pub use link::{DropReason, Fate, FaultAction, Latency, LinkModel, Script, SharedLink, Verdict};
pub use record::{IssueFailure, MessageHandle, MessageRecord, Outcome, RoundRecord, SimStats, Stop};
pub use simulator::Simulator;
pub use study::{Study, StudyFault, StudyReport};
pub use views::{CrashRecord, ViewRecord};
