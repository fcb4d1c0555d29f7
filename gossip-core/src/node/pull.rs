//! Pull: digests sent each round, and the answers to others' digests.

use super::*;

impl<A: Address, R: RngCore> Node<A, R> {
    /// One pull round: a digest of each subscribed group to `b` members.
    pub(super) fn pull_round(&mut self) -> bool {
        let mut sent = false;
        for group in self.subscriptions.clone() {
            let mut targets = Vec::new();
            self.targets(group, &mut targets);
            if targets.is_empty() {
                continue;
            }
            let mut entries: Vec<DigestEntry> = self
                .streams
                .range(group)
                .map(|((_, origin), window)| DigestEntry {
                    origin: *origin,
                    base: window.base(),
                    bitmap: window.bitmap(),
                })
                .collect();
            if let Some(seq) = self.sequencer.last(group) {
                entries.push(DigestEntry { origin: self.id, base: seq, bitmap: Bytes::new() });
            }
            // Start at a random stream so that digests too large for one
            // packet still cover every stream over a few rounds.
            let offset = if entries.is_empty() { 0 } else { self.rng.random_range(0..entries.len()) };
            let mut writer = self.writer();
            writer.push_digest(group, true, entries[offset..].iter().chain(&entries[..offset]));
            let packet = self.finish(writer);
            self.stats.digests_sent = self.stats.digests_sent.saturating_add(targets.len() as u64);
            self.send_all(&targets, &[packet], TransmitKind::Request);
            sent = true;
        }
        sent
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
