//! A UDP [`Transport`](gossip_runtime::Transport) for [`gossip_runtime`],
//! on [`quinn_udp`].
//!
//! * Sockets are made with `socket2`: large send and receive buffers (set,
//!   read back, forced with `CAP_NET_ADMIN` when the system maximum is
//!   lower, and reported in [`BufferSizes`]), IPv4 and IPv6 (a socket
//!   bound to `[::]` is dual-stack), `SO_REUSEADDR` only when asked for and
//!   never for port 0.
//! * Datagrams move through `quinn-udp`: a batch is grouped by peer and
//!   each run of equal-sized datagrams to one peer leaves in one system
//!   call (GSO, where the kernel has it); receipt uses `recvmmsg` and GRO,
//!   and counts ECN Congestion-Experienced marks. With
//!   [`UdpConfig::batching`] off, one datagram per call.
//! * Received datagrams land in an arena owned by the transport and reach
//!   the engine as slices of it: no allocation and no copy per datagram,
//!   and a cancelled receive loses nothing.
//! * With a [`KeyRing`], every datagram is sealed with ChaCha20-Poly1305,
//!   in place in the send buffer: `key id (1) ‖ nonce (12) ‖ ciphertext ‖
//!   tag (16)`, the key id byte being the associated data. A datagram that
//!   does not open is dropped, counted in
//!   [`TransportStats::auth_failures`](gossip_runtime::TransportStats::auth_failures),
//!   and never reaches the engine. Without a key the transport logs a
//!   warning when it binds.
//!
//! ```no_run
//! use gossip_core::GroupId;
//! use gossip_runtime::Builder;
//! use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = KeyRing::new(ClusterKey::from_passphrase(1, "a long random cluster secret"));
//! let config = UdpConfig { keys: Some(keys), ..UdpConfig::new("127.0.0.1:7001".parse()?) };
//! let transport = UdpTransport::bind(config)?;
//! let handle = Builder::new(transport).spawn()?;
//! handle.join(vec!["127.0.0.1:7000".parse()?]).await?;
//! handle.multicast(GroupId::named("demo"), &b"hello"[..]).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod crypto;
mod raw_rate;
mod recv_arena;
mod send_plan;
mod socket;
mod stats;
mod transport;

pub use config::{BufferSizes, MAX_UDP_PAYLOAD, UdpConfig, UdpError};
pub use crypto::{ClusterKey, KeyRing, OVERHEAD as SEAL_OVERHEAD};
pub use raw_rate::{RawRate, raw_datagram_rate};
pub use stats::UdpStats;
pub use transport::UdpTransport;
