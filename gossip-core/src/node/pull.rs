//! Pull: digests sent each round, and the answers to others' digests.

use super::*;

/// Tree mode: rounds after the last new message of a group during which a
/// node still sends a digest every round.
const ACTIVE_ROUNDS: u64 = 2;

/// Tree mode: an idle member sends a digest of a group once per this many
/// rounds (background anti-entropy).
const IDLE_DIGEST_ROUNDS: u64 = 5;

/// Tree mode: streams remembered as lacking between two rounds, at most.
pub(super) const MAX_LACKING: usize = 64;

impl<A: Address, R: RngCore> Node<A, R> {
    /// One pull round: a digest of each subscribed group to `b` members.
    ///
    /// In tree mode digests are only the repair path, and each is an
    /// exchange (see [`answer_with_digest`](Self::answer_with_digest)), so
    /// they go to `b` members while this node knows it lacks messages of
    /// the group (a hole in a stream, or a digest that showed more), to one
    /// while it received something new lately, and otherwise to one every
    /// [`IDLE_DIGEST_ROUNDS`]: an idle group costs little.
    pub(super) fn pull_round(&mut self) -> bool {
        let mut sent = false;
        // What a digest showed lacking may have arrived since (the reply
        // digest fetched it): only what is still missing asks `b` members.
        let mut lacking = std::mem::take(&mut self.lacking);
        lacking.retain(|(key, top)| self.streams.held(key).is_none_or(|(_, held)| held < *top));
        let round = self.round;
        let fanout = self.config.fanout as usize;
        for group in self.subscriptions.clone() {
            let count = if self.config.mode != Mode::Tree
                || lacking.iter().any(|((g, _), _)| *g == group)
                || self.streams.range(group).any(|(_, window)| window.has_holes())
            {
                fanout
            } else {
                let fresh = self.fresh.get(&group).is_some_and(|at| round <= at.saturating_add(ACTIVE_ROUNDS));
                let background = (round.wrapping_add(self.id.0)) % IDLE_DIGEST_ROUNDS == 0;
                usize::from(fresh || background)
            };
            let mut targets = Vec::new();
            self.some_targets(group, count, &mut targets);
            if targets.is_empty() {
                continue;
            }
            self.send_digest(group, &targets, false);
            sent = true;
        }
        sent
    }

    /// Sends this node's digest of `group` to `targets`, marked a reply to
    /// their digest when `reply`.
    fn send_digest(&mut self, group: GroupId, targets: &[A], reply: bool) {
        let mut entries: Vec<DigestEntry> = self
            .streams
            .range(group)
            .map(|((_, origin), window)| DigestEntry { origin: *origin, base: window.base(), bitmap: window.bitmap() })
            .collect();
        if let Some(seq) = self.sequencer.last(group) {
            entries.push(DigestEntry { origin: self.id, base: seq, bitmap: Bytes::new() });
        }
        // Start at a random stream so that digests too large for one
        // packet still cover every stream over a few rounds.
        let offset = if entries.is_empty() { 0 } else { self.rng.random_range(0..entries.len()) };
        let mut writer = self.writer();
        writer.push_digest(group, true, reply, entries[offset..].iter().chain(&entries[..offset]));
        let packet = self.finish(writer);
        let kind = if reply { TransmitKind::Answer } else { TransmitKind::Request };
        self.stats.digests_sent = self.stats.digests_sent.saturating_add(targets.len() as u64);
        self.send_all(targets, &[packet], kind);
    }

    /// Tree mode's exchange: when a member's digest (not itself a reply)
    /// shows it holds something this node lacks, this node sends its own
    /// digest back, marked a reply, so that one digest repairs both sides.
    pub(super) fn answer_with_digest(&mut self, known: bool, from: &A, digest: &DigestFrame) {
        if self.config.mode != Mode::Tree || digest.reply || !known || !self.is_subscribed(digest.group) {
            return;
        }
        let lacks = digest.entries.iter().find_map(|entry| {
            let top = digest_top(entry.base, &entry.bitmap);
            let key = (digest.group, entry.origin);
            let more = entry.origin != self.id
                && match self.streams.held(&key) {
                    Some((base, held)) => top > held || entry.base > base,
                    None => top > 0,
                };
            more.then_some((key, top))
        });
        if let Some(wanted) = lacks {
            if self.lacking.len() < MAX_LACKING && !self.lacking.contains(&wanted) {
                self.lacking.push(wanted);
            }
            self.send_digest(digest.group, std::slice::from_ref(from), true);
        }
    }

    /// Answers a pull digest with the buffered messages the asker lacks:
    /// only to a sender that was a live member at this address before the
    /// digest arrived (`known`), and, until that address is proven (an
    /// earlier packet from it there lately), with at most
    /// [`UNPROVEN_ANSWER_FACTOR`] times the digest's `request_len`.
    pub(super) fn answer_digest(
        &mut self,
        sender: NodeId,
        known: bool,
        from: &A,
        digest: &DigestFrame,
        request_len: usize,
    ) {
        let budget = match &self.view {
            View::Gossiped(_) if !known => None,
            View::Gossiped(_) if !self.proven(sender) => Some(request_len.saturating_mul(UNPROVEN_ANSWER_FACTOR)),
            _ => Some(self.config.max_packet_size),
        };
        let Some(budget) = budget else {
            self.stats.drops.digests_refused = self.stats.drops.digests_refused.saturating_add(1);
            return;
        };
        let budget = budget.min(self.config.max_packet_size);
        let mut held: Vec<&DigestEntry> = digest.entries.iter().collect();
        held.sort_unstable_by_key(|entry| entry.origin);
        let group = digest.group;
        let origins: Vec<NodeId> = self.store.origins(group).collect();
        let round = self.round;
        let mut candidates: Vec<((u8, u64), MessageFrame)> = Vec::new();
        'origins: for origin in origins {
            let entry = held.binary_search_by_key(&origin, |e| e.origin).ok().map(|i| held[i]);
            let base = match entry {
                Some(entry) => entry.base,
                None if digest.complete => 0,
                None => continue,
            };
            for (id, stored) in self.store.stream_after(group, origin, base) {
                if entry.is_some_and(|e| digest_contains(e.base, &e.bitmap, id.seq)) {
                    continue;
                }
                // Serve only what was held when this round began: what
                // arrived during it is pushed on, and pulled from the next
                // round, as in the synchronous model.
                if stored.round_at >= round {
                    continue;
                }
                let age = stored.age(round);
                if age > self.max_age {
                    continue;
                }
                candidates
                    .push((sort_key(self.config.order, stored), frame_of(id, stored, age, self.wants_feedback())));
                if candidates.len() >= MAX_PULL_CANDIDATES {
                    break 'origins;
                }
            }
        }
        if candidates.is_empty() {
            return;
        }
        candidates.sort_by_key(|(key, _)| *key);
        let mut writer = PacketWriter::new(budget, self.header());
        let mut answered = 0u64;
        for (_, frame) in &candidates {
            if self.config.batching == Batching::Single && answered > 0 {
                break;
            }
            if writer.push_message(frame) {
                answered += 1;
            }
        }
        // A message larger than a packet is answered alone (to a proven
        // asker: an unproven one gets what fits its budget).
        let packet = match candidates.first() {
            Some((_, frame)) if answered == 0 && budget == self.config.max_packet_size => {
                answered = 1;
                self.alone(frame)
            }
            _ if answered == 0 => {
                self.stats.drops.digests_refused = self.stats.drops.digests_refused.saturating_add(1);
                return;
            }
            _ if budget < self.config.max_packet_size => {
                self.stats.drops.digests_refused = self.stats.drops.digests_refused.saturating_add(1);
                writer.finish()
            }
            _ => self.finish(writer),
        };
        self.stats.pull_answers = self.stats.pull_answers.saturating_add(answered);
        self.stats.messages_sent = self.stats.messages_sent.saturating_add(answered);
        self.send(from.clone(), packet, TransmitKind::Answer);
    }
}
