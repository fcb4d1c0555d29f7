//! Unicast loop: the origin sends one copy to every member of the group.
//!
//! The cost is all on the sender: N − 1 packets per message, and its
//! uplink is the bottleneck. Nothing is repaired: a lost copy stays lost.

use bytes::Bytes;
use gossip_core::{Address, Event, GroupId, MessageId, MulticastError, Protocol, SubscribeError, Time, Transmit};

use crate::BaselineStats;
use crate::common::{Core, Seat};
use crate::wire::{Packet, WireError};

/// A unicast-loop node. See the [module docs](self).
pub struct Unicast<A> {
    core: Core<A>,
}

impl<A: Address> Unicast<A> {
    /// The node that takes `seat` in the shared member list.
    pub fn new(seat: Seat<A>) -> Self {
        Unicast { core: Core::new(seat) }
    }
}

impl<A: Address> Protocol for Unicast<A> {
    fn handle_packet(&mut self, _now: Time, _from: A, packet: Bytes) -> Result<(), WireError> {
        if let Some(Packet::Data(d)) = self.core.receive(&packet)? {
            self.core.accept(d.id, &d.payload, u32::from(d.hops));
        }
        Ok(())
    }

    fn multicast(&mut self, _now: Time, group: GroupId, payload: Bytes) -> Result<MessageId, MulticastError> {
        let id = self.core.start_message(group, &payload)?;
        let packet = Packet::Data(self.core.own_data(id, payload, false));
        let members = self.core.members.clone();
        let n = members.group(group).len() as u64;
        self.core.send_to_group(group, None, &packet);
        self.core.stats.messages_sent += n.saturating_sub(u64::from(self.core.rank(group).is_some()));
        Ok(id)
    }

    crate::delegate_protocol!(without_timers);
}
