//! SWIM's failure detector on [`Membership`]: the probe schedule, indirect
//! probes, suspicions and their Lifeguard timeouts, deaths, reconnection
//! to dead members and seeds, the answers to probes, and the round-trip
//! times of direct probes.

use std::time::Duration;

use rand::{Rng, RngCore};

use super::*;

/// Most indirect probes for one failed direct probe, however unhealthy
/// this node.
const MAX_INDIRECT_PROBES: usize = 16;

impl<A: Address> Membership<A> {
    pub(crate) fn handle_timeout(&mut self, now: Time, rng: &mut impl RngCore) {
        if self.left {
            return;
        }
        self.now = now;
        if !self.started {
            self.started = true;
            self.prober.next_at = now;
            self.next_sync = now + jitter(self.config.sync_interval, rng);
            self.next_reconnect = now + jitter(self.config.reconnect_interval, rng);
        }
        if now >= self.new_from_reset {
            self.new_from.clear();
            self.new_from_reset = now + self.config.probe_interval;
        }
        self.contact_seeds(now);
        self.advance_catch_up(now, rng);
        self.advance_probe(now, rng);
        while let Some(slot) = self.table.take_reannounce(now) {
            self.queue_key(slot);
            self.stats.reannounced = self.stats.reannounced.saturating_add(1);
        }
        while let Some((at, id)) = self.table.next_suspicion() {
            if at > now {
                break;
            }
            self.declare_dead(now, id);
        }
        while let Some((at, id)) = self.table.next_forget() {
            if at > now {
                break;
            }
            if let Some(slot) = self.table.remove(id) {
                self.updates.remove(slot);
            }
        }
        if now >= self.next_sync {
            self.next_sync = now + self.config.sync_interval;
            if let Some(slot) = random_of(self.table.live(), rng) {
                if let Some(entry) = self.table.slot(slot) {
                    self.out.push_back(Outgoing::Sync { to: entry.addr.clone(), reply: true });
                }
            }
        }
        if now >= self.next_reconnect {
            self.next_reconnect = now + self.config.reconnect_interval;
            self.reconnect(rng);
        }
    }

    /// Pings one dead member (its death rides along, so it can refute) and
    /// sends a join to one seed that is not a live member.
    pub(super) fn reconnect(&mut self, rng: &mut impl RngCore) {
        if let Some(slot) = random_of(self.table.dead(), rng) {
            if let Some(entry) = self.table.slot(slot) {
                let seq = self.prober.next_seq();
                self.out.push_back(Outgoing::Ping { to: entry.addr.clone(), seq, target: entry.id });
            }
        }
        if !self.seeds.is_empty() {
            let seed = self.seeds[rng.random_range(0..self.seeds.len())].clone();
            let live = self.table.by_addr(&seed).and_then(|id| self.table.get(id)).is_some_and(|e| e.status.is_live());
            if !live {
                self.out.push_back(Outgoing::Join { to: seed, since: 0 });
            }
        }
    }

    pub(super) fn advance_probe(&mut self, now: Time, rng: &mut impl RngCore) {
        let m = self.prober.multiplier();
        if let Some(probe) = &mut self.prober.current {
            if !probe.acked && !probe.indirect_sent && now >= probe.ack_deadline {
                probe.indirect_sent = true;
                let (target, seq, addr) = (probe.target, probe.seq, probe.addr.clone());
                self.prober.direct_outcome(true);
                self.ask_indirect(target, seq, addr, rng);
            }
            let Some(probe) = &self.prober.current else { return };
            if now < probe.period_end {
                return;
            }
            let probe = self.prober.current.take().expect("checked above");
            if probe.acked {
                self.prober.health_better();
            } else {
                self.stats.probe_failures = self.stats.probe_failures.saturating_add(1);
                self.prober.health_worse(self.config.max_health);
                let incarnation = self.table.get(probe.target).map_or(0, |e| e.incarnation);
                self.suspect(now, probe.target, incarnation, self.me, false);
            }
        }
        if self.prober.current.is_none() && now >= self.prober.next_at {
            let interval = self.config.probe_interval * m;
            self.prober.next_at = now + interval;
            let table = &self.table;
            let is_live = |slot: u32| table.slot(slot).is_some_and(|e| e.status.is_live());
            let Some(slot) = self.prober.pick(table.live(), is_live, rng) else { return };
            let Some(entry) = self.table.slot(slot) else { return };
            let (target, addr) = (entry.id, entry.addr.clone());
            let seq = self.prober.next_seq();
            self.prober.current = Some(Probe {
                target,
                addr: addr.clone(),
                seq,
                sent: now,
                ack_deadline: now + self.config.probe_timeout * m,
                period_end: now + interval,
                indirect_sent: false,
                acked: false,
            });
            self.stats.probes = self.stats.probes.saturating_add(1);
            self.out.push_back(Outgoing::Ping { to: addr, seq, target });
        }
    }

    /// The direct probe got no ack in time: ping the target once more
    /// (a lost ping or ack is the likeliest cause) and ask at least `k`
    /// members to probe it, more as this node's direct probes miss more
    /// often (enough that at the loss they suggest all fail with a chance
    /// below 1%, [`Prober::indirect_count`]).
    pub(super) fn ask_indirect(&mut self, target: NodeId, seq: u64, addr: A, rng: &mut impl RngCore) {
        self.out.push_back(Outgoing::Ping { to: addr.clone(), seq, target });
        let k = self.prober.indirect_count(self.config.indirect_probes as usize, MAX_INDIRECT_PROBES);
        let live = self.table.live();
        let mut helpers = Vec::with_capacity(k);
        let pick = |i: usize| self.table.slot(live[i]).filter(|e| e.id != target).map(|e| e.addr.clone());
        draw(live.len(), k, Targets::WithoutReplacement, rng, pick, &mut helpers);
        for to in helpers {
            self.stats.indirect_probes = self.stats.indirect_probes.saturating_add(1);
            self.out.push_back(Outgoing::PingReq { to, seq, target, addr: addr.clone() });
        }
    }

    pub(super) fn suspicion_bounds(&self) -> (Duration, Duration, u32) {
        let n = (self.table.live().len() + 1) as f64;
        let scale = n.log10().max(1.0);
        let min = self.config.probe_interval.mul_f64(f64::from(self.config.suspicion_mult) * scale);
        let max = min * self.config.suspicion_max_mult;
        let expected = self.config.indirect_probes.min(self.table.live().len().saturating_sub(1) as u32);
        (min, max, expected)
    }

    /// `by` suspects `id` at `incarnation`: start a suspicion, or count a
    /// confirmation of the current one.
    pub(super) fn suspect(&mut self, now: Time, id: NodeId, incarnation: u64, by: NodeId, left_hint: bool) {
        let Some(entry) = self.table.get(id) else { return };
        if incarnation < entry.incarnation || !entry.status.is_live() {
            return;
        }
        let current = self.table.suspicion(id).map(|s| s.incarnation);
        match (entry.status, current) {
            (MemberStatus::Suspect, Some(suspected)) if suspected >= incarnation => {
                if self.table.confirm(id, by) {
                    self.stats.confirmations = self.stats.confirmations.saturating_add(1);
                }
            }
            _ => {
                let (min, max, expected) = self.suspicion_bounds();
                self.table.set_incarnation(id, incarnation);
                self.table.set_status(id, MemberStatus::Suspect, now);
                self.table.set_suspicion(id, Suspicion::new(now, incarnation, by, min, max, expected, left_hint));
                self.stats.suspicions = self.stats.suspicions.saturating_add(1);
                self.events.push(Event::MemberSuspect { id, incarnation });
                self.queue_update(id);
            }
        }
    }

    pub(super) fn declare_dead(&mut self, now: Time, id: NodeId) {
        let Some(entry) = self.table.get(id) else { return };
        let left = self.table.suspicion(id).is_some_and(|s| s.left_hint);
        let incarnation = entry.incarnation;
        let (status, reason) =
            if left { (MemberStatus::Left, DownReason::Left) } else { (MemberStatus::Dead, DownReason::Failed) };
        self.table.set_status(id, status, now + self.config.dead_retention);
        self.stats.deaths = self.stats.deaths.saturating_add(1);
        self.events.push(Event::MemberDown { id, incarnation, reason });
        self.queue_update(id);
    }

    /// A member that stopped being live, first-hand (it left) or by
    /// replacement.
    pub(super) fn down(&mut self, now: Time, id: NodeId, status: MemberStatus, reason: DownReason) {
        let Some(entry) = self.table.get(id) else { return };
        let (was_live, incarnation) = (entry.status.is_live(), entry.incarnation);
        self.table.set_status(id, status, now + self.config.dead_retention);
        if was_live {
            self.events.push(Event::MemberDown { id, incarnation, reason });
        }
        self.queue_update(id);
    }

    /// The transport could not reach `addr`: suspect its member at once,
    /// as if a probe had failed.
    pub(crate) fn handle_unreachable(&mut self, now: Time, addr: &A) {
        if let Some(id) = self.table.by_addr(addr) {
            let incarnation = self.table.get(id).map_or(0, |e| e.incarnation);
            self.suspect(now, id, incarnation, self.me, false);
        }
    }

    pub(crate) fn handle_ping(&mut self, seq: u64, target: NodeId, from: &A) {
        // A probe for an earlier node at this address is not ours to
        // acknowledge; say who answers here instead.
        if self.left {
            return;
        }
        if target == self.me {
            self.out.push_back(Outgoing::Ack { to: from.clone(), seq });
        } else {
            self.out.push_back(Outgoing::Hello { to: from.clone() });
        }
    }

    /// An ack of `seq`, in the packet handled at `self.now`. The first ack
    /// of the probe in flight, before any indirect probe was asked for,
    /// is a direct round trip: its time is kept.
    pub(crate) fn handle_ack(&mut self, seq: u64) {
        if let Some(probe) = &mut self.prober.current {
            if probe.seq == seq {
                let direct = !probe.acked && !probe.indirect_sent;
                probe.acked = true;
                if direct {
                    let rtt = self.now.saturating_duration_since(probe.sent);
                    self.prober.direct_outcome(false);
                    if !self.prober.record_rtt(rtt) {
                        self.stats.probe_rtts_dropped = self.stats.probe_rtts_dropped.saturating_add(1);
                    }
                }
                return;
            }
        }
        if let Some((to, reply)) = self.prober.take_relay(seq) {
            self.out.push_back(Outgoing::Ack { to, seq: reply });
        }
    }

    /// The round-trip times of direct probes since the last call, oldest
    /// first.
    pub(crate) fn drain_probe_rtts(&mut self) -> std::collections::vec_deque::Drain<'_, Duration> {
        self.prober.drain_rtts()
    }

    /// Probes `target` for the asker, if the asker is a live member (so an
    /// outsider cannot use this node to reach third parties).
    pub(crate) fn handle_ping_req(&mut self, now: Time, seq: u64, target: NodeId, addr: A, sender: NodeId, from: &A) {
        let known = self.table.get(sender).is_some_and(|e| e.status.is_live() && e.addr == *from);
        if !known || target == self.me || self.left {
            return;
        }
        let ours = self.prober.next_seq();
        let expires = now + self.config.probe_interval;
        if self.prober.relay(now, ours, from.clone(), seq, expires) {
            self.out.push_back(Outgoing::Ping { to: addr, seq: ours, target });
        } else {
            self.stats.relays_full = self.stats.relays_full.saturating_add(1);
        }
    }
}

/// A uniformly random element of `list`.
pub(super) fn random_of(list: &[u32], rng: &mut impl RngCore) -> Option<u32> {
    (!list.is_empty()).then(|| list[rng.random_range(0..list.len())])
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use rand::SeedableRng;

    use crate::{Config, Node, NodeId, Protocol, SmallRng, Time};

    use super::Duration;

    /// Two nodes on a link with a fixed one-way delay, driven in virtual
    /// time in 1 ms steps: every direct probe's drained round trip is
    /// twice that delay, exactly.
    #[test]
    fn drained_probe_round_trips_equal_the_link_delay() {
        let delay = Duration::from_millis(7);
        let config = Config::lan()
            .to_builder()
            .probe_interval(Duration::from_millis(100))
            .probe_timeout(Duration::from_millis(50))
            .build()
            .unwrap();
        let mut nodes: Vec<Node<u32>> = (0..2)
            .map(|i| {
                let mut rng = SmallRng::seed_from_u64(i);
                Node::new(NodeId::random(&mut rng), config.clone(), rng)
            })
            .collect();
        nodes[1].join(Time::ZERO, &[0]);
        // (arrival, from, to, packet)
        let mut in_flight: Vec<(Time, u32, u32, Bytes)> = Vec::new();
        let mut rtts: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
        let mut now = Time::ZERO;
        while now < Time::from_millis(3_000) {
            let (due, later): (Vec<_>, Vec<_>) = in_flight.into_iter().partition(|(at, ..)| *at <= now);
            in_flight = later;
            for (_, from, to, bytes) in due {
                nodes[to as usize].handle_packet(now, from, bytes).unwrap();
            }
            for (i, node) in nodes.iter_mut().enumerate() {
                node.handle_timeout(now);
                while let Some(t) = node.poll_transmit() {
                    in_flight.push((now + delay, i as u32, t.to, t.bytes));
                }
                while node.poll_event().is_some() {}
                rtts[i].extend(node.drain_probe_rtts());
            }
            now += Duration::from_millis(1);
        }
        for (i, (node, rtts)) in nodes.iter().zip(&rtts).enumerate() {
            let probes = node.stats().membership.probes;
            assert!(rtts.len() >= 20, "node {i}: {} round trips of {probes} probes", rtts.len());
            assert!(rtts.iter().all(|&rtt| rtt == 2 * delay), "node {i}: {rtts:?}");
            assert_eq!(node.stats().membership.probe_rtts_dropped, 0);
        }
    }
}
