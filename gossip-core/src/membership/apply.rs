//! Applying what peers say about members: the sender's own word first-hand,
//! a third party's word as at most a suspicion, and claims about this node,
//! which it refutes.

use rand::RngCore;

use super::*;

/// Senders whose new members are counted apart each probe interval.
const MAX_TRACKED_SENDERS: usize = 4_096;

impl<A: Address> Membership<A> {
    pub(super) fn may_add(&mut self, sender: NodeId) -> bool {
        if self.table.len() >= self.config.max_members {
            self.stats.members_full = self.stats.members_full.saturating_add(1);
            return false;
        }
        if self.asked_for(sender) {
            return true;
        }
        // Senders beyond the tracked ones share one count, so a flood of
        // forged senders cannot grow this map either.
        let key = if self.new_from.len() < MAX_TRACKED_SENDERS || self.new_from.contains_key(&sender) {
            sender
        } else {
            self.me
        };
        let count = self.new_from.entry(key).or_insert(0);
        if *count >= self.config.max_new_members {
            self.stats.new_members_capped = self.stats.new_members_capped.saturating_add(1);
            return false;
        }
        *count += 1;
        true
    }

    pub(super) fn add(&mut self, id: NodeId, frame: MemberFrame<A>, addr: A, partial: bool, rng: &mut impl RngCore) {
        let first = self.table.live().is_empty();
        let groups = clean_groups(frame.groups, self.config.max_groups);
        let meta = clip(frame.meta, self.config.max_meta_len);
        let incarnation = frame.incarnation;
        let slot = self.table.insert(id, addr.clone(), incarnation, (&groups, &meta), partial);
        self.learned = self.learned.saturating_add(1);
        self.prober.add(slot, rng);
        if first {
            // The first member known: ask it for its whole table now.
            self.start_catch_up(id, addr.clone());
        }
        self.events.push(Event::MemberUp { id, addr, incarnation });
        // A member learned from a table slice is not gossiped on: the
        // slices themselves spread the table (anti-entropy), and re-sending
        // every entry of a bulk join λ·log N times would cost N²·λ·log N
        // entries in all.
        if !self.in_sync_answer {
            self.queue_update(id);
        }
    }

    /// A packet came from `sender` at `from`, claiming `incarnation`: the
    /// sender speaks for itself.
    pub(crate) fn handle_sender(
        &mut self,
        now: Time,
        sender: NodeId,
        incarnation: u64,
        from: &A,
        rng: &mut impl RngCore,
    ) {
        self.sender_known = self.is_member_at(sender, from);
        if sender == self.me || self.left {
            return;
        }
        self.now = now;
        // A new node answering at a known member's address replaces it. Only
        // a node never seen, or seen (by relay) at this very address, counts
        // as new: a replayed packet of a known member, sent from another
        // member's address, replaces nobody.
        if let Some(old) = self.table.by_addr(from) {
            let new = self.table.get(sender).is_none_or(|e| e.status.is_live() && e.addr == *from);
            if old != sender && new && self.table.get(old).is_some_and(|e| e.status != MemberStatus::Left) {
                // Kept as departed until forgotten, so stale relays of the
                // old id cannot bring it back.
                self.down(now, old, MemberStatus::Left, DownReason::Replaced);
                self.stats.replaced = self.stats.replaced.saturating_add(1);
                self.table.claim_addr(sender, from);
            }
        }
        let frame = MemberFrame {
            id: sender,
            incarnation,
            status: MemberStatus::Alive,
            addr: None,
            groups: MemberGroups::new(),
            meta: Bytes::new(),
        };
        self.first_hand_alive(now, frame, from, false, rng);
    }

    /// The member `frame.id` tells of itself, from `from`. `full` says the
    /// frame carries its groups and metadata (a header alone does not).
    pub(super) fn first_hand_alive(
        &mut self,
        now: Time,
        frame: MemberFrame<A>,
        from: &A,
        full: bool,
        rng: &mut impl RngCore,
    ) {
        let id = frame.id;
        let Some(entry) = self.table.get(id) else {
            if self.may_add(id) {
                self.add(id, frame, from.clone(), !full, rng);
            }
            return;
        };
        let (known, status, same_addr, partial) = (entry.incarnation, entry.status, entry.addr == *from, entry.partial);
        if frame.incarnation < known {
            return;
        }
        let newer = frame.incarnation > known;
        if full && !newer && partial {
            self.set_profile(id, &frame);
        }
        // An address changes only with a fresher incarnation from the member
        // itself: a replayed packet from elsewhere (which carries an
        // incarnation already seen) moves no member, live or not. A member
        // that really moved refutes the suspicion of its old address with
        // a higher incarnation, and is followed then.
        if !same_addr {
            if newer {
                self.table.set_addr(id, from.clone());
            } else {
                self.stats.address_refused = self.stats.address_refused.saturating_add(1);
                return;
            }
        }
        match status {
            MemberStatus::Dead | MemberStatus::Left if newer => {
                self.table.set_incarnation(id, frame.incarnation);
                self.table.set_status(id, MemberStatus::Alive, now);
                self.probe_again(id, rng);
                self.events.push(Event::MemberUp { id, addr: from.clone(), incarnation: frame.incarnation });
                self.queue_update(id);
            }
            MemberStatus::Dead | MemberStatus::Left => return,
            MemberStatus::Suspect if newer => {
                self.table.set_incarnation(id, frame.incarnation);
                self.table.set_status(id, MemberStatus::Alive, now);
                self.stats.refuted = self.stats.refuted.saturating_add(1);
                self.queue_update(id);
            }
            _ if newer => {
                self.table.set_incarnation(id, frame.incarnation);
                if !full {
                    // The entry with its groups follows by gossip.
                    self.table.set_partial(id);
                    return;
                }
                self.queue_update(id);
            }
            _ => {}
        }
        if full && newer {
            self.set_profile(id, &frame);
        }
    }

    /// Applies a member entry carried in a packet from `sender` at `from`.
    pub(crate) fn handle_entry(
        &mut self,
        now: Time,
        frame: MemberFrame<A>,
        sender: NodeId,
        from: &A,
        rng: &mut impl RngCore,
    ) {
        if self.left {
            return;
        }
        let id = frame.id;
        if id == self.me {
            self.about_me(frame);
            return;
        }
        if id == sender {
            match frame.status {
                MemberStatus::Left if self.table.get(id).is_some_and(|e| frame.incarnation >= e.incarnation) => {
                    self.table.set_incarnation(id, frame.incarnation);
                    self.down(now, id, MemberStatus::Left, DownReason::Left);
                }
                MemberStatus::Alive => self.first_hand_alive(now, frame, from, true, rng),
                // Nobody suspects itself.
                _ => {}
            }
            return;
        }
        // A third party's word.
        let Some(addr) = frame.addr.clone() else { return };
        let Some(entry) = self.table.get(id) else {
            if frame.status.is_live() && self.may_add(sender) {
                self.add(id, frame, addr, false, rng);
            }
            return;
        };
        let (known, status, partial) = (entry.incarnation, entry.status, entry.partial);
        if partial && frame.incarnation == known && frame.status.is_live() {
            self.set_profile(id, &frame);
        }
        match frame.status {
            MemberStatus::Alive if frame.incarnation > known => {
                // A relayed refutation or change. It never moves an address
                // (only the member itself does), and it revives a dead member
                // only with an incarnation the member raised after its death.
                if status == MemberStatus::Left {
                    return;
                }
                self.table.set_incarnation(id, frame.incarnation);
                self.set_profile(id, &frame);
                match status {
                    MemberStatus::Dead => {
                        self.table.set_status(id, MemberStatus::Alive, now);
                        self.probe_again(id, rng);
                        let addr = self.table.get(id).map(|e| e.addr.clone()).unwrap_or(addr);
                        self.events.push(Event::MemberUp { id, addr, incarnation: frame.incarnation });
                    }
                    MemberStatus::Suspect => {
                        self.table.set_status(id, MemberStatus::Alive, now);
                        self.stats.refuted = self.stats.refuted.saturating_add(1);
                    }
                    _ => {}
                }
                self.queue_update(id);
            }
            MemberStatus::Alive => {}
            // A third party may only suspect: its "dead" or "left" is a
            // suspicion the member can refute.
            MemberStatus::Suspect | MemberStatus::Dead | MemberStatus::Left => {
                if frame.incarnation >= known {
                    self.suspect(now, id, frame.incarnation, sender, frame.status == MemberStatus::Left);
                } else if status == MemberStatus::Alive {
                    self.told_stale(id, from);
                }
            }
        }
    }

    /// `from` told of `id` as suspect, dead or departed at an incarnation
    /// `id` has since refuted: the refutation missed it (as one node in a
    /// thousand may miss a rumor under heavy loss), and its suspicion would
    /// run out into a false death. It gets `id`'s entry back at the end of
    /// the packet, if it is a known member ([`end_packet`](Self::end_packet)).
    fn told_stale(&mut self, id: NodeId, from: &A) {
        let Some(slot) = self.table.find(id) else { return };
        if self.stale_told.len() < self.config.max_piggyback.max(1) && !self.stale_told.contains(&slot) {
            self.stale_told.push(slot);
            self.stale_to.get_or_insert_with(|| from.clone());
        }
    }

    /// Puts a member that came back into this probe cycle.
    fn probe_again(&mut self, id: NodeId, rng: &mut impl RngCore) {
        if let Some(slot) = self.table.find(id) {
            self.prober.add(slot, rng);
        }
    }

    /// Sets `id`'s groups and metadata to what `frame` carries (cleaned).
    fn set_profile(&mut self, id: NodeId, frame: &MemberFrame<A>) {
        let groups = clean_groups(frame.groups.clone(), self.config.max_groups);
        let meta = clip(frame.meta.clone(), self.config.max_meta_len);
        self.table.set_groups_and_meta(id, &groups, &meta);
    }

    /// Someone says something about this node: refute anything but alive at
    /// the current incarnation.
    pub(super) fn about_me(&mut self, frame: MemberFrame<A>) {
        let doubted = frame.status != MemberStatus::Alive;
        if (doubted && frame.incarnation >= self.incarnation) || frame.incarnation > self.incarnation {
            self.incarnation = frame.incarnation;
            self.bump();
            self.stats.refutations = self.stats.refutations.saturating_add(1);
            if doubted {
                self.prober.health_worse(self.config.max_health);
            }
        }
    }
}
