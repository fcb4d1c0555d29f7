//! Gossiped membership in the simulator: nodes learn each other through
//! the protocol after joining through three seeds, and the simulator
//! follows every node's view from its membership events.

use std::time::Duration;

use gossip_core::{Config, GroupId, Time};
use gossip_sim::{FaultAction, Latency, LinkModel, SimConfig, Simulator};

const GROUP: GroupId = GroupId(1);
const SEEDS: [u32; 3] = [0, 1, 2];

fn events(seed: u64, period: Duration) -> SimConfig {
    let mut config = SimConfig::events(seed, period);
    config.link = LinkModel::new().with_latency(Latency::Fixed(Duration::from_millis(1))).unwrap();
    config.max_rounds = 10_000;
    config
}

#[test]
fn a_thousand_nodes_joining_through_three_seeds_reach_complete_views() {
    let engine = Config::lan();
    let period = engine.period();
    let mut sim = Simulator::gossip_joining(events(11, period), engine, 1_000, GROUP, &SEEDS).unwrap();
    sim.run_until(Time::ZERO + period * 300);
    let views = sim.views().unwrap();
    let last = views.complete_by_round.last().copied();
    assert_eq!(views.first_all_complete.map(|_| ()), Some(()), "complete views at the end: {last:?} of 1000");
    assert_eq!(views.false_deaths, 0);
}
