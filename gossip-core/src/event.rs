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

/// Why a member is considered down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum DownReason {
    /// Its heartbeat stopped advancing for `member_timeout`.
    Timeout,
    /// It announced that it left.
    Left,
    /// The transport reported it unreachable.
    Unreachable,
}

/// Something the driver should know: drained with [`poll_event`](crate::Protocol::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Event<A> {
    /// A message for one of this node's groups, delivered exactly once.
    Delivered(Delivery),
    /// A member became known or came back.
    MemberUp {
        /// Its id.
        id: NodeId,
        /// Its address.
        addr: A,
    },
    /// A member is considered down.
    MemberDown {
        /// Its id.
        id: NodeId,
        /// Why.
        reason: DownReason,
    },
}
