//! The simulator: nodes, their factory and the network, the public API to
//! schedule multicasts and faults, and the runs.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gossip_core::{Config, GroupId, Node, Protocol, SharedMembers, SmallRng, Time};
use rand::{Rng, SeedableRng};

use crate::config::{SimConfig, Timing};
use crate::error::SimError;
use crate::factory::{Factory, Spawn, gossip_factory, joining_factory, mix, node_seed, one_group};
use crate::lane::{Lane, Sender, lane_mut, lane_of};
use crate::link::{FaultAction, LinkModel, Script};
use crate::network::Core;
use crate::queue::{Outbox, PendingCast};
use crate::record::{IssueFailure, MessageHandle, MessageRecord, NEVER, NO_HOP, Outcome, RoundRecord, SimStats};
use crate::views::{ViewRecord, ViewShard, Views};

/// The simulator. See the [crate docs](crate).
pub struct Simulator<P: Protocol<Address = u32> + Send> {
    /// The nodes, in lanes (one in [`Timing::Rounds`]).
    pub(crate) lanes: Vec<Lane<P>>,
    pub(crate) factory: Factory<P>,
    pub(crate) core: Core,
}

impl<P: Protocol<Address = u32> + Send> std::fmt::Debug for Simulator<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("nodes", &self.core.n)
            .field("now", &self.core.now)
            .field("rounds", &self.core.rounds_done)
            .field("stats", &self.core.stats)
            .finish_non_exhaustive()
    }
}

impl Simulator<Node<u32>> {
    /// `n` gossip-core nodes with `engine` config, all members of `group`,
    /// sharing one member list.
    pub fn gossip(config: SimConfig, engine: Config, n: u32, group: GroupId) -> Result<Self, SimError> {
        Simulator::new(config, one_group(n, group), gossip_factory(engine, vec![group]))
    }

    /// `n` gossip-core nodes with `engine` config, all members of `group`,
    /// that learn the membership by gossip after joining through `seeds`
    /// ([`joining_factory`]); the views are tracked
    /// ([`SimConfig::track_views`] is turned on).
    pub fn gossip_joining(
        mut config: SimConfig,
        engine: Config,
        n: u32,
        group: GroupId,
        seeds: &[u32],
    ) -> Result<Self, SimError> {
        config.track_views = true;
        Simulator::new(config, one_group(n, group), joining_factory(engine, vec![group], seeds.to_vec()))
    }
}

impl<P: Protocol<Address = u32> + Send> Simulator<P> {
    /// One node per entry of `members`, built by `factory`.
    pub fn new(config: SimConfig, members: Arc<SharedMembers<u32>>, mut factory: Factory<P>) -> Result<Self, SimError> {
        config.validate()?;
        let n = members.len();
        let mut rng = SmallRng::seed_from_u64(mix(config.seed ^ 0x5eed));
        let link_seed = mix(config.seed ^ 0x11_4c5);
        let boot_at: Vec<u64> = match config.timing {
            Timing::Events { start_jitter: true } => {
                let period = u64::try_from(config.period.as_micros()).unwrap_or(u64::MAX).max(1);
                (0..n).map(|_| rng.random_range(0..period)).collect()
            }
            _ => Vec::new(),
        };
        let timed = matches!(config.timing, Timing::Events { .. });
        let count = if timed { config.threads.clamp(1, n.max(1)) } else { 1 };
        let mut lanes = Vec::with_capacity(count);
        for k in 0..count {
            let mut lane = Lane::empty();
            (lane.first, lane.stride) = (k as u32, count as u32);
            let rows = (n - k).div_ceil(count);
            lane.nodes.reserve_exact(rows);
            lane.senders.reserve_exact(rows);
            for index in (k..n).step_by(count).map(|i| i as u32) {
                let spawn = Spawn {
                    index,
                    incarnation: 0,
                    now: Time::ZERO,
                    seed: node_seed(config.seed, index, 0),
                    members: &members,
                };
                lane.nodes.push(Some(factory(&spawn)));
                lane.senders.push(Sender { rng: SmallRng::seed_from_u64(node_seed(link_seed, index, 0)), sent: 0 });
                lane.boot_at.extend(boot_at.get(index as usize));
            }
            lane.views = config.track_views.then(|| ViewShard::new(k, count, rows, n));
            lane.timer_at = if timed { vec![NEVER; rows] } else { Vec::new() };
            lanes.push(lane);
        }
        let core = Core {
            link: Arc::new(config.link.clone()),
            members,
            n,
            now: Time::ZERO,
            rounds_done: 0,
            incarnations: Arc::new(vec![0; n]),
            requests: Outbox::default(),
            others: Outbox::default(),
            merging: Vec::new(),
            calls: 0,
            in_flight: 0,
            last_send: Time::ZERO,
            steps: VecDeque::new(),
            casts: VecDeque::new(),
            messages: Vec::new(),
            by_id: HashMap::new(),
            satisfied: Vec::new(),
            satisfied_count: 0,
            group_live: HashMap::new(),
            rounds: Vec::new(),
            current: RoundRecord { round: 1, ..RoundRecord::default() },
            stats: SimStats::default(),
            views: config.track_views.then(|| Views::new(n)),
            config,
        };
        let mut sim = Simulator { lanes, factory, core };
        for index in 0..n as u32 {
            sim.after_call(index);
        }
        sim.core.merge(&mut sim.lanes);
        Ok(sim)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.core.n
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.core.n == 0
    }

    /// Current virtual time.
    pub fn now(&self) -> Time {
        self.core.now
    }

    /// Rounds completed.
    pub fn rounds_done(&self) -> u32 {
        self.core.rounds_done
    }

    /// Node `index`, if it is up.
    pub fn node(&self, index: u32) -> Option<&P> {
        let lane = self.lanes.get(lane_of(&self.lanes, index))?;
        lane.nodes[lane.slot(index)].as_ref()
    }

    /// Node `index`, if it is up, for direct calls; packets and events it
    /// produces are collected at the next simulation step.
    pub fn node_mut(&mut self, index: u32) -> Option<&mut P> {
        let k = lane_of(&self.lanes, index);
        let lane = self.lanes.get_mut(k)?;
        let slot = lane.slot(index);
        lane.nodes[slot].as_mut()
    }

    /// The current link model.
    pub fn link(&self) -> &LinkModel {
        &self.core.link
    }

    /// The shared member list.
    pub fn members(&self) -> &Arc<SharedMembers<u32>> {
        &self.core.members
    }

    /// Every scheduled message's record, in scheduling order.
    pub fn messages(&self) -> &[MessageRecord] {
        &self.core.messages
    }

    /// One message's record.
    pub fn message(&self, handle: MessageHandle) -> Option<&MessageRecord> {
        self.core.messages.get(handle.0)
    }

    /// Per-round counters of the completed rounds.
    pub fn rounds(&self) -> &[RoundRecord] {
        &self.core.rounds
    }

    /// Whole-run counters.
    pub fn stats(&self) -> &SimStats {
        &self.core.stats
    }

    /// The membership views' record, if [`SimConfig::track_views`] is set.
    pub fn views(&self) -> Option<&ViewRecord> {
        self.core.views.as_ref().map(|views| &views.record)
    }

    /// Makes node `index` slow from now on, in the link model
    /// ([`LinkModel::set_slow`]): every packet to it takes `delay` more.
    /// [`Timing::Events`] only; `Duration::ZERO` makes it normal again.
    pub fn set_slow(&mut self, index: u32, delay: Duration) -> Result<(), SimError> {
        self.check_node(index)?;
        Arc::make_mut(&mut self.core.link).set_slow(index, delay);
        Ok(())
    }

    fn check_node(&self, index: u32) -> Result<(), SimError> {
        if (index as usize) < self.core.n { Ok(()) } else { Err(SimError::NoSuchNode { index, nodes: self.core.n }) }
    }

    fn check_time(&self, at: Time) -> Result<(), SimError> {
        if at < self.core.now {
            return Err(SimError::InThePast { at_us: at.as_micros(), now_us: self.core.now.as_micros() });
        }
        Ok(())
    }

    /// Schedules node `from` to multicast `payload` to `group` at `at` (in
    /// [`Timing::Rounds`], at the first tick at or after `at`, before the
    /// nodes run their rounds).
    pub fn multicast(
        &mut self,
        at: Time,
        from: u32,
        group: GroupId,
        payload: Bytes,
    ) -> Result<MessageHandle, SimError> {
        self.check_node(from)?;
        self.check_time(at)?;
        let handle = self.core.messages.len();
        self.core.messages.push(MessageRecord {
            origin: from,
            group,
            scheduled_at: at,
            id: None,
            failure: None,
            sent_at: None,
            sent_round: 0,
            completed: None,
            holders_by_round: Vec::new(),
            holders: 0,
            delivered: 0,
            redeliveries: 0,
            duplicate_deliveries: 0,
            first_at: Vec::new(),
            first_hop: Vec::new(),
            held: Vec::new(),
        });
        self.core.satisfied.push(false);
        let pos = self.core.casts.partition_point(|c| c.at <= at);
        self.core.casts.insert(pos, PendingCast { at, handle, payload });
        Ok(MessageHandle(handle))
    }

    /// Schedules a fault action at `at`.
    pub fn schedule(&mut self, at: Time, action: FaultAction) -> Result<(), SimError> {
        self.check_time(at)?;
        match &action {
            FaultAction::Crash(nodes) | FaultAction::Restart(nodes) => {
                nodes.iter().try_for_each(|n| self.check_node(*n))?;
            }
            FaultAction::SetLoss(_) | FaultAction::SetLatency(_) => LinkModel::new().apply(&action)?,
            FaultAction::Slow { node, .. } => self.check_node(*node)?,
            FaultAction::Partition(_) | FaultAction::Heal => {}
        }
        let pos = self.core.steps.partition_point(|(t, _)| *t <= at);
        self.core.steps.insert(pos, (at, action));
        Ok(())
    }

    /// Schedules every step of `script`.
    pub fn script(&mut self, script: &Script) -> Result<(), SimError> {
        script.validate()?;
        for (at, action) in script.steps() {
            self.schedule(*at, action.clone())?;
        }
        Ok(())
    }

    /// Runs until a [`Stop`](crate::Stop) condition other than
    /// [`Stop::TimeReached`](crate::Stop::TimeReached).
    pub fn run(&mut self) -> Outcome {
        self.run_inner(None)
    }

    /// Runs until `until` (inclusive) at most, or an earlier stop condition.
    pub fn run_until(&mut self, until: Time) -> Outcome {
        self.run_inner(Some(until))
    }

    fn run_inner(&mut self, until: Option<Time>) -> Outcome {
        let stop = match self.core.config.timing {
            Timing::Rounds => self.run_rounds(until),
            Timing::Events { .. } => self.run_events(until),
        };
        Outcome { stop, now: self.core.now, rounds: self.core.rounds_done }
    }

    pub(crate) fn period_us(&self) -> u64 {
        u64::try_from(self.core.config.period.as_micros()).unwrap_or(u64::MAX).max(1)
    }

    pub(crate) fn all_delivered(&self) -> bool {
        let core = &self.core;
        core.casts.is_empty()
            && core.steps.is_empty()
            && !core.messages.is_empty()
            && core.satisfied_count == core.messages.len()
    }

    /// Applies due script steps and multicasts (steps first), and merges
    /// what the nodes produced.
    pub(crate) fn apply_due(&mut self, now: Time) {
        while self.core.steps.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, action)) = self.core.steps.pop_front() {
                self.apply(now, &action);
            }
        }
        while self.core.casts.front().is_some_and(|c| c.at <= now) {
            if let Some(cast) = self.core.casts.pop_front() {
                self.issue(now, cast);
            }
        }
        self.core.merge(&mut self.lanes);
    }

    pub(crate) fn next_input_at(&self) -> Option<Time> {
        let step = self.core.steps.front().map(|(at, _)| *at);
        let cast = self.core.casts.front().map(|c| c.at);
        match (step, cast) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn apply(&mut self, now: Time, action: &FaultAction) {
        match action {
            FaultAction::Crash(list) => {
                for &index in list {
                    if Arc::make_mut(&mut self.core.link).crash(index) {
                        let (lane, slot) = lane_mut(&mut self.lanes, index);
                        lane.nodes[slot] = None;
                        if !lane.timer_at.is_empty() {
                            lane.timer_at[slot] = NEVER;
                        }
                        if let Some(views) = &mut self.core.views {
                            let mut shards: Vec<_> = self.lanes.iter_mut().filter_map(|l| l.views.as_mut()).collect();
                            views.crashed(index as usize, now, &mut shards);
                        }
                        for record in &mut self.core.messages {
                            let (word, bit) = ((index / 64) as usize, index % 64);
                            if record.held.get(word).is_some_and(|w| w & (1 << bit) != 0) {
                                record.held[word] &= !(1 << bit);
                                record.holders -= 1;
                            }
                        }
                    }
                }
                self.liveness_changed(now);
            }
            FaultAction::Restart(list) => {
                for &index in list {
                    if Arc::make_mut(&mut self.core.link).restart(index) {
                        let i = index as usize;
                        Arc::make_mut(&mut self.core.incarnations)[i] += 1;
                        if let Some(views) = &mut self.core.views {
                            let mut shards: Vec<_> = self.lanes.iter_mut().filter_map(|l| l.views.as_mut()).collect();
                            views.restarted(i, &mut shards);
                        }
                        let incarnation = self.core.incarnations[i];
                        let (lane, slot) = lane_mut(&mut self.lanes, index);
                        let spawn = Spawn {
                            index,
                            incarnation,
                            now,
                            seed: node_seed(self.core.config.seed, index, incarnation),
                            members: &self.core.members,
                        };
                        lane.nodes[slot] = Some((self.factory)(&spawn));
                        if !lane.boot_at.is_empty() {
                            lane.boot_at[slot] = now.as_micros();
                        }
                        self.after_call(index);
                    }
                }
                self.liveness_changed(now);
            }
            other => {
                // Parameters were validated when scheduled.
                let _ = Arc::make_mut(&mut self.core.link).apply(other);
            }
        }
    }

    fn liveness_changed(&mut self, now: Time) {
        self.core.group_live.clear();
        for i in 0..self.core.messages.len() {
            self.core.refresh(i, now);
        }
    }

    fn issue(&mut self, now: Time, cast: PendingCast) {
        let core = &mut self.core;
        let record = &mut core.messages[cast.handle];
        record.sent_round = core.rounds_done;
        let (lane, slot) = lane_mut(&mut self.lanes, record.origin);
        let Some(node) = lane.nodes[slot].as_mut() else {
            record.failure = Some(IssueFailure::OriginDown);
            core.refresh(cast.handle, now);
            return;
        };
        match node.multicast(now, record.group, cast.payload) {
            Ok(id) => {
                record.id = Some(id);
                record.sent_at = Some(now);
                record.first_at = vec![NEVER; core.n];
                record.first_hop = vec![NO_HOP; core.n];
                record.held = vec![0; core.n.div_ceil(64)];
                core.by_id.insert(id, cast.handle);
            }
            Err(err) => record.failure = Some(IssueFailure::Refused(err)),
        }
        let origin = record.origin;
        core.refresh(cast.handle, now);
        self.after_call(origin);
    }

    /// Collects what node `index` produced into its lane's output (merged
    /// by the caller) and reschedules its timer.
    fn after_call(&mut self, index: u32) {
        let now = self.core.now;
        let call = self.core.calls;
        self.core.calls += 1;
        let (lane, _) = lane_mut(&mut self.lanes, index);
        lane.out.tag = (now.as_micros(), u32::MAX, call);
        lane.collect(&self.core.shared(), index, now);
    }
}

#[cfg(test)]
mod tests {
    use gossip_core::{Lifetime, Mode};

    use super::*;
    use crate::record::Stop;

    #[test]
    fn a_small_push_run_reaches_everyone() {
        let engine = Config::builder()
            .mode(Mode::Push)
            .fanout(2)
            .eager_push(false)
            .lifetime(Lifetime::Rounds(100))
            .period(Duration::from_secs(1))
            .build()
            .unwrap();
        let mut sim = Simulator::gossip(SimConfig::rounds(1, Duration::from_secs(1)), engine, 100, GroupId(1)).unwrap();
        let h = sim.multicast(Time::ZERO, 0, GroupId(1), Bytes::from_static(b"m")).unwrap();
        let out = sim.run();
        assert_eq!(out.stop, Stop::AllDelivered);
        let rec = sim.message(h).unwrap();
        assert_eq!(rec.holders, 100);
        assert_eq!(rec.duplicate_deliveries, 0);
        assert_eq!(rec.delivery(0).unwrap().1, 0);
        // Origin delivers at once; round 1 informs at most b = 2 more.
        assert!(rec.holders_by_round[0] <= 3);
        assert_eq!(rec.rounds_to_all(), Some(out.rounds));
    }
}
