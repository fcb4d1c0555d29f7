//! The simulated network and the records, apart from the nodes: merging
//! what the lanes' nodes sent and reported, and bookkeeping.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use gossip_core::{GroupId, MessageId, SharedMembers, Time, TransmitKind};

use crate::config::{SimConfig, Timing};
use crate::lane::{Lane, Sent, Shared, drop_packet, lane_of, merge_runs};
use crate::link::{DropReason, FaultAction, LinkModel};
use crate::queue::{Entry, Outbox, PendingCast};
use crate::record::{MessageRecord, NEVER, RoundRecord, SimStats};
use crate::views::Views;

/// Everything except the nodes, so a node and the network can be borrowed
/// at the same time.
pub(crate) struct Core {
    pub(crate) config: SimConfig,
    /// Shared with the lanes' threads during a window; changed (copied
    /// if still shared) only between windows.
    pub(crate) link: Arc<LinkModel>,
    pub(crate) members: Arc<SharedMembers<u32>>,
    pub(crate) n: usize,
    pub(crate) now: Time,
    /// Rounds completed.
    pub(crate) rounds_done: u32,
    /// Every node's incarnation; shared with the lanes' threads like `link`.
    pub(crate) incarnations: Arc<Vec<u32>>,
    // Rounds timing.
    pub(crate) requests: Outbox,
    pub(crate) others: Outbox,
    /// [`Core::merge`]'s buffer, kept for its capacity.
    pub(crate) merging: Vec<Sent>,
    /// Calls to nodes between windows so far: they tag what those calls
    /// produced (see [`Tag`](crate::lane::Tag)).
    pub(crate) calls: u64,
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
    /// What the lanes read during a window.
    pub(crate) fn shared(&self) -> Shared<'_> {
        Shared { link: &self.link, incarnations: &self.incarnations, n: self.n }
    }

    /// Merges what the lanes produced since the last merge: counters,
    /// packets into the network (the receiving lane's queue, or the
    /// round's outboxes), deliveries into the message records, and the
    /// views' counters and news of crashed members into the views' record.
    /// Deliveries and news are applied in the order of the events that
    /// produced them ([`Tag`](crate::lane::Tag)), and packets, when the cap
    /// on packets in flight refuses some, are admitted by time, sender and
    /// the sender's packet number: the records never depend on the number
    /// of lanes.
    pub(crate) fn merge<P>(&mut self, lanes: &mut [Lane<P>]) {
        let mut sent = std::mem::take(&mut self.merging);
        for lane in lanes.iter_mut() {
            let out = &mut lane.out;
            self.stats.absorb(&out.stats);
            self.current.absorb(&out.round);
            out.stats = SimStats::default();
            out.round = RoundRecord::default();
            self.in_flight = self.in_flight.saturating_sub(std::mem::take(&mut out.arrived));
            if let Some(at) = out.last_send.take() {
                self.last_send = self.last_send.max(at);
            }
            sent.append(&mut out.sent);
        }
        if self.in_flight.saturating_add(sent.len()) > self.config.max_in_flight {
            sent.sort_unstable_by_key(Sent::order);
        }
        let rounds = self.config.timing == Timing::Rounds;
        for sent in sent.drain(..) {
            if self.in_flight >= self.config.max_in_flight {
                drop_packet(&mut self.current, &mut self.stats, DropReason::QueueFull);
                continue;
            }
            self.in_flight += 1;
            if rounds {
                if self.config.requests_first && sent.kind == TransmitKind::Request {
                    self.requests.push(sent.packet);
                } else {
                    self.others.push(sent.packet);
                }
            } else {
                let lane = lane_of(lanes, sent.packet.to);
                lanes[lane].push(Entry::packet(sent.at, sent.seq, sent.packet));
            }
        }
        self.merging = sent;
        self.stats.peak_in_flight = self.stats.peak_in_flight.max(self.in_flight);
        let mut deliveries: Vec<_> = lanes.iter_mut().map(|lane| std::mem::take(&mut lane.out.deliveries)).collect();
        merge_runs(&mut deliveries, |(at, ..), d| self.delivered(d.node, d.id, d.hops, at));
        let mut news: Vec<_> = lanes.iter_mut().map(|lane| std::mem::take(&mut lane.out.news)).collect();
        if let Some(views) = &mut self.views {
            for shard in lanes.iter_mut().filter_map(|lane| lane.views.as_mut()) {
                views.absorb(shard);
            }
            merge_runs(&mut news, |(at, ..), news| views.news(Time::from_micros(at), news));
        }
        for ((lane, deliveries), news) in lanes.iter_mut().zip(deliveries).zip(news) {
            lane.out.deliveries = deliveries;
            lane.out.news = news;
        }
    }

    /// Node `index` delivered message `id` at `now` (microseconds).
    fn delivered(&mut self, index: u32, id: MessageId, hops: u32, now: u64) {
        let Some(&handle) = self.by_id.get(&id) else { return };
        self.stats.deliveries += 1;
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
        self.refresh(handle, Time::from_micros(now));
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

    pub(crate) fn close_round<P>(&mut self, lanes: &[Lane<P>]) {
        let round = self.rounds_done + 1;
        let record = std::mem::replace(&mut self.current, RoundRecord { round: round + 1, ..RoundRecord::default() });
        self.rounds.push(RoundRecord { round, end: self.now, ..record });
        if let Some(views) = &mut self.views {
            let shards: Vec<_> = lanes.iter().filter_map(|lane| lane.views.as_ref()).collect();
            views.close_round(&self.link, &shards);
        }
        for message in &mut self.messages {
            if message.sent_at.is_some() {
                message.holders_by_round.push(message.holders);
            }
        }
        self.rounds_done = round;
    }
}
