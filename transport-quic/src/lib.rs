//! A QUIC [`Transport`](gossip_runtime::Transport) for [`gossip_runtime`],
//! built on `quinn`, with mutual TLS inside the cluster.
//!
//! * **One endpoint per node.** One UDP socket serves incoming connections
//!   and dials outgoing ones, so a peer's address is the same whichever
//!   side dialled. Addresses are `SocketAddr`s.
//! * **Connection cache.** One connection per peer, reused in both
//!   directions, closed after [`QuicConfig::idle_timeout`] without
//!   traffic, at most [`QuicConfig::max_connections`] open (the least
//!   recently used is closed to make room). The first packet to a peer
//!   starts a dial on its own task and waits (bounded) for it; `send`
//!   itself never awaits the network. A failed dial puts the peer in
//!   exponential back-off ([`QuicConfig::backoff_min`] to
//!   [`QuicConfig::backoff_max`]), during which `send` fails at once with
//!   [`TransportError::Unreachable`](gossip_runtime::TransportError::Unreachable)
//!   and is counted. One unreachable peer never delays the others.
//! * **Restarts.** The newest connection to an address replaces the cached
//!   one at once (and closes it): a peer killed and started again at the
//!   same address dials in anew, and from then on is reached on the new
//!   connection instead of the old one, which would carry packets nowhere
//!   until the idle timeout. A send that finds its connection lost drops
//!   it from the cache, so the next send dials again. Both are counted
//!   ([`QuicStats::connections_replaced`], [`QuicStats::send_evictions`]).
//! * **Datagrams, and streams for large packets.** A packet that fits the
//!   connection's current datagram size (`Connection::max_datagram_size`,
//!   about the path MTU less ~40 bytes) goes out as an unreliable QUIC
//!   datagram. A larger one goes on its own unidirectional stream (one
//!   stream, one packet), so [`Transport::max_packet_size`](gossip_runtime::Transport::max_packet_size)
//!   is [`QuicConfig::max_packet_size`] (default 2 MiB), far above the MTU.
//!   Raise the engine's `max_message_size` to multicast payloads larger
//!   than a datagram (1 MiB is tested): such a message travels alone, on a
//!   stream.
//! * **Mutual TLS.** Every node presents a certificate signed by the
//!   cluster CA ([`ClusterCa`]) and accepts only peers that do, in both
//!   directions (TLS 1.3, rustls with the `ring` provider). Certificates
//!   name [`DEFAULT_SERVER_NAME`], not addresses. A refused handshake is
//!   counted in [`TransportStats::auth_failures`](gossip_runtime::TransportStats::auth_failures)
//!   and nothing from that peer reaches the engine.
//! * **Bounded.** Received packets wait in one bounded queue
//!   ([`QuicConfig::recv_queue`]); packets waiting for a dial, streams in
//!   flight and the peer table are all capped; every drop is counted in
//!   [`QuicStats`].
//!
//! ```no_run
//! use gossip_core::GroupId;
//! use gossip_runtime::Builder;
//! use transport_quic::{NodeIdentity, QuicConfig, QuicTransport};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // Files written by `cargo run -p transport-quic --example certs -- --out certs --nodes 3`.
//! let identity = NodeIdentity::from_pem_files(
//!     "certs/ca.pem".as_ref(),
//!     "certs/node-1.pem".as_ref(),
//!     "certs/node-1.key".as_ref(),
//! )?;
//! let transport = QuicTransport::bind(QuicConfig::new("127.0.0.1:7001".parse()?, identity))?;
//! let handle = Builder::new(transport).spawn()?;
//! handle.join(vec!["127.0.0.1:7000".parse()?]).await?;
//! handle.multicast(GroupId::named("demo"), &b"hello"[..]).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod certs;
mod config;
mod dial;
mod peers;
mod send;
mod serve;
mod shared;
mod stats;
mod tls;
mod transport;

pub use certs::{CertError, ClusterCa, DEFAULT_SERVER_NAME, NodeIdentity};
pub use config::{ALPN, DEFAULT_MAX_PACKET, QuicConfig, QuicError};
pub use stats::{ConnectionCounts, QuicStats};
pub use transport::QuicTransport;
