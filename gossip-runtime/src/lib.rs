//! The tokio driver for [`gossip_core`]: a [`Transport`] trait any network
//! can implement, a fault-injecting decorator for tests, and (soon) the
//! runtime task and its `Handle`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod transport;

pub use transport::{Transport, TransportError, TransportStats};
