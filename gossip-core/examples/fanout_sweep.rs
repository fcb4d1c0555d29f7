//! 100 nodes in memory, driven by hand in virtual time: for each fan-out,
//! one message per run, push-pull, rounds until every member holds it and
//! packets sent per node. Run with `cargo run --release -p gossip-core
//! --example fanout_sweep`.

use std::sync::Arc;

use bytes::Bytes;
use gossip_core::{Config, Event, GroupId, Mode, Node, NodeId, Protocol, SharedMembers, SmallRng, Time};
use rand::SeedableRng;

const N: u32 = 100;
const SEEDS: u64 = 20;

/// Rounds until all members delivered, and packets sent per node.
fn run(mode: Mode, fanout: u32, seed: u64) -> (u64, f64) {
    let group = GroupId(1);
    let config = Config::builder().mode(mode).fanout(fanout).eager_push(false).build().expect("valid config");
    let mut list = SharedMembers::new();
    for i in 0..N {
        list.push(NodeId(u64::from(i) + 1), i, &[group]);
    }
    let list = Arc::new(list);
    let mut nodes: Vec<Node<u32>> = (0..N)
        .map(|i| {
            let rng = SmallRng::seed_from_u64(seed << 32 | u64::from(i));
            let mut node = Node::with_shared_members(NodeId(u64::from(i) + 1), config.clone(), rng, list.clone());
            node.subscribe(Time::ZERO, group).expect("within the group cap");
            node
        })
        .collect();
    nodes[0].multicast(Time::ZERO, group, Bytes::from_static(b"hello")).expect("payload fits");
    let mut holders = vec![false; N as usize];
    for round in 1..=100u64 {
        let now = Time::ZERO + config.period() * round as u32;
        for node in nodes.iter_mut() {
            node.handle_timeout(now);
        }
        // Deliver this round's packets (and the answers they trigger).
        loop {
            let mut in_flight = Vec::new();
            for (from, node) in nodes.iter_mut().enumerate() {
                while let Some(t) = node.poll_transmit() {
                    in_flight.push((from as u32, t));
                }
            }
            if in_flight.is_empty() {
                break;
            }
            for (from, t) in in_flight {
                let _ = nodes[t.to as usize].handle_packet(now, from, t.bytes);
            }
        }
        for (i, node) in nodes.iter_mut().enumerate() {
            while let Some(event) = node.poll_event() {
                if matches!(event, Event::Delivered(_)) {
                    holders[i] = true;
                }
            }
        }
        if holders.iter().all(|h| *h) {
            let packets: u64 = nodes.iter().map(|n| n.stats().packets_out).sum();
            return (round, packets as f64 / f64::from(N));
        }
    }
    (u64::MAX, f64::NAN)
}

fn main() {
    println!("{N} nodes, one message, synchronous rounds, mean of {SEEDS} seeds");
    println!("{:<10} {:>7} {:>14} {:>18}", "mode", "fan-out", "rounds to all", "packets per node");
    for mode in [Mode::Push, Mode::PushPull] {
        for fanout in [1, 2, 3, 4, 6] {
            let runs: Vec<(u64, f64)> = (0..SEEDS).map(|seed| run(mode, fanout, seed)).collect();
            let rounds = runs.iter().map(|r| r.0 as f64).sum::<f64>() / SEEDS as f64;
            let packets = runs.iter().map(|r| r.1).sum::<f64>() / SEEDS as f64;
            println!("{:<10} {:>7} {:>14.2} {:>18.1}", format!("{mode:?}"), fanout, rounds, packets);
        }
    }
}
