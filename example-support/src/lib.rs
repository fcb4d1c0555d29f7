//! What the UDP and QUIC examples of this workspace share, so that each
//! example file keeps only what is particular to its transport:
//!
//! * [`address`]: `HOST:PORT` arguments, resolved (`localhost:7000`
//!   works), with a one-line error when nothing resolves.
//! * [`chat`]: the chat example's common flags and its loop (stdin lines
//!   multicast to a group, deliveries printed).
//! * [`throughput`]: the throughput example's common flags and the
//!   measurement of one sender and one receiver, with counters that add up.
//! * [`load`]: the machine's load average, printed at the start and the
//!   end of every measurement.
//! * [`exit`] and [`logging`]: one-line errors with the right exit code,
//!   and a `tracing` subscriber so library warnings show.
//!
//! This crate is not published; it is a dev-dependency of the transport
//! crates, for their examples.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod address;
pub mod chat;
mod error;
pub mod exit;
pub mod load;
pub mod logging;
pub mod throughput;

pub use error::SupportError;
