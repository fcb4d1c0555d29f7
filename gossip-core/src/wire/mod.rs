//! The wire codec. `docs/wire.md` specifies the format; this module is its
//! reference implementation: the frame types here, decoding in `decode`,
//! encoding in `encode`.
//!
//! Decoding validates the whole packet before anything acts on it, checks
//! every length against the bytes that remain before allocating, and borrows
//! payloads from the packet's [`Bytes`] without copying.

use bytes::Bytes;

use crate::ids::{GroupId, MessageId, NodeId};
use crate::membership::MemberStatus;

/// The wire version this build speaks, carried in every packet's first byte.
pub const VERSION: u8 = 2;

const FRAME_MESSAGE: u8 = 0x01;
const FRAME_DIGEST: u8 = 0x02;
const FRAME_KNOWN: u8 = 0x03;
const FRAME_MEMBER: u8 = 0x04;
const FRAME_JOIN: u8 = 0x05;
const FRAME_PING: u8 = 0x06;
const FRAME_ACK: u8 = 0x07;
const FRAME_PING_REQ: u8 = 0x08;
const FRAME_SYNC: u8 = 0x09;

/// Frame types from here up are extension frames: a varint length follows
/// the type, and a receiver skips the ones it does not know, so a later
/// version can add frames without breaking a rolling upgrade.
pub const EXTENSION_FRAMES: u8 = 0x40;
const EXT_CATCH_UP: u8 = 0x40;
const EXT_TABLE: u8 = 0x41;
const EXT_SUMMARY: u8 = 0x42;
/// Largest encoded [`Frame::Table`]: type, body length, three varints.
pub const TABLE_FRAME_MAX: usize = 1 + 1 + 3 * 10;

const FLAG_FEEDBACK: u8 = 0x01;
const FLAG_ACK: u8 = 0x02;
const FLAG_COMPLETE: u8 = 0x01;
const FLAG_REPLY: u8 = 0x02;

/// Largest encoded header: version, sender, incarnation varint.
pub const HEADER_MAX: usize = 1 + 8 + 10;
/// Largest encoded message frame without its payload: type, flags, origin,
/// group, seq, age, hops, priority, payload length.
pub const MESSAGE_OVERHEAD_MAX: usize = 1 + 1 + 8 + 5 + 10 + 3 + 3 + 1 + 3;
/// Largest age or hop count carried; larger values are clamped when encoding.
pub const MAX_AGE: u32 = u16::MAX as u32;
/// Longest digest bitmap, in bytes (8,192 bits).
pub const MAX_BITMAP_BYTES: usize = 1024;
/// Most groups listed in one member entry.
pub const MAX_MEMBER_GROUPS: usize = 256;
/// Longest member metadata carried, in bytes.
pub const MAX_META_LEN: usize = 1024;

/// The largest payload that fits in a packet of `max_packet_size` bytes.
pub fn max_payload(max_packet_size: usize) -> usize {
    max_packet_size.saturating_sub(HEADER_MAX + MESSAGE_OVERHEAD_MAX)
}

/// The largest packet holding one message of `payload` bytes and nothing
/// else.
pub fn single_message_packet_len(payload: usize) -> usize {
    // MESSAGE_OVERHEAD_MAX counts 3 bytes for the length varint.
    HEADER_MAX + MESSAGE_OVERHEAD_MAX - 3 + varint_len(payload as u64) + payload
}

/// The fixed part of every packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Who sent it.
    pub sender: NodeId,
    /// The sender's incarnation: raised only by the sender itself, to
    /// refute a suspicion or announce a change of its own entry.
    pub incarnation: u64,
}

/// One message and its gossip state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageFrame {
    /// The message's id.
    pub id: MessageId,
    /// Rounds since the message was multicast, as the sender counts them.
    pub age: u32,
    /// Relays so far.
    pub hops: u32,
    /// Priority given at multicast time (higher goes first).
    pub priority: u8,
    /// The sender wants a `Known` frame back if the receiver already holds it.
    pub feedback: bool,
    /// The origin, outside the group, wants a `Known` frame back from any
    /// member that receives it: until one arrives it keeps sending.
    pub ack: bool,
    /// The payload.
    pub payload: Bytes,
}

/// One stream in a pull digest: what the asker holds of `(origin, group)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestEntry {
    /// The stream's origin.
    pub origin: NodeId,
    /// Every sequence number up to `base` is held.
    pub base: u64,
    /// Bit `i` (byte `i / 8`, bit `i % 8`) set: `base + 1 + i` is held.
    pub bitmap: Bytes,
}

/// A pull request: the asker's holdings for one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestFrame {
    /// The group asked about.
    pub group: GroupId,
    /// Every stream the asker knows is listed, so streams absent from the
    /// digest are wholly missing.
    pub complete: bool,
    /// A reply to the receiver's own digest (tree mode's exchange): answer
    /// it with messages only, never with another digest.
    pub reply: bool,
    /// The listed streams.
    pub entries: Vec<DigestEntry>,
}

/// A member entry's groups: up to four held inline (most members belong
/// to one or two), so that decoding an entry allocates nothing.
pub type MemberGroups = smallvec::SmallVec<[GroupId; 4]>;

/// A membership entry: one member's state at one incarnation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberFrame<A> {
    /// The member.
    pub id: NodeId,
    /// Its incarnation when this entry was current.
    pub incarnation: u64,
    /// What the sender believes of it.
    pub status: MemberStatus,
    /// Its address, or `None` for the sender itself (use the packet's source).
    pub addr: Option<A>,
    /// The groups it belongs to.
    pub groups: MemberGroups,
    /// Its metadata, as it set it.
    pub meta: Bytes,
}

/// One frame of a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame<A> {
    /// A message (push or pull answer).
    Message(MessageFrame),
    /// A pull request.
    Digest(DigestFrame),
    /// Messages the sender already held when they were pushed to it.
    Known(Vec<MessageId>),
    /// A membership entry.
    Member(MemberFrame<A>),
    /// A request for a membership sample.
    Join,
    /// A failure-detector probe: answer with an [`Frame::Ack`] of `seq`.
    /// `target` is the member the prober means, so that a probe reaching a
    /// new node at a reused address is not taken for an answer.
    Ping {
        /// The probe's number, echoed in the ack.
        seq: u64,
        /// The member probed.
        target: NodeId,
    },
    /// The answer to a [`Frame::Ping`].
    Ack {
        /// The probe's number.
        seq: u64,
    },
    /// Asks the receiver to probe `target` at `addr` and relay the ack.
    PingReq {
        /// The asker's probe number, echoed in the relayed ack.
        seq: u64,
        /// The member to probe.
        target: NodeId,
        /// Its address as the asker knows it.
        addr: A,
    },
    /// Anti-entropy: the member entries in this packet are a slice of the
    /// sender's table; with `reply`, answer with a slice of yours.
    Sync {
        /// Whether the sender wants a slice back.
        reply: bool,
    },
    /// Extension, sent with a [`Frame::Join`]: the sender already holds the
    /// receiver's table up to the receiver's change mark `since`, so a
    /// whole-table answer need only carry the entries changed after it. A
    /// receiver that does not know this frame skips it and answers with
    /// the whole table.
    CatchUp {
        /// The receiver's change mark the sender holds (0: nothing).
        since: u64,
    },
    /// Extension: this packet is part of the answer to a JOIN, which holds
    /// every entry of the sender's table changed after the request's
    /// `since` up to the sender's change mark `mark`.
    Table {
        /// The sender's change mark the answer brings the asker up to.
        mark: u64,
        /// Entries in the whole answer.
        total: u64,
        /// Entries of the answer in this packet.
        here: u64,
    },
    /// Extension, sent with a [`Frame::Sync`] that asks for a reply: a
    /// summary of the sender's view (itself included), so a receiver whose
    /// view sums to the same need not answer. A receiver that does not
    /// know this frame skips it and answers as before.
    Summary {
        /// The wrapping sum of a fixed hash of each live member's id,
        /// incarnation and status (`docs/wire.md`).
        hash: u64,
        /// Live members in the view.
        live: u64,
    },
}

/// A decoded packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<A> {
    /// The header.
    pub header: Header,
    /// Its frames, in order.
    pub frames: Vec<Frame<A>>,
}

mod decode;
mod encode;

pub use decode::{decode, decode_into};
pub use encode::{PacketWriter, digest_entry_len, member_len, message_len, varint_len};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DecodeError;

    fn header() -> Header {
        Header { sender: NodeId(42), incarnation: 300 }
    }

    fn message(seq: u64, len: usize) -> MessageFrame {
        MessageFrame {
            id: MessageId { group: GroupId(7), origin: NodeId(9), seq },
            age: 3,
            hops: 2,
            priority: 1,
            feedback: true,
            ack: true,
            payload: Bytes::from(vec![0xab; len]),
        }
    }

    #[test]
    fn every_frame_kind_round_trips() {
        let mut w = PacketWriter::new(1200, header());
        assert!(w.push_message(&message(5, 64)));
        let entries = vec![
            DigestEntry { origin: NodeId(1), base: 10, bitmap: Bytes::from_static(&[0b101]) },
            DigestEntry { origin: NodeId(2), base: 0, bitmap: Bytes::new() },
        ];
        assert_eq!(w.push_digest(GroupId(7), true, false, &entries), 2);
        let known = [MessageId { group: GroupId(1), origin: NodeId(3), seq: 4 }];
        assert_eq!(w.push_known(&known), 1);
        let member = MemberFrame::<u32> {
            id: NodeId(8),
            incarnation: 77,
            status: MemberStatus::Suspect,
            addr: Some(12),
            groups: [GroupId(1), GroupId(300)].into_iter().collect(),
            meta: Bytes::from_static(b"name=a"),
        };
        assert!(w.push_member(&member));
        assert!(w.push_join());
        assert!(w.push_ping(u64::MAX, NodeId(3)));
        assert!(w.push_ack(9));
        assert!(w.push_ping_req(10, NodeId(4), &77u32));
        assert!(w.push_sync(true));
        assert!(w.push_catch_up(u64::MAX));
        assert!(w.push_table(300, 2, 0));
        assert!(w.push_summary(u64::MAX, 10_000));
        let bytes = w.finish();
        let packet = decode::<u32>(&bytes).unwrap();
        assert_eq!(packet.header, header());
        assert_eq!(
            packet.frames,
            vec![
                Frame::Message(message(5, 64)),
                Frame::Digest(DigestFrame { group: GroupId(7), complete: true, reply: false, entries }),
                Frame::Known(known.to_vec()),
                Frame::Member(member),
                Frame::Join,
                Frame::Ping { seq: u64::MAX, target: NodeId(3) },
                Frame::Ack { seq: 9 },
                Frame::PingReq { seq: 10, target: NodeId(4), addr: 77 },
                Frame::Sync { reply: true },
                Frame::CatchUp { since: u64::MAX },
                Frame::Table { mark: 300, total: 2, here: 0 },
                Frame::Summary { hash: u64::MAX, live: 10_000 },
            ]
        );
    }

    #[test]
    fn writer_never_exceeds_its_limit() {
        let mut w = PacketWriter::new(512, header());
        let mut n = 0;
        while w.push_message(&message(n + 1, 100)) {
            n += 1;
        }
        assert_eq!(n, 4);
        assert!(w.finish().len() <= 512);
        let mut w = PacketWriter::new(512, header());
        assert!(w.push_message(&message(1, max_payload(512))));
        assert!(w.finish().len() <= 512);
    }

    #[test]
    fn malformed_packets_get_typed_errors() {
        assert_eq!(decode::<u32>(&Bytes::new()), Err(DecodeError::Truncated));
        assert_eq!(decode::<u32>(&Bytes::from_static(&[9])), Err(DecodeError::UnknownVersion(9)));
        let mut raw = PacketWriter::new(1200, header()).finish().to_vec();
        raw.push(0x3f);
        assert_eq!(decode::<u32>(&Bytes::from(raw)), Err(DecodeError::UnknownFrame(0x3f)));
        let mut w = PacketWriter::new(1200, header());
        w.push_message(&message(1, 10));
        let full = w.finish();
        let cut = full.slice(..full.len() - 1);
        assert_eq!(decode::<u32>(&cut), Err(DecodeError::Truncated));
    }

    #[test]
    fn unknown_extension_frames_are_skipped() {
        let mut w = PacketWriter::new(1200, header());
        w.push_message(&message(1, 10));
        let mut raw = w.finish().to_vec();
        // An extension frame of 3 bytes between two known ones.
        raw.extend_from_slice(&[0x7f, 3, 1, 2, 3]);
        let mut tail = PacketWriter::new(1200, header());
        tail.push_ack(9);
        let header_len = PacketWriter::new(1200, header()).finish().len();
        raw.extend_from_slice(&tail.finish()[header_len..]);
        let packet = decode::<u32>(&Bytes::from(raw.clone())).expect("decodes");
        assert_eq!(packet.frames.len(), 2);
        assert!(matches!(packet.frames[1], Frame::Ack { seq: 9 }));
        // A length past the end is a truncated packet.
        raw.extend_from_slice(&[0x40, 9]);
        assert_eq!(decode::<u32>(&Bytes::from(raw)), Err(DecodeError::Truncated));
    }

    #[test]
    fn known_extensions_ignore_appended_fields_and_reject_short_bodies() {
        let base = PacketWriter::new(1200, header()).finish().to_vec();
        // A catch-up request from a later version, with one more field.
        let mut raw = base.clone();
        raw.extend_from_slice(&[0x40, 3, 0xac, 0x02, 7]);
        let packet = decode::<u32>(&Bytes::from(raw)).expect("decodes");
        assert_eq!(packet.frames, vec![Frame::CatchUp { since: 300 }]);
        // A table frame whose body ends after two of its three fields.
        let mut raw = base;
        raw.extend_from_slice(&[0x41, 2, 1, 2]);
        assert_eq!(decode::<u32>(&Bytes::from(raw)), Err(DecodeError::Truncated));
    }
}
