//! Push gossip driven by hand in synchronous rounds (eager push off): the
//! periodic textbook model, checked against docs/theory.md.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::Net;
use gossip_core::{Config, GroupId, Mode, Node, NodeId, Protocol, SharedMembers, SmallRng, Time};
use rand::SeedableRng;

const N: usize = 100;

/// Rounds until all `N` members hold one message, push with b = 2.
fn rounds_to_everyone(seed: u64) -> u32 {
    let group = GroupId(1);
    let config = Config::builder().mode(Mode::Push).fanout(2).eager_push(false).build().unwrap();
    let mut list = SharedMembers::new();
    for i in 0..N as u32 {
        list.push(NodeId(u64::from(i) + 1), i, &[group]);
    }
    let list = Arc::new(list);
    let nodes = (0..N as u32)
        .map(|i| {
            let rng = SmallRng::seed_from_u64(seed * 1_000 + u64::from(i));
            let mut node = Node::with_shared_members(NodeId(u64::from(i) + 1), config.clone(), rng, list.clone());
            node.subscribe(Time::ZERO, group).unwrap();
            node
        })
        .collect();
    let mut net = Net::with_nodes(nodes);
    let id = net.multicast(0, group, Bytes::from_static(b"rumor"));
    assert!(net.in_flight.is_empty(), "eager push is off: nothing leaves before round 1");
    for round in 1..=60 {
        // Every node runs its round before any packet of the round arrives,
        // so a node informed in round r first sends in round r + 1.
        net.tick(Time::ZERO + config.period() * round);
        net.flush();
        let holders = net.delivered.iter().filter(|d| d.get(&id) == Some(&1)).count();
        if holders == N {
            assert!(net.delivered.iter().all(|d| d.values().all(|n| *n == 1)), "exactly once");
            return round;
        }
    }
    panic!("seed {seed}: not everyone was reached within 60 rounds");
}

#[test]
fn push_b2_reaches_all_100_members_in_the_reference_rounds() {
    let rounds: Vec<u32> = (0..20).map(rounds_to_everyone).collect();
    let mean = rounds.iter().sum::<u32>() as f64 / rounds.len() as f64;
    // docs/theory.md: push, b = 2, N = 100 → 7.4 rounds on average.
    println!("rounds per seed: {rounds:?}, mean {mean:.2} (reference 7.4)");
    assert!((mean - 7.4).abs() <= 1.5, "mean {mean} is not within 1.5 of 7.4");
}

#[test]
fn gossiped_membership_converges_and_push_pull_delivers_everywhere() {
    let group = GroupId::named("g");
    let config = Config::builder().fanout(3).build().unwrap();
    let mut net = Net::gossiped(30, &config, 7);
    for node in net.nodes.iter_mut() {
        node.subscribe(Time::ZERO, group).unwrap();
    }
    let mut now = Time::ZERO;
    for _ in 0..20 {
        net.tick(now);
        net.flush();
        now += config.period();
    }
    for node in &net.nodes {
        assert_eq!(
            node.group_size(group),
            29,
            "every node learned every other member: {:?}",
            net.nodes.iter().map(|n| (n.group_size(group), n.usage().members)).collect::<Vec<_>>()
        );
    }
    let ids: Vec<_> = (0..10).map(|i| net.multicast(i, group, Bytes::from(vec![i as u8; 64]))).collect();
    for _ in 0..10 {
        net.flush();
        net.tick(now);
        now += config.period();
    }
    for (i, delivered) in net.delivered.iter().enumerate() {
        for id in &ids {
            assert_eq!(delivered.get(id), Some(&1), "node {i} delivers {id} exactly once");
        }
    }
}
