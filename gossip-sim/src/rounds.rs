//! The synchronous-rounds runner ([`Timing::Rounds`]).

use gossip_core::{Protocol, Time};

use crate::link::DropReason;
use crate::queue::Packet;
use crate::record::Stop;
use crate::simulator::Simulator;

impl<P: Protocol<Address = u32>> Simulator<P> {
    pub(crate) fn run_rounds(&mut self, until: Option<Time>) -> Stop {
        let period = self.period_us();
        loop {
            if self.all_delivered() {
                return Stop::AllDelivered;
            }
            if self.core.rounds_done >= self.core.config.max_rounds {
                return Stop::RoundCap;
            }
            let now = Time::from_micros(u64::from(self.core.rounds_done).saturating_mul(period));
            if until.is_some_and(|u| now > u) {
                return Stop::TimeReached;
            }
            self.core.now = now;
            self.apply_due(now);
            for index in 0..self.core.n {
                if let Some(node) = self.nodes[index].as_mut() {
                    node.handle_timeout(now);
                    self.core.stats.timeouts += 1;
                    self.core.collect(index as u32, node);
                }
            }
            let arrive = Time::from_micros(now.as_micros() + period / 2);
            self.core.now = arrive;
            loop {
                // Packets sent while a batch is delivered (pull answers) go
                // to a fresh outbox; the drained batch's capacity is kept
                // for the next round when nothing was sent meanwhile.
                let requests = self.core.requests.len > 0;
                let mut batch = if requests {
                    std::mem::take(&mut self.core.requests)
                } else if self.core.others.len > 0 {
                    std::mem::take(&mut self.core.others)
                } else {
                    break;
                };
                for bucket in &mut batch.buckets {
                    for packet in bucket.drain(..) {
                        self.deliver(arrive, packet);
                    }
                }
                batch.len = 0;
                let slot = if requests { &mut self.core.requests } else { &mut self.core.others };
                if slot.len == 0 {
                    *slot = batch;
                }
            }
            let sent = self.core.current.packets_sent;
            self.core.now = Time::from_micros(now.as_micros() + period);
            self.core.close_round();
            if sent == 0 && self.next_input_at().is_none() && !self.core.messages.is_empty() {
                return Stop::Quiescent;
            }
        }
    }

    pub(crate) fn deliver(&mut self, at: Time, packet: Packet) {
        self.core.in_flight = self.core.in_flight.saturating_sub(1);
        let to = packet.to;
        if !self.core.link.is_up(to) {
            self.core.drop_packet(DropReason::ReceiverDown);
            return;
        }
        let Some(node) = self.nodes[to as usize].as_mut() else {
            self.core.drop_packet(DropReason::ReceiverDown);
            return;
        };
        self.core.stats.packets_delivered += 1;
        self.core.current.packets_delivered += 1;
        if node.handle_packet(at, packet.from, packet.payload.into_bytes()).is_err() {
            self.core.stats.decode_errors += 1;
        }
        self.core.collect(to, node);
    }
}
