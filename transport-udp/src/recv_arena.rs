//! The receive arena: datagrams land in one long buffer owned by the
//! transport and leave it as [`Bytes`] views, with no allocation or copy
//! per datagram.
//!
//! A receive call lends the kernel `slots` equal slots at the front of the
//! current block. Afterwards the used front of the block is split off and
//! frozen into one shared `Bytes`, and every datagram becomes a slice of
//! it. With GRO a slot must hold a whole coalesced train (up to 64 KiB), so
//! the datagrams are first packed together (a move within the block) and
//! the unused rest of each slot stays in the arena; without GRO a slot is
//! one datagram long and nothing moves.
//!
//! When the block runs short the arena asks for a fresh one of
//! [`RecvArena::block_len`] bytes; [`BytesMut::reserve`] takes the old
//! allocation back instead when every datagram cut from it has been
//! dropped, so at steady state the arena allocates nothing. A datagram
//! held for long keeps its block alive, like any `Bytes` slice does.
//!
//! The arena is only touched inside the synchronous receive closure,
//! which either takes datagrams off the socket and hands them all out, or
//! takes nothing: a cancelled receive loses neither buffers nor datagrams.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use quinn_udp::{BATCH_SIZE, RecvMeta};

/// One datagram (one segment of a GRO train) found by [`RecvArena::receive`].
pub(crate) struct Segment {
    /// The sender.
    pub(crate) from: SocketAddr,
    /// Where the datagram is, within the region [`RecvArena::receive`]
    /// hands out.
    pub(crate) range: std::ops::Range<usize>,
    /// Whether it was marked Congestion Experienced.
    pub(crate) congested: bool,
}

/// Reusable receive memory; see the module documentation.
pub(crate) struct RecvArena {
    block: BytesMut,
    slot: usize,
    slots: usize,
    pack: bool,
    meta: [RecvMeta; BATCH_SIZE],
    segments: Vec<Segment>,
    /// Datagrams received but beyond what the caller asked for (a GRO
    /// train is longer than `max`); bounded by one call's datagrams.
    pending: VecDeque<(SocketAddr, Bytes)>,
}

impl RecvArena {
    /// An arena for datagrams of at most `max_datagram` bytes. `gro` says
    /// whether the socket coalesces trains (its slots then hold 64 KiB);
    /// `batching` off lends one slot per call.
    pub(crate) fn new(max_datagram: usize, gro: bool, batching: bool) -> Self {
        // One byte more than the largest datagram, so a longer one shows.
        let (slot, slots) = if gro { (u16::MAX as usize + 1, 8) } else { (max_datagram + 1, BATCH_SIZE) };
        let slots = if batching { slots.min(BATCH_SIZE) } else { 1 };
        RecvArena {
            block: BytesMut::new(),
            slot,
            slots,
            pack: gro,
            meta: [RecvMeta::default(); BATCH_SIZE],
            segments: Vec::with_capacity(slots * if gro { 64 } else { 1 }),
            pending: VecDeque::with_capacity(slots * if gro { 64 } else { 1 }),
        }
    }

    /// Bytes of a block: four times what one call lends.
    pub(crate) fn block_len(&self) -> usize {
        4 * self.slot * self.slots
    }

    /// The largest datagram a slot holds without truncation.
    pub(crate) fn slot_len(&self) -> usize {
        self.slot
    }

    /// Makes room for one call; returns whether a new block was allocated.
    fn refill(&mut self) -> bool {
        let need = self.slot * self.slots;
        if self.block.len() >= need {
            return false;
        }
        let len = self.block_len();
        self.block.clear();
        let reclaimed = self.block.try_reclaim(len);
        if !reclaimed {
            self.block = BytesMut::with_capacity(len);
        }
        self.block.resize(len, 0);
        !reclaimed
    }

    /// Runs one receive with `recv` over at most `max` lent slots. On
    /// success returns the region holding the datagrams (their places in it
    /// are in [`RecvArena::segments`]; freeze it and slice it) and whether
    /// a new block was allocated; an error (`WouldBlock` included) takes
    /// nothing.
    pub(crate) fn receive(
        &mut self,
        max: usize,
        recv: impl FnOnce(&mut [IoSliceMut<'_>], &mut [RecvMeta]) -> io::Result<usize>,
    ) -> io::Result<(BytesMut, bool)> {
        let allocated = self.refill();
        let slots = self.slots.min(max.max(1));
        let slot = self.slot;
        let got = {
            let mut chunks = self.block[..slot * slots].chunks_mut(slot);
            let mut bufs: [IoSliceMut<'_>; BATCH_SIZE] =
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or(&mut [])));
            recv(&mut bufs[..slots], &mut self.meta[..slots])?
        };
        self.segments.clear();
        let mut end = 0;
        for (i, meta) in self.meta[..got.min(slots)].iter().enumerate() {
            let len = meta.len.min(slot);
            let at = i * slot;
            let start = if self.pack {
                self.block.copy_within(at..at + len, end);
                end
            } else {
                at
            };
            end = start + len;
            let stride = if meta.stride == 0 { len } else { meta.stride };
            let congested = meta.ecn == Some(quinn_udp::EcnCodepoint::Ce);
            // An empty datagram is still one datagram.
            self.segments.push(Segment { from: meta.addr, range: start..(start + stride).min(end), congested });
            let mut at = (start + stride).min(end);
            while at < end {
                let seg_end = (at + stride).min(end);
                self.segments.push(Segment { from: meta.addr, range: at..seg_end, congested });
                at = seg_end;
            }
        }
        Ok((self.block.split_to(end), allocated))
    }

    /// The datagrams the last [`RecvArena::receive`] found, in order.
    pub(crate) fn segments(&mut self) -> &mut Vec<Segment> {
        &mut self.segments
    }

    /// Appends at most `max` leftover datagrams to `out`; `None` when there
    /// are none (then receive).
    pub(crate) fn take_pending(&mut self, out: &mut Vec<(SocketAddr, Bytes)>, max: usize) -> Option<usize> {
        if self.pending.is_empty() {
            return None;
        }
        let n = self.pending.len().min(max);
        out.extend(self.pending.drain(..n));
        Some(n)
    }

    /// Appends the datagrams still in [`RecvArena::segments`], as slices of
    /// `region`, to `out` (at most `max`, the rest kept for the next call);
    /// `address` maps each sender. Returns how many were appended.
    pub(crate) fn hand_out(
        &mut self,
        region: &Bytes,
        out: &mut Vec<(SocketAddr, Bytes)>,
        max: usize,
        address: impl Fn(SocketAddr) -> SocketAddr,
    ) -> usize {
        let n = self.segments.len().min(max);
        let mut all = self.segments.drain(..).map(|s| (address(s.from), region.slice(s.range)));
        out.extend(all.by_ref().take(n));
        self.pending.extend(all);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// A fake receive: fills slot `i` with `trains[i]` (sender, bytes, stride).
    fn fill<'a>(
        trains: &'a [(u16, Vec<u8>, usize)],
    ) -> impl FnOnce(&mut [IoSliceMut<'_>], &mut [RecvMeta]) -> io::Result<usize> + 'a {
        move |bufs, meta| {
            for (i, (port, bytes, stride)) in trains.iter().enumerate() {
                bufs[i][..bytes.len()].copy_from_slice(bytes);
                meta[i] = RecvMeta { addr: from(*port), len: bytes.len(), stride: *stride, ..RecvMeta::default() };
            }
            Ok(trains.len())
        }
    }

    fn received(arena: &mut RecvArena, trains: &[(u16, Vec<u8>, usize)]) -> Vec<(u16, Vec<u8>)> {
        let (region, _) = arena.receive(64, fill(trains)).unwrap();
        let region = region.freeze();
        let mut out = Vec::new();
        let n = arena.segments().len();
        arena.hand_out(&region, &mut out, n, |a| a);
        out.into_iter().map(|(a, b)| (a.port(), b.to_vec())).collect()
    }

    #[test]
    fn gro_trains_split_by_stride_and_empty_datagrams_count() {
        for gro in [false, true] {
            let mut arena = RecvArena::new(100, gro, true);
            let trains = if gro {
                vec![(1, b"aaabbbc".to_vec(), 3), (2, Vec::new(), 0), (3, b"dd".to_vec(), 2)]
            } else {
                vec![(1, b"aaa".to_vec(), 3), (2, Vec::new(), 0), (3, b"dd".to_vec(), 2)]
            };
            let got = received(&mut arena, &trains);
            let mut want = vec![(1, b"aaa".to_vec())];
            if gro {
                want.extend([(1, b"bbb".to_vec()), (1, b"c".to_vec())]);
            }
            want.extend([(2, Vec::new()), (3, b"dd".to_vec())]);
            assert_eq!(got, want, "gro {gro}");
        }
    }

    #[test]
    fn leftovers_beyond_max_wait_for_the_next_call() {
        let mut arena = RecvArena::new(100, true, true);
        let (region, _) = arena.receive(64, fill(&[(1, b"aabbcc".to_vec(), 2)])).unwrap();
        let mut out = Vec::new();
        assert_eq!(arena.hand_out(&region.freeze(), &mut out, 2, |a| a), 2);
        assert_eq!(arena.take_pending(&mut out, 2), Some(1));
        assert_eq!(arena.take_pending(&mut out, 2), None);
        let got: Vec<_> = out.iter().map(|(_, b)| b.to_vec()).collect();
        assert_eq!(got, [b"aa".to_vec(), b"bb".to_vec(), b"cc".to_vec()]);
    }

    #[test]
    fn the_block_is_taken_back_once_datagrams_are_dropped() {
        let mut arena = RecvArena::new(100, false, true);
        let trains: Vec<_> = (0..BATCH_SIZE as u16).map(|i| (i, vec![i as u8; 100], 100)).collect();
        let mut allocations = 0;
        let mut kept = Vec::new();
        for round in 0..100 {
            let (region, allocated) = arena.receive(64, fill(&trains)).unwrap();
            allocations += usize::from(allocated);
            let region = region.freeze();
            let mut out = Vec::new();
            arena.hand_out(&region, &mut out, 64, |a| a);
            assert_eq!(out.len(), BATCH_SIZE);
            assert!(out.iter().enumerate().all(|(i, (_, b))| b[..] == [i as u8; 100][..]));
            if round == 0 {
                kept = out; // held across many calls: its block cannot come back
            }
        }
        // The first block stays pinned by `kept`; every later one is reused.
        assert_eq!(allocations, 2, "arena allocated {allocations} blocks");
        assert_eq!(kept[1].1[..], [1u8; 100][..]);
    }
}
