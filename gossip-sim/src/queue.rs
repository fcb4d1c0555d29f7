//! The events of a lane's queue and the round outboxes: packets in flight
//! and timers.

use std::cmp::Ordering;

use bytes::Bytes;
use gossip_core::Time;

pub(crate) struct Packet {
    pub(crate) to: u32,
    pub(crate) from: u32,
    pub(crate) payload: Payload,
}

/// Longest packet carried inline.
const INLINE: usize = 46;

/// A packet's bytes. Small packets (one short message) are copied into the
/// queue entry itself: the engine builds each packet in a buffer sized for
/// the largest packet, and a node keeps an accepted payload as a slice of
/// the packet that brought it, which would pin that whole buffer; inline, a
/// packet costs no allocation or pointer chase until it is delivered, and
/// the node then gets an allocation of exactly its length.
pub(crate) enum Payload {
    Inline { len: u8, data: [u8; INLINE] },
    Heap(Bytes),
}

impl Payload {
    pub(crate) fn new(bytes: Bytes) -> Self {
        if bytes.len() <= INLINE {
            let mut data = [0u8; INLINE];
            data[..bytes.len()].copy_from_slice(&bytes);
            Payload::Inline { len: bytes.len() as u8, data }
        } else {
            Payload::Heap(bytes)
        }
    }

    pub(crate) fn into_bytes(self) -> Bytes {
        match self {
            Payload::Inline { len, data } => Bytes::copy_from_slice(&data[..usize::from(len)]),
            Payload::Heap(bytes) => bytes,
        }
    }
}

/// Destination nodes per outbox bucket (as a power of two): a round's
/// packets are delivered bucket by bucket, so the receivers' state is
/// touched in address order instead of at random, which keeps it in cache.
const BUCKET_SHIFT: u32 = 8;

/// One round's packets, bucketed by destination; buckets keep their
/// capacity from round to round.
#[derive(Default)]
pub(crate) struct Outbox {
    pub(crate) buckets: Vec<Vec<Packet>>,
    pub(crate) len: usize,
}

impl Outbox {
    pub(crate) fn push(&mut self, packet: Packet) {
        let bucket = (packet.to >> BUCKET_SHIFT) as usize;
        if bucket >= self.buckets.len() {
            self.buckets.resize_with(bucket + 1, Vec::new);
        }
        self.buckets[bucket].push(packet);
        self.len += 1;
    }
}

pub(crate) enum Kind {
    Timer { node: u32, incarnation: u32 },
    Packet(Packet),
}

/// An event due at `at`. Events due at once are ordered by `source` (0 for
/// a timer, the sender's index plus one for a packet) and `seq` (the timer's
/// node, or the sender's packet number), so the order never depends on when
/// an event was queued, nor on which lane queued it.
pub(crate) struct Entry {
    pub(crate) at: u64,
    source: u32,
    seq: u64,
    pub(crate) kind: Kind,
}

impl Entry {
    pub(crate) fn timer(at: u64, node: u32, incarnation: u32) -> Self {
        Entry { at, source: 0, seq: u64::from(node), kind: Kind::Timer { node, incarnation } }
    }

    pub(crate) fn packet(at: u64, seq: u64, packet: Packet) -> Self {
        Entry { at, source: packet.from.saturating_add(1), seq, kind: Kind::Packet(packet) }
    }

    pub(crate) fn key(&self) -> (u64, u32, u64) {
        (self.at, self.source, self.seq)
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

pub(crate) struct PendingCast {
    pub(crate) at: Time,
    pub(crate) handle: usize,
    pub(crate) payload: Bytes,
}
