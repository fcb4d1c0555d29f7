//! The discrete-event runner ([`Timing::Events`]).

use std::cmp::Reverse;

use gossip_core::{Protocol, Time};

use crate::queue::Kind;
use crate::record::{NEVER, Stop};
use crate::simulator::Simulator;

impl<P: Protocol<Address = u32>> Simulator<P> {
    pub(crate) fn run_events(&mut self, until: Option<Time>) -> Stop {
        let period = self.period_us();
        let cap = u64::from(self.core.config.max_rounds).saturating_mul(period);
        loop {
            if self.all_delivered() {
                return Stop::AllDelivered;
            }
            let next_event = self.core.queue.peek().map(|Reverse(e)| e.at);
            let next_input = self.next_input_at().map(Time::as_micros);
            let next = match (next_event, next_input) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => return Stop::Quiescent,
            };
            if next >= cap {
                self.core.now = Time::from_micros(cap);
                while self.core.rounds_done < self.core.config.max_rounds {
                    self.core.close_round();
                }
                return Stop::RoundCap;
            }
            if let Some(until) = until
                && next > until.as_micros()
            {
                self.core.now = until;
                self.close_rounds_before(until.as_micros(), period);
                return Stop::TimeReached;
            }
            self.close_rounds_before(next, period);
            if self.core.in_flight == 0
                && next_input.is_none()
                && !self.core.messages.is_empty()
                && next.saturating_sub(self.core.last_send.as_micros()) > 2 * period
            {
                return Stop::Quiescent;
            }
            let now = Time::from_micros(next);
            self.core.now = now;
            if next_input == Some(next) {
                self.apply_due(now);
                continue;
            }
            let Some(Reverse(entry)) = self.core.queue.pop() else { continue };
            match entry.kind {
                Kind::Packet(packet) => self.deliver(now, packet),
                Kind::Timer { node, incarnation } => {
                    let i = node as usize;
                    if self.core.timer_at[i] != entry.at || self.core.incarnations[i] != incarnation {
                        continue;
                    }
                    self.core.timer_at[i] = NEVER;
                    if let Some(p) = self.nodes[i].as_mut() {
                        p.handle_timeout(now);
                        self.core.stats.timeouts += 1;
                        self.core.collect(node, p);
                    }
                }
            }
        }
    }

    pub(crate) fn close_rounds_before(&mut self, t: u64, period: u64) {
        while u64::from(self.core.rounds_done + 1).saturating_mul(period) <= t {
            let end = Time::from_micros(u64::from(self.core.rounds_done + 1) * period);
            let now = std::mem::replace(&mut self.core.now, end);
            self.core.close_round();
            self.core.now = now;
        }
    }
}
