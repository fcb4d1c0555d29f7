//! Spanning tree: a balanced k-ary tree over the group's member list,
//! rooted at the origin; every node forwards a new message to its children.
//!
//! Latency is about log_k N hops and every node sends at most k copies, but
//! nothing is repaired: a lost packet or a crashed interior node cuts off
//! the whole subtree below it.

use bytes::Bytes;
use gossip_core::{Address, Event, GroupId, MessageId, MulticastError, Protocol, SubscribeError, Time, Transmit};

use crate::BaselineStats;
use crate::common::{Core, Seat, hops16};
use crate::wire::{Data, Packet, WireError};

/// A spanning-tree node. See the [module docs](self).
pub struct Tree<A> {
    core: Core<A>,
}

impl<A: Address> Tree<A> {
    /// The node that takes `seat` in the shared member list.
    pub fn new(seat: Seat<A>) -> Self {
        Tree { core: Core::new(seat) }
    }
}

/// Sends `data` (as received, or as originated) to this node's children.
pub(crate) fn forward<A: Address>(core: &mut Core<A>, data: &Data, hops: u32) {
    let children = core.children(data.id.group, data.root);
    if children.is_empty() {
        return;
    }
    let packet = Packet::Data(Data { forward: true, sender: core.index, hops: hops16(hops), ..data.clone() });
    let (bytes, kind) = (packet.encode(), packet.kind());
    for child in children {
        core.send_bytes(child, bytes.clone(), kind);
        core.stats.messages_sent += 1;
    }
}

/// Starts a tree multicast of `id` from this node.
pub(crate) fn originate<A: Address>(core: &mut Core<A>, id: MessageId, payload: Bytes) {
    let group = id.group;
    let data = core.own_data(id, payload, true);
    if core.rank(group).is_some() {
        forward(core, &data, 0);
    } else if let Some(&first) = core.members.clone().group(group).first() {
        // Not a member: hand it to the root, which forwards it.
        core.send_to(first, &Packet::Data(data));
        core.stats.messages_sent += 1;
    }
}

impl<A: Address> Protocol for Tree<A> {
    fn handle_packet(&mut self, _now: Time, _from: A, packet: Bytes) -> Result<(), WireError> {
        if let Some(Packet::Data(d)) = self.core.receive(&packet)? {
            let hops = u32::from(d.hops);
            if self.core.accept(d.id, &d.payload, hops) && d.forward {
                forward(&mut self.core, &d, hops + 1);
            }
        }
        Ok(())
    }

    fn multicast(&mut self, _now: Time, group: GroupId, payload: Bytes) -> Result<MessageId, MulticastError> {
        let id = self.core.start_message(group, &payload)?;
        originate(&mut self.core, id, payload);
        Ok(id)
    }

    crate::delegate_protocol!(without_timers);
}
