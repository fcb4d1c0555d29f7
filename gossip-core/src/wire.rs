//! The wire codec. `docs/wire.md` specifies the format; this module is its
//! reference implementation.
//!
//! Decoding validates the whole packet before anything acts on it, checks
//! every length against the bytes that remain before allocating, and borrows
//! payloads from the packet's [`Bytes`] without copying.

use bytes::Bytes;

use crate::address::Address;
use crate::error::DecodeError;
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

const FLAG_FEEDBACK: u8 = 0x01;
const FLAG_ACK: u8 = 0x02;
const FLAG_COMPLETE: u8 = 0x01;

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
    /// The listed streams.
    pub entries: Vec<DigestEntry>,
}

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
    pub groups: Vec<GroupId>,
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
}

/// A decoded packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<A> {
    /// The header.
    pub header: Header,
    /// Its frames, in order.
    pub frames: Vec<Frame<A>>,
}

/// Decodes a whole packet. Any malformed byte fails the whole packet.
pub fn decode<A: Address>(packet: &Bytes) -> Result<Packet<A>, DecodeError> {
    let mut frames = Vec::new();
    let header = decode_into(packet, &mut frames)?;
    Ok(Packet { header, frames })
}

/// Decodes a whole packet, appending its frames to `frames` (a buffer the
/// caller reuses, so that decoding does not allocate in steady state). On
/// error, `frames` is left as it was.
pub fn decode_into<A: Address>(packet: &Bytes, frames: &mut Vec<Frame<A>>) -> Result<Header, DecodeError> {
    let start = frames.len();
    let result = decode_frames(packet, frames);
    if result.is_err() {
        frames.truncate(start);
    }
    result
}

fn decode_frames<A: Address>(packet: &Bytes, frames: &mut Vec<Frame<A>>) -> Result<Header, DecodeError> {
    let mut r = Reader { buf: packet, pos: 0 };
    let version = r.u8()?;
    if version != VERSION {
        return Err(DecodeError::UnknownVersion(version));
    }
    let header = Header { sender: NodeId(r.u64_le()?), incarnation: r.varint()? };
    // Every frame takes at least one byte, which bounds the vector's growth
    // by the packet's length.
    while r.remaining() > 0 {
        if let Some(frame) = r.frame()? {
            frames.push(frame);
        }
    }
    Ok(header)
}

struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn take_bytes(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let bytes = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16_be(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(raw))
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            if i == 9 && byte > 1 {
                return Err(DecodeError::BadVarint);
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::BadVarint)
    }

    fn varint_max(&mut self, field: &'static str, max: u64) -> Result<u64, DecodeError> {
        let value = self.varint()?;
        if value > max {
            return Err(DecodeError::TooLarge { field, value });
        }
        Ok(value)
    }

    fn group(&mut self) -> Result<GroupId, DecodeError> {
        Ok(GroupId(self.varint_max("group", u64::from(u32::MAX))? as u32))
    }

    /// A count of items of at least `min_item` bytes each, checked against
    /// what remains so that no count can make us allocate more than the
    /// packet could hold: a count that cannot fit means a truncated packet.
    fn count(&mut self, min_item: usize, raw: u64) -> Result<usize, DecodeError> {
        let fits = (self.remaining() / min_item) as u64;
        if raw > fits {
            return Err(DecodeError::Truncated);
        }
        Ok(raw as usize)
    }

    /// The next frame, or `None` for an extension frame this build does
    /// not know (skipped whole).
    fn frame<A: Address>(&mut self) -> Result<Option<Frame<A>>, DecodeError> {
        let kind = self.u8()?;
        if kind >= EXTENSION_FRAMES {
            let len = self.varint()?;
            let len = usize::try_from(len).map_err(|_| DecodeError::Truncated)?;
            self.take(len)?;
            return Ok(None);
        }
        self.known_frame(kind).map(Some)
    }

    fn known_frame<A: Address>(&mut self, kind: u8) -> Result<Frame<A>, DecodeError> {
        match kind {
            FRAME_MESSAGE => {
                let flags = self.u8()?;
                let origin = NodeId(self.u64_le()?);
                let group = self.group()?;
                let seq = self.varint()?;
                if seq == 0 {
                    return Err(DecodeError::InvalidValue("seq"));
                }
                let age = self.varint_max("age", u64::from(MAX_AGE))? as u32;
                let hops = self.varint_max("hops", u64::from(MAX_AGE))? as u32;
                let priority = self.u8()?;
                let len = self.varint()?;
                let len = self.count(1, len)?;
                let payload = self.take_bytes(len)?;
                Ok(Frame::Message(MessageFrame {
                    id: MessageId { group, origin, seq },
                    age,
                    hops,
                    priority,
                    feedback: flags & FLAG_FEEDBACK != 0,
                    ack: flags & FLAG_ACK != 0,
                    payload,
                }))
            }
            FRAME_DIGEST => {
                let group = self.group()?;
                let flags = self.u8()?;
                let raw = u64::from(self.u16_be()?);
                let n = self.count(10, raw)?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let origin = NodeId(self.u64_le()?);
                    let base = self.varint()?;
                    let len = self.varint_max("bitmap length", MAX_BITMAP_BYTES as u64)? as usize;
                    let bitmap = self.take_bytes(len)?;
                    entries.push(DigestEntry { origin, base, bitmap });
                }
                Ok(Frame::Digest(DigestFrame { group, complete: flags & FLAG_COMPLETE != 0, entries }))
            }
            FRAME_KNOWN => {
                let raw = u64::from(self.u16_be()?);
                let n = self.count(10, raw)?;
                let mut ids = Vec::with_capacity(n);
                for _ in 0..n {
                    let origin = NodeId(self.u64_le()?);
                    let group = self.group()?;
                    let seq = self.varint()?;
                    ids.push(MessageId { group, origin, seq });
                }
                Ok(Frame::Known(ids))
            }
            FRAME_MEMBER => {
                let id = NodeId(self.u64_le()?);
                let incarnation = self.varint()?;
                let status = match self.u8()? {
                    0 => MemberStatus::Alive,
                    1 => MemberStatus::Suspect,
                    2 => MemberStatus::Dead,
                    3 => MemberStatus::Left,
                    _ => return Err(DecodeError::InvalidValue("member status")),
                };
                let addr_len = usize::from(self.u8()?);
                let addr = if addr_len == 0 { None } else { Some(A::decode(self.take(addr_len)?)?) };
                let raw = self.varint_max("member groups", MAX_MEMBER_GROUPS as u64)?;
                let n = self.count(1, raw)?;
                let mut groups = Vec::with_capacity(n);
                for _ in 0..n {
                    groups.push(self.group()?);
                }
                let meta_len = self.varint_max("member meta length", MAX_META_LEN as u64)? as usize;
                let meta = self.take_bytes(meta_len)?;
                Ok(Frame::Member(MemberFrame { id, incarnation, status, addr, groups, meta }))
            }
            FRAME_JOIN => Ok(Frame::Join),
            FRAME_PING => Ok(Frame::Ping { seq: self.varint()?, target: NodeId(self.u64_le()?) }),
            FRAME_ACK => Ok(Frame::Ack { seq: self.varint()? }),
            FRAME_PING_REQ => {
                let seq = self.varint()?;
                let target = NodeId(self.u64_le()?);
                let addr_len = usize::from(self.u8()?);
                let addr = A::decode(self.take(addr_len)?)?;
                Ok(Frame::PingReq { seq, target, addr })
            }
            FRAME_SYNC => Ok(Frame::Sync { reply: self.u8()? != 0 }),
            other => Err(DecodeError::UnknownFrame(other)),
        }
    }
}

/// The encoded length of `value` as a varint.
pub fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Writes an address with its one-byte length prefix.
fn put_addr<A: Address>(out: &mut Vec<u8>, addr: &A) {
    let len_at = out.len();
    out.push(0);
    addr.encode(out);
    let len = (out.len() - len_at - 1).min(crate::address::MAX_ADDRESS_LEN);
    out[len_at] = len as u8;
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The encoded length of a message frame.
pub fn message_len(frame: &MessageFrame) -> usize {
    1 + 1
        + 8
        + varint_len(u64::from(frame.id.group.0))
        + varint_len(frame.id.seq)
        + varint_len(u64::from(frame.age.min(MAX_AGE)))
        + varint_len(u64::from(frame.hops.min(MAX_AGE)))
        + 1
        + varint_len(frame.payload.len() as u64)
        + frame.payload.len()
}

/// The encoded length of one digest entry.
pub fn digest_entry_len(entry: &DigestEntry) -> usize {
    8 + varint_len(entry.base) + varint_len(entry.bitmap.len() as u64) + entry.bitmap.len()
}

/// The encoded length of a member frame.
pub fn member_len<A: Address>(frame: &MemberFrame<A>) -> usize {
    let groups = &frame.groups[..frame.groups.len().min(MAX_MEMBER_GROUPS)];
    1 + 8
        + varint_len(frame.incarnation)
        + 1
        + 1
        + frame.addr.as_ref().map_or(0, Address::encoded_len)
        + varint_len(groups.len() as u64)
        + groups.iter().map(|g| varint_len(u64::from(g.0))).sum::<usize>()
        + varint_len(frame.meta.len().min(MAX_META_LEN) as u64)
        + frame.meta.len().min(MAX_META_LEN)
}

/// Builds one packet, frame by frame, never past its size limit: every
/// `push_*` either appends the whole frame and returns `true`, or leaves the
/// packet unchanged and returns `false`.
#[derive(Debug)]
pub struct PacketWriter {
    buf: Vec<u8>,
    max: usize,
    frames: usize,
}

impl PacketWriter {
    /// Starts a packet of at most `max` bytes with `header`.
    pub fn new(max: usize, header: Header) -> Self {
        Self::with_capacity(max, header, max.min(2048))
    }

    /// Starts a packet of at most `max` bytes, reserving `capacity` bytes
    /// (the expected size: reserving the maximum for a small packet wastes
    /// the rest, or a reallocation to trim it).
    pub fn with_capacity(max: usize, header: Header, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity.clamp(HEADER_MAX, max.max(HEADER_MAX)));
        buf.push(VERSION);
        buf.extend_from_slice(&header.sender.0.to_le_bytes());
        put_varint(&mut buf, header.incarnation);
        PacketWriter { buf, max, frames: 0 }
    }

    /// Bytes still free.
    pub fn remaining(&self) -> usize {
        self.max.saturating_sub(self.buf.len())
    }

    /// Frames written so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Appends a message frame if it fits.
    pub fn push_message(&mut self, frame: &MessageFrame) -> bool {
        if message_len(frame) > self.remaining() {
            return false;
        }
        let out = &mut self.buf;
        out.push(FRAME_MESSAGE);
        out.push(if frame.feedback { FLAG_FEEDBACK } else { 0 } | if frame.ack { FLAG_ACK } else { 0 });
        out.extend_from_slice(&frame.id.origin.0.to_le_bytes());
        put_varint(out, u64::from(frame.id.group.0));
        put_varint(out, frame.id.seq);
        put_varint(out, u64::from(frame.age.min(MAX_AGE)));
        put_varint(out, u64::from(frame.hops.min(MAX_AGE)));
        out.push(frame.priority);
        put_varint(out, frame.payload.len() as u64);
        out.extend_from_slice(&frame.payload);
        self.frames += 1;
        true
    }

    /// Appends a digest for `group` with as many of `entries` as fit (at
    /// least one, or nothing is written). Returns how many were written; the
    /// frame is marked complete when `complete` is set and all were written.
    pub fn push_digest<'e>(
        &mut self,
        group: GroupId,
        complete: bool,
        entries: impl IntoIterator<Item = &'e DigestEntry>,
    ) -> usize {
        let head = 1 + varint_len(u64::from(group.0)) + 1 + 2;
        if head > self.remaining() {
            return 0;
        }
        let start = self.buf.len();
        self.buf.push(FRAME_DIGEST);
        put_varint(&mut self.buf, u64::from(group.0));
        let flags_at = self.buf.len();
        self.buf.push(0);
        let count_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        let mut written = 0usize;
        let mut all = true;
        for entry in entries {
            if written == usize::from(u16::MAX) || digest_entry_len(entry) > self.remaining() {
                all = false;
                break;
            }
            self.buf.extend_from_slice(&entry.origin.0.to_le_bytes());
            put_varint(&mut self.buf, entry.base);
            put_varint(&mut self.buf, entry.bitmap.len() as u64);
            self.buf.extend_from_slice(&entry.bitmap);
            written += 1;
        }
        if written == 0 && !complete {
            self.buf.truncate(start);
            return 0;
        }
        if complete && all {
            self.buf[flags_at] = FLAG_COMPLETE;
        }
        self.buf[count_at..count_at + 2].copy_from_slice(&(written as u16).to_be_bytes());
        self.frames += 1;
        written
    }

    /// Appends a `Known` frame with as many of `ids` as fit; returns how many.
    pub fn push_known(&mut self, ids: &[MessageId]) -> usize {
        if 3 > self.remaining() || ids.is_empty() {
            return 0;
        }
        let start = self.buf.len();
        self.buf.push(FRAME_KNOWN);
        let count_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        let mut written = 0usize;
        for id in ids.iter().take(usize::from(u16::MAX)) {
            let len = 8 + varint_len(u64::from(id.group.0)) + varint_len(id.seq);
            if len > self.remaining() {
                break;
            }
            self.buf.extend_from_slice(&id.origin.0.to_le_bytes());
            put_varint(&mut self.buf, u64::from(id.group.0));
            put_varint(&mut self.buf, id.seq);
            written += 1;
        }
        if written == 0 {
            self.buf.truncate(start);
            return 0;
        }
        self.buf[count_at..count_at + 2].copy_from_slice(&(written as u16).to_be_bytes());
        self.frames += 1;
        written
    }

    /// Appends a member entry if it fits. Groups beyond
    /// [`MAX_MEMBER_GROUPS`] are not written.
    pub fn push_member<A: Address>(&mut self, frame: &MemberFrame<A>) -> bool {
        self.push_member_parts(
            frame.id,
            frame.incarnation,
            frame.status,
            frame.addr.as_ref(),
            &frame.groups,
            &frame.meta,
        )
    }

    /// [`push_member`](Self::push_member) from borrowed parts, so a member
    /// table can write its entries without building frames.
    pub fn push_member_parts<A: Address>(
        &mut self,
        id: NodeId,
        incarnation: u64,
        status: MemberStatus,
        addr: Option<&A>,
        groups: &[GroupId],
        meta: &[u8],
    ) -> bool {
        let groups = &groups[..groups.len().min(MAX_MEMBER_GROUPS)];
        let meta = &meta[..meta.len().min(MAX_META_LEN)];
        let len = 1
            + 8
            + varint_len(incarnation)
            + 2
            + addr.map_or(0, Address::encoded_len)
            + varint_len(groups.len() as u64)
            + groups.iter().map(|g| varint_len(u64::from(g.0))).sum::<usize>()
            + varint_len(meta.len() as u64)
            + meta.len();
        if len > self.remaining() {
            return false;
        }
        let out = &mut self.buf;
        out.push(FRAME_MEMBER);
        out.extend_from_slice(&id.0.to_le_bytes());
        put_varint(out, incarnation);
        out.push(match status {
            MemberStatus::Alive => 0,
            MemberStatus::Suspect => 1,
            MemberStatus::Dead => 2,
            MemberStatus::Left => 3,
        });
        match addr {
            Some(addr) => put_addr(out, addr),
            None => out.push(0),
        }
        put_varint(out, groups.len() as u64);
        for group in groups {
            put_varint(out, u64::from(group.0));
        }
        put_varint(out, meta.len() as u64);
        out.extend_from_slice(meta);
        self.frames += 1;
        true
    }

    /// Appends a probe if it fits.
    pub fn push_ping(&mut self, seq: u64, target: NodeId) -> bool {
        if 1 + varint_len(seq) + 8 > self.remaining() {
            return false;
        }
        self.buf.push(FRAME_PING);
        put_varint(&mut self.buf, seq);
        self.buf.extend_from_slice(&target.0.to_le_bytes());
        self.frames += 1;
        true
    }

    /// Appends a probe's answer if it fits.
    pub fn push_ack(&mut self, seq: u64) -> bool {
        if 1 + varint_len(seq) > self.remaining() {
            return false;
        }
        self.buf.push(FRAME_ACK);
        put_varint(&mut self.buf, seq);
        self.frames += 1;
        true
    }

    /// Appends an indirect probe request if it fits.
    pub fn push_ping_req<A: Address>(&mut self, seq: u64, target: NodeId, addr: &A) -> bool {
        if 1 + varint_len(seq) + 8 + 1 + addr.encoded_len() > self.remaining() {
            return false;
        }
        self.buf.push(FRAME_PING_REQ);
        put_varint(&mut self.buf, seq);
        self.buf.extend_from_slice(&target.0.to_le_bytes());
        put_addr(&mut self.buf, addr);
        self.frames += 1;
        true
    }

    /// Appends an anti-entropy marker if it fits.
    pub fn push_sync(&mut self, reply: bool) -> bool {
        if 2 > self.remaining() {
            return false;
        }
        self.buf.push(FRAME_SYNC);
        self.buf.push(u8::from(reply));
        self.frames += 1;
        true
    }

    /// Appends a join request if it fits.
    pub fn push_join(&mut self) -> bool {
        if self.remaining() == 0 {
            return false;
        }
        self.buf.push(FRAME_JOIN);
        self.frames += 1;
        true
    }

    /// The finished packet.
    ///
    /// The buffer is trimmed when the packet came out much smaller than the
    /// room reserved for it, since a receiver on the same host (an
    /// in-memory network) keeps the allocation alive through the payloads
    /// it buffers.
    pub fn finish(mut self) -> Bytes {
        if self.buf.capacity() - self.buf.len() > 256 {
            self.buf.shrink_to_fit();
        }
        Bytes::from(self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn varints_round_trip_at_the_edges() {
        for value in [0, 1, 127, 128, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, value);
            assert_eq!(buf.len(), varint_len(value));
            let bytes = Bytes::from(buf);
            assert_eq!(Reader { buf: &bytes, pos: 0 }.varint().unwrap(), value);
        }
        let overlong = Bytes::from(vec![0xff; 11]);
        assert_eq!(Reader { buf: &overlong, pos: 0 }.varint(), Err(DecodeError::BadVarint));
    }

    #[test]
    fn every_frame_kind_round_trips() {
        let mut w = PacketWriter::new(1200, header());
        assert!(w.push_message(&message(5, 64)));
        let entries = vec![
            DigestEntry { origin: NodeId(1), base: 10, bitmap: Bytes::from_static(&[0b101]) },
            DigestEntry { origin: NodeId(2), base: 0, bitmap: Bytes::new() },
        ];
        assert_eq!(w.push_digest(GroupId(7), true, &entries), 2);
        let known = [MessageId { group: GroupId(1), origin: NodeId(3), seq: 4 }];
        assert_eq!(w.push_known(&known), 1);
        let member = MemberFrame::<u32> {
            id: NodeId(8),
            incarnation: 77,
            status: MemberStatus::Suspect,
            addr: Some(12),
            groups: vec![GroupId(1), GroupId(300)],
            meta: Bytes::from_static(b"name=a"),
        };
        assert!(w.push_member(&member));
        assert!(w.push_join());
        assert!(w.push_ping(u64::MAX, NodeId(3)));
        assert!(w.push_ack(9));
        assert!(w.push_ping_req(10, NodeId(4), &77u32));
        assert!(w.push_sync(true));
        let bytes = w.finish();
        let packet = decode::<u32>(&bytes).unwrap();
        assert_eq!(packet.header, header());
        assert_eq!(
            packet.frames,
            vec![
                Frame::Message(message(5, 64)),
                Frame::Digest(DigestFrame { group: GroupId(7), complete: true, entries }),
                Frame::Known(known.to_vec()),
                Frame::Member(member),
                Frame::Join,
                Frame::Ping { seq: u64::MAX, target: NodeId(3) },
                Frame::Ack { seq: 9 },
                Frame::PingReq { seq: 10, target: NodeId(4), addr: 77 },
                Frame::Sync { reply: true },
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
}
