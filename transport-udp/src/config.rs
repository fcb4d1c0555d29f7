//! What a [`UdpTransport`](crate::UdpTransport) is made from, and why it
//! could not be made.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use thiserror::Error;

use crate::clock::WallClock;
use crate::framing::CLUSTER_ID_LEN;
use crate::keys::KeyRing;
use crate::seal;

/// The largest UDP payload over IPv4.
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// How to make a [`UdpTransport`](crate::UdpTransport).
#[derive(Debug, Clone)]
pub struct UdpConfig {
    /// Address to bind. `[::]:port` makes a dual-stack socket.
    pub bind: SocketAddr,
    /// Largest datagram on the wire, encryption included. Default 1452
    /// (a 1500-byte MTU less IPv6 and UDP headers). Datagrams up to 1452
    /// bytes leave with Don't Fragment set; longer ones over IPv4 may be
    /// fragmented by IP, over IPv6 they must fit the path MTU (a longer
    /// one fails to send and is counted).
    pub max_datagram: usize,
    /// Requested receive buffer. Default 8 MiB.
    pub recv_buffer: usize,
    /// Requested send buffer. Default 8 MiB.
    pub send_buffer: usize,
    /// `SO_REUSEADDR`, for binding a fixed port again right after a
    /// restart. Default off, and ignored for port 0: with it, the kernel
    /// may hand two sockets bound to port 0 the same port.
    pub reuse_address: bool,
    /// `SO_REUSEPORT` (Unix). Default off.
    pub reuse_port: bool,
    /// Move several datagrams per system call (GSO to one peer, `recvmmsg`
    /// and GRO on receipt) where the platform can. Default on; off sends
    /// and receives one datagram per call.
    pub batching: bool,
    /// Sealed with a key ring, or explicitly insecure.
    pub security: Security,
    /// This cluster's id: the first 8 bytes of every datagram (a datagram
    /// with another id is dropped and counted in
    /// [`UdpStats::foreign_cluster`](crate::UdpStats::foreign_cluster)),
    /// and mixed into the cipher keys, so two clusters sharing a secret on
    /// one network stay apart. Default 0.
    pub cluster_id: u64,
    /// Sealed: how far a datagram's timestamp may be from this node's
    /// clock, either way. Default 60 s. A capture older than this cannot be
    /// replayed even into a node that lost its replay window (restart,
    /// eviction); clocks of the members must agree within it.
    pub max_clock_skew: Duration,
    /// Sealed: sender instances whose replay windows are remembered; the
    /// least recently seen is evicted for a new one (counted). Each costs
    /// about 200 bytes. Default 4,096.
    pub replay_senders: usize,
    /// Sealed: the clock stamped into datagrams and checked against.
    /// Default [`WallClock::system`] at the time the config is made.
    pub clock: WallClock,
}

/// Whether datagrams are sealed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Security {
    /// Every datagram sealed with XChaCha20-Poly1305 under the ring's
    /// sealing key, and opened with any of its keys; replays, datagrams
    /// stamped outside [`UdpConfig::max_clock_skew`] and other clusters'
    /// datagrams are dropped and counted. See `docs/wire.md`.
    Sealed(KeyRing),
    /// No authentication and no encryption. Anyone who can send a
    /// datagram to the socket can inject packets, forge any member's
    /// messages and membership, replay captured datagrams, and read
    /// everything; only datagrams without this cluster's id are dropped,
    /// which keeps honest clusters on one network apart and nothing else.
    /// For a trusted, isolated network or tests.
    Insecure,
}

impl UdpConfig {
    /// Defaults, bound to `bind`, every datagram sealed with `keys`.
    pub fn new(bind: SocketAddr, keys: KeyRing) -> Self {
        UdpConfig { security: Security::Sealed(keys), ..Self::insecure(bind) }
    }

    /// Defaults, bound to `bind`, WITHOUT authentication or encryption:
    /// see [`Security::Insecure`] for what such a node accepts.
    pub fn insecure(bind: SocketAddr) -> Self {
        UdpConfig {
            bind,
            max_datagram: 1452,
            recv_buffer: 8 << 20,
            send_buffer: 8 << 20,
            reuse_address: false,
            reuse_port: false,
            batching: true,
            security: Security::Insecure,
            cluster_id: 0,
            max_clock_skew: Duration::from_secs(60),
            replay_senders: 4096,
            clock: WallClock::system(),
        }
    }

    /// Bytes the transport adds to each of the engine's packets.
    pub(crate) fn overhead(&self) -> usize {
        match self.security {
            Security::Sealed(_) => seal::OVERHEAD,
            Security::Insecure => CLUSTER_ID_LEN,
        }
    }

    /// Checks `max_datagram` against what UDP and the engine allow, and
    /// the replay table's size.
    pub(crate) fn validate(&self) -> Result<(), UdpError> {
        let min = gossip_core::MIN_PACKET_SIZE + self.overhead();
        if self.max_datagram > MAX_UDP_PAYLOAD || self.max_datagram < min {
            return Err(UdpError::BadMaxDatagram { len: self.max_datagram, min });
        }
        if self.replay_senders == 0 {
            return Err(UdpError::NoReplayWindows);
        }
        Ok(())
    }
}

/// Socket buffer sizes asked for and what the kernel granted (as read back;
/// Linux reports twice the usable size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferSizes {
    /// Send buffer requested.
    pub send_requested: usize,
    /// Send buffer granted.
    pub send_actual: usize,
    /// Receive buffer requested.
    pub recv_requested: usize,
    /// Receive buffer granted.
    pub recv_actual: usize,
}

impl BufferSizes {
    /// Whether the kernel gave less than asked for either buffer.
    pub fn short(&self) -> bool {
        self.send_actual < self.send_requested || self.recv_actual < self.recv_requested
    }
}

/// Why a [`UdpTransport`](crate::UdpTransport) could not be made.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum UdpError {
    /// Creating, configuring or binding the socket failed.
    #[error("socket setup failed: {0}")]
    Socket(#[from] io::Error),
    /// `max_datagram` leaves no room for the engine's smallest packet.
    #[error("max_datagram {len} is outside {min}..={MAX_UDP_PAYLOAD}")]
    BadMaxDatagram {
        /// The `max_datagram` asked for.
        len: usize,
        /// The smallest allowed with this config's framing.
        min: usize,
    },
    /// `replay_senders` is 0.
    #[error("replay_senders must be at least 1")]
    NoReplayWindows,
    /// The OS gave no randomness for the sender instance id.
    #[error("no OS randomness for the sender instance id: {0}")]
    Randomness(String),
}
