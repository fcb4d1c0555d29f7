//! Lanes: shares of the nodes that run side by side.
//!
//! In [`Timing::Events`](crate::Timing::Events) the nodes are split into
//! lanes, one per [`SimConfig::threads`](crate::SimConfig::threads) (lane
//! `k` of `K` holds every `K`-th node from `k`), each with its own event
//! queue, and time advances in windows shorter than
//! the link's smallest delay: nothing a node sends in a window can arrive
//! before the window ends, so within a window every lane runs alone, on its
//! own thread. A lane keeps its nodes' views ([`ViewShard`]) and updates
//! them as it goes. The rest of what its nodes produce (packets,
//! deliveries, news of crashed members, counters) waits in its [`Output`]
//! until the window ends, and the simulator then merges the outputs in an
//! order fixed by the events themselves ([`Tag`], and for packets time,
//! sender and the sender's packet number), never by the lanes: a run gives
//! the same records on one thread or on several.
//!
//! Link draws use a generator per sending node ([`Sender`]) for the same
//! reason. [`Timing::Rounds`](crate::Timing::Rounds) runs one lane on the
//! calling thread.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use gossip_core::{Event, MessageId, Protocol, SmallRng, Time, TransmitKind};

use crate::link::{DropReason, LinkModel, Verdict};
use crate::queue::{Entry, Kind, Packet, Payload};
use crate::record::{NEVER, RoundRecord, SimStats};
use crate::views::{CrashNews, ViewChange, ViewShard};

/// A node's link draws and the count of packets it sent, which orders its
/// packets among others due at the same time.
pub(crate) struct Sender {
    pub(crate) rng: SmallRng,
    pub(crate) sent: u64,
}

/// A packet a node sent, due at `at`.
pub(crate) struct Sent {
    pub(crate) at: u64,
    pub(crate) seq: u64,
    pub(crate) kind: TransmitKind,
    pub(crate) packet: Packet,
}

impl Sent {
    /// Its place among packets due at once: by time, sender, then the
    /// sender's packet number.
    pub(crate) fn order(&self) -> (u64, u32, u64) {
        (self.at, self.packet.from, self.seq)
    }
}

/// Which event a record came from: the key of a queued event (time, source,
/// sequence; see [`Entry`]), or, for a call between windows, its time,
/// `u32::MAX` and the number of such calls before it. A lane handles its
/// events in this order, so each lane's records are sorted by it, and
/// merged by it they come in the order of a run on one lane.
pub(crate) type Tag = (u64, u32, u64);

/// A message a node delivered.
pub(crate) struct Delivery {
    pub(crate) node: u32,
    pub(crate) id: MessageId,
    pub(crate) hops: u32,
}

/// What a lane's nodes produced since the last merge.
#[derive(Default)]
pub(crate) struct Output {
    /// The event being handled.
    pub(crate) tag: Tag,
    pub(crate) sent: Vec<Sent>,
    pub(crate) deliveries: Vec<(Tag, Delivery)>,
    /// What the views changed about crashed members, when tracked.
    pub(crate) news: Vec<(Tag, CrashNews)>,
    /// Packets taken off the network (handed over or dropped on arrival).
    pub(crate) arrived: usize,
    /// Counters to add to the run's (`peak_in_flight` unused).
    pub(crate) stats: SimStats,
    /// Counters to add to the current round's (`round` and `end` unused).
    pub(crate) round: RoundRecord,
    /// When a node last sent.
    pub(crate) last_send: Option<Time>,
    /// The latest event handled.
    pub(crate) last_at: Option<u64>,
}

/// One share of the nodes, every `stride`-th from `first` (so that the first
/// few nodes, often seeds with more work, fall in different lanes): the
/// nodes, their per-node state and the events due to them. A lane owns all
/// it changes in a window, so it can be handed to a thread and back.
pub(crate) struct Lane<P> {
    pub(crate) first: u32,
    pub(crate) stride: u32,
    pub(crate) nodes: Vec<Option<P>>,
    pub(crate) senders: Vec<Sender>,
    /// When each node's timer is due (empty in
    /// [`Timing::Rounds`](crate::Timing::Rounds), which keeps no timers).
    pub(crate) timer_at: Vec<u64>,
    /// The views of its nodes, when tracked.
    pub(crate) views: Option<ViewShard>,
    /// When each node starts, with start jitter (empty without).
    pub(crate) boot_at: Vec<u64>,
    pub(crate) queue: BinaryHeap<Reverse<Entry>>,
    pub(crate) out: Output,
}

/// What every lane reads and none changes during a window.
pub(crate) struct Shared<'a> {
    pub(crate) link: &'a LinkModel,
    /// Every node's incarnation (restarts so far).
    pub(crate) incarnations: &'a [u32],
    pub(crate) n: usize,
}

impl<P> Lane<P> {
    /// A lane of no nodes (in the place of one lent to a thread).
    pub(crate) fn empty() -> Self {
        Lane {
            first: 0,
            stride: 1,
            nodes: Vec::new(),
            senders: Vec::new(),
            timer_at: Vec::new(),
            views: None,
            boot_at: Vec::new(),
            queue: BinaryHeap::new(),
            out: Output::default(),
        }
    }

    /// The node in position `slot`.
    pub(crate) fn index(&self, slot: usize) -> u32 {
        slot as u32 * self.stride + self.first
    }

    /// When its earliest event is due.
    pub(crate) fn next_at(&self) -> Option<u64> {
        self.queue.peek().map(|Reverse(e)| e.at)
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        self.queue.push(Reverse(entry));
    }

    /// Node `index`'s position in the lane (which must hold it).
    pub(crate) fn slot(&self, index: u32) -> usize {
        (index / self.stride) as usize
    }
}

/// Which of `lanes` holds node `index` (whether or not it exists).
pub(crate) fn lane_of<P>(lanes: &[Lane<P>], index: u32) -> usize {
    (index % lanes.len() as u32) as usize
}

/// The lane holding node `index` (which must exist), and its slot there.
pub(crate) fn lane_mut<P>(lanes: &mut [Lane<P>], index: u32) -> (&mut Lane<P>, usize) {
    let lane = &mut lanes[lane_of(lanes, index)];
    let slot = lane.slot(index);
    (lane, slot)
}

impl<P: Protocol<Address = u32>> Lane<P> {
    /// Handles every event due at or before `end`.
    pub(crate) fn run_window(&mut self, shared: &Shared<'_>, end: u64) {
        while self.queue.peek().is_some_and(|Reverse(e)| e.at <= end) {
            let Some(Reverse(entry)) = self.queue.pop() else { break };
            let now = Time::from_micros(entry.at);
            self.out.last_at = Some(entry.at);
            self.out.tag = entry.key();
            match entry.kind {
                Kind::Packet(packet) => self.deliver(shared, now, packet),
                Kind::Timer { node, incarnation } => {
                    let i = self.slot(node);
                    if self.timer_at[i] != entry.at || shared.incarnations[node as usize] != incarnation {
                        continue;
                    }
                    self.timer_at[i] = NEVER;
                    self.tick(shared, node, now);
                }
            }
        }
    }

    /// Node `index`, if up, runs its timer at `now`.
    pub(crate) fn tick(&mut self, shared: &Shared<'_>, index: u32, now: Time) {
        let i = self.slot(index);
        if let Some(node) = self.nodes[i].as_mut() {
            node.handle_timeout(now);
            self.out.stats.timeouts += 1;
            self.collect(shared, index, now);
        }
    }

    /// Hands `packet` to its receiver at `at`, if the receiver is up.
    pub(crate) fn deliver(&mut self, shared: &Shared<'_>, at: Time, packet: Packet) {
        let to = packet.to;
        let i = self.slot(to);
        let out = &mut self.out;
        out.arrived += 1;
        let Some(node) = self.nodes[i].as_mut().filter(|_| shared.link.is_up(to)) else {
            drop_packet(&mut out.round, &mut out.stats, DropReason::ReceiverDown);
            return;
        };
        out.stats.packets_delivered += 1;
        out.round.packets_delivered += 1;
        if node.handle_packet(at, packet.from, packet.payload.into_bytes()).is_err() {
            out.stats.decode_errors += 1;
        }
        self.collect(shared, to, at);
    }

    /// Drains node `index`'s transmits and events into the output, and
    /// queues its timer.
    pub(crate) fn collect(&mut self, shared: &Shared<'_>, index: u32, now: Time) {
        let i = self.slot(index);
        let Lane { nodes, senders, timer_at, views, boot_at, queue, out, .. } = self;
        let Some(node) = nodes[i].as_mut() else { return };
        let sender = &mut senders[i];
        while let Some(transmit) = node.poll_transmit() {
            let len = transmit.bytes.len() as u64;
            out.stats.packets_sent += 1;
            out.stats.bytes_sent += len;
            out.round.packets_sent += 1;
            out.round.bytes_sent += len;
            if transmit.kind == TransmitKind::Membership {
                out.stats.membership_bytes += len;
                out.round.membership_bytes += len;
            }
            out.last_send = Some(now);
            let to = transmit.to;
            if to as usize >= shared.n {
                out.stats.misaddressed += 1;
                out.round.packets_dropped += 1;
                continue;
            }
            let delay = match shared.link.route(index, to, &mut sender.rng) {
                Verdict::Drop(reason) => {
                    drop_packet(&mut out.round, &mut out.stats, reason);
                    continue;
                }
                Verdict::Deliver(delay) => delay,
            };
            sender.sent += 1;
            out.sent.push(Sent {
                at: (now + delay).as_micros(),
                seq: sender.sent,
                kind: transmit.kind,
                packet: Packet { to, from: index, payload: Payload::new(transmit.bytes) },
            });
        }
        while let Some(event) = node.poll_event() {
            if let Event::Delivered(delivery) = &event {
                let (id, hops) = (delivery.id, delivery.hops);
                out.deliveries.push((out.tag, Delivery { node: index, id, hops }));
            } else if let Some(views) = views.as_mut()
                && let Some(change) = ViewChange::of(&event)
                && let Some(news) = views.apply(index, change, shared.incarnations, shared.link)
            {
                out.news.push((out.tag, news));
            }
        }
        if !timer_at.is_empty()
            && let Some(want) = node.poll_timeout()
        {
            let boot = boot_at.get(i).copied().unwrap_or(0);
            let at = want.as_micros().max(now.as_micros()).max(boot);
            if at != timer_at[i] {
                timer_at[i] = at;
                queue.push(Reverse(Entry::timer(at, index, shared.incarnations[index as usize])));
            }
        }
    }
}

/// Hands every item of `runs` (each sorted by tag) to `take`, in tag order,
/// and leaves the runs empty.
pub(crate) fn merge_runs<T>(runs: &mut [Vec<(Tag, T)>], mut take: impl FnMut(Tag, T)) {
    if let [run] = runs {
        run.drain(..).for_each(|(tag, item)| take(tag, item));
        return;
    }
    let mut drains: Vec<_> = runs.iter_mut().map(|run| run.drain(..).peekable()).collect();
    loop {
        let next = drains.iter_mut().enumerate().filter_map(|(k, run)| Some((run.peek()?.0, k))).min();
        let Some((_, k)) = next else { return };
        if let Some((tag, item)) = drains[k].next() {
            take(tag, item);
        }
    }
}

/// Counts a packet the network dropped in `round` and `stats`.
pub(crate) fn drop_packet(round: &mut RoundRecord, stats: &mut SimStats, reason: DropReason) {
    round.packets_dropped += 1;
    match reason {
        DropReason::Loss => stats.dropped_loss += 1,
        DropReason::Partition => stats.dropped_partition += 1,
        DropReason::SenderDown | DropReason::ReceiverDown => stats.dropped_down += 1,
        DropReason::QueueFull => stats.dropped_queue_full += 1,
    }
}
