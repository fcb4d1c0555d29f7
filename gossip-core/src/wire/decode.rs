//! Decoding: a whole packet checked before any of it is used.

use bytes::Bytes;

use super::*;
use crate::address::Address;
use crate::error::DecodeError;

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

    #[inline]
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    /// The next `n` bytes as a slice of the packet (no reference to the
    /// packet when empty: most member entries carry no metadata).
    fn take_bytes(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        if n == 0 {
            return Ok(Bytes::new());
        }
        let bytes = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(bytes)
    }

    #[inline]
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16_be(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    #[inline]
    fn u64_le(&mut self) -> Result<u64, DecodeError> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(raw))
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, DecodeError> {
        // Most varints on the wire are one byte.
        if let Some(&byte) = self.buf.get(self.pos).filter(|b| **b < 0x80) {
            self.pos += 1;
            return Ok(u64::from(byte));
        }
        self.long_varint()
    }

    fn long_varint(&mut self) -> Result<u64, DecodeError> {
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
            let body = self.take_bytes(len)?;
            return Reader { buf: &body, pos: 0 }.extension(kind);
        }
        self.known_frame(kind).map(Some)
    }

    /// The body of extension frame `kind`; later versions may append
    /// fields, which are ignored.
    fn extension<A: Address>(&mut self, kind: u8) -> Result<Option<Frame<A>>, DecodeError> {
        match kind {
            EXT_CATCH_UP => Ok(Some(Frame::CatchUp { since: self.varint()? })),
            EXT_TABLE => Ok(Some(Frame::Table { mark: self.varint()?, total: self.varint()?, here: self.varint()? })),
            EXT_SUMMARY => Ok(Some(Frame::Summary { hash: self.varint()?, live: self.varint()? })),
            _ => Ok(None),
        }
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
                Ok(Frame::Digest(DigestFrame {
                    group,
                    complete: flags & FLAG_COMPLETE != 0,
                    reply: flags & FLAG_REPLY != 0,
                    entries,
                }))
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
                let mut groups = MemberGroups::with_capacity(n);
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

#[cfg(test)]
mod tests {
    use super::super::encode::put_varint;
    use super::*;

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
}
