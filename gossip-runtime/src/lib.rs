//! The tokio driver for [`gossip_core`]: a [`Transport`] trait any network
//! can implement, a fault-injecting decorator for tests ([`FaultyTransport`],
//! which applies the same [`LinkModel`] as the simulator and the in-memory
//! network), and the runtime task with its cloneable [`Handle`].
//!
//! The runtime task owns the engine ([`gossip_core::Node`]) and the
//! transport, and `select!`s over incoming datagrams, the engine's next
//! timeout and commands from handles. A second task feeds the transport
//! from a bounded queue in batches, so a slow send never blocks receiving.
//! Every channel is bounded; every drop is counted in [`RuntimeStats`].
//!
//! ```no_run
//! use gossip_core::GroupId;
//! use gossip_runtime::{Builder, Transport};
//! use gossip_runtime::StreamExt;
//!
//! async fn run<T: Transport>(transport: T, seeds: Vec<T::Address>) -> Result<(), Box<dyn std::error::Error>> {
//!     let handle = Builder::new(transport).spawn()?;
//!     let group = GroupId::named("chat");
//!     let mut deliveries = handle.subscribe(group).await?;
//!     handle.join(seeds).await?;
//!     handle.multicast(group, &b"hello"[..]).await?;
//!     while let Some(item) = deliveries.next().await {
//!         match item {
//!             Ok(delivery) => println!("{}: {:?}", delivery.id, delivery.payload),
//!             Err(lagged) => eprintln!("{lagged}"),
//!         }
//!     }
//!     handle.shutdown().await;
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod builder;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod fault;
mod handle;
#[cfg(feature = "metrics")]
mod metrics;
mod readiness;
pub mod socket_addr;
mod stats;
mod subscription;
mod task;
mod transport;

pub use builder::Builder;
pub use error::{BuildError, RuntimeError, TryMulticastError};
pub use fault::{FaultStats, Faults, FaultyTransport, run_script};
/// The link model the fault decorator applies, from `gossip-sim`, so users
/// of [`FaultyTransport`] need not name that crate.
pub use gossip_sim::{DropReason, Fate, FaultAction, Latency, LinkError, LinkModel, Script, SharedLink, Verdict};
pub use handle::{Handle, MemberEvent};
pub use stats::RuntimeStats;
pub use subscription::{Missed, Subscription};
pub use transport::{Transport, TransportError, TransportStats, TrySend};

/// Re-exported so users need not name `tokio-stream` to use a [`Subscription`].
pub use tokio_stream::{Stream, StreamExt};
