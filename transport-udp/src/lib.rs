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
//! * Every datagram starts with the cluster id
//!   ([`UdpConfig::cluster_id`]); one with another id is dropped and
//!   counted. With a [`KeyRing`] ([`UdpConfig::new`]) every datagram is
//!   sealed with XChaCha20-Poly1305, in place in the send buffer, under a
//!   nonce made of a random sender instance id and a per-sender counter;
//!   the receiver drops what does not open
//!   ([`TransportStats::auth_failures`](gossip_runtime::TransportStats::auth_failures)),
//!   what its replay window for that sender has seen or left behind, and
//!   what is stamped outside [`UdpConfig::max_clock_skew`]. Keys come from
//!   random bytes through HKDF-SHA256 or from a passphrase through
//!   Argon2id, both bound to the cluster id. Without keys the transport
//!   must be asked for explicitly ([`UdpConfig::insecure`]); see
//!   [`Security::Insecure`] for what it then accepts. The layout is in
//!   `docs/wire.md`.
//!
//! ```no_run
//! use gossip_core::GroupId;
//! use gossip_runtime::Builder;
//! use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let key = ClusterKey::from_passphrase(1, "a long random cluster secret", 7)?;
//! let config = UdpConfig { cluster_id: 7, ..UdpConfig::new("127.0.0.1:7001".parse()?, KeyRing::new(key)) };
//! let transport = UdpTransport::bind(config)?;
//! let handle = Builder::new(transport).spawn()?;
//! handle.join(vec!["127.0.0.1:7000".parse()?]).await?;
//! handle.multicast(GroupId::named("demo"), &b"hello"[..]).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod clock;
mod config;
mod framing;
mod keys;
mod raw_rate;
mod recv_arena;
mod replay;
mod seal;
mod send_plan;
mod socket;
mod stats;
mod transport;

pub use clock::WallClock;
pub use config::{BufferSizes, MAX_UDP_PAYLOAD, Security, UdpConfig, UdpError};
pub use framing::CLUSTER_ID_LEN;
pub use keys::{ARGON2_LANES, ARGON2_MEMORY_KIB, ARGON2_PASSES, ClusterKey, KeyError, KeyRing};
pub use raw_rate::{RawRate, raw_datagram_rate};
pub use replay::REPLAY_WINDOW;
pub use seal::{HEADER_LEN as SEAL_HEADER_LEN, OVERHEAD as SEAL_OVERHEAD};
pub use stats::UdpStats;
pub use transport::UdpTransport;
