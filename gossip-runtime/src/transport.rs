//! The [`Transport`] trait: how the runtime moves datagrams.

use async_trait::async_trait;
use bytes::Bytes;
use thiserror::Error;

/// Why a transport operation failed.
///
/// An error from [`Transport::send`] concerns that one datagram only: the
/// runtime counts it, reports [`TransportError::Unreachable`] to the engine,
/// and carries on. An error from [`Transport::recv`] other than
/// [`TransportError::Closed`] is counted and the runtime receives again;
/// `Closed` stops the runtime.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The datagram is larger than [`Transport::max_packet_size`]; it was not sent.
    #[error("datagram of {len} bytes exceeds the transport maximum of {max}")]
    Oversized {
        /// Length of the datagram.
        len: usize,
        /// The transport's maximum.
        max: usize,
    },
    /// The destination is known not to be reachable (no route, connection
    /// refused, no such peer). The datagram was not delivered.
    #[error("destination unreachable")]
    Unreachable,
    /// The transport was closed; no further sends or receives will succeed.
    #[error("transport closed")]
    Closed,
    /// The address cannot be used with this transport (wrong family,
    /// unspecified, port 0, unknown peer name…).
    #[error("bad address: {0}")]
    BadAddress(String),
    /// An operating-system error not covered by the other kinds.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Counters a transport may keep about what it did not pass to the engine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TransportStats {
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Datagrams received and handed to the caller of `recv`.
    pub datagrams_in: u64,
    /// Datagrams that failed authentication (wrong key, tampered, garbage)
    /// and were dropped before reaching the engine.
    pub auth_failures: u64,
    /// Datagrams dropped by the transport for any other reason (a full
    /// queue, truncation, injected loss).
    pub dropped: u64,
}

/// What [`Transport::try_send`] did with a datagram.
#[derive(Debug)]
#[non_exhaustive]
pub enum TrySend {
    /// The transport handled it at once; the result is what
    /// [`Transport::send`] would have returned.
    Done(Result<(), TransportError>),
    /// Sending it now would mean waiting (or the transport has no
    /// non-waiting path): the datagram comes back untouched, and the
    /// runtime queues it for [`Transport::send_batch`].
    WouldBlock(Bytes),
}

/// A datagram transport: the only thing the runtime needs from a network.
///
/// # Contract
///
/// * **Unreliable, like UDP.** [`send`](Transport::send) returning `Ok`
///   means the datagram was accepted for sending, not that it arrived. A
///   transport may drop, duplicate, delay or reorder datagrams silently;
///   the gossip engine repairs losses. It must never deliver a datagram
///   that was not sent (corruption must be detected and dropped), nor
///   split or merge datagrams.
/// * **Errors.** `send` returns an error when it knows the datagram was not
///   sent: [`TransportError::Oversized`] if `bytes` is longer than
///   [`max_packet_size`](Transport::max_packet_size) (checked before
///   anything else), [`TransportError::BadAddress`] for an address it can
///   never send to, [`TransportError::Unreachable`] when the destination is
///   known to be unreachable, [`TransportError::Closed`] after shutdown.
///   None of these are fatal for the caller except `Closed`.
/// * **Cancel safety.** The runtime awaits
///   [`recv_batch`](Transport::recv_batch) (and a caller may await
///   [`recv`](Transport::recv)) inside `tokio::select!`, which drops the
///   future whenever another branch (a timer, a command) wins. Both must
///   be cancel-safe: dropping the future before it completes must not lose
///   a datagram already taken off the network, nor the buffers it was
///   received into. The way to get there: keep receive buffers and any
///   datagrams not yet handed out in the transport (`&self`), not in the
///   future's locals, and take datagrams off the network only in a
///   synchronous step that also hands them to the caller (for a socket:
///   inside the readiness callback, as `tokio::net::UdpSocket::async_io`
///   runs it). A future dropped while it waits then owns nothing; one
///   that completes has handed everything over. A transport that receives
///   more than the caller's `max` keeps the rest for the next call.
///   [`send`](Transport::send) and [`send_batch`](Transport::send_batch)
///   are awaited to completion, but the runtime aborts its sender on a
///   bounded shutdown, so a dropped send must leave the transport usable.
///   `send` should not wait on one slow peer for long: drop (and count)
///   rather than block.
/// * **Sending without a hand-off.** The runtime first offers each
///   datagram to [`try_send`](Transport::try_send) from its own task; only
///   what comes back as [`TrySend::WouldBlock`] goes through the send
///   queue to the sender task. A transport whose send never waits (an
///   in-memory network) implements it and saves one task wake-up per hop;
///   the default declines, so everything goes through `send_batch`.
/// * **Concurrency.** All methods take `&self`; one `Arc<T>` serves a task
///   that sends and one that receives at the same time.
/// * [`max_packet_size`](Transport::max_packet_size) is the largest
///   datagram the *caller* may pass to `send` (after any framing or
///   encryption overhead the transport adds), and a constant.
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// The address type: what the engine stores in its member list and
    /// gossips to other nodes.
    type Address: gossip_core::Address;

    /// Sends one datagram to `to`. See the trait docs for what `Ok` and
    /// each error mean.
    async fn send(&self, to: &Self::Address, bytes: Bytes) -> Result<(), TransportError>;

    /// Sends one datagram now if that needs no waiting, else hands it
    /// back as [`TrySend::WouldBlock`]. Must not block. The default always
    /// hands it back.
    fn try_send(&self, to: &Self::Address, bytes: Bytes) -> TrySend {
        let _ = to;
        TrySend::WouldBlock(bytes)
    }

    /// Waits for the next datagram and returns its sender and contents.
    /// Must be cancel-safe.
    async fn recv(&self) -> Result<(Self::Address, Bytes), TransportError>;

    /// Sends several datagrams; transports that can batch system calls
    /// override it. Returns one result per datagram, in order. The default
    /// sends them one by one.
    async fn send_batch(&self, batch: &[(Self::Address, Bytes)]) -> Vec<Result<(), TransportError>> {
        let mut results = Vec::with_capacity(batch.len());
        for (to, bytes) in batch {
            results.push(self.send(to, bytes.clone()).await);
        }
        results
    }

    /// Waits for at least one datagram and appends up to `max` (at least
    /// one) already-arrived datagrams to `out`. Must be cancel-safe.
    /// Transports that can batch system calls override it; the default
    /// receives one.
    async fn recv_batch(&self, out: &mut Vec<(Self::Address, Bytes)>, max: usize) -> Result<(), TransportError> {
        let _ = max;
        out.push(self.recv().await?);
        Ok(())
    }

    /// The address other nodes reach this endpoint at.
    fn local_addr(&self) -> Self::Address;

    /// The largest datagram `send` accepts, in bytes.
    fn max_packet_size(&self) -> usize;

    /// What the transport counted; the runtime includes it in its stats.
    /// The default reports nothing.
    fn stats(&self) -> TransportStats {
        TransportStats::default()
    }
}

#[async_trait]
impl<T: Transport> Transport for std::sync::Arc<T> {
    type Address = T::Address;

    async fn send(&self, to: &Self::Address, bytes: Bytes) -> Result<(), TransportError> {
        (**self).send(to, bytes).await
    }

    async fn recv(&self) -> Result<(Self::Address, Bytes), TransportError> {
        (**self).recv().await
    }

    fn try_send(&self, to: &Self::Address, bytes: Bytes) -> TrySend {
        (**self).try_send(to, bytes)
    }

    async fn send_batch(&self, batch: &[(Self::Address, Bytes)]) -> Vec<Result<(), TransportError>> {
        (**self).send_batch(batch).await
    }

    async fn recv_batch(&self, out: &mut Vec<(Self::Address, Bytes)>, max: usize) -> Result<(), TransportError> {
        (**self).recv_batch(out, max).await
    }

    fn local_addr(&self) -> Self::Address {
        (**self).local_addr()
    }

    fn max_packet_size(&self) -> usize {
        (**self).max_packet_size()
    }

    fn stats(&self) -> TransportStats {
        (**self).stats()
    }
}
