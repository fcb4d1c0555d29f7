//! What [`Membership`] puts on the wire: anti-entropy slices of the table
//! and piggy-backed updates (with the buddy system's entry first).

use rand::{Rng, RngCore};

use super::*;

impl<A: Address> Membership<A> {
    /// A join: answer with one packet of the table (the joiner's address is
    /// not proven yet, so the answer stays about the size of a packet).
    pub(crate) fn handle_join(&mut self, from: &A) {
        if !self.left {
            self.out.push_back(Outgoing::Sync { to: from.clone(), reply: false });
        }
    }

    /// A live member at its known address asks for a sync: answer with up
    /// to [`SYNC_PACKETS`] packets of the table, enough for the whole of a
    /// table of a few hundred members.
    pub(crate) fn handle_sync_request(&mut self, sender: NodeId, from: &A) {
        let known = self.table.get(sender).is_some_and(|e| e.status.is_live() && e.addr == *from);
        if self.left || !known {
            return;
        }
        let packets = self.table.live().len().div_ceil(SYNC_ENTRIES_PER_PACKET).clamp(1, SYNC_PACKETS);
        for _ in 0..packets {
            self.out.push_back(Outgoing::Sync { to: from.clone(), reply: false });
        }
    }

    /// This packet is a slice of someone's table.
    pub(crate) fn handle_sync_answer(&mut self) {
        self.in_sync_answer = true;
    }

    /// The packet is done: a sync answer that taught something new means
    /// the view is still filling, so sync again soon rather than a whole
    /// interval from now.
    pub(crate) fn end_packet(&mut self, now: Time, rng: &mut impl RngCore) {
        if std::mem::take(&mut self.in_sync_answer) && std::mem::take(&mut self.learned) > 0 {
            let soon = now + self.config.probe_interval.mul_f64(0.5 + rng.random::<f64>());
            self.next_sync = self.next_sync.min(soon);
        }
        self.learned = 0;
    }

    pub(super) fn frame_of(&self, id: NodeId) -> Option<MemberFrame<A>> {
        if id == self.me {
            return Some(self.own_frame());
        }
        self.table.get(id).map(|e| e.frame(id))
    }

    pub(super) fn retransmit_limit(&self) -> u32 {
        let n = (self.table.live().len() + 2) as f64;
        self.config.retransmit_mult * (n.log10().ceil().max(1.0) as u32)
    }

    /// Fills the rest of a packet to `to` with updates: first the entry of
    /// `to` itself when it is suspected or declared down (so it can refute
    /// at once), then queued updates, least-sent first.
    pub(crate) fn piggyback(&mut self, to: Option<&A>, writer: &mut PacketWriter) {
        let max = self.config.max_piggyback;
        if max == 0 {
            return;
        }
        let mut budget = max;
        // A data packet carries the sender's own entry, so receivers learn
        // its groups first-hand.
        if to.is_none() && writer.push_member(&self.own_frame()) {
            budget -= 1;
        }
        if let Some(id) = to.and_then(|to| self.table.by_addr(to)) {
            if let Some(frame) = self.frame_of(id).filter(|f| f.status != MemberStatus::Alive) {
                if writer.push_member(&frame) {
                    budget -= 1;
                }
            }
        }
        let limit = self.retransmit_limit();
        let (table, me) = (&self.table, self.me);
        let own = self.own_frame();
        self.updates.take(budget, limit, |id| {
            let frame = if id == me {
                own.clone()
            } else {
                let Some(e) = table.get(id) else { return Written::Gone };
                e.frame(id)
            };
            if writer.push_member(&frame) { Written::Yes } else { Written::Full }
        });
    }

    /// Fills a sync packet with live entries, continuing where the last one
    /// stopped so successive syncs cover the whole table.
    pub(crate) fn write_slice(&mut self, writer: &mut PacketWriter) {
        let start = self.sync_cursor;
        let mut taken = 0usize;
        let cursor = self.table.scan_from(start, |id, e| {
            if taken >= self.table.len() {
                return false;
            }
            taken += 1;
            if !e.status.is_live() {
                return true;
            }
            writer.push_member(&e.frame(id))
        });
        self.sync_cursor = cursor;
    }
}
