//! Receiving: acting on a decoded packet's frames, duplicate suppression
//! and buffering of new messages, feedback, and expiry.

use super::*;

impl<A: Address, R: RngCore> Node<A, R> {
    pub(super) fn expire(&mut self, now: Time) {
        let retention = self.config.retention;
        let cutoff = Time::from_micros(now.as_micros().saturating_sub(retention.as_micros() as u64));
        self.store.expire(cutoff);
        // A copy older than `max_age` rounds is refused, so a number missing
        // for that long (plus slack for round alignment) can no longer
        // arrive; a stream idle for twice that can only receive such copies,
        // so it is safe to stop tracking it (its floor stays).
        let give_up = self.config.period * self.max_age.saturating_add(2);
        let idle = self.config.period * self.max_age.saturating_mul(2);
        let limits = self.stream_limits();
        self.streams.expire(now, give_up, idle, limits, &mut self.gaps);
        self.emit_gaps();
    }

    /// Records an arriving message; `first_hand` says the packet came from
    /// its origin, `packet_len` the size of the datagram. Returns `None` if it was not new, else `Some` with a copy
    /// to forward at once when `forward` is set.
    pub(super) fn accept(
        &mut self,
        now: Time,
        frame: MessageFrame,
        forward: bool,
        first_hand: bool,
        packet_len: usize,
    ) -> Option<Option<MessageFrame>> {
        let id = frame.id;
        if id.origin == self.id {
            self.stats.duplicates = self.stats.duplicates.saturating_add(1);
            return None;
        }
        if !self.is_subscribed(id.group) {
            let drops = &mut self.stats.drops;
            drops.not_member = drops.not_member.saturating_add(1);
            return None;
        }
        if frame.age > self.max_age {
            let drops = &mut self.stats.drops;
            drops.too_old = drops.too_old.saturating_add(1);
            return None;
        }
        let limits = self.stream_limits();
        let verdict = self.streams.insert(now, (id.group, id.origin), id.seq, first_hand, limits, &mut self.gaps);
        let evicted = self.streams.evicted;
        let floors_dropped = self.streams.floors_dropped;
        let drops = &mut self.stats.drops;
        drops.streams_evicted = evicted;
        drops.floors_dropped = floors_dropped;
        match verdict {
            Verdict::Duplicate => {
                self.stats.duplicates = self.stats.duplicates.saturating_add(1);
                return None;
            }
            Verdict::Stale => {
                drops.stale = drops.stale.saturating_add(1);
                return None;
            }
            Verdict::OutOfRange => {
                drops.out_of_range = drops.out_of_range.saturating_add(1);
                return None;
            }
            Verdict::New => {}
        }
        for gap in self.gaps.iter().filter(|gap| gap.reason == GapReason::WindowSkip) {
            let skipped = gap.to.saturating_sub(gap.from).saturating_add(1);
            drops.window_skipped = drops.window_skipped.saturating_add(skipped);
        }
        self.emit_gaps();
        if self.before_subscription(id.group, frame.age) {
            let drops = &mut self.stats.drops;
            drops.before_subscribe = drops.before_subscribe.saturating_add(1);
            return None;
        }
        self.stats.deliveries = self.stats.deliveries.saturating_add(1);
        self.fresh.insert(id.group, self.round);
        self.emit(Event::Delivered(Delivery { id, payload: frame.payload.clone(), hops: frame.hops }));
        let copy = forward.then(|| MessageFrame { hops: frame.hops.saturating_add(1), ack: false, ..frame.clone() });
        let active = self.config.mode.pushes() && frame.age < self.lifetime(id.group);
        // A small payload would keep its whole datagram alive: copy it out,
        // so the buffer holds what `max_buffer_bytes` counts.
        let (payload, held) = if frame.payload.len().saturating_mul(2) < packet_len {
            (Bytes::copy_from_slice(&frame.payload), frame.payload.len())
        } else {
            (frame.payload, packet_len.max(1))
        };
        let stored = Stored {
            payload,
            held,
            priority: frame.priority,
            send_hops: frame.hops.saturating_add(1),
            age_at: frame.age,
            round_at: self.round,
            misses: 0,
            active,
            unsent_own: false,
            awaiting_ack: false,
            arrival: 0,
        };
        self.buffer(now, id, stored);
        Some(copy)
    }

    pub(super) fn buffer(&mut self, now: Time, id: MessageId, stored: Stored) {
        let evicted = self.store.insert(now, id, stored, self.config.max_buffer_messages, self.config.max_buffer_bytes);
        self.stats.drops.buffer_evicted = self.stats.drops.buffer_evicted.saturating_add(evicted);
    }

    /// `Known` reports: a member acknowledging one of this node's messages
    /// to a group it is not in (which ends the origin's part), or, under
    /// Demers' counter, a push that reached a node already holding it.
    pub(super) fn handle_known(&mut self, ids: &[MessageId]) {
        let counter = match self.config.lifetime {
            Lifetime::Counter(k) => Some(k),
            _ => None,
        };
        for id in ids {
            let Some(stored) = self.store.get_mut(id) else { continue };
            if stored.awaiting_ack {
                stored.awaiting_ack = false;
                stored.active = false;
            } else if let Some(k) = counter {
                stored.misses = stored.misses.saturating_add(1);
                if stored.misses >= k {
                    stored.active = false;
                }
            }
        }
    }

    /// Acts on a decoded packet's frames.
    pub(super) fn handle_frames(
        &mut self,
        now: Time,
        from: A,
        header: Header,
        frames: &mut Vec<Frame<A>>,
        packet_len: usize,
    ) {
        let sender = header.sender;
        if sender == self.id {
            return;
        }
        // Whether the sender was a live member at this address before this
        // packet (the header alone makes a stranger a member).
        let was_member = match &mut self.view {
            View::Gossiped(m) => {
                let known = m.is_member_at(sender, &from);
                m.handle_sender(now, sender, header.incarnation, &from, &mut self.rng);
                known
            }
            View::Shared { .. } => true,
        };
        let tree = self.config.mode == Mode::Tree;
        let eager = tree || (self.config.eager_push && self.config.mode.pushes());
        let mut fresh: Vec<MessageFrame> = Vec::new();
        let mut known: Vec<MessageId> = Vec::new();
        let (mut answered_digest, mut answered_sync) = (false, false);
        // A JOIN to answer, with the change mark it asks from; a SYNC to
        // answer, with the asker's summary.
        let mut join: Option<u64> = None;
        let mut sync: Option<Option<(u64, u64)>> = None;
        for frame in frames.drain(..) {
            match frame {
                Frame::Message(message) => {
                    let (id, feedback) = (message.id, message.feedback);
                    let ack = message.ack && self.is_subscribed(id.group);
                    let first_hand = id.origin == sender;
                    let new = match self.accept(now, message, eager, first_hand, packet_len) {
                        Some(forward) => {
                            fresh.extend(forward);
                            true
                        }
                        None => false,
                    };
                    if ack || (feedback && !new) {
                        known.push(id);
                    }
                }
                // One answer of each kind per packet, however many frames
                // ask: a packet must not buy more than a packet's worth.
                Frame::Digest(digest) if !answered_digest => {
                    answered_digest = true;
                    self.answer_digest(sender, was_member, &from, &digest, packet_len);
                    self.answer_with_digest(was_member, &from, &digest);
                }
                Frame::Digest(_) => {}
                Frame::Known(ids) => self.handle_known(&ids),
                frame => {
                    let View::Gossiped(m) = &mut self.view else { continue };
                    match frame {
                        Frame::Member(entry) => m.handle_entry(now, entry, sender, &from, &mut self.rng),
                        Frame::Ping { seq, target } => m.handle_ping(seq, target, &from),
                        Frame::Ack { seq } => m.handle_ack(seq),
                        Frame::PingReq { seq, target, addr } => {
                            m.handle_ping_req(now, seq, target, addr, sender, &from)
                        }
                        // One table slice per packet, however many frames ask;
                        // a JOIN is answered once its CATCH-UP (which follows
                        // it) is read, a SYNC once the whole packet is.
                        Frame::Join if !answered_sync => {
                            answered_sync = true;
                            join = Some(0);
                        }
                        Frame::CatchUp { since } => join = join.map(|_| since),
                        Frame::Table { mark, total, here } => m.handle_table(sender, mark, total, here),
                        Frame::Sync { reply: true } if !answered_sync => {
                            answered_sync = true;
                            sync = Some(None);
                        }
                        Frame::Summary { hash, live } => sync = sync.map(|_| Some((hash, live))),
                        Frame::Sync { reply: false } => m.handle_sync_answer(),
                        _ => {}
                    }
                }
            }
        }
        if let View::Gossiped(m) = &mut self.view {
            if let Some(since) = join {
                m.handle_join(&from, since);
            }
            if let Some(summary) = sync {
                m.handle_sync_request(sender, &from, summary);
            }
            m.end_packet(now, &mut self.rng);
            if was_member && m.is_member_at(sender, &from) {
                self.heard.heard(sender, self.round.max(1));
            }
        }
        self.drain_membership();
        if !known.is_empty() {
            let mut writer = self.writer();
            writer.push_known(&known);
            let packet = writer.finish();
            self.send(from, packet, TransmitKind::Answer);
        }
        if !fresh.is_empty() {
            fresh.sort_by_key(|frame| frame.id.group);
            while let Some(group) = fresh.first().map(|frame| frame.id.group) {
                let end = fresh.iter().take_while(|f| f.id.group == group).count();
                let lifetime = self.lifetime(group);
                let frames: Vec<MessageFrame> = fresh.drain(..end).filter(|f| f.age < lifetime).collect();
                if tree {
                    self.defer_tree(frames);
                } else if !frames.is_empty() {
                    self.push_now(group, &frames);
                }
            }
        }
    }
}
