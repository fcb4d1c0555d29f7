//! A UDP [`Transport`] for [`gossip_runtime`].
//!
//! * Sockets are made with `socket2`: address reuse, large send and
//!   receive buffers (set, read back, forced with `CAP_NET_ADMIN` when the
//!   system maximum is lower, and reported in [`BufferSizes`]), IPv4 and
//!   IPv6 (a socket bound to `[::]` is dual-stack).
//! * On Linux, datagrams move in batches with `sendmmsg(2)`/`recvmmsg(2)`
//!   (up to 64 per system call); elsewhere, or with
//!   [`UdpConfig::batching`] off, one per call.
//! * With a [`KeyRing`], every datagram is sealed with ChaCha20-Poly1305:
//!   `key id (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`, the key id byte
//!   being the associated data. A datagram that does not open is dropped,
//!   counted in [`TransportStats::auth_failures`], and never reaches the
//!   engine. Without a key the transport logs a warning when it binds.
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
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod crypto;
#[cfg(target_os = "linux")]
mod sys;

/// The raw batched system calls, for benchmarks that compare against them.
#[cfg(target_os = "linux")]
#[doc(hidden)]
pub mod raw {
    pub use crate::sys::{Received, recv_batch, send_batch};
}

use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use gossip_runtime::socket_addr;
use gossip_runtime::{Transport, TransportError, TransportStats};
use socket2::{Domain, Protocol, Socket, Type};
use thiserror::Error;

pub use crypto::{ClusterKey, KeyRing, OVERHEAD as SEAL_OVERHEAD};

/// Datagrams per `sendmmsg`/`recvmmsg` call, at most.
pub const BATCH: usize = 64;
/// The largest UDP payload over IPv4.
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// How to make a [`UdpTransport`].
#[derive(Debug, Clone)]
pub struct UdpConfig {
    /// Address to bind. `[::]:port` makes a dual-stack socket.
    pub bind: SocketAddr,
    /// Largest datagram on the wire, encryption included. Default 1452
    /// (a 1500-byte MTU less IPv6 and UDP headers).
    pub max_datagram: usize,
    /// Requested receive buffer. Default 8 MiB.
    pub recv_buffer: usize,
    /// Requested send buffer. Default 8 MiB.
    pub send_buffer: usize,
    /// `SO_REUSEADDR`. Default on.
    pub reuse_address: bool,
    /// `SO_REUSEPORT` (Unix). Default off.
    pub reuse_port: bool,
    /// Use `sendmmsg`/`recvmmsg` where available. Default on.
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
            reuse_address: true,
            reuse_port: false,
            batching: true,
            keys: None,
        }
    }
}

/// Socket buffer sizes asked for and what the kernel granted (as read back;
/// Linux reports twice the usable size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Why a [`UdpTransport`] could not be made.
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

/// Counters kept by the UDP transport, a superset of [`TransportStats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UdpStats {
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Datagrams received and passed on.
    pub datagrams_in: u64,
    /// Datagrams that failed to open (wrong key, tampered, garbage).
    pub auth_failures: u64,
    /// Datagrams dropped on receipt for other reasons (too long, no
    /// sender address).
    pub dropped: u64,
    /// Send system calls made.
    pub send_syscalls: u64,
    /// Receive system calls that returned data.
    pub recv_syscalls: u64,
}

#[derive(Default)]
struct Counters {
    out: AtomicU64,
    inn: AtomicU64,
    auth: AtomicU64,
    dropped: AtomicU64,
    send_calls: AtomicU64,
    recv_calls: AtomicU64,
}

fn bump(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}

/// A UDP endpoint implementing [`Transport`] with `SocketAddr` addresses.
pub struct UdpTransport {
    socket: tokio::net::UdpSocket,
    local: SocketAddr,
    dual_stack: bool,
    keys: Option<KeyRing>,
    max_datagram: usize,
    batching: bool,
    buffers: BufferSizes,
    counters: Counters,
    recv_pool: Mutex<Option<Vec<Vec<u8>>>>,
}

impl std::fmt::Debug for UdpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpTransport")
            .field("local", &self.local)
            .field("sealed", &self.keys.is_some())
            .field("batching", &self.batching)
            .finish_non_exhaustive()
    }
}

fn set_buffer(socket: &Socket, send: bool, requested: usize) -> usize {
    let read = |s: &Socket| if send { s.send_buffer_size() } else { s.recv_buffer_size() };
    let _ = if send { socket.set_send_buffer_size(requested) } else { socket.set_recv_buffer_size(requested) };
    let mut actual = read(socket).unwrap_or(0);
    #[cfg(target_os = "linux")]
    if actual < requested {
        use std::os::fd::AsRawFd;
        if sys::force_buffer(socket.as_raw_fd(), send, requested).is_ok() {
            actual = read(socket).unwrap_or(actual);
        }
    }
    actual
}

impl UdpTransport {
    /// Makes and binds the socket. Must be called inside a tokio runtime
    /// with I/O enabled.
    pub fn bind(config: UdpConfig) -> Result<Self, UdpError> {
        let overhead = if config.keys.is_some() { crypto::OVERHEAD } else { 0 };
        if config.max_datagram > MAX_UDP_PAYLOAD || config.max_datagram < gossip_core::MIN_PACKET_SIZE + overhead {
            return Err(UdpError::BadMaxDatagram(config.max_datagram));
        }
        let domain = if config.bind.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
        let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        let dual_stack = config.bind.is_ipv6() && config.bind.ip().is_unspecified();
        if config.bind.is_ipv6() {
            socket.set_only_v6(!dual_stack)?;
        }
        socket.set_reuse_address(config.reuse_address)?;
        #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
        if config.reuse_port {
            socket.set_reuse_port(true)?;
        }
        let send_actual = set_buffer(&socket, true, config.send_buffer);
        let recv_actual = set_buffer(&socket, false, config.recv_buffer);
        let buffers = BufferSizes {
            send_requested: config.send_buffer,
            send_actual,
            recv_requested: config.recv_buffer,
            recv_actual,
        };
        if buffers.short() {
            tracing::warn!(
                ?buffers,
                "the kernel granted smaller socket buffers than requested; expect drops under load"
            );
        }
        socket.set_nonblocking(true)?;
        socket.bind(&config.bind.into())?;
        let socket = tokio::net::UdpSocket::from_std(socket.into())?;
        let local = socket.local_addr()?;
        if config.keys.is_none() {
            tracing::warn!(%local, "UDP transport running WITHOUT a cluster key: datagrams are neither authenticated nor encrypted");
        }
        Ok(UdpTransport {
            socket,
            local,
            dual_stack,
            keys: config.keys,
            max_datagram: config.max_datagram,
            batching: config.batching && cfg!(target_os = "linux"),
            buffers,
            counters: Counters::default(),
            recv_pool: Mutex::new(None),
        })
    }

    /// The socket buffer sizes asked for and granted.
    pub fn buffer_sizes(&self) -> BufferSizes {
        self.buffers
    }

    /// Whether datagrams are sealed.
    pub fn is_sealed(&self) -> bool {
        self.keys.is_some()
    }

    /// Whether batched system calls are in use.
    pub fn is_batching(&self) -> bool {
        self.batching
    }

    /// The detailed counters.
    pub fn udp_stats(&self) -> UdpStats {
        let c = &self.counters;
        UdpStats {
            datagrams_out: c.out.load(Ordering::Relaxed),
            datagrams_in: c.inn.load(Ordering::Relaxed),
            auth_failures: c.auth.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            send_syscalls: c.send_calls.load(Ordering::Relaxed),
            recv_syscalls: c.recv_calls.load(Ordering::Relaxed),
        }
    }

    /// Checks a destination and maps it to what the socket can send to.
    fn destination(&self, to: &SocketAddr) -> Result<SocketAddr, TransportError> {
        socket_addr::destination(self.local, self.dual_stack, true, *to)
    }

    /// Maps a v4-mapped sender back to IPv4, so addresses compare equal.
    fn source(&self, from: SocketAddr) -> SocketAddr {
        socket_addr::canonical(self.dual_stack, from)
    }

    /// Validates and (if keyed) seals one datagram.
    fn prepare(&self, to: &SocketAddr, bytes: &Bytes) -> Result<(SocketAddr, Bytes), TransportError> {
        let max = self.max_packet_size();
        if bytes.len() > max {
            return Err(TransportError::Oversized { len: bytes.len(), max });
        }
        let to = self.destination(to)?;
        match &self.keys {
            None => Ok((to, bytes.clone())),
            Some(keys) => {
                let mut sealed = Vec::new();
                keys.seal(bytes, &mut sealed);
                Ok((to, Bytes::from(sealed)))
            }
        }
    }

    /// Turns a received datagram into what the engine sees, or counts why not.
    fn accept(&self, from: Option<SocketAddr>, data: &mut [u8], truncated: bool) -> Option<(SocketAddr, Bytes)> {
        let Some(from) = from else {
            bump(&self.counters.dropped, 1);
            return None;
        };
        if truncated || data.len() > self.max_datagram {
            bump(&self.counters.dropped, 1);
            return None;
        }
        let plain = match &self.keys {
            None => Bytes::copy_from_slice(data),
            Some(keys) => match keys.open(data) {
                Ok(range) => Bytes::copy_from_slice(&data[range]),
                Err(_) => {
                    bump(&self.counters.auth, 1);
                    tracing::trace!(%from, "dropped a datagram that failed authentication");
                    return None;
                }
            },
        };
        bump(&self.counters.inn, 1);
        Some((self.source(from), plain))
    }

    fn take_buffers(&self, n: usize) -> Vec<Vec<u8>> {
        let pooled = self.recv_pool.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut bufs = pooled.unwrap_or_default();
        // One byte more than the largest datagram so a longer one shows.
        let size = self.max_datagram + 1;
        while bufs.len() < n {
            bufs.push(vec![0u8; size]);
        }
        bufs
    }

    fn return_buffers(&self, bufs: Vec<Vec<u8>>) {
        *self.recv_pool.lock().unwrap_or_else(|p| p.into_inner()) = Some(bufs);
    }
}

fn send_error(err: io::Error) -> TransportError {
    match err.raw_os_error() {
        #[cfg(unix)]
        Some(code) if [libc_codes::ECONNREFUSED, libc_codes::EHOSTUNREACH, libc_codes::ENETUNREACH].contains(&code) => {
            TransportError::Unreachable
        }
        #[cfg(unix)]
        Some(code)
            if [libc_codes::EAFNOSUPPORT, libc_codes::EINVAL, libc_codes::EACCES, libc_codes::EADDRNOTAVAIL]
                .contains(&code) =>
        {
            TransportError::BadAddress(err.to_string())
        }
        _ => TransportError::Io(err),
    }
}

#[cfg(unix)]
mod libc_codes {
    pub use libc::{EACCES, EADDRNOTAVAIL, EAFNOSUPPORT, ECONNREFUSED, EHOSTUNREACH, EINVAL, ENETUNREACH};
}

#[async_trait]
impl Transport for UdpTransport {
    type Address = SocketAddr;

    async fn send(&self, to: &SocketAddr, bytes: Bytes) -> Result<(), TransportError> {
        let (to, wire) = self.prepare(to, &bytes)?;
        bump(&self.counters.send_calls, 1);
        self.socket.send_to(&wire, to).await.map_err(send_error)?;
        bump(&self.counters.out, 1);
        Ok(())
    }

    async fn send_batch(&self, batch: &[(SocketAddr, Bytes)]) -> Vec<Result<(), TransportError>> {
        let mut results: Vec<Result<(), TransportError>> = Vec::with_capacity(batch.len());
        let mut ready: Vec<(usize, SocketAddr, Bytes)> = Vec::with_capacity(batch.len());
        for (i, (to, bytes)) in batch.iter().enumerate() {
            match self.prepare(to, bytes) {
                Ok((to, wire)) => {
                    ready.push((i, to, wire));
                    results.push(Ok(()));
                }
                Err(err) => results.push(Err(err)),
            }
        }
        if !self.batching {
            for (i, to, wire) in ready {
                bump(&self.counters.send_calls, 1);
                match self.socket.send_to(&wire, to).await {
                    Ok(_) => bump(&self.counters.out, 1),
                    Err(err) => results[i] = Err(send_error(err)),
                }
            }
            return results;
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let fd = self.socket.as_raw_fd();
            let mut at = 0;
            while at < ready.len() {
                let end = (at + BATCH).min(ready.len());
                let msgs: Vec<(SocketAddr, &[u8])> = ready[at..end].iter().map(|(_, to, w)| (*to, &w[..])).collect();
                let sent = self
                    .socket
                    .async_io(tokio::io::Interest::WRITABLE, || {
                        bump(&self.counters.send_calls, 1);
                        sys::send_batch(fd, &msgs)
                    })
                    .await;
                match sent {
                    Ok(n) => {
                        bump(&self.counters.out, n);
                        at += n.max(1);
                    }
                    Err(err) => {
                        results[ready[at].0] = Err(send_error(err));
                        at += 1;
                    }
                }
            }
        }
        results
    }

    async fn recv(&self) -> Result<(SocketAddr, Bytes), TransportError> {
        let mut out = Vec::with_capacity(1);
        self.recv_batch(&mut out, 1).await?;
        out.pop().ok_or(TransportError::Closed)
    }

    async fn recv_batch(&self, out: &mut Vec<(SocketAddr, Bytes)>, max: usize) -> Result<(), TransportError> {
        let max = max.clamp(1, BATCH);
        let mut bufs = self.take_buffers(max);
        let result = loop {
            let before = out.len();
            if self.batching {
                #[cfg(target_os = "linux")]
                {
                    use std::os::fd::AsRawFd;
                    let fd = self.socket.as_raw_fd();
                    let mut received = Vec::with_capacity(max);
                    let got = self
                        .socket
                        .async_io(tokio::io::Interest::READABLE, || {
                            sys::recv_batch(fd, &mut bufs[..max], &mut received)
                        })
                        .await;
                    if let Err(err) = got {
                        break Err(TransportError::Io(err));
                    }
                    bump(&self.counters.recv_calls, 1);
                    for (r, buf) in received.into_iter().zip(bufs.iter_mut()) {
                        let len = r.len.min(buf.len());
                        let truncated = r.truncated || r.len > self.max_datagram;
                        if let Some(item) = self.accept(r.from, &mut buf[..len], truncated) {
                            out.push(item);
                        }
                    }
                }
            } else {
                match self.socket.recv_from(&mut bufs[0]).await {
                    Ok((len, from)) => {
                        bump(&self.counters.recv_calls, 1);
                        let truncated = len > self.max_datagram;
                        let len = len.min(bufs[0].len());
                        if let Some(item) = self.accept(Some(from), &mut bufs[0][..len], truncated) {
                            out.push(item);
                        }
                    }
                    Err(err) => break Err(TransportError::Io(err)),
                }
            }
            if out.len() > before {
                break Ok(());
            }
        };
        self.return_buffers(bufs);
        result
    }

    fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn max_packet_size(&self) -> usize {
        self.max_datagram - if self.keys.is_some() { crypto::OVERHEAD } else { 0 }
    }

    fn stats(&self) -> TransportStats {
        let s = self.udp_stats();
        TransportStats {
            datagrams_out: s.datagrams_out,
            datagrams_in: s.datagrams_in,
            auth_failures: s.auth_failures,
            dropped: s.dropped,
        }
    }
}
