//! SRM-style reliable multicast: tree (or direct) dissemination plus
//! receiver-driven repair, after Floyd et al., "A Reliable Multicast
//! Framework for Light-weight Sessions and Application Level Framing".
//!
//! * **Loss detection.** A receiver learns that a message exists from a
//!   later sequence number of the same stream, from the origin's session
//!   messages (sent `session_count` times after each multicast, at doubling
//!   intervals from `session_interval`), or from another member's NACK.
//! * **Requests.** For each missing message it waits a random delay, uniform
//!   in `[d, (1 + C2)·d]` (`d` = `repair_delay`, `C2` = `spread`, √N by
//!   default), then multicasts a NACK to the group, unless it heard a NACK
//!   for the same message first; either way it then backs off (the window
//!   doubles, at most `max_backoff` times) and asks again if the repair does
//!   not come, at most `max_retries` times.
//! * **Repairs.** Any member holding a NACKed message answers after its own
//!   random delay in the same kind of window, unless it saw another repair
//!   of it first; after a repair it ignores NACKs for the message for `3·d`.
//!
//! Without IP multicast, "multicast to the group" is one unicast per member:
//! every NACK, repair and session message costs N packets.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use gossip_core::{
    Address, Event, GroupId, MessageId, MulticastError, NodeId, Protocol, SubscribeError, Time, Transmit,
};

use crate::common::{Core, Seat};
use crate::tree;
use crate::wire::{Data, MAX_IDS, Nack, Packet, Session, WireError};
use crate::{BaselineStats, Dissemination};

/// Largest gap a receiver starts NACK timers for at once, per stream.
const MAX_GAP: u64 = 128;

#[derive(Clone, Copy)]
struct StreamInfo {
    origin_index: u32,
    root: u32,
    highest: u64,
}

struct NackTimer {
    due: Time,
    doublings: u32,
    sent: u32,
}

struct SessionPlan {
    group: GroupId,
    due: Time,
    interval: Duration,
    remaining: u32,
}

/// An SRM-style node. See the [module docs](self).
pub struct Srm<A> {
    core: Core<A>,
    streams: HashMap<(GroupId, NodeId), StreamInfo>,
    nacks: HashMap<MessageId, NackTimer>,
    repairs: HashMap<MessageId, Time>,
    holddown: HashMap<MessageId, Time>,
    sessions: Vec<SessionPlan>,
}

impl<A: Address> Srm<A> {
    /// The node that takes `seat` in the shared member list.
    pub fn new(seat: Seat<A>) -> Self {
        Srm {
            core: Core::new(seat),
            streams: HashMap::new(),
            nacks: HashMap::new(),
            repairs: HashMap::new(),
            holddown: HashMap::new(),
            sessions: Vec::new(),
        }
    }

    /// NACK timers pending now.
    pub fn pending_nacks(&self) -> usize {
        self.nacks.len()
    }

    fn spread(&self, group: GroupId) -> f64 {
        self.core.config.spread.unwrap_or_else(|| (self.core.members.group(group).len() as f64).sqrt())
    }

    fn delay(&mut self, group: GroupId, doublings: u32) -> Duration {
        let spread = self.spread(group);
        let d = self.core.config.repair_delay;
        self.core.backoff(d, spread, doublings)
    }

    /// Learns that `highest` exists in a stream and starts timers for what is missing.
    fn learn(&mut self, now: Time, group: GroupId, origin: NodeId, origin_index: u32, root: u32, highest: u64) {
        if origin == self.core.id {
            return;
        }
        let key = (group, origin);
        let info = match self.streams.get_mut(&key) {
            Some(info) => {
                info.highest = info.highest.max(highest);
                *info
            }
            None => {
                if self.streams.len() >= self.core.config.max_pending {
                    self.core.stats.pending_full += 1;
                    return;
                }
                let info = StreamInfo { origin_index, root, highest };
                self.streams.insert(key, info);
                info
            }
        };
        let floor = self.core.floor(group, origin);
        let top = info.highest.min(floor.saturating_add(MAX_GAP));
        for seq in floor.saturating_add(1)..=top {
            let id = MessageId { group, origin, seq };
            if self.core.has_seen(id) || self.nacks.contains_key(&id) {
                continue;
            }
            if self.nacks.len() >= self.core.config.max_pending {
                self.core.stats.pending_full += 1;
                break;
            }
            let due = now + self.delay(group, 0);
            self.nacks.insert(id, NackTimer { due, doublings: 0, sent: 0 });
        }
    }

    fn on_data(&mut self, now: Time, d: Data) {
        if self.core.accept_and_keep(&d) {
            self.nacks.remove(&d.id);
            if d.forward {
                tree::forward(&mut self.core, &d, u32::from(d.hops) + 1);
            }
        }
        if d.repair {
            if self.repairs.remove(&d.id).is_some() {
                self.core.stats.repairs_suppressed += 1;
            }
            self.holddown.insert(d.id, now + self.core.config.repair_delay * 3);
        }
        self.learn(now, d.id.group, d.id.origin, d.origin_index, d.root, d.id.seq);
    }

    fn on_nack(&mut self, now: Time, n: Nack) {
        let Some(&highest) = n.seqs.iter().max() else { return };
        for &seq in &n.seqs {
            let id = MessageId { group: n.group, origin: n.origin, seq };
            if self.core.stored(&id).is_some() {
                let held = self.holddown.get(&id).is_some_and(|until| *until > now);
                if !held && !self.repairs.contains_key(&id) {
                    if self.repairs.len() >= self.core.config.max_pending {
                        self.core.stats.pending_full += 1;
                        continue;
                    }
                    let due = now + self.delay(n.group, 0);
                    self.repairs.insert(id, due);
                }
            } else if !self.core.has_seen(id) {
                // Someone asked first: suppress ours and back off.
                let max_backoff = self.core.config.max_backoff;
                if let Some(doublings) = self.nacks.get(&id).map(|t| (t.doublings + 1).min(max_backoff)) {
                    let due = now + self.delay(n.group, doublings);
                    if let Some(timer) = self.nacks.get_mut(&id) {
                        timer.doublings = doublings;
                        timer.due = due;
                    }
                    self.core.stats.nacks_suppressed += 1;
                }
            }
        }
        self.learn(now, n.group, n.origin, n.origin_index, n.root, highest);
    }

    fn fire_nacks(&mut self, now: Time) {
        // Sorted, so that a seeded run sends in the same order every time.
        let mut due: Vec<MessageId> = self.nacks.iter().filter(|(_, t)| t.due <= now).map(|(id, _)| *id).collect();
        due.sort_unstable();
        let mut asks: BTreeMap<(GroupId, NodeId), Vec<u64>> = BTreeMap::new();
        for id in due {
            if self.core.has_seen(id) {
                self.nacks.remove(&id);
                continue;
            }
            let (max_retries, max_backoff) = (self.core.config.max_retries, self.core.config.max_backoff);
            let Some(timer) = self.nacks.get(&id) else { continue };
            if timer.sent >= max_retries {
                self.nacks.remove(&id);
                self.core.stats.gave_up += 1;
                continue;
            }
            let doublings = (timer.doublings + 1).min(max_backoff);
            let next = now + self.delay(id.group, doublings);
            if let Some(timer) = self.nacks.get_mut(&id) {
                timer.sent += 1;
                timer.doublings = doublings;
                timer.due = next;
            }
            asks.entry((id.group, id.origin)).or_default().push(id.seq);
        }
        for ((group, origin), mut seqs) in asks {
            let Some(info) = self.streams.get(&(group, origin)).copied() else { continue };
            seqs.sort_unstable();
            for chunk in seqs.chunks(MAX_IDS) {
                let packet = Packet::Nack(Nack {
                    group,
                    origin,
                    origin_index: info.origin_index,
                    root: info.root,
                    requester: self.core.index,
                    seqs: chunk.to_vec(),
                });
                let before = self.core.stats.common.packets_out;
                self.core.send_to_group(group, Some(info.origin_index), &packet);
                self.core.stats.nacks_sent += self.core.stats.common.packets_out - before;
            }
        }
    }

    fn fire_repairs(&mut self, now: Time) {
        let mut due: Vec<MessageId> = self.repairs.iter().filter(|(_, t)| **t <= now).map(|(id, _)| *id).collect();
        due.sort_unstable();
        for id in due {
            self.repairs.remove(&id);
            let Some((payload, origin_index, root)) = self.core.stored(&id) else { continue };
            let packet = Packet::Data(Data {
                forward: false,
                repair: true,
                id,
                origin_index,
                root,
                sender: self.core.index,
                hops: 0,
                payload,
            });
            let before = self.core.stats.common.packets_out;
            self.core.send_to_group(id.group, Some(origin_index), &packet);
            let sent = self.core.stats.common.packets_out - before;
            self.core.stats.repairs_sent += sent;
            self.core.stats.messages_sent += sent;
            self.holddown.insert(id, now + self.core.config.repair_delay * 3);
        }
        self.holddown.retain(|_, until| *until > now);
    }

    fn fire_sessions(&mut self, now: Time) {
        let max_interval = self.core.config.session_interval * 4;
        let mut plans = std::mem::take(&mut self.sessions);
        for plan in plans.iter_mut().filter(|p| p.due <= now) {
            let highest = self.core.floor(plan.group, self.core.id);
            let packet = Packet::Session(Session {
                group: plan.group,
                origin: self.core.id,
                origin_index: self.core.index,
                root: self.core.own_root(plan.group),
                highest,
            });
            self.core.send_to_group(plan.group, None, &packet);
            plan.remaining -= 1;
            plan.interval = (plan.interval * 2).min(max_interval);
            plan.due = now + plan.interval;
        }
        plans.retain(|p| p.remaining > 0);
        self.sessions = plans;
    }
}

impl<A: Address> Protocol for Srm<A> {
    fn handle_packet(&mut self, now: Time, _from: A, packet: Bytes) -> Result<(), WireError> {
        match self.core.receive(&packet)? {
            Some(Packet::Data(d)) => self.on_data(now, d),
            Some(Packet::Nack(n)) => self.on_nack(now, n),
            Some(Packet::Session(s)) => self.learn(now, s.group, s.origin, s.origin_index, s.root, s.highest),
            Some(Packet::Ack(_)) | None => {}
        }
        Ok(())
    }

    fn handle_timeout(&mut self, now: Time) {
        if self.core.left {
            return;
        }
        self.fire_nacks(now);
        self.fire_repairs(now);
        self.fire_sessions(now);
    }

    fn multicast(&mut self, now: Time, group: GroupId, payload: Bytes) -> Result<MessageId, MulticastError> {
        let id = self.core.start_message(group, &payload)?;
        self.core.keep_own(id, payload.clone());
        match self.core.config.dissemination {
            Dissemination::Tree => {
                tree::originate(&mut self.core, id, payload);
            }
            Dissemination::Direct => {
                let packet = Packet::Data(self.core.own_data(id, payload, false));
                let before = self.core.stats.common.packets_out;
                self.core.send_to_group(group, None, &packet);
                self.core.stats.messages_sent += self.core.stats.common.packets_out - before;
            }
        }
        let interval = self.core.config.session_interval;
        let remaining = self.core.config.session_count;
        self.sessions.retain(|p| p.group != group);
        if remaining > 0 {
            self.sessions.push(SessionPlan { group, due: now + interval, interval, remaining });
        }
        Ok(id)
    }

    fn poll_timeout(&self) -> Option<Time> {
        let nacks = self.nacks.values().map(|t| t.due);
        let repairs = self.repairs.values().copied();
        let sessions = self.sessions.iter().map(|p| p.due);
        nacks.chain(repairs).chain(sessions).min()
    }

    crate::delegate_protocol!();
}
