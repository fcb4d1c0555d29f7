//! The send side's scratch: a batch laid out as wire bytes in one reused
//! buffer and grouped into GSO trains (several equal datagrams to one
//! peer in one system call, the last allowed to be shorter).

use std::net::SocketAddr;
use std::ops::Range;

use bytes::Bytes;

use crate::framing::Framing;
use crate::seal::CounterExhausted;

/// Total bytes of one GSO train at most (an IP packet's limit, less headers).
const MAX_TRAIN_BYTES: usize = 64_000;
/// Largest datagram sent in a GSO train: one that fits a 1500-byte MTU
/// under IPv6 and UDP headers. The kernel refuses segments longer than the
/// path MTU, and longer datagrams may need IP fragmentation, so they go
/// one per call.
pub(crate) const MAX_TRAIN_SEGMENT: usize = 1452;

/// One datagram of the batch, laid out in [`SendPlan::wire`].
#[derive(Clone, Copy)]
struct Laid {
    /// Index in the caller's batch.
    index: usize,
    to: SocketAddr,
    start: usize,
    len: usize,
}

/// Consecutive datagrams to one peer sent in one system call.
pub(crate) struct Train {
    /// The destination.
    pub(crate) to: SocketAddr,
    /// Wire bytes of the whole train within [`SendPlan::wire`].
    pub(crate) bytes: Range<usize>,
    /// Size of every datagram but the last (which may be shorter).
    pub(crate) segment: usize,
    /// Which entries of [`SendPlan`] (and so of the batch) it carries.
    pub(crate) members: Range<usize>,
}

/// Reusable buffers for one batch; see the module documentation.
#[derive(Default)]
pub(crate) struct SendPlan {
    wire: Vec<u8>,
    laid: Vec<Laid>,
}

impl SendPlan {
    /// Empties the plan, keeping its memory.
    pub(crate) fn clear(&mut self) {
        self.wire.clear();
        self.laid.clear();
    }

    /// Queues datagram `index` of the batch for `to`. Call
    /// [`SendPlan::lay_out`] once everything is queued.
    pub(crate) fn push(&mut self, index: usize, to: SocketAddr) {
        self.laid.push(Laid { index, to, start: 0, len: 0 });
    }

    /// Groups the queued datagrams by destination (keeping their order per
    /// destination) and writes their wire form, framed by `framing`, one
    /// after another into the reused buffer.
    pub(crate) fn lay_out(&mut self, batch: &[(SocketAddr, Bytes)], framing: &Framing) -> Result<(), CounterExhausted> {
        self.laid.sort_by_key(|l| l.to);
        for laid in &mut self.laid {
            laid.start = self.wire.len();
            framing.frame_into(&batch[laid.index].1, &mut self.wire)?;
            laid.len = self.wire.len() - laid.start;
        }
        Ok(())
    }

    /// The laid-out wire bytes.
    pub(crate) fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// The batch index of entry `member`.
    pub(crate) fn index(&self, member: usize) -> usize {
        self.laid[member].index
    }

    /// The train that starts at entry `first`, of at most `max_segments`
    /// datagrams.
    pub(crate) fn train(&self, first: usize, max_segments: usize) -> Train {
        let head = self.laid[first];
        let mut end = first + 1;
        let mut bytes = head.len;
        let max_segments = if head.len > MAX_TRAIN_SEGMENT { 1 } else { max_segments };
        while end < self.laid.len() && end - first < max_segments {
            let next = self.laid[end];
            if next.to != head.to
                || head.len == 0
                || next.len == 0
                || next.len > head.len
                || bytes + next.len > MAX_TRAIN_BYTES
            {
                break;
            }
            bytes += next.len;
            end += 1;
            if next.len < head.len {
                break;
            }
        }
        Train { to: head.to, bytes: head.start..head.start + bytes, segment: head.len, members: first..end }
    }

    /// Entries queued.
    pub(crate) fn len(&self) -> usize {
        self.laid.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn trains(batch: &[(SocketAddr, Bytes)], max: usize) -> Vec<(SocketAddr, usize, Vec<usize>)> {
        let mut plan = SendPlan::default();
        for (i, (to, _)) in batch.iter().enumerate() {
            plan.push(i, *to);
        }
        plan.lay_out(batch, &Framing::Insecure { cluster_id: 0 }).unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        while at < plan.len() {
            let t = plan.train(at, max);
            out.push((t.to, t.segment, t.members.clone().map(|m| plan.index(m)).collect()));
            at = t.members.end;
        }
        out
    }

    #[test]
    fn trains_group_equal_datagrams_per_peer_the_last_shorter() {
        // Each datagram carries the 8-byte cluster id before its packet.
        let d = |port, len| (addr(port), Bytes::from(vec![port as u8; len]));
        let batch = vec![d(1, 10), d(2, 10), d(1, 10), d(1, 4), d(1, 10), d(2, 12)];
        assert_eq!(
            trains(&batch, 64),
            vec![(addr(1), 18, vec![0, 2, 3]), (addr(1), 18, vec![4]), (addr(2), 18, vec![1]), (addr(2), 20, vec![5])]
        );
        // The segment limit splits a train, and so does a datagram too
        // long for one.
        assert_eq!(trains(&batch[..3], 1).len(), 3);
        let long = vec![d(1, MAX_TRAIN_SEGMENT + 1), d(1, MAX_TRAIN_SEGMENT + 1)];
        assert_eq!(trains(&long, 64).len(), 2);
    }

    #[test]
    fn wire_bytes_follow_the_trains() {
        let batch = vec![(addr(2), Bytes::from_static(b"bb")), (addr(1), Bytes::from_static(b"aa"))];
        let mut plan = SendPlan::default();
        plan.push(0, addr(2));
        plan.push(1, addr(1));
        plan.lay_out(&batch, &Framing::Insecure { cluster_id: 0x3030_3030_3030_3030 }).unwrap();
        assert_eq!(plan.wire(), b"00000000aa00000000bb");
        let first = plan.train(0, 64);
        assert_eq!((first.to, &plan.wire()[first.bytes]), (addr(1), &b"00000000aa"[..]));
    }
}
