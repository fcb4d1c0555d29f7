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
                .range((group, NodeId(0))..=(group, NodeId(u64::MAX)))
                .map(|((_, origin), stream)| DigestEntry {
                    origin: *origin,
                    base: stream.window.base(),
                    bitmap: stream.window.bitmap(),
                })
                .collect();
            if let Some(seq) = self.next_seq.get(&group) {
                entries.push(DigestEntry { origin: self.id, base: *seq, bitmap: Bytes::new() });
            }
            // Start at a random stream so that digests too large for one
            // packet still cover every stream over a few rounds.
            let offset = if entries.is_empty() { 0 } else { self.rng.random_range(0..entries.len()) };
            let mut writer = self.writer();
            writer.push_digest(group, true, entries[offset..].iter().chain(&entries[..offset]));
            let packet = self.finish(writer);
            self.stats.digests_sent += targets.len() as u64;
            self.send_all(&targets, &[packet], TransmitKind::Request);
            sent = true;
        }
        sent
    }

    /// Answers a pull digest with the buffered messages the asker lacks.
    pub(super) fn answer_digest(&mut self, from: &A, digest: &DigestFrame) {
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
        let mut writer = self.writer();
        let mut answered = 0u64;
        for (_, frame) in &candidates {
            if self.config.batching == Batching::Single && answered > 0 {
                break;
            }
            if writer.push_message(frame) {
                answered += 1;
            }
        }
        // A message larger than a packet is answered alone.
        let packet = match candidates.first() {
            Some((_, frame)) if answered == 0 => {
                answered = 1;
                self.alone(frame)
            }
            _ => self.finish(writer),
        };
        self.stats.pull_answers += answered;
        self.stats.messages_sent += answered;
        self.send(from.clone(), packet, TransmitKind::Answer);
    }
}
