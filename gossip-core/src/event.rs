//! What the engine hands back to its driver: packets to send and events.

use std::convert::Infallible;

use bytes::Bytes;

use crate::ids::{GroupId, MessageId, NodeId};

/// A packet to send: drained with [`poll_transmit`](crate::Protocol::poll_transmit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit<A> {
    /// Where to send it.
    pub to: A,
    /// The encoded packet, never longer than the configured maximum.
    pub bytes: Bytes,
    /// What the packet is for, as the protocol that built it says: a driver
    /// reads it instead of parsing the bytes (the simulator delivers
    /// requests first within a round and counts membership bytes apart).
    pub kind: TransmitKind,
}

impl<A> Transmit<A> {
    /// A packet of `kind` for `to`.
    pub fn new(to: A, bytes: Bytes, kind: TransmitKind) -> Self {
        Transmit { to, bytes, kind }
    }
}

/// What a [`Transmit`] is for. A packet that serves several purposes (a
/// message with membership entries piggy-backed) takes the class of what
/// made the protocol send it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransmitKind {
    /// Carries multicast messages (a push, a forward, a first copy).
    Data,
    /// Asks the receiver for an answer about messages (a pull digest, a NACK).
    Request,
    /// Answers a request or reports what was received (a pull answer, a
    /// repair, an acknowledgement).
    Answer,
    /// Membership only: joins and their answers, keep-alives, probes and
    /// acknowledgements of the failure detector, leave announcements.
    Membership,
}

/// A message delivered to this node because it is a member of the group.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Delivery {
    /// The message's id.
    pub id: MessageId,
    /// The payload, as multicast.
    pub payload: Bytes,
    /// How many relays carried it here (0 when the origin sent it directly).
    pub hops: u32,
}

impl Delivery {
    /// The group it was sent to.
    pub fn group(&self) -> GroupId {
        self.id.group
    }
}

/// Messages of one stream that will never be delivered: every message of
/// `(group, origin)` numbered `from..=to` that has not been delivered by now
/// never will be (the range may include messages that were delivered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Gap {
    /// The group.
    pub group: GroupId,
    /// The origin.
    pub origin: NodeId,
    /// The first number given up on.
    pub from: u64,
    /// The last number given up on.
    pub to: u64,
    /// Why.
    pub reason: GapReason,
}

/// Why a [`Gap`] opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum GapReason {
    /// A later number arrived more than `dedup_window` ahead of the first
    /// missing one, and the window moved past it.
    WindowSkip,
    /// The stream table was full (`max_streams`): the stream delivered to
    /// least recently stopped being tracked, and its missing numbers with it.
    Evicted,
    /// The numbers stayed missing until no copy young enough to be
    /// accepted could still arrive (retention passed, as after a long
    /// partition).
    Retention,
}

/// Why a member is considered down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum DownReason {
    /// It stopped answering probes, direct and indirect, and did not refute
    /// the suspicion within the suspicion timeout.
    Failed,
    /// It announced that it left.
    Left,
    /// A new node (a restart) now answers at its address.
    Replaced,
}

/// Something the driver should know: drained with [`poll_event`](crate::Protocol::poll_event).
///
/// `C` is the protocol's own kind of event ([`Protocol::Custom`](crate::Protocol::Custom));
/// gossip's [`Node`](crate::Node) has none ([`Infallible`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum Event<A, C = Infallible> {
    /// A message for one of this node's groups, delivered exactly once.
    Delivered(Delivery),
    /// A member became known, or came back after being declared down.
    MemberUp {
        /// Its id.
        id: NodeId,
        /// Its address.
        addr: A,
        /// Its incarnation.
        incarnation: u64,
    },
    /// A member is suspected: it did not answer a probe (this node's or
    /// another's). It is declared down unless it refutes in time.
    MemberSuspect {
        /// Its id.
        id: NodeId,
        /// The incarnation suspected.
        incarnation: u64,
    },
    /// A member is considered down.
    MemberDown {
        /// Its id.
        id: NodeId,
        /// Its incarnation when it went down.
        incarnation: u64,
        /// Why.
        reason: DownReason,
    },
    /// Messages that will never be delivered (see [`Gap`]).
    Gap(Gap),
    /// An event of the protocol's own kind.
    Custom(C),
}
