//! Encoding: frame lengths and the [`PacketWriter`] that builds packets.

use bytes::Bytes;

use super::*;
use crate::address::Address;

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

#[inline]
pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
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
    /// frame is marked complete when `complete` is set and all were written,
    /// and a reply when `reply` is set.
    pub fn push_digest<'e>(
        &mut self,
        group: GroupId,
        complete: bool,
        reply: bool,
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
            self.buf[flags_at] |= FLAG_COMPLETE;
        }
        if reply {
            self.buf[flags_at] |= FLAG_REPLY;
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

    /// Appends a [`Frame::CatchUp`] if it fits.
    pub fn push_catch_up(&mut self, since: u64) -> bool {
        self.push_extension(EXT_CATCH_UP, &[since])
    }

    /// Appends a [`Frame::Table`] if it fits (at most [`TABLE_FRAME_MAX`]
    /// bytes).
    pub fn push_table(&mut self, mark: u64, total: u64, here: u64) -> bool {
        self.push_extension(EXT_TABLE, &[mark, total, here])
    }

    /// Appends a [`Frame::Summary`] if it fits.
    pub fn push_summary(&mut self, hash: u64, live: u64) -> bool {
        self.push_extension(EXT_SUMMARY, &[hash, live])
    }

    /// An extension frame whose body is `fields`, as varints.
    fn push_extension(&mut self, kind: u8, fields: &[u64]) -> bool {
        let body: usize = fields.iter().map(|&f| varint_len(f)).sum();
        if 1 + varint_len(body as u64) + body > self.remaining() {
            return false;
        }
        self.buf.push(kind);
        put_varint(&mut self.buf, body as u64);
        for &field in fields {
            put_varint(&mut self.buf, field);
        }
        self.frames += 1;
        true
    }

    /// Keeps the last `bytes` of the packet's room free until
    /// [`release`](Self::release) gives them back (room for a frame that is
    /// written after others but must fit).
    pub(crate) fn hold(&mut self, bytes: usize) {
        self.max = self.max.saturating_sub(bytes);
    }

    /// Gives back room kept by [`hold`](Self::hold).
    pub(crate) fn release(&mut self, bytes: usize) {
        self.max = self.max.saturating_add(bytes);
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
