//! The discrete-event runner ([`Timing::Events`](crate::Timing::Events)):
//! windows of virtual time, each run by the lanes side by side (see
//! `lane`), then merged.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::Scope;

use gossip_core::{Protocol, Time};

use crate::lane::{Lane, Shared};
use crate::link::{LinkModel, micros};
use crate::record::Stop;
use crate::simulator::Simulator;

/// A lane lent to a thread for a window: its index, the lane, the link
/// model, the incarnations and the window's end.
type Job<P> = (usize, Lane<P>, Arc<LinkModel>, Arc<Vec<u32>>, u64);

/// Threads that each run one lane's window at a time, for the length of a
/// run: lanes go to them and come back through channels, so no thread
/// keeps a borrow of the simulator between windows.
struct Workers<P> {
    jobs: Vec<Sender<Job<P>>>,
    done: Vec<Receiver<(usize, Lane<P>)>>,
}

impl<P: Protocol<Address = u32> + Send> Workers<P> {
    fn start<'scope>(scope: &'scope Scope<'scope, '_>, count: usize, n: usize) -> Self
    where
        P: 'scope,
    {
        let (mut jobs, mut done) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for _ in 0..count {
            let (job_tx, job_rx) = channel::<Job<P>>();
            let (done_tx, done_rx) = channel();
            scope.spawn(move || {
                for (k, mut lane, link, incarnations, end) in job_rx {
                    lane.run_window(&Shared { link: &link, incarnations: &incarnations, n }, end);
                    // Let go of the shared state first, so that changing
                    // it between windows need not copy it.
                    drop((link, incarnations));
                    if done_tx.send((k, lane)).is_err() {
                        return;
                    }
                }
            });
            jobs.push(job_tx);
            done.push(done_rx);
        }
        Workers { jobs, done }
    }
}

impl<P: Protocol<Address = u32> + Send> Simulator<P> {
    pub(crate) fn run_events(&mut self, until: Option<Time>) -> Stop {
        if self.lanes.len() < 2 {
            return self.run_windows(until, None);
        }
        let n = self.core.n;
        std::thread::scope(|scope| {
            let workers = Workers::start(scope, self.lanes.len() - 1, n);
            self.run_windows(until, Some(&workers))
        })
    }

    fn run_windows(&mut self, until: Option<Time>, workers: Option<&Workers<P>>) -> Stop {
        let period = self.period_us();
        let cap = u64::from(self.core.config.max_rounds).saturating_mul(period);
        loop {
            if self.all_delivered() {
                return Stop::AllDelivered;
            }
            let next_event = self.lanes.iter().filter_map(|lane| lane.next_at()).min();
            let next_input = self.next_input_at().map(Time::as_micros);
            let next = match (next_event, next_input) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => return Stop::Quiescent,
            };
            if next >= cap {
                self.core.now = Time::from_micros(cap);
                while self.core.rounds_done < self.core.config.max_rounds {
                    self.core.close_round(&self.lanes);
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
            self.run_window(end, workers.filter(|_| lookahead > 0));
            let last = self.lanes.iter_mut().filter_map(|lane| lane.out.last_at.take()).max();
            self.core.now = Time::from_micros(last.unwrap_or(next));
            self.core.merge(&mut self.lanes);
        }
    }

    /// Runs every lane's events due at or before `end`; with `workers`,
    /// the lanes with events run side by side, the first on this thread.
    fn run_window(&mut self, end: u64, workers: Option<&Workers<P>>) {
        let busy: Vec<usize> =
            (0..self.lanes.len()).filter(|&k| self.lanes[k].next_at().is_some_and(|at| at <= end)).collect();
        let core = &self.core;
        let shared = Shared { link: &core.link, incarnations: &core.incarnations, n: core.n };
        let (Some(workers), [here, away @ ..]) = (workers, busy.as_slice()) else {
            for &k in &busy {
                self.lanes[k].run_window(&shared, end);
            }
            return;
        };
        for (worker, &k) in away.iter().enumerate() {
            let lane = std::mem::replace(&mut self.lanes[k], Lane::empty());
            let job = (k, lane, Arc::clone(&core.link), Arc::clone(&core.incarnations), end);
            if workers.jobs[worker].send(job).is_err() {
                panic!("a simulator thread stopped");
            }
        }
        self.lanes[*here].run_window(&shared, end);
        for worker in 0..away.len() {
            let Ok((k, lane)) = workers.done[worker].recv() else { panic!("a simulator thread panicked") };
            self.lanes[k] = lane;
        }
    }

    pub(crate) fn close_rounds_before(&mut self, t: u64, period: u64) {
        while u64::from(self.core.rounds_done + 1).saturating_mul(period) <= t {
            let end = Time::from_micros(u64::from(self.core.rounds_done + 1) * period);
            let now = std::mem::replace(&mut self.core.now, end);
            self.core.close_round(&self.lanes);
            self.core.now = now;
        }
    }
}
