//! What a [`UdpTransport`](crate::UdpTransport) is made from, and why it
//! could not be made.

use std::io;
use std::net::SocketAddr;

use thiserror::Error;

use crate::crypto::{self, KeyRing};

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
    /// Seal and open every datagram with these keys. Default none (a
    /// warning is logged).
    pub keys: Option<KeyRing>,
}

impl UdpConfig {
    /// Defaults, bound to `bind`.
    pub fn new(bind: SocketAddr) -> Self {
        UdpConfig {
            bind,
            max_datagram: 1452,
            recv_buffer: 8 << 20,
            send_buffer: 8 << 20,
            reuse_address: false,
            reuse_port: false,
            batching: true,
            keys: None,
        }
    }

    /// Bytes the transport adds to each of the engine's packets.
    pub(crate) fn overhead(&self) -> usize {
        if self.keys.is_some() { crypto::OVERHEAD } else { 0 }
    }

    /// Checks `max_datagram` against what UDP and the engine allow.
    pub(crate) fn validate(&self) -> Result<(), UdpError> {
        let min = gossip_core::MIN_PACKET_SIZE + self.overhead();
        if self.max_datagram > MAX_UDP_PAYLOAD || self.max_datagram < min {
            return Err(UdpError::BadMaxDatagram(self.max_datagram));
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
    #[error("max_datagram {0} is outside {min}..={MAX_UDP_PAYLOAD}", min = gossip_core::MIN_PACKET_SIZE + crypto::OVERHEAD)]
    BadMaxDatagram(usize),
}
