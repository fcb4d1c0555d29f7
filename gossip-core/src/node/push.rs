//! Push: target choice, rumor lifetime, eager and periodic pushes.

use super::*;

impl<A: Address, R: RngCore> Node<A, R> {
    /// `b` targets in `group`, drawn as configured.
    pub(super) fn targets(&mut self, group: GroupId, out: &mut Vec<A>) {
        self.some_targets(group, self.config.fanout as usize, out);
    }

    /// `count` targets in `group`, drawn as configured.
    pub(super) fn some_targets(&mut self, group: GroupId, count: usize, out: &mut Vec<A>) {
        if count == 0 {
            return;
        }
        let how = self.config.targets;
        match &self.view {
            View::Gossiped(membership) => membership.targets(group, count, how, &mut self.rng, out),
            View::Shared { members, index } => {
                let list = members.group(group);
                let (me, own) = (self.id, *index);
                let pick = |i: usize| {
                    let at = list[i];
                    let (id, addr) = members.get(at)?;
                    (Some(at) != own && id != me).then(|| addr.clone())
                };
                draw(list.len(), count, how, &mut self.rng, pick, out);
            }
        }
    }

    /// Rounds a message of `group` is pushed for.
    pub(super) fn lifetime(&mut self, group: GroupId) -> u32 {
        // Group sizes change slowly: compute once per group and round.
        let auto = |node: &mut Self| {
            let (cached_group, cached_round, rounds) = node.lifetime_cache;
            if cached_group == group && cached_round == node.round {
                return rounds;
            }
            let rounds = push_rounds(node.group_size(group) + 1, node.config.fanout, AUTOMATIC_RESIDUE);
            node.lifetime_cache = (group, node.round, rounds);
            rounds
        };
        match self.config.lifetime {
            Lifetime::Rounds(r) => r,
            Lifetime::Automatic => auto(self),
            Lifetime::Counter(_) => 4 * auto(self),
        }
    }

    /// A packet holding only `frame`, however large.
    pub(super) fn alone(&self, frame: &MessageFrame) -> Bytes {
        let mut writer = PacketWriter::new(wire::single_message_packet_len(frame.payload.len()), self.header());
        writer.push_message(frame);
        writer.finish()
    }

    /// Packs message frames into packets, in the order given.
    pub(super) fn pack(&mut self, frames: &[MessageFrame]) -> Vec<Bytes> {
        let single = self.config.batching == Batching::Single;
        let mut left: usize = frames.iter().map(wire::message_len).sum();
        let mut packets = Vec::new();
        let mut writer = self.writer_for(left);
        for frame in frames {
            if (single && writer.frames() > 0) || !writer.push_message(frame) {
                if writer.frames() > 0 {
                    let full = std::mem::replace(&mut writer, self.writer_for(left));
                    packets.push(self.finish(full));
                }
                // A message larger than a packet travels alone, in a
                // packet of its own size (see `max_message_size`).
                if !writer.push_message(frame) {
                    packets.push(self.alone(frame));
                }
            }
            left -= wire::message_len(frame);
        }
        if writer.frames() > 0 {
            packets.push(self.finish(writer));
        }
        packets
    }

    /// Whether pushed copies ask for feedback (Demers' counter).
    pub(super) fn wants_feedback(&self) -> bool {
        matches!(self.config.lifetime, Lifetime::Counter(_))
    }

    /// Sends `frames` to `targets`, packed as configured.
    pub(super) fn push_to(&mut self, targets: &[A], frames: &[MessageFrame]) {
        let packets = self.pack(frames);
        self.stats.messages_sent = self.stats.messages_sent.saturating_add((frames.len() * targets.len()) as u64);
        self.send_all(targets, &packets, TransmitKind::Data);
    }

    /// Pushes `frames` (all of `group`) to `b` fresh targets now; returns
    /// whether there was anyone to send to.
    pub(super) fn push_now(&mut self, group: GroupId, frames: &[MessageFrame]) -> bool {
        let mut targets = Vec::new();
        self.targets(group, &mut targets);
        if targets.is_empty() {
            return false;
        }
        self.push_to(&targets, frames);
        true
    }

    /// One periodic push round over every active rumor.
    ///
    /// A group with no reachable member is skipped without ageing anything
    /// out, and a node's own message counts its age from its first
    /// transmission, so a message multicast before the membership was known
    /// still gets its full lifetime.
    pub(super) fn push_round(&mut self) -> bool {
        let round = self.round;
        let order = self.config.order;
        let mut active = self.store.take_active(|stored| sort_key(order, stored));
        active.sort_unstable();
        let pull_only = self.config.mode == Mode::Pull;
        let mut sent = false;
        let mut start = 0;
        while start < active.len() {
            let group = active[start].0;
            let end = start + active[start..].iter().take_while(|(g, ..)| *g == group).count();
            let mut targets = Vec::new();
            self.targets(group, &mut targets);
            if targets.is_empty() {
                start = end;
                continue;
            }
            // In pull mode only a non-member's own messages are pushed, once;
            // in tree mode a message goes down its tree once (a member's own
            // message waits here only until the node knows a member).
            let tree = self.config.mode == Mode::Tree;
            let lifetime = if pull_only || tree { 0 } else { self.lifetime(group) };
            let feedback = self.wants_feedback();
            let mut frames = Vec::with_capacity(end - start);
            for (_, _, id) in &active[start..end] {
                let Some(stored) = self.store.get_mut(id) else { continue };
                if stored.awaiting_ack {
                    frames.push(frame_of(*id, stored, 0, feedback));
                    continue;
                }
                let first = stored.unsent_own;
                if first {
                    stored.unsent_own = false;
                    stored.round_at = round.saturating_sub(1);
                }
                let age = stored.age(round);
                if first || age <= lifetime {
                    frames.push(frame_of(*id, stored, age, feedback));
                }
                if age >= lifetime {
                    stored.active = false;
                }
            }
            if !frames.is_empty() {
                if tree && self.is_subscribed(group) {
                    self.push_tree(group, &frames);
                } else {
                    self.push_to(&targets, &frames);
                }
                sent = true;
            }
            start = end;
        }
        sent
    }
}
