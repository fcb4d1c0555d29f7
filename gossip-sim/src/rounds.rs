//! The synchronous-rounds runner ([`Timing::Rounds`](crate::Timing::Rounds)),
//! on one lane.

use gossip_core::{Protocol, Time};

use crate::queue::Outbox;
use crate::record::Stop;
use crate::simulator::Simulator;

impl<P: Protocol<Address = u32> + Send> Simulator<P> {
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
            self.tick_all(now);
            self.core.merge(&mut self.lanes);
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
                self.deliver_batch(arrive, &mut batch);
                self.core.merge(&mut self.lanes);
                batch.len = 0;
                let slot = if requests { &mut self.core.requests } else { &mut self.core.others };
                if slot.len == 0 {
                    *slot = batch;
                }
            }
            let sent = self.core.current.packets_sent;
            self.core.now = Time::from_micros(now.as_micros() + period);
            self.core.close_round(&self.lanes);
            if sent == 0 && self.next_input_at().is_none() && !self.core.messages.is_empty() {
                return Stop::Quiescent;
            }
        }
    }

    /// Every live node runs its round at `now`, in index order.
    fn tick_all(&mut self, now: Time) {
        let shared = self.core.shared();
        let lane = &mut self.lanes[0];
        // One lane: its records need only their time.
        lane.out.tag = (now.as_micros(), 0, 0);
        for slot in 0..lane.nodes.len() {
            lane.tick(&shared, lane.index(slot), now);
        }
    }

    /// Hands every packet of `batch` to its receiver at `at`, bucket by
    /// bucket.
    fn deliver_batch(&mut self, at: Time, batch: &mut Outbox) {
        let shared = self.core.shared();
        let lane = &mut self.lanes[0];
        lane.out.tag = (at.as_micros(), 0, 0);
        for bucket in &mut batch.buckets {
            for packet in bucket.drain(..) {
                lane.deliver(&shared, at, packet);
            }
        }
    }
}
