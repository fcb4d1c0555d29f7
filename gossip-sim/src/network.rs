//! The simulated network and the records, apart from the nodes: routing
//! through the link model, draining a node's output, and bookkeeping.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use gossip_core::{Event, GroupId, MessageId, Protocol, SharedMembers, SmallRng, Time, TransmitKind};

use crate::config::{SimConfig, Timing};
use crate::link::{DropReason, FaultAction, LinkModel, Verdict};
use crate::queue::{Entry, Kind, Outbox, Packet, Payload, PendingCast};
use crate::record::{MessageRecord, NEVER, RoundRecord, SimStats};
use crate::views::Views;

/// Everything except the nodes, so a node and the network can be borrowed
/// at the same time.
pub(crate) struct Core {
    pub(crate) config: SimConfig,
    pub(crate) link: LinkModel,
    pub(crate) rng: SmallRng,
    pub(crate) members: Arc<SharedMembers<u32>>,
    pub(crate) n: usize,
    pub(crate) now: Time,
    /// Rounds completed.
    pub(crate) rounds_done: u32,
    pub(crate) incarnations: Vec<u32>,
    // Rounds timing.
    pub(crate) requests: Outbox,
    pub(crate) others: Outbox,
    // Events timing.
    pub(crate) queue: BinaryHeap<Reverse<Entry>>,
    pub(crate) seq: u64,
    pub(crate) timer_at: Vec<u64>,
    pub(crate) boot_at: Vec<u64>,
    pub(crate) in_flight: usize,
    pub(crate) last_send: Time,
    // Inputs.
    pub(crate) steps: VecDeque<(Time, FaultAction)>,
    pub(crate) casts: VecDeque<PendingCast>,
    // Records.
    pub(crate) messages: Vec<MessageRecord>,
    pub(crate) by_id: HashMap<MessageId, usize>,
    pub(crate) satisfied: Vec<bool>,
    pub(crate) satisfied_count: usize,
    pub(crate) group_live: HashMap<GroupId, u32>,
    pub(crate) rounds: Vec<RoundRecord>,
    pub(crate) current: RoundRecord,
    pub(crate) stats: SimStats,
    /// Membership views, when tracked.
    pub(crate) views: Option<Views>,
}

impl Core {
    pub(crate) fn drop_packet(&mut self, reason: DropReason) {
        self.current.packets_dropped += 1;
        match reason {
            DropReason::Loss => self.stats.dropped_loss += 1,
            DropReason::Partition => self.stats.dropped_partition += 1,
            DropReason::SenderDown | DropReason::ReceiverDown => self.stats.dropped_down += 1,
            DropReason::QueueFull => self.stats.dropped_queue_full += 1,
        }
    }

    /// Drains node `index`'s transmits and events, and reschedules its timer.
    pub(crate) fn collect<P: Protocol<Address = u32>>(&mut self, index: u32, node: &mut P) {
        let now = self.now;
        while let Some(transmit) = node.poll_transmit() {
            self.stats.packets_sent += 1;
            self.stats.bytes_sent += transmit.bytes.len() as u64;
            self.current.packets_sent += 1;
            self.current.bytes_sent += transmit.bytes.len() as u64;
            if transmit.kind == TransmitKind::Membership {
                self.stats.membership_bytes += transmit.bytes.len() as u64;
                self.current.membership_bytes += transmit.bytes.len() as u64;
            }
            self.last_send = now;
            let to = transmit.to;
            if to as usize >= self.n {
                self.stats.misaddressed += 1;
                self.current.packets_dropped += 1;
                continue;
            }
            let delay = match self.link.route(index, to, &mut self.rng) {
                Verdict::Drop(reason) => {
                    self.drop_packet(reason);
                    continue;
                }
                Verdict::Deliver(delay) => delay,
            };
            if self.in_flight >= self.config.max_in_flight {
                self.drop_packet(DropReason::QueueFull);
                continue;
            }
            self.in_flight += 1;
            self.stats.peak_in_flight = self.stats.peak_in_flight.max(self.in_flight);
            let packet = Packet { to, from: index, payload: Payload::new(transmit.bytes) };
            match self.config.timing {
                Timing::Rounds => {
                    if self.config.requests_first && transmit.kind == TransmitKind::Request {
                        self.requests.push(packet);
                    } else {
                        self.others.push(packet);
                    }
                }
                Timing::Events { .. } => {
                    self.push_entry((now + delay).as_micros(), Kind::Packet(packet));
                }
            }
        }
        while let Some(event) = node.poll_event() {
            if let Event::Delivered(delivery) = &event {
                self.delivered(index, delivery.id, delivery.hops);
            } else if let Some(views) = &mut self.views {
                views.event(now, index, &event, &self.incarnations, &self.link);
            }
        }
        if !self.timer_at.is_empty() {
            let i = index as usize;
            if let Some(want) = node.poll_timeout() {
                let boot = self.boot_at.get(i).copied().unwrap_or(0);
                let at = want.as_micros().max(now.as_micros()).max(boot);
                if at != self.timer_at[i] {
                    self.timer_at[i] = at;
                    let incarnation = self.incarnations[i];
                    self.push_entry(at, Kind::Timer { node: index, incarnation });
                }
            }
        }
    }

    pub(crate) fn push_entry(&mut self, at: u64, kind: Kind) {
        self.seq += 1;
        self.queue.push(Reverse(Entry { at, seq: self.seq, kind }));
    }

    pub(crate) fn delivered(&mut self, index: u32, id: MessageId, hops: u32) {
        let Some(&handle) = self.by_id.get(&id) else { return };
        self.stats.deliveries += 1;
        let now = self.now.as_micros();
        let record = &mut self.messages[handle];
        let i = index as usize;
        let (word, bit) = (i / 64, index % 64);
        if record.held[word] & (1 << bit) != 0 {
            record.duplicate_deliveries += 1;
            return;
        }
        record.held[word] |= 1 << bit;
        record.holders += 1;
        if record.first_at[i] == NEVER {
            record.first_at[i] = now;
            record.first_hop[i] = hops;
            record.delivered += 1;
        } else {
            record.redeliveries += 1;
        }
        self.refresh(handle, self.now);
    }

    pub(crate) fn live_members(&mut self, group: GroupId) -> u32 {
        if let Some(&count) = self.group_live.get(&group) {
            return count;
        }
        let link = &self.link;
        let count = self.members.group(group).iter().filter(|&&i| link.is_up(i)).count() as u32;
        self.group_live.insert(group, count);
        count
    }

    /// Recomputes whether message `handle` is held by every live member.
    pub(crate) fn refresh(&mut self, handle: usize, now: Time) {
        let group = self.messages[handle].group;
        let live = self.live_members(group);
        let record = &mut self.messages[handle];
        let ok = record.failure.is_some() || (record.id.is_some() && record.holders >= live);
        if ok && record.completed.is_none() && record.failure.is_none() {
            record.completed = Some((now, self.rounds_done + 1));
        }
        if ok != self.satisfied[handle] {
            self.satisfied[handle] = ok;
            if ok {
                self.satisfied_count += 1;
            } else {
                self.satisfied_count -= 1;
            }
        }
    }

    pub(crate) fn close_round(&mut self) {
        let round = self.rounds_done + 1;
        let record = std::mem::replace(&mut self.current, RoundRecord { round: round + 1, ..RoundRecord::default() });
        self.rounds.push(RoundRecord { round, end: self.now, ..record });
        if let Some(views) = &mut self.views {
            views.close_round(&self.link);
        }
        for message in &mut self.messages {
            if message.sent_at.is_some() {
                message.holders_by_round.push(message.holders);
            }
        }
        self.rounds_done = round;
    }
}
