//! The packets of the baseline protocols.
//!
//! Every packet starts with a version byte ([`VERSION`]) and a kind byte;
//! all integers are fixed-width little-endian. Node references are indices
//! into the shared member list (the same list on every node), so no packet
//! carries an address.
//!
//! ```text
//! Data    (kind 1): flags u8 (bit 0 forward to children, bit 1 repair copy),
//!                   group u32, origin u64, origin_index u32, seq u64,
//!                   root u32 (tree root's rank in the group list),
//!                   sender u32 (index of the node that sent this copy),
//!                   hops u16, len u16, payload [len]
//! Nack    (kind 2): group u32, origin u64, origin_index u32, root u32,
//!                   requester u32, count u16, seq u64 [count]
//! Ack     (kind 3): from u32, count u16, (group u32, origin u64, seq u64) [count]
//! Session (kind 4): group u32, origin u64, origin_index u32, root u32, highest u64
//! ```
//!
//! Counts are capped at [`MAX_IDS`]; a packet must end exactly where its
//! last field ends. Decoding checks every length against the bytes left
//! before it allocates, and never panics.

use bytes::{BufMut, Bytes, BytesMut};
use gossip_core::{GroupId, MessageId, NodeId, TransmitKind};
use thiserror::Error;

/// The wire version this build speaks.
pub const VERSION: u8 = 0xb1;
/// Most sequence numbers in a NACK or message ids in an ACK.
pub const MAX_IDS: usize = 128;
/// Bytes of a data packet before its payload.
pub const DATA_HEADER: usize = 2 + 1 + 4 + 8 + 4 + 8 + 4 + 4 + 2 + 2;

const KIND_DATA: u8 = 1;
const KIND_NACK: u8 = 2;
const KIND_ACK: u8 = 3;
const KIND_SESSION: u8 = 4;
const FLAG_FORWARD: u8 = 1;
const FLAG_REPAIR: u8 = 2;

/// Why a baseline packet did not decode: the baselines' [`Protocol::Error`](gossip_core::Protocol::Error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// The packet ended early.
    #[error("packet truncated")]
    Truncated,
    /// Unknown first byte.
    #[error("unknown wire version {0:#04x}")]
    UnknownVersion(u8),
    /// Unknown packet kind.
    #[error("unknown packet kind {0}")]
    UnknownKind(u8),
    /// A count above [`MAX_IDS`].
    #[error("{field} too large: {value}")]
    TooLarge {
        /// Which field.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// Bytes after the last field.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// Flag bits this build does not know.
    #[error("unknown flags {0:#04x}")]
    BadFlags(u8),
}

/// A message copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Data {
    /// The receiver forwards it to its children in the tree rooted at `root`.
    pub forward: bool,
    /// A repair or retransmission rather than the first dissemination.
    pub repair: bool,
    /// The message's id.
    pub id: MessageId,
    /// The origin's index in the member list.
    pub origin_index: u32,
    /// The tree root's rank in the group's member list.
    pub root: u32,
    /// Index of the node that sent this copy.
    pub sender: u32,
    /// Relays so far.
    pub hops: u16,
    /// The payload.
    pub payload: Bytes,
}

/// A repair request for some sequence numbers of one stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    /// The stream's group.
    pub group: GroupId,
    /// The stream's origin.
    pub origin: NodeId,
    /// The origin's index.
    pub origin_index: u32,
    /// The tree root's rank.
    pub root: u32,
    /// Who asks.
    pub requester: u32,
    /// Missing sequence numbers.
    pub seqs: Vec<u64>,
}

/// Positive acknowledgements of several messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// Index of the acknowledging node.
    pub from: u32,
    /// Messages it holds.
    pub ids: Vec<MessageId>,
}

/// A sender's announcement of the highest sequence number it sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The stream's group.
    pub group: GroupId,
    /// The stream's origin.
    pub origin: NodeId,
    /// The origin's index.
    pub origin_index: u32,
    /// The tree root's rank.
    pub root: u32,
    /// Highest sequence number sent.
    pub highest: u64,
}

/// Any baseline packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// A message copy.
    Data(Data),
    /// A repair request.
    Nack(Nack),
    /// Acknowledgements.
    Ack(Ack),
    /// A session message.
    Session(Session),
}

impl Packet {
    /// What the packet is for: a first copy is data, a NACK a request, a
    /// repair, an ACK or a session message (a report of what was sent) an
    /// answer.
    pub fn kind(&self) -> TransmitKind {
        match self {
            Packet::Data(d) if !d.repair => TransmitKind::Data,
            Packet::Nack(_) => TransmitKind::Request,
            Packet::Data(_) | Packet::Ack(_) | Packet::Session(_) => TransmitKind::Answer,
        }
    }

    /// Encodes the packet.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        out.put_u8(VERSION);
        match self {
            Packet::Data(d) => {
                out.put_u8(KIND_DATA);
                let flags = if d.forward { FLAG_FORWARD } else { 0 } | if d.repair { FLAG_REPAIR } else { 0 };
                out.put_u8(flags);
                out.put_u32_le(d.id.group.0);
                out.put_u64_le(d.id.origin.0);
                out.put_u32_le(d.origin_index);
                out.put_u64_le(d.id.seq);
                out.put_u32_le(d.root);
                out.put_u32_le(d.sender);
                out.put_u16_le(d.hops);
                out.put_u16_le(u16::try_from(d.payload.len()).unwrap_or(u16::MAX));
                out.put_slice(&d.payload[..d.payload.len().min(usize::from(u16::MAX))]);
            }
            Packet::Nack(n) => {
                put_stream(&mut out, KIND_NACK, n.group, n.origin, n.origin_index, n.root);
                out.put_u32_le(n.requester);
                let seqs = &n.seqs[..n.seqs.len().min(MAX_IDS)];
                out.put_u16_le(seqs.len() as u16);
                for s in seqs {
                    out.put_u64_le(*s);
                }
            }
            Packet::Ack(a) => {
                out.put_u8(KIND_ACK);
                out.put_u32_le(a.from);
                let ids = &a.ids[..a.ids.len().min(MAX_IDS)];
                out.put_u16_le(ids.len() as u16);
                for id in ids {
                    out.put_u32_le(id.group.0);
                    out.put_u64_le(id.origin.0);
                    out.put_u64_le(id.seq);
                }
            }
            Packet::Session(s) => {
                put_stream(&mut out, KIND_SESSION, s.group, s.origin, s.origin_index, s.root);
                out.put_u64_le(s.highest);
            }
        }
        out.freeze()
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        match self {
            Packet::Data(d) => DATA_HEADER + d.payload.len(),
            Packet::Nack(n) => 2 + 4 + 8 + 4 + 4 + 4 + 2 + 8 * n.seqs.len().min(MAX_IDS),
            Packet::Ack(a) => 2 + 4 + 2 + 20 * a.ids.len().min(MAX_IDS),
            Packet::Session(_) => 2 + 4 + 8 + 4 + 4 + 8,
        }
    }

    /// Decodes a packet; the payload of a data packet is a slice of `bytes`.
    pub fn decode(bytes: &Bytes) -> Result<Packet, WireError> {
        let mut r = Reader { bytes, at: 0 };
        let version = r.u8()?;
        if version != VERSION {
            return Err(WireError::UnknownVersion(version));
        }
        let packet = match r.u8()? {
            KIND_DATA => {
                let flags = r.u8()?;
                if flags & !(FLAG_FORWARD | FLAG_REPAIR) != 0 {
                    return Err(WireError::BadFlags(flags));
                }
                let group = GroupId(r.u32()?);
                let origin = NodeId(r.u64()?);
                let origin_index = r.u32()?;
                let seq = r.u64()?;
                let root = r.u32()?;
                let sender = r.u32()?;
                let hops = r.u16()?;
                let len = usize::from(r.u16()?);
                let payload = r.slice(len)?;
                Packet::Data(Data {
                    forward: flags & FLAG_FORWARD != 0,
                    repair: flags & FLAG_REPAIR != 0,
                    id: MessageId { group, origin, seq },
                    origin_index,
                    root,
                    sender,
                    hops,
                    payload,
                })
            }
            KIND_NACK => {
                let group = GroupId(r.u32()?);
                let origin = NodeId(r.u64()?);
                let origin_index = r.u32()?;
                let root = r.u32()?;
                let requester = r.u32()?;
                let count = r.count(8)?;
                let mut seqs = Vec::with_capacity(count);
                for _ in 0..count {
                    seqs.push(r.u64()?);
                }
                Packet::Nack(Nack { group, origin, origin_index, root, requester, seqs })
            }
            KIND_ACK => {
                let from = r.u32()?;
                let count = r.count(20)?;
                let mut ids = Vec::with_capacity(count);
                for _ in 0..count {
                    let group = GroupId(r.u32()?);
                    let origin = NodeId(r.u64()?);
                    let seq = r.u64()?;
                    ids.push(MessageId { group, origin, seq });
                }
                Packet::Ack(Ack { from, ids })
            }
            KIND_SESSION => Packet::Session(Session {
                group: GroupId(r.u32()?),
                origin: NodeId(r.u64()?),
                origin_index: r.u32()?,
                root: r.u32()?,
                highest: r.u64()?,
            }),
            other => return Err(WireError::UnknownKind(other)),
        };
        let left = bytes.len() - r.at;
        if left != 0 {
            return Err(WireError::Trailing(left));
        }
        Ok(packet)
    }
}

/// The start of a NACK or session packet: its kind and the stream it is about.
fn put_stream(out: &mut BytesMut, kind: u8, group: GroupId, origin: NodeId, origin_index: u32, root: u32) {
    out.put_u8(kind);
    out.put_u32_le(group.0);
    out.put_u64_le(origin.0);
    out.put_u32_le(origin_index);
    out.put_u32_le(root);
}

struct Reader<'a> {
    bytes: &'a Bytes,
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let end = self.at.checked_add(N).ok_or(WireError::Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(WireError::Truncated)?;
        self.at = end;
        slice.try_into().map_err(|_| WireError::Truncated)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.take()?))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    fn slice(&mut self, len: usize) -> Result<Bytes, WireError> {
        let end = self.at.checked_add(len).ok_or(WireError::Truncated)?;
        if end > self.bytes.len() {
            return Err(WireError::Truncated);
        }
        let out = self.bytes.slice(self.at..end);
        self.at = end;
        Ok(out)
    }

    /// A u16 count of `item`-byte entries, checked against the cap and the
    /// bytes left before anything is allocated.
    fn count(&mut self, item: usize) -> Result<usize, WireError> {
        let count = usize::from(self.u16()?);
        if count > MAX_IDS {
            return Err(WireError::TooLarge { field: "count", value: count as u64 });
        }
        if count * item > self.bytes.len() - self.at {
            return Err(WireError::Truncated);
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(seq: u64) -> MessageId {
        MessageId { group: GroupId(7), origin: NodeId(9), seq }
    }

    #[test]
    fn packets_round_trip() {
        let packets = [
            Packet::Data(Data {
                forward: true,
                repair: false,
                id: id(3),
                origin_index: 4,
                root: 5,
                sender: 6,
                hops: 2,
                payload: Bytes::from_static(b"hello"),
            }),
            Packet::Nack(Nack {
                group: GroupId(1),
                origin: NodeId(2),
                origin_index: 3,
                root: 4,
                requester: 5,
                seqs: vec![1, 2, 9],
            }),
            Packet::Ack(Ack { from: 3, ids: vec![id(1), id(2)] }),
            Packet::Session(Session { group: GroupId(1), origin: NodeId(2), origin_index: 0, root: 0, highest: 77 }),
        ];
        for p in packets {
            let bytes = p.encode();
            assert_eq!(bytes.len(), p.encoded_len());
            assert_eq!(Packet::decode(&bytes).unwrap(), p);
            for cut in 0..bytes.len() {
                assert!(Packet::decode(&bytes.slice(..cut)).is_err());
            }
            let mut longer = bytes.to_vec();
            longer.push(0);
            assert_eq!(Packet::decode(&Bytes::from(longer)), Err(WireError::Trailing(1)));
        }
    }

    #[test]
    fn bad_headers_are_typed() {
        assert_eq!(Packet::decode(&Bytes::from_static(&[1, 1])), Err(WireError::UnknownVersion(1)));
        assert_eq!(Packet::decode(&Bytes::from_static(&[VERSION, 99])), Err(WireError::UnknownKind(99)));
        assert_eq!(Packet::decode(&Bytes::new()), Err(WireError::Truncated));
        let huge = [VERSION, KIND_ACK, 0, 0, 0, 0, 0xff, 0xff];
        assert!(matches!(Packet::decode(&Bytes::copy_from_slice(&huge)), Err(WireError::TooLarge { .. })));
    }
}
