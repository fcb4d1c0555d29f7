//! The discrete-event runner ([`Timing::Events`](crate::Timing::Events)):
//! windows of virtual time, each run by the lanes side by side (see
//! `lane`), then merged.

use gossip_core::{Protocol, Time};

use crate::lane::{Nodes, split_along};
use crate::link::micros;
use crate::record::Stop;
use crate::simulator::Simulator;

impl<P: Protocol<Address = u32> + Send> Simulator<P> {
    pub(crate) fn run_events(&mut self, until: Option<Time>) -> Stop {
        let period = self.period_us();
        let cap = u64::from(self.core.config.max_rounds).saturating_mul(period);
        loop {
            if self.all_delivered() {
                return Stop::AllDelivered;
            }
            let next_event = self.core.lanes.iter().filter_map(|lane| lane.next_at()).min();
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
            self.core.now = Time::from_micros(next);
            if next_input == Some(next) {
                self.apply_due(self.core.now);
                continue;
            }
            // Nothing sent in the window arrives before its end: the link's
            // smallest delay bounds it, and so do the round's end, the next
            // input, `until` and the cap, which all act between windows.
            let lookahead = micros(self.core.link.latency().min());
            let round_end = u64::from(self.core.rounds_done + 1).saturating_mul(period);
            let mut end = next.saturating_add(lookahead.saturating_sub(1)).min(round_end - 1).min(cap - 1);
            if let Some(input) = next_input {
                end = end.min(input - 1);
            }
            if let Some(until) = until {
                end = end.min(until.as_micros());
            }
            self.run_window(end, lookahead > 0);
            let last = self.core.lanes.iter_mut().filter_map(|lane| lane.out.last_at.take()).max();
            self.core.now = Time::from_micros(last.unwrap_or(next));
            self.core.merge();
        }
    }

    /// Runs every lane's events due at or before `end`, the lanes with
    /// events on threads of their own when `parallel` and more than one has.
    fn run_window(&mut self, end: u64, parallel: bool) {
        let (shared, lanes, senders, timer_at) = self.core.split();
        let nodes = split_along(&mut self.nodes, lanes);
        let senders = split_along(senders, lanes);
        let timers = split_along(timer_at, lanes);
        let mut work: Vec<_> = lanes
            .iter_mut()
            .zip(nodes)
            .zip(senders)
            .zip(timers)
            .filter(|(((lane, _), _), _)| lane.next_at().is_some_and(|at| at <= end))
            .map(|(((lane, nodes), senders), timer_at)| (Nodes { start: lane.start, nodes, senders, timer_at }, lane))
            .collect();
        if !parallel || work.len() < 2 {
            for (nodes, lane) in &mut work {
                nodes.run_window(lane, &shared, end);
            }
            return;
        }
        let shared = &shared;
        std::thread::scope(|scope| {
            let mut work = work.into_iter();
            let here = work.next();
            let others: Vec<_> =
                work.map(|(mut nodes, lane)| scope.spawn(move || nodes.run_window(lane, shared, end))).collect();
            if let Some((mut nodes, lane)) = here {
                nodes.run_window(lane, shared, end);
            }
            for other in others {
                if let Err(panic) = other.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        });
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
