//! RMTP-style reliable multicast: an ACK tree with designated receivers,
//! after Paul et al., "Reliable Multicast Transport Protocol (RMTP)".
//!
//! Messages travel down the same balanced k-ary tree as [`Tree`](crate::Tree).
//! Every interior node is the **designated receiver** (DR) of its region,
//! its k children:
//!
//! * a receiver acknowledges every copy it gets to the node that sent it,
//!   gathering the ids it received during `ack_delay` into one ACK packet;
//! * a DR keeps each message it forwarded until all its children have
//!   acknowledged it, and retransmits it to the silent ones every `rto`
//!   (doubling, at most 8×), at most `max_retries` times per child;
//! * a child that stays silent for `adopt_after` retransmissions is
//!   presumed crashed: its DR also serves the child's own children (and, if
//!   those are silent too, theirs), so a crashed interior node does not cut
//!   off its subtree for good, only delays it.
//!
//! The origin only ever hears from its k children: ACK implosion is
//! avoided by aggregation, each DR answering for its region.

use std::collections::HashMap;

use bytes::Bytes;
use gossip_core::{
    Address, Event, GroupId, MessageId, MulticastError, Protocol, SubscribeError, Time, Transmit, TransmitKind,
};

use crate::BaselineStats;
use crate::common::{Core, Seat};
use crate::tree;
use crate::wire::{Ack, Data, MAX_IDS, Packet, WireError};

struct Child {
    index: u32,
    tries: u32,
    adopted: bool,
}

struct Pending {
    due: Time,
    round: u32,
    data: Data,
    children: Vec<Child>,
}

/// An RMTP-style node. See the [module docs](self).
pub struct Rmtp<A> {
    core: Core<A>,
    pending: HashMap<MessageId, Pending>,
    acks: HashMap<u32, Vec<MessageId>>,
    ack_due: Option<Time>,
}

impl<A: Address> Rmtp<A> {
    /// The node that takes `seat` in the shared member list.
    pub fn new(seat: Seat<A>) -> Self {
        Rmtp { core: Core::new(seat), pending: HashMap::new(), acks: HashMap::new(), ack_due: None }
    }

    /// Messages some child has not acknowledged yet.
    pub fn unacknowledged(&self) -> usize {
        self.pending.len()
    }

    /// Forwards `data` to this node's children and waits for their ACKs.
    fn forward_tracked(&mut self, now: Time, data: &Data, hops: u32) {
        let children = self.core.children(data.id.group, data.root);
        if children.is_empty() {
            return;
        }
        tree::forward(&mut self.core, data, hops);
        if self.pending.len() >= self.core.config.max_pending {
            self.core.stats.pending_full += 1;
            return;
        }
        let data = Data { forward: true, repair: true, sender: self.core.index, ..data.clone() };
        let children = children.into_iter().map(|index| Child { index, tries: 0, adopted: false }).collect();
        self.pending.insert(data.id, Pending { due: now + self.core.config.rto, round: 0, data, children });
    }

    fn queue_ack(&mut self, now: Time, to: u32, id: MessageId) {
        if to == self.core.index {
            return;
        }
        let list = self.acks.entry(to).or_default();
        list.push(id);
        if list.len() >= MAX_IDS {
            let ids = std::mem::take(list);
            self.send_ack(to, ids);
        }
        if self.ack_due.is_none() {
            self.ack_due = Some(now + self.core.config.ack_delay);
        }
    }

    fn send_ack(&mut self, to: u32, ids: Vec<MessageId>) {
        if ids.is_empty() {
            return;
        }
        self.core.send_to(to, &Packet::Ack(Ack { from: self.core.index, ids }));
        self.core.stats.acks_sent += 1;
    }

    fn retransmit(&mut self, now: Time) {
        // Sorted, so that a seeded run sends in the same order every time.
        let mut due: Vec<MessageId> = self.pending.iter().filter(|(_, p)| p.due <= now).map(|(id, _)| *id).collect();
        due.sort_unstable();
        let (max_retries, adopt_after, rto) =
            (self.core.config.max_retries, self.core.config.adopt_after, self.core.config.rto);
        for id in due {
            let Some(mut entry) = self.pending.remove(&id) else { continue };
            let mut adopted = Vec::new();
            let mut send = Vec::new();
            entry.children.retain_mut(|child| {
                child.tries += 1;
                if child.tries > max_retries {
                    return false;
                }
                send.push(child.index);
                if adopt_after > 0 && child.tries == adopt_after && !child.adopted {
                    child.adopted = true;
                    adopted.push(child.index);
                }
                true
            });
            let before = entry.children.len();
            for silent in adopted {
                for grandchild in self.core.children_of(id.group, entry.data.root, silent) {
                    if grandchild != self.core.index && !entry.children.iter().any(|c| c.index == grandchild) {
                        entry.children.push(Child { index: grandchild, tries: 0, adopted: false });
                        send.push(grandchild);
                    }
                }
            }
            self.core.stats.adopted += (entry.children.len() - before) as u64;
            let bytes = Packet::Data(entry.data.clone()).encode();
            for to in send {
                self.core.send_bytes(to, bytes.clone(), TransmitKind::Answer);
                self.core.stats.messages_sent += 1;
                self.core.stats.repairs_sent += 1;
            }
            if entry.children.is_empty() {
                self.core.stats.gave_up += 1;
                continue;
            }
            entry.round += 1;
            entry.due = now + rto * (1 << entry.round.min(3));
            self.pending.insert(id, entry);
        }
    }
}

impl<A: Address> Protocol for Rmtp<A> {
    fn handle_packet(&mut self, now: Time, _from: A, packet: Bytes) -> Result<(), WireError> {
        match self.core.receive(&packet)? {
            Some(Packet::Data(d)) => {
                if self.core.accept_and_keep(&d) && d.forward {
                    self.forward_tracked(now, &d, u32::from(d.hops) + 1);
                }
                self.queue_ack(now, d.sender, d.id);
            }
            Some(Packet::Ack(a)) => {
                for id in a.ids {
                    if let Some(entry) = self.pending.get_mut(&id) {
                        entry.children.retain(|c| c.index != a.from);
                        if entry.children.is_empty() {
                            self.pending.remove(&id);
                        }
                    }
                }
            }
            Some(Packet::Nack(_) | Packet::Session(_)) | None => {}
        }
        Ok(())
    }

    fn handle_timeout(&mut self, now: Time) {
        if self.core.left {
            return;
        }
        if self.ack_due.is_some_and(|due| due <= now) {
            self.ack_due = None;
            let mut acks: Vec<(u32, Vec<MessageId>)> = self.acks.drain().collect();
            acks.sort_unstable_by_key(|(to, _)| *to);
            for (to, ids) in acks {
                for chunk in ids.chunks(MAX_IDS) {
                    self.send_ack(to, chunk.to_vec());
                }
            }
        }
        self.retransmit(now);
    }

    fn multicast(&mut self, now: Time, group: GroupId, payload: Bytes) -> Result<MessageId, MulticastError> {
        let id = self.core.start_message(group, &payload)?;
        self.core.keep_own(id, payload.clone());
        if self.core.rank(group).is_some() {
            let data = self.core.own_data(id, payload, true);
            self.forward_tracked(now, &data, 0);
        } else {
            tree::originate(&mut self.core, id, payload);
        }
        Ok(id)
    }

    fn poll_timeout(&self) -> Option<Time> {
        let retransmit = self.pending.values().map(|p| p.due).min();
        match (retransmit, self.ack_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    crate::delegate_protocol!();
}
