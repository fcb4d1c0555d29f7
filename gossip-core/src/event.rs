//! What the engine hands back to its driver: packets to send and events.

use bytes::Bytes;

use crate::ids::{GroupId, MessageId, NodeId};

/// A packet to send: drained with [`poll_transmit`](crate::Protocol::poll_transmit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit<A> {
    /// Where to send it.
    pub to: A,
    /// The encoded packet, never longer than the configured maximum.
    pub bytes: Bytes,
}

/// A message delivered to this node because it is a member of the group.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// Why a member is considered down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<A> {
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
}
