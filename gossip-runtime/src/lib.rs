//! The tokio driver for [`gossip_core`]: a [`Transport`] trait any network
//! can implement, a fault-injecting decorator for tests, and the runtime
//! task with its cloneable [`Handle`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod fault;
mod transport;

pub use fault::{Delay, FaultStats, Faults, FaultyTransport};
pub use transport::{Transport, TransportError, TransportStats};
