//! What a run records: per message, per round and for the whole run, and
//! why and when it stopped.

use std::time::Duration;

#[cfg(doc)]
use gossip_core::TransmitKind;
use gossip_core::{GroupId, MessageId, MulticastError, Time};

#[cfg(doc)]
use crate::{SimConfig, Simulator, Timing};

/// Refers to a message scheduled with [`Simulator::multicast`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageHandle(pub usize);

/// Why a scheduled multicast was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueFailure {
    /// The origin was crashed at the scheduled time.
    OriginDown,
    /// The protocol refused it.
    Refused(MulticastError),
}

pub(crate) const NEVER: u64 = u64::MAX;
pub(crate) const NO_HOP: u32 = u32::MAX;

/// What happened to one multicast message.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MessageRecord {
    /// The node that multicast it.
    pub origin: u32,
    /// Its group.
    pub group: GroupId,
    /// When it was scheduled to be sent.
    pub scheduled_at: Time,
    /// Its id, once sent.
    pub id: Option<MessageId>,
    /// Why it was not sent, if it was not.
    pub failure: Option<IssueFailure>,
    /// When it was sent.
    pub sent_at: Option<Time>,
    /// Rounds completed before it was sent.
    pub sent_round: u32,
    /// When, and in which round, every live member first held it at once.
    pub completed: Option<(Time, u32)>,
    /// Live members holding it after each round since it was sent (index 0
    /// is the round it was sent in).
    pub holders_by_round: Vec<u32>,
    /// Live members holding it now.
    pub holders: u32,
    /// Nodes that delivered it at least once, in any incarnation.
    pub delivered: u32,
    /// Deliveries by a node that had delivered it in an earlier incarnation.
    pub redeliveries: u64,
    /// Deliveries by a node that had already delivered it in the same
    /// incarnation: an exactly-once violation, always 0 for a correct protocol.
    pub duplicate_deliveries: u64,
    pub(crate) first_at: Vec<u64>,
    pub(crate) first_hop: Vec<u32>,
    pub(crate) held: Vec<u64>,
}

impl MessageRecord {
    /// When and at which hop `node` first delivered it.
    pub fn delivery(&self, node: u32) -> Option<(Time, u32)> {
        let at = *self.first_at.get(node as usize)?;
        (at != NEVER).then(|| (Time::from_micros(at), self.first_hop[node as usize]))
    }

    /// Whether `node`'s current incarnation holds it.
    pub fn is_held_by(&self, node: u32) -> bool {
        self.held.get((node / 64) as usize).is_some_and(|w| w & (1 << (node % 64)) != 0)
    }

    /// Rounds from sending until every live member held it (the textbook
    /// figure in [`Timing::Rounds`]).
    pub fn rounds_to_all(&self) -> Option<u32> {
        self.completed.map(|(_, round)| round - self.sent_round)
    }

    /// Time from sending until every live member held it.
    pub fn time_to_all(&self) -> Option<Duration> {
        Some(self.completed?.0.saturating_duration_since(self.sent_at?))
    }

    /// How many nodes first delivered it at each hop count (index = hops).
    pub fn hop_histogram(&self) -> Vec<u64> {
        let mut histogram = Vec::new();
        for &hop in self.first_hop.iter().filter(|h| **h != NO_HOP) {
            let h = hop as usize;
            if h >= histogram.len() {
                histogram.resize(h + 1, 0);
            }
            histogram[h] += 1;
        }
        histogram
    }

    /// Delivery times, relative to sending, of every node that delivered it, sorted.
    pub fn latencies(&self) -> Vec<Duration> {
        let Some(sent) = self.sent_at else { return Vec::new() };
        let mut out: Vec<Duration> = self
            .first_at
            .iter()
            .filter(|at| **at != NEVER)
            .map(|at| Duration::from_micros(at.saturating_sub(sent.as_micros())))
            .collect();
        out.sort_unstable();
        out
    }
}

/// Counters for one round.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoundRecord {
    /// The round's number, from 1.
    pub round: u32,
    /// Virtual time at its end.
    pub end: Time,
    /// Packets nodes emitted.
    pub packets_sent: u64,
    /// Bytes nodes emitted.
    pub bytes_sent: u64,
    /// Of those, bytes of packets marked [`TransmitKind::Membership`].
    pub membership_bytes: u64,
    /// Packets handed to a node.
    pub packets_delivered: u64,
    /// Packets the network dropped.
    pub packets_dropped: u64,
}

impl RoundRecord {
    /// Adds `other`'s counters to these (the round and its end stay).
    pub(crate) fn absorb(&mut self, other: &RoundRecord) {
        self.packets_sent += other.packets_sent;
        self.bytes_sent += other.bytes_sent;
        self.membership_bytes += other.membership_bytes;
        self.packets_delivered += other.packets_delivered;
        self.packets_dropped += other.packets_dropped;
    }
}

/// Whole-run counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimStats {
    /// Packets nodes emitted.
    pub packets_sent: u64,
    /// Bytes nodes emitted.
    pub bytes_sent: u64,
    /// Of those, bytes of packets marked [`TransmitKind::Membership`].
    pub membership_bytes: u64,
    /// Packets handed to a node.
    pub packets_delivered: u64,
    /// Packets lost to random loss.
    pub dropped_loss: u64,
    /// Packets dropped by a partition.
    pub dropped_partition: u64,
    /// Packets to or from a crashed node.
    pub dropped_down: u64,
    /// Packets dropped because [`SimConfig::max_in_flight`] were in flight.
    pub dropped_queue_full: u64,
    /// Packets addressed to no node.
    pub misaddressed: u64,
    /// Packets a node rejected as malformed.
    pub decode_errors: u64,
    /// Deliveries of tracked messages (all nodes, all incarnations).
    pub deliveries: u64,
    /// Timer calls made.
    pub timeouts: u64,
    /// Most packets in flight at once.
    pub peak_in_flight: usize,
}

impl SimStats {
    /// Adds `other`'s counters to these (the peak stays).
    pub(crate) fn absorb(&mut self, other: &SimStats) {
        self.packets_sent += other.packets_sent;
        self.bytes_sent += other.bytes_sent;
        self.membership_bytes += other.membership_bytes;
        self.packets_delivered += other.packets_delivered;
        self.dropped_loss += other.dropped_loss;
        self.dropped_partition += other.dropped_partition;
        self.dropped_down += other.dropped_down;
        self.dropped_queue_full += other.dropped_queue_full;
        self.misaddressed += other.misaddressed;
        self.decode_errors += other.decode_errors;
        self.deliveries += other.deliveries;
        self.timeouts += other.timeouts;
    }
}

/// Why [`Simulator::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// Every live member of every message's group holds it, and nothing
    /// more (multicast or fault) is scheduled.
    AllDelivered,
    /// Nothing is in flight and nothing was sent for a round.
    Quiescent,
    /// [`SimConfig::max_rounds`] were simulated.
    RoundCap,
    /// The time given to [`Simulator::run_until`] was reached.
    TimeReached,
}

/// What a run ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// Why it stopped.
    pub stop: Stop,
    /// Virtual time at the stop.
    pub now: Time,
    /// Rounds completed.
    pub rounds: u32,
}
