//! Unicast loop: the origin sends one copy to every member of the group.
//!
//! The cost is all on the sender: N − 1 packets per message, and its
//! uplink is the bottleneck. Nothing is repaired: a lost copy stays lost.

use std::sync::Arc;

use bytes::Bytes;
use gossip_core::{
    Address, Event, GroupId, MessageId, MulticastError, NodeId, Protocol, SharedMembers, SmallRng, SubscribeError,
    Time, Transmit,
};

use crate::common::{BaselineConfig, BaselineStats, Core};
use crate::wire::{Data, Packet, WireError};

/// A unicast-loop node. See the [module docs](self).
pub struct Unicast<A> {
    core: Core<A>,
}

impl<A: Address> Unicast<A> {
    /// Node `id` at position `index` of the shared member list.
    pub fn new(
        id: NodeId,
        index: u32,
        members: Arc<SharedMembers<A>>,
        config: Arc<BaselineConfig>,
        rng: SmallRng,
    ) -> Self {
        Unicast { core: Core::new(id, index, members, config, rng) }
    }
}

impl<A: Address> Protocol for Unicast<A> {
    type Address = A;
    type Stats = BaselineStats;
    type Error = WireError;
    type Custom = std::convert::Infallible;

    fn handle_packet(&mut self, _now: Time, _from: A, packet: Bytes) -> Result<(), WireError> {
        if let Some(Packet::Data(d)) = self.core.receive(&packet)? {
            self.core.accept(d.id, &d.payload, u32::from(d.hops));
        }
        Ok(())
    }

    fn handle_timeout(&mut self, _now: Time) {}

    fn poll_timeout(&self) -> Option<Time> {
        None
    }

    fn multicast(&mut self, _now: Time, group: GroupId, payload: Bytes) -> Result<MessageId, MulticastError> {
        let id = self.core.new_message(group, &payload)?;
        self.core.accept(id, &payload, 0);
        let packet = Packet::Data(Data {
            forward: false,
            repair: false,
            id,
            origin_index: self.core.index,
            root: self.core.own_root(group),
            sender: self.core.index,
            hops: 0,
            payload,
        });
        let members = self.core.members.clone();
        let n = members.group(group).len() as u64;
        self.core.send_to_group(group, None, &packet);
        self.core.stats.messages_sent += n.saturating_sub(u64::from(self.core.rank(group).is_some()));
        Ok(id)
    }

    crate::delegate_protocol!();
}
