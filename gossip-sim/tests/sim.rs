//! Simulator behaviour: reproducibility, scripted faults, records, stops.

use std::time::Duration;

use bytes::Bytes;
use gossip_core::{Config, GroupId, Lifetime, Mode, Time};
use gossip_sim::{FaultAction, Latency, LinkModel, Script};
use gossip_sim::{SimConfig, Simulator, Stop, Timing, textbook_engine};

const GROUP: GroupId = GroupId(3);
const PERIOD: Duration = Duration::from_millis(100);

fn engine(mode: Mode) -> Config {
    Config::lan().to_builder().mode(mode).fanout(3).period(PERIOD).retention(Duration::from_secs(60)).build().unwrap()
}

fn lossy_events(seed: u64) -> SimConfig {
    let mut config = SimConfig::events(seed, PERIOD);
    config.link = LinkModel::new()
        .with_loss(0.05)
        .unwrap()
        .with_latency(Latency::LogNormal { median: Duration::from_millis(5), sigma: 0.8 })
        .unwrap();
    config.max_rounds = 600;
    config
}

/// Packets, bytes, losses, and every node's first delivery.
type Fingerprint = (u64, u64, u64, Vec<Option<(Time, u32)>>);

/// A run's fingerprint: counters and every node's first delivery.
fn fingerprint(seed: u64) -> Fingerprint {
    let mut sim = Simulator::gossip(lossy_events(seed), engine(Mode::PushPull), 300, GROUP).unwrap();
    let msg = sim.multicast(Time::from_millis(250), 7, GROUP, Bytes::from_static(b"x")).unwrap();
    let out = sim.run();
    assert_eq!(out.stop, Stop::AllDelivered);
    let record = sim.message(msg).unwrap();
    let deliveries = (0..300).map(|i| record.delivery(i)).collect();
    let stats = sim.stats();
    (stats.packets_sent, stats.bytes_sent, stats.dropped_loss, deliveries)
}

#[test]
fn same_seed_same_run() {
    let a = fingerprint(11);
    assert_eq!(a, fingerprint(11));
    assert_ne!(a, fingerprint(12));
    assert!(a.2 > 0, "loss dropped something");
}

#[test]
fn scripted_crash_partition_heal_and_restart() {
    let n = 400u32;
    let mut sim = Simulator::gossip(lossy_events(5), engine(Mode::PushPull), n, GROUP).unwrap();
    let crashed: Vec<u32> = (0..n).filter(|i| i % 5 == 4).collect();
    let left: Vec<u32> = (0..n / 2).collect();
    let script = Script::new()
        .at(Time::from_millis(150), FaultAction::Crash(crashed.clone()))
        .at(Time::from_millis(1_000), FaultAction::Partition(vec![left.clone()]))
        .at(Time::from_millis(3_000), FaultAction::Heal)
        .at(Time::from_millis(3_500), FaultAction::Restart(crashed.clone()));
    sim.script(&script).unwrap();
    let before = sim.multicast(Time::from_millis(100), 0, GROUP, Bytes::from_static(b"before")).unwrap();
    let left_msg = sim.multicast(Time::from_millis(1_200), 1, GROUP, Bytes::from_static(b"left")).unwrap();
    let right_msg = sim.multicast(Time::from_millis(1_200), n - 2, GROUP, Bytes::from_static(b"right")).unwrap();
    // Mid-partition: each side's message stays on its side.
    let mid = sim.run_until(Time::from_millis(2_900));
    assert_eq!(mid.stop, Stop::TimeReached);
    let record = sim.message(left_msg).unwrap();
    assert!((n / 2..n).all(|i| !record.is_held_by(i)), "a message crossed the partition");
    assert!(sim.stats().dropped_partition > 0);
    let out = sim.run();
    assert_eq!(out.stop, Stop::AllDelivered, "{out:?}");
    for handle in [before, left_msg, right_msg] {
        let record = sim.message(handle).unwrap();
        assert_eq!(record.holders, n, "every node, restarted ones included, holds it");
        assert_eq!(record.duplicate_deliveries, 0);
    }
    // Restarted nodes that had the first message delivered it again in their new life.
    let record = sim.message(before).unwrap();
    assert!(record.redeliveries > 0);
    assert!(out.now > Time::from_millis(3_500));
}

#[test]
fn round_records_add_up() {
    let engine = textbook_engine(Mode::Push, 2, PERIOD).unwrap();
    let mut sim = Simulator::gossip(SimConfig::rounds(3, PERIOD), engine, 2_000, GROUP).unwrap();
    let msg = sim.multicast(Time::ZERO, 0, GROUP, Bytes::from_static(b"r")).unwrap();
    let out = sim.run();
    assert_eq!(out.stop, Stop::AllDelivered);
    let record = sim.message(msg).unwrap();
    assert_eq!(record.holders_by_round.len(), out.rounds as usize);
    assert!(record.holders_by_round.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(*record.holders_by_round.last().unwrap(), 2_000);
    let rounds = sim.rounds();
    assert_eq!(rounds.iter().map(|r| r.packets_sent).sum::<u64>(), sim.stats().packets_sent);
    assert_eq!(rounds.iter().map(|r| r.bytes_sent).sum::<u64>(), sim.stats().bytes_sent);
    // Round 1: only the origin pushes, to b = 2 targets.
    assert_eq!(rounds[0].packets_sent, 2);
    assert_eq!(record.hop_histogram().iter().sum::<u64>(), 2_000);
    assert_eq!(record.latencies().len(), 2_000);
    // Hop h is first reached no earlier than round h.
    for node in 0..2_000 {
        let (at, hops) = record.delivery(node).unwrap();
        assert!(at.as_micros() >= u64::from(hops) * PERIOD.as_micros() as u64, "node {node}");
    }
}

#[test]
fn a_short_lifetime_goes_quiet_before_everyone_hears() {
    let engine =
        textbook_engine(Mode::Push, 1, PERIOD).unwrap().to_builder().lifetime(Lifetime::Rounds(3)).build().unwrap();
    let mut sim = Simulator::gossip(SimConfig::rounds(1, PERIOD), engine, 5_000, GROUP).unwrap();
    let msg = sim.multicast(Time::ZERO, 0, GROUP, Bytes::from_static(b"q")).unwrap();
    let out = sim.run();
    assert_eq!(out.stop, Stop::Quiescent);
    assert!(sim.message(msg).unwrap().holders < 5_000);
    assert!(sim.message(msg).unwrap().completed.is_none());
}

#[test]
fn the_round_cap_holds_and_bad_requests_are_refused() {
    let engine = textbook_engine(Mode::Pull, 1, PERIOD).unwrap();
    let mut config = SimConfig::rounds(1, PERIOD);
    config.max_rounds = 4;
    let mut sim = Simulator::gossip(config, engine, 10_000, GROUP).unwrap();
    sim.multicast(Time::ZERO, 0, GROUP, Bytes::from_static(b"c")).unwrap();
    assert_eq!(sim.run().stop, Stop::RoundCap);
    assert_eq!(sim.rounds_done(), 4);
    assert!(sim.multicast(Time::ZERO, 0, GROUP, Bytes::new()).is_err(), "in the past");
    assert!(sim.multicast(Time::from_secs_f(10.0), 10_000, GROUP, Bytes::new()).is_err(), "no such node");
    assert!(sim.schedule(Time::from_millis(10_000), FaultAction::SetLoss(2.0)).is_err());
    let mut bad = SimConfig::rounds(1, Duration::ZERO);
    bad.timing = Timing::Rounds;
    assert!(Simulator::gossip(bad, textbook_engine(Mode::Push, 1, PERIOD).unwrap(), 3, GROUP).is_err());
}

/// The simulator tells requests from other packets by the class gossip's
/// node gives each transmit: digests are requests, pushes data, joins and
/// keep-alives membership.
#[test]
fn gossip_marks_what_each_transmit_is_for() {
    use gossip_core::{Node, NodeId, Protocol, SmallRng, TransmitKind};
    use gossip_sim::one_group;
    use rand::SeedableRng;

    let members = one_group(3, GROUP);
    let pull = textbook_engine(Mode::Pull, 1, PERIOD).unwrap();
    let mut node = Node::with_shared_members(NodeId(1), pull, SmallRng::seed_from_u64(1), members.clone()).at_index(0);
    node.subscribe(Time::ZERO, GROUP).unwrap();
    node.handle_timeout(Time::ZERO + PERIOD);
    let kinds: Vec<TransmitKind> = std::iter::from_fn(|| node.poll_transmit()).map(|t| t.kind).collect();
    assert_eq!(kinds, [TransmitKind::Request], "one pull digest");

    let push = textbook_engine(Mode::Push, 2, PERIOD).unwrap().to_builder().eager_push(true).build().unwrap();
    let mut node = Node::with_shared_members(NodeId(1), push, SmallRng::seed_from_u64(1), members).at_index(0);
    node.subscribe(Time::ZERO, GROUP).unwrap();
    node.multicast(Time::ZERO, GROUP, Bytes::from_static(b"d")).unwrap();
    let kinds: Vec<TransmitKind> = std::iter::from_fn(|| node.poll_transmit()).map(|t| t.kind).collect();
    assert!(!kinds.is_empty() && kinds.iter().all(|k| *k == TransmitKind::Data), "{kinds:?}");

    let mut node: Node<u32> = Node::new(NodeId(9), gossip_core::Config::lan(), SmallRng::seed_from_u64(9));
    node.join(Time::ZERO, &[0]);
    node.handle_timeout(Time::ZERO);
    let kinds: Vec<TransmitKind> = std::iter::from_fn(|| node.poll_transmit()).map(|t| t.kind).collect();
    assert!(!kinds.is_empty() && kinds.iter().all(|k| *k == TransmitKind::Membership), "{kinds:?}");
}

trait FromSecs {
    fn from_secs_f(secs: f64) -> Time;
}

impl FromSecs for Time {
    fn from_secs_f(secs: f64) -> Time {
        Time::from_duration(Duration::from_secs_f64(secs))
    }
}

/// Everything a run records, for comparing runs.
type Record =
    (gossip_sim::SimStats, Vec<gossip_sim::RoundRecord>, Option<gossip_sim::ViewRecord>, Vec<Vec<Option<(Time, u32)>>>);

/// 300 joining nodes on 1–4 ms links with 5% loss; crashes, a restart
/// and two multicasts; on `threads` threads.
fn joining_run(threads: usize) -> Record {
    let n = 300u32;
    let mut config = SimConfig::events(21, PERIOD);
    config.link = LinkModel::new()
        .with_loss(0.05)
        .unwrap()
        .with_latency(Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(4) })
        .unwrap();
    config.max_rounds = 120;
    config.threads = threads;
    let mut sim = Simulator::gossip_joining(config, engine(Mode::PushPull), n, GROUP, &[0, 1, 2]).unwrap();
    let script = Script::new()
        .at(Time::from_millis(3_000), FaultAction::Crash(vec![10, 150, 299]))
        .at(Time::from_millis(6_000), FaultAction::Restart(vec![150]));
    sim.script(&script).unwrap();
    let messages = [
        sim.multicast(Time::from_millis(2_000), 5, GROUP, Bytes::from_static(b"a")).unwrap(),
        sim.multicast(Time::from_millis(7_000), 200, GROUP, Bytes::from_static(b"b")).unwrap(),
    ];
    sim.run_until(Time::from_millis(12_000));
    let deliveries = messages.iter().map(|m| (0..n).map(|i| sim.message(*m).unwrap().delivery(i)).collect()).collect();
    (sim.stats().clone(), sim.rounds().to_vec(), sim.views().cloned(), deliveries)
}

#[test]
fn a_run_is_the_same_on_one_thread_and_on_several() {
    let one = joining_run(1);
    assert!(one.0.dropped_loss > 0 && one.0.deliveries > 0, "loss and deliveries happened");
    let views = one.2.as_ref().unwrap();
    assert!(views.ups > 0 && !views.crashes.is_empty(), "views were tracked");
    assert!(one.3.iter().all(|m| m.iter().filter(|d| d.is_some()).count() >= 290), "both messages spread");
    assert_eq!(one, joining_run(2));
    assert_eq!(one, joining_run(3));
}
