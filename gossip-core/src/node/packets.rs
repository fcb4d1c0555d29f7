//! Packet assembly: headers, writers, packing messages into packets,
//! piggy-backing membership, and the transmit and event queues.

use super::*;

impl<A: Address, R: RngCore> Node<A, R> {
    pub(super) fn header(&self) -> Header {
        let incarnation = match &self.view {
            View::Gossiped(m) => m.incarnation(),
            View::Shared { .. } => 0,
        };
        Header { sender: self.id, incarnation }
    }

    pub(super) fn writer(&self) -> PacketWriter {
        PacketWriter::new(self.config.max_packet_size, self.header())
    }

    /// A writer sized for `content` bytes of frames plus the membership
    /// entries [`Node::finish`] may add.
    pub(super) fn writer_for(&self, content: usize) -> PacketWriter {
        let membership = match &self.view {
            View::Gossiped(_) => 48 * self.config.max_piggyback,
            View::Shared { .. } => 0,
        };
        let capacity = (wire::HEADER_MAX + content + membership).min(self.config.max_packet_size);
        PacketWriter::with_capacity(self.config.max_packet_size, self.header(), capacity)
    }

    /// Fills the rest of a data packet with membership updates and
    /// finishes it.
    pub(super) fn finish(&mut self, mut writer: PacketWriter) -> Bytes {
        if let View::Gossiped(m) = &mut self.view {
            m.piggyback(None, &mut writer);
        }
        writer.finish()
    }

    /// Tree mode sends few packets of its own to carry membership updates
    /// (its digests follow activity), so while updates wait for a ride they
    /// go out on their own each round, to `b` random members: membership
    /// spreads at push-pull's pace, and an unchanging membership costs
    /// nothing here.
    pub(super) fn gossip_membership(&mut self) {
        let View::Gossiped(m) = &mut self.view else { return };
        if self.config.mode != Mode::Tree || m.queued_updates() == 0 {
            return;
        }
        let mut targets = Vec::new();
        m.any_targets(self.config.fanout as usize, &mut self.rng, &mut targets);
        for to in targets {
            let mut writer = self.writer();
            let View::Gossiped(m) = &mut self.view else { return };
            m.write_own(&mut writer);
            m.piggyback(Some(&to), &mut writer);
            let packet = writer.finish();
            self.send(to, packet, TransmitKind::Membership);
        }
    }

    /// Encodes and queues what the membership layer asked to send, and
    /// passes on its events.
    pub(super) fn drain_membership(&mut self) {
        loop {
            let View::Gossiped(m) = &mut self.view else { return };
            let Some(out) = m.poll_outgoing() else { break };
            let mut writer = self.writer();
            let View::Gossiped(m) = &mut self.view else { return };
            m.write_own(&mut writer);
            let to = match out {
                Outgoing::Ping { to, seq, target } => {
                    writer.push_ping(seq, target);
                    to
                }
                Outgoing::Ack { to, seq } => {
                    writer.push_ack(seq);
                    to
                }
                Outgoing::PingReq { to, seq, target, addr } => {
                    writer.push_ping_req(seq, target, &addr);
                    to
                }
                Outgoing::Sync { to, reply } => {
                    writer.push_sync(reply);
                    // A request carries the summary of this view, an answer
                    // a slice of the table: anti-entropy pulls, and a member
                    // that knows more is pulled from by others in turn.
                    if reply {
                        let (hash, live) = m.summary();
                        writer.push_summary(hash, live);
                    } else {
                        m.write_slice(&mut writer);
                    }
                    to
                }
                Outgoing::Join { to, since } => {
                    writer.push_join();
                    if since > 0 {
                        writer.push_catch_up(since);
                    }
                    to
                }
                // Only the corrected entries: piggy-backed updates here would
                // spread suspicions further on packets sent for a refutation.
                Outgoing::Correct { to, slots } => {
                    m.write_slots(&slots, &mut writer);
                    let packet = writer.finish();
                    self.send(to, packet, TransmitKind::Membership);
                    continue;
                }
                Outgoing::Leave { to } | Outgoing::Hello { to } => to,
            };
            m.piggyback(Some(&to), &mut writer);
            let packet = writer.finish();
            self.send(to, packet, TransmitKind::Membership);
        }
        let View::Gossiped(m) = &mut self.view else { return };
        // Taken out while they are emitted and then given back, so their
        // buffer is not allocated afresh for each packet.
        let mut events = m.take_events();
        self.stats.membership = m.stats.clone();
        if !events.is_empty() {
            self.rings.dirty = true;
        }
        for event in events.drain(..) {
            self.emit(event);
        }
        if let View::Gossiped(m) = &mut self.view {
            m.restore_events(events);
        }
    }

    pub(super) fn send(&mut self, to: A, bytes: Bytes, kind: TransmitKind) {
        if self.transmits.len() >= self.config.max_transmits {
            self.stats.drops.transmit_queue_full = self.stats.drops.transmit_queue_full.saturating_add(1);
            return;
        }
        self.stats.packets_out = self.stats.packets_out.saturating_add(1);
        self.stats.bytes_out = self.stats.bytes_out.saturating_add(bytes.len() as u64);
        self.transmits.push_back(Transmit::new(to, bytes, kind));
    }

    pub(super) fn send_all(&mut self, targets: &[A], packets: &[Bytes], kind: TransmitKind) {
        for packet in packets {
            for to in targets {
                self.send(to.clone(), packet.clone(), kind);
            }
        }
    }

    pub(super) fn emit(&mut self, event: Event<A>) {
        if self.events.len() >= self.config.max_events {
            self.stats.drops.event_queue_full = self.stats.drops.event_queue_full.saturating_add(1);
            return;
        }
        self.events.push_back(event);
    }
}
