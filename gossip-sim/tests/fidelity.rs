//! Fidelity: in synchronous rounds the simulator reproduces the textbook
//! model, so mean rounds to inform all N = 1,000 nodes match docs/theory.md.

use std::time::Duration;

use bytes::Bytes;
use gossip_core::{GroupId, Mode, Time};
use gossip_sim::{SimConfig, Simulator, Stop, textbook_engine};

const N: u32 = 1_000;
const SEEDS: u64 = 100;
const PERIOD: Duration = Duration::from_secs(1);

/// Mean rounds until all N nodes hold one message, over `SEEDS` seeds.
fn mean_rounds(mode: Mode, fanout: u32) -> f64 {
    let group = GroupId(1);
    let engine = textbook_engine(mode, fanout, PERIOD).unwrap();
    let mut total = 0u64;
    for seed in 0..SEEDS {
        let config = SimConfig::rounds(seed, PERIOD);
        let mut sim = Simulator::gossip(config, engine.clone(), N, group).unwrap();
        let origin = (seed % u64::from(N)) as u32;
        let msg = sim.multicast(Time::ZERO, origin, group, Bytes::from_static(b"rumor")).unwrap();
        let outcome = sim.run();
        assert_eq!(outcome.stop, Stop::AllDelivered, "{mode:?} b={fanout} seed={seed}");
        let record = sim.message(msg).unwrap();
        assert_eq!(record.holders, N);
        assert_eq!(record.duplicate_deliveries, 0);
        total += u64::from(record.rounds_to_all().unwrap());
    }
    total as f64 / SEEDS as f64
}

fn check(mode: Mode, reference: &[(u32, f64)]) {
    let mut failures = Vec::new();
    for &(fanout, expected) in reference {
        let mean = mean_rounds(mode, fanout);
        println!("{mode:?} N={N} b={fanout}: mean {mean:.2} rounds, reference {expected:.1}");
        if (mean - expected).abs() > 0.5 {
            failures.push(format!("b={fanout}: {mean:.2} vs {expected:.1}"));
        }
    }
    assert!(failures.is_empty(), "{mode:?} outside 0.5 of docs/theory.md: {failures:?}");
}

#[test]
fn push_matches_the_reference_means() {
    // docs/theory.md, push, N = 1,000.
    check(Mode::Push, &[(1, 18.0), (2, 10.7), (3, 8.2), (4, 7.0), (6, 5.5)]);
}

#[test]
fn push_pull_matches_the_reference_means() {
    // docs/theory.md, push-pull, N = 1,000.
    check(Mode::PushPull, &[(1, 9.2), (2, 6.2), (3, 5.1), (4, 4.9), (6, 4.0)]);
}
