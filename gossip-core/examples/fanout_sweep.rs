//! Nodes in memory, driven by hand in virtual time: for each mode and
//! fan-out, one message per run, rounds until every member holds it and
//! packets sent per node. Run with `cargo run --release -p gossip-core
//! --example fanout_sweep -- [--nodes 100] [--seeds 20] [--max-rounds 100]`.

use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use clap::Parser;
use gossip_core::{Config, Event, GroupId, Mode, Node, NodeId, Protocol, SharedMembers, SmallRng, Time};
use rand::SeedableRng;

/// Rounds until every member holds one message, and packets per node, for
/// push and push-pull at fan-outs 1, 2, 3, 4 and 6.
#[derive(Debug, Parser)]
#[command(name = "fanout_sweep")]
struct Args {
    /// Nodes in the group (2 to 100,000).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(2..=100_000))]
    nodes: u32,
    /// Runs per cell, seeds 0..K (1 to 1,000).
    #[arg(long, value_name = "K", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    seeds: u64,
    /// Rounds after which a run that has not reached every member counts
    /// as incomplete (1 to 10,000).
    #[arg(long, value_name = "R", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    max_rounds: u64,
}

/// Rounds until all members delivered and packets sent per node, or
/// `None` if some member still lacked it after `max_rounds`.
fn run(args: &Args, mode: Mode, fanout: u32, seed: u64) -> Option<(u64, f64)> {
    let n = args.nodes;
    let group = GroupId(1);
    let config = Config::builder().mode(mode).fanout(fanout).eager_push(false).build().expect("valid config");
    let mut list = SharedMembers::new();
    for i in 0..n {
        list.push(NodeId(u64::from(i) + 1), i, &[group]);
    }
    let list = Arc::new(list);
    let mut nodes: Vec<Node<u32>> = (0..n)
        .map(|i| {
            let rng = SmallRng::seed_from_u64(seed << 32 | u64::from(i));
            let mut node = Node::with_shared_members(NodeId(u64::from(i) + 1), config.clone(), rng, list.clone());
            node.subscribe(Time::ZERO, group).expect("within the group cap");
            node
        })
        .collect();
    nodes[0].multicast(Time::ZERO, group, Bytes::from_static(b"hello")).expect("payload fits");
    let mut holders = vec![false; n as usize];
    for round in 1..=args.max_rounds {
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
            return Some((round, packets as f64 / f64::from(n)));
        }
    }
    None
}

fn main() -> ExitCode {
    let args = Args::parse();
    println!("{} nodes, one message, synchronous rounds, mean of {} seeds", args.nodes, args.seeds);
    println!("{:<10} {:>7} {:>14} {:>18} {:>10}", "mode", "fan-out", "rounds to all", "packets per node", "complete");
    let mut all_complete = true;
    for mode in [Mode::Push, Mode::PushPull] {
        for fanout in [1, 2, 3, 4, 6] {
            let runs: Vec<(u64, f64)> = (0..args.seeds).filter_map(|seed| run(&args, mode, fanout, seed)).collect();
            all_complete &= runs.len() as u64 == args.seeds;
            let count = runs.len().max(1) as f64;
            let rounds = runs.iter().map(|r| r.0 as f64).sum::<f64>() / count;
            let packets = runs.iter().map(|r| r.1).sum::<f64>() / count;
            let complete = format!("{}/{}", runs.len(), args.seeds);
            println!("{:<10} {:>7} {:>14.2} {:>18.1} {:>10}", format!("{mode:?}"), fanout, rounds, packets, complete);
        }
    }
    if all_complete {
        ExitCode::SUCCESS
    } else {
        eprintln!("fanout_sweep: some runs did not reach every member within {} rounds", args.max_rounds);
        ExitCode::FAILURE
    }
}
