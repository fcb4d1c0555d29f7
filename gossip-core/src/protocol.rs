//! The sans-IO surface every protocol in the workspace implements.

use std::time::Duration;

use bytes::Bytes;

use crate::error::{MetaError, MulticastError, SubscribeError};
use crate::event::{Event, Transmit};
use crate::ids::{GroupId, MessageId};
use crate::membership::Member;
use crate::stats::ProtocolStats;
use crate::subscription::SubscribeFrom;
use crate::time::Time;

/// A multicast protocol as a pure state machine.
///
/// The driver (a runtime, an in-memory network, a simulator) feeds it
/// packets, timeouts and user calls, each with the current [`Time`], then
/// drains transmits and events and asks when to call
/// [`handle_timeout`](Protocol::handle_timeout) next. Nothing here blocks,
/// sleeps, reads a clock or does I/O, so the same value runs under tokio and
/// in virtual time.
///
/// After every call, the driver should drain [`poll_transmit`](Protocol::poll_transmit)
/// and [`poll_event`](Protocol::poll_event) until they return `None`, then
/// re-read [`poll_timeout`](Protocol::poll_timeout).
///
/// A protocol brings its own counters ([`Stats`](Protocol::Stats), which
/// drivers read through [`ProtocolStats::common`]), its own packet errors
/// ([`Error`](Protocol::Error)) and its own kind of events
/// ([`Custom`](Protocol::Custom), carried by [`Event::Custom`]); each
/// [`Transmit`] says what it is for ([`TransmitKind`](crate::TransmitKind)),
/// so no driver parses a protocol's bytes.
pub trait Protocol {
    /// The transport address type.
    type Address;

    /// The protocol's counters.
    type Stats: ProtocolStats;

    /// Why a packet was rejected.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The protocol's own events, beyond deliveries and membership changes
    /// ([`std::convert::Infallible`] if it has none).
    type Custom;

    /// Handles a packet that arrived from `from`. A malformed packet is
    /// dropped whole, counted, and reported as an error; it never panics.
    fn handle_packet(&mut self, now: Time, from: Self::Address, packet: Bytes) -> Result<(), Self::Error>;

    /// Runs whatever is due at `now` (gossip rounds, expiry, retries).
    /// Calling it early is harmless.
    fn handle_timeout(&mut self, now: Time);

    /// Sends `payload` to the members of `group`. The sender need not be a
    /// member; if it is, it delivers its own message too (at once, with 0
    /// hops), like every other member.
    fn multicast(&mut self, now: Time, group: GroupId, payload: Bytes) -> Result<MessageId, MulticastError>;

    /// Joins `group`: this node delivers its messages from now on and
    /// becomes a gossip target for it.
    fn subscribe(&mut self, now: Time, group: GroupId) -> Result<(), SubscribeError>;

    /// Joins `group`, delivering from `from` on: [`SubscribeFrom::Now`] is
    /// [`subscribe`](Self::subscribe); [`SubscribeFrom::Buffered`] also
    /// fetches recent history where the protocol can (the default ignores
    /// `from`).
    fn subscribe_from(&mut self, now: Time, group: GroupId, from: SubscribeFrom) -> Result<(), SubscribeError> {
        let _ = from;
        self.subscribe(now, group)
    }

    /// Leaves `group`.
    fn unsubscribe(&mut self, now: Time, group: GroupId);

    /// Contacts `seeds` to learn the membership.
    fn join(&mut self, now: Time, seeds: &[Self::Address]);

    /// Announces that this node leaves; it sends nothing after the announcement.
    fn leave(&mut self, now: Time);

    /// Tells the protocol the transport found `addr` unreachable.
    fn handle_unreachable(&mut self, _now: Time, _addr: &Self::Address) {}

    /// The next packet to send, if any.
    fn poll_transmit(&mut self) -> Option<Transmit<Self::Address>>;

    /// The next event, if any.
    fn poll_event(&mut self) -> Option<Event<Self::Address, Self::Custom>>;

    /// When [`handle_timeout`](Protocol::handle_timeout) should next run, or
    /// `None` if nothing is scheduled.
    fn poll_timeout(&self) -> Option<Time>;

    /// Counters since start.
    fn stats(&self) -> &Self::Stats;

    /// The members this protocol knows, with status, groups and metadata
    /// (empty for a protocol that keeps no such view).
    fn members(&self) -> Vec<Member<Self::Address>> {
        Vec::new()
    }

    /// Sets this node's metadata, gossiped with its member entry. A
    /// protocol without member metadata refuses with
    /// [`MetaError::Unsupported`].
    fn set_meta(&mut self, _now: Time, _meta: Bytes) -> Result<(), MetaError> {
        Err(MetaError::Unsupported)
    }

    /// The round-trip times of this node's direct failure-detector probes
    /// (ping sent to ack handled, in the driver's time) since the last
    /// call, oldest first; taking them empties the record. A protocol
    /// keeps a bounded number (a newer time overwrites the oldest, and is
    /// counted), so a driver that never calls this costs nothing but that
    /// record. None for a protocol without probes (the default).
    fn drain_probe_rtts(&mut self) -> impl Iterator<Item = Duration> + '_ {
        std::iter::empty()
    }
}
