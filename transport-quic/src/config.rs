//! How to make a [`QuicTransport`](crate::QuicTransport), and why it can fail.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use thiserror::Error;

use crate::certs::{CertError, DEFAULT_SERVER_NAME, NodeIdentity};

/// The default and smallest sensible [`QuicConfig::max_packet_size`] that
/// still lets the transport carry a 1 MiB packet: 2 MiB.
pub const DEFAULT_MAX_PACKET: usize = 2 << 20;

/// The ALPN protocol name the transport negotiates.
pub const ALPN: &[u8] = b"gossip/1";

/// How to make a [`QuicTransport`](crate::QuicTransport). Start from
/// [`QuicConfig::new`] and change what you need.
#[derive(Debug, Clone)]
pub struct QuicConfig {
    /// Address of the one UDP socket that serves and dials. `[::]:port`
    /// makes a dual-stack socket.
    pub bind: SocketAddr,
    /// This node's certificate, key and the cluster CA it trusts.
    pub identity: NodeIdentity,
    /// The name asked for when dialling (must be in every node
    /// certificate's subject alternative names). Default
    /// [`DEFAULT_SERVER_NAME`].
    pub server_name: String,
    /// Largest packet `send` accepts. Packets larger than the path's
    /// datagram size go on a unidirectional stream, so this may be far
    /// above the MTU. At least `gossip_core::MIN_PACKET_SIZE`. Default
    /// [`DEFAULT_MAX_PACKET`] (2 MiB).
    pub max_packet_size: usize,
    /// Cap on open connections (cached, being dialled, or accepted); the
    /// least recently used one is closed to make room. Default 256.
    pub max_connections: usize,
    /// A connection with no traffic in either direction for this long is
    /// closed (and dialled again when next needed). Default 30 s.
    pub idle_timeout: Duration,
    /// How long a dial (or an accepted handshake) may take before it
    /// counts as failed. Default 2 s.
    pub dial_timeout: Duration,
    /// Wait after the first failed dial before the peer is tried again;
    /// doubles with each further failure. Default 200 ms.
    pub backoff_min: Duration,
    /// Longest wait between dials to a failing peer. Default 10 s.
    pub backoff_max: Duration,
    /// Packets received and waiting for `recv`; more are dropped and
    /// counted. Default 16,384.
    pub recv_queue: usize,
    /// Packets held per peer while its connection is being dialled; more
    /// are dropped and counted. Default 256.
    pub pending_per_peer: usize,
    /// Bytes of packets being sent on streams at once (over all peers);
    /// a packet that does not fit the budget is dropped and counted. At
    /// least `max_packet_size`. Default 64 MiB.
    pub stream_send_budget: usize,
    /// Streams being received at once (over all peers); more wait in
    /// QUIC flow control until one finishes. Bounds the memory of partly received large
    /// packets to about `max_stream_recvs × max_packet_size`. Default 64.
    pub max_stream_recvs: usize,
    /// Unidirectional streams a peer may open at once on one connection.
    /// Default 32.
    pub streams_per_connection: u32,
    /// How long one stream packet may take to send or receive. Default 10 s.
    pub stream_timeout: Duration,
    /// QUIC's initial path MTU (UDP payload), at least 1200. Raise it on
    /// networks known to carry larger datagrams (1452 fits a 1500-byte
    /// Ethernet MTU with IPv6). Default 1200.
    pub initial_mtu: u16,
    /// Upper bound of path MTU discovery. Default 1452.
    pub mtu_upper_bound: u16,
    /// Requested socket send and receive buffers. Default 4 MiB.
    pub socket_buffer: usize,
}

impl QuicConfig {
    /// Defaults, bound to `bind`, presenting `identity`.
    pub fn new(bind: SocketAddr, identity: NodeIdentity) -> Self {
        QuicConfig {
            bind,
            identity,
            server_name: DEFAULT_SERVER_NAME.to_owned(),
            max_packet_size: DEFAULT_MAX_PACKET,
            max_connections: 256,
            idle_timeout: Duration::from_secs(30),
            dial_timeout: Duration::from_secs(2),
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            recv_queue: 16_384,
            pending_per_peer: 256,
            stream_send_budget: 64 << 20,
            max_stream_recvs: 64,
            streams_per_connection: 32,
            stream_timeout: Duration::from_secs(10),
            initial_mtu: 1200,
            mtu_upper_bound: 1452,
            socket_buffer: 4 << 20,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), QuicError> {
        fn check(ok: bool, field: &'static str, reason: &'static str) -> Result<(), QuicError> {
            if ok { Ok(()) } else { Err(QuicError::Config { field, reason }) }
        }
        check(self.max_packet_size >= gossip_core::MIN_PACKET_SIZE, "max_packet_size", "below the engine minimum")?;
        check(self.max_packet_size <= 1 << 30, "max_packet_size", "above 1 GiB")?;
        check(self.max_connections >= 1, "max_connections", "must be at least 1")?;
        check(self.recv_queue >= 1, "recv_queue", "must be at least 1")?;
        check(self.pending_per_peer >= 1, "pending_per_peer", "must be at least 1")?;
        check(
            self.stream_send_budget >= self.max_packet_size,
            "stream_send_budget",
            "must be at least max_packet_size",
        )?;
        check(self.max_stream_recvs >= 1, "max_stream_recvs", "must be at least 1")?;
        check(self.streams_per_connection >= 1, "streams_per_connection", "must be at least 1")?;
        check(!self.dial_timeout.is_zero(), "dial_timeout", "must be positive")?;
        check(!self.stream_timeout.is_zero(), "stream_timeout", "must be positive")?;
        check(!self.idle_timeout.is_zero(), "idle_timeout", "must be positive")?;
        check(self.backoff_min <= self.backoff_max, "backoff_min", "must not exceed backoff_max")?;
        check(self.initial_mtu >= 1200, "initial_mtu", "must be at least 1200")?;
        check(self.mtu_upper_bound >= self.initial_mtu, "mtu_upper_bound", "must be at least initial_mtu")?;
        Ok(())
    }
}

/// Why a [`QuicTransport`](crate::QuicTransport) could not be made.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum QuicError {
    /// Creating, configuring or binding the socket or endpoint failed.
    #[error("socket setup failed: {0}")]
    Socket(#[from] io::Error),
    /// The certificates or key are unusable.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// A configuration value is out of range.
    #[error("bad QuicConfig.{field}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClusterCa;

    #[test]
    fn defaults_validate_and_bad_values_are_named() {
        let ca = ClusterCa::generate("unit CA").unwrap();
        let config = QuicConfig::new("127.0.0.1:0".parse().unwrap(), ca.issue("n").unwrap());
        config.validate().unwrap();
        let bad = |change: fn(&mut QuicConfig)| {
            let mut c = config.clone();
            change(&mut c);
            match c.validate() {
                Err(QuicError::Config { field, .. }) => field,
                other => panic!("expected a config error, got {other:?}"),
            }
        };
        assert_eq!(bad(|c| c.max_packet_size = 100), "max_packet_size");
        assert_eq!(bad(|c| c.initial_mtu = 1000), "initial_mtu");
        assert_eq!(bad(|c| c.mtu_upper_bound = 1199), "mtu_upper_bound");
        assert_eq!(bad(|c| c.stream_send_budget = 1000), "stream_send_budget");
        assert_eq!(bad(|c| c.backoff_min = Duration::from_secs(60)), "backoff_min");
        assert_eq!(bad(|c| c.max_connections = 0), "max_connections");
    }
}
