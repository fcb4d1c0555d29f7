//! What [`Membership`] puts on the wire: anti-entropy slices of the table
//! (the whole table for a catching-up member, [`catch_up`](super::catch_up))
//! and piggy-backed updates (with the buddy system's entry first).

use rand::{Rng, RngCore};

use super::summary::summand;
use super::*;

impl<A: Address> Membership<A> {
    /// A live member at its known address asks for a sync: answer with up
    /// to [`SYNC_PACKETS`] packets of the table, enough for the whole of a
    /// table of a few hundred members, unless its view's `summary` (hash,
    /// live members) is that of this one (called at the end of the request's
    /// packet, so the entries it carries, its sender's own at least, count).
    pub(crate) fn handle_sync_request(&mut self, sender: NodeId, from: &A, summary: Option<(u64, u64)>) {
        let known = self.table.get(sender).is_some_and(|e| e.status.is_live() && e.addr == *from);
        if self.left || !known {
            return;
        }
        if summary == Some(self.summary()) {
            self.stats.syncs_agreed = self.stats.syncs_agreed.saturating_add(1);
            return;
        }
        let packets = self.table.live().len().div_ceil(SYNC_ENTRIES_PER_PACKET).clamp(1, SYNC_PACKETS);
        for _ in 0..packets {
            self.out.push_back(Outgoing::Sync { to: from.clone(), reply: false });
        }
    }

    /// This view's [`summary`](super::summary): the wrapping sum of
    /// [`summand`] over the live members and this node itself, and their
    /// number.
    pub(crate) fn summary(&self) -> (u64, u64) {
        let own = summand(self.me, self.incarnation, MemberStatus::Alive, false);
        (self.table.summary().wrapping_add(own), self.table.live().len() as u64 + 1)
    }

    /// This packet is a slice of someone's table.
    pub(crate) fn handle_sync_answer(&mut self) {
        self.in_sync_answer = true;
    }

    /// The packet is done: a sync answer that taught something new means
    /// the view is still filling, so sync again soon rather than a whole
    /// interval from now; a known member that told stale suspicions gets
    /// the refuted entries back (one packet per packet it sent, so no
    /// amplification).
    pub(crate) fn end_packet(&mut self, now: Time, rng: &mut impl RngCore) {
        if let Some(to) = self.stale_to.take() {
            let slots = std::mem::take(&mut self.stale_told);
            if self.sender_known {
                self.stats.corrections = self.stats.corrections.saturating_add(1);
                self.out.push_back(Outgoing::Correct { to, slots });
            }
        }
        if std::mem::take(&mut self.in_sync_answer) && self.learned > 0 {
            let soon = now + self.config.probe_interval.mul_f64(0.5 + rng.random::<f64>());
            self.next_sync = self.next_sync.min(soon);
        }
        let learned = std::mem::take(&mut self.learned);
        self.count_caught_up(learned);
        self.sender_known = false;
        self.stats.groups_unindexed = self.table.groups_full();
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
        if to.is_none() && self.write_own(writer) {
            budget -= 1;
        }
        if let Some(entry) = to.and_then(|to| self.table.by_addr(to)).and_then(|id| self.table.get(id)) {
            if entry.status != MemberStatus::Alive && self.table.write(entry, writer) {
                budget -= 1;
            }
        }
        if self.updates.len() == 0 {
            return;
        }
        let limit = self.retransmit_limit();
        // Taken out for the loop, so the table can be read while it runs.
        let mut updates = std::mem::take(&mut self.updates);
        let this = &*self;
        updates.take(budget, limit, |key| {
            let written = if key == OWN {
                this.write_own(writer)
            } else {
                let Some(entry) = this.table.slot(key) else { return Written::Gone };
                this.table.write(entry, writer)
            };
            if written { Written::Yes } else { Written::Full }
        });
        self.updates = updates;
    }

    /// Writes the entries of `slots` that fit.
    pub(crate) fn write_slots(&self, slots: &[u32], writer: &mut PacketWriter) {
        for entry in slots.iter().filter_map(|&slot| self.table.slot(slot)) {
            self.table.write(entry, writer);
        }
    }

    /// Fills a sync packet with entries, continuing where the last one
    /// stopped so successive syncs cover the whole table. Dead and departed
    /// members still remembered go too (as memberlist's push-pull sends
    /// them): a receiver that missed every update about a death still
    /// believes the member up, and takes this third party's word as a
    /// suspicion (which the member, if it is up after all, refutes).
    pub(crate) fn write_slice(&mut self, writer: &mut PacketWriter) {
        if let Some((since, mark, left)) = self.answer_range() {
            return self.write_answer_slice(since, mark, left, writer);
        }
        self.sync_cursor = self.table.scan_from(self.sync_cursor, |e| self.table.write(e, writer));
    }

    /// Fills a packet of a whole-table answer with up to `left` of the
    /// entries changed in `(since, mark]`, leaving room for the answer's
    /// TABLE frame.
    fn write_answer_slice(&mut self, since: u64, mark: u64, left: usize, writer: &mut PacketWriter) {
        let mut written = 0;
        writer.hold(TABLE_FRAME_MAX);
        let cursor = self.table.scan_from(self.sync_cursor, |e| {
            let changed = self.table.mark(e);
            if changed <= since || changed > mark {
                return true;
            }
            if written == left {
                return false;
            }
            let fits = self.table.write(e, writer);
            written += usize::from(fits);
            fits
        });
        writer.release(TABLE_FRAME_MAX);
        self.sync_cursor = cursor;
        self.wrote_answer_slice(written, writer);
    }
}
