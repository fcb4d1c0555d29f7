//! The baselines in transport-mem's simulator: delivery without faults,
//! the tree's lost subtree under an interior crash, SRM and RMTP repair
//! under 10% loss.

use std::sync::Arc;
use std::time::Duration;

use baselines::{BaselineConfig, Rmtp, Seat, Srm, Tree, Unicast, tree_children};
use bytes::Bytes;
use gossip_core::{GroupId, Protocol, ProtocolStats, SmallRng, Time};
use gossip_sim::{Factory, SimConfig, Simulator, Spawn, Stop, Timing, node_id, one_group};
use gossip_sim::{FaultAction, Latency, LinkModel};
use rand::SeedableRng;

const GROUP: GroupId = GroupId(9);

type Build<P> = fn(Seat<u32>) -> P;

fn factory<P: Protocol<Address = u32> + Send + 'static>(build: Build<P>, config: BaselineConfig) -> Factory<P> {
    let config = Arc::new(config);
    Box::new(move |spawn: &Spawn<'_>| {
        let mut node = build(Seat {
            id: node_id(spawn.index, spawn.incarnation),
            index: spawn.index,
            members: spawn.members.clone(),
            config: config.clone(),
            rng: SmallRng::seed_from_u64(spawn.seed),
        });
        node.subscribe(spawn.now, GROUP).expect("one group");
        node
    })
}

fn sim<P: Protocol<Address = u32> + Send + 'static>(build: Build<P>, n: u32, loss: f64, seed: u64) -> Simulator<P> {
    let mut config = SimConfig::events(seed, Duration::from_secs(1));
    config.timing = Timing::Events { start_jitter: false };
    config.link = LinkModel::new()
        .with_loss(loss)
        .unwrap()
        .with_latency(Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(5) })
        .unwrap();
    config.max_rounds = 60;
    Simulator::new(config, one_group(n, GROUP), factory(build, BaselineConfig::default())).unwrap()
}

/// Sends `messages` multicasts from `origin`, runs, and returns the nodes
/// (live ones) that did not deliver each message.
fn run<P: Protocol<Address = u32> + Send + 'static>(
    sim: &mut Simulator<P>,
    origin: u32,
    messages: u32,
) -> Vec<Vec<u32>> {
    let handles: Vec<_> = (0..messages)
        .map(|m| {
            let at = Time::from_millis(u64::from(m) * 3);
            sim.multicast(at, origin, GROUP, Bytes::from(vec![m as u8; 32])).unwrap()
        })
        .collect();
    let outcome = sim.run();
    assert_ne!(outcome.stop, Stop::RoundCap, "{outcome:?}");
    handles
        .iter()
        .map(|h| {
            let record = sim.message(*h).unwrap();
            assert_eq!(record.duplicate_deliveries, 0, "exactly once");
            (0..sim.len() as u32).filter(|&i| sim.node(i).is_some() && record.delivery(i).is_none()).collect()
        })
        .collect()
}

fn delivers_everything<P: Protocol<Address = u32> + Send + 'static>(build: Build<P>) {
    let n = 300;
    let mut sim = sim(build, n, 0.0, 7);
    let missing = run(&mut sim, 17, 5);
    assert!(missing.iter().all(Vec::is_empty), "{missing:?}");
    for i in 0..n {
        let node = sim.node(i).unwrap();
        assert_eq!(node.stats().common().deliveries, 5, "node {i}");
    }
}

#[test]
fn unicast_delivers_to_all() {
    delivers_everything::<Unicast<u32>>(Unicast::new);
}

#[test]
fn tree_delivers_to_all() {
    delivers_everything::<Tree<u32>>(Tree::new);
}

#[test]
fn srm_delivers_to_all() {
    delivers_everything::<Srm<u32>>(Srm::new);
}

#[test]
fn rmtp_delivers_to_all() {
    delivers_everything::<Rmtp<u32>>(Rmtp::new);
}

fn subtree(list: &[u32], root: u32, of: u32, k: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut stack = tree_children(list, root, of, k);
    while let Some(node) = stack.pop() {
        out.push(node);
        stack.extend(tree_children(list, root, node, k));
    }
    out
}

#[test]
fn tree_loses_exactly_the_subtree_of_a_crashed_interior_node() {
    let n = 200;
    let k = BaselineConfig::default().k;
    let list: Vec<u32> = (0..n).collect();
    let origin = 10;
    // The origin's first child: an interior node with a large subtree.
    let crashed = tree_children(&list, origin, origin, k)[0];
    let lost = subtree(&list, origin, crashed, k);
    assert!(lost.len() > 20, "a big subtree: {}", lost.len());

    let mut sim = sim::<Tree<u32>>(Tree::new, n, 0.0, 3);
    sim.schedule(Time::ZERO, FaultAction::Crash(vec![crashed])).unwrap();
    let missing = run(&mut sim, origin, 1);
    let mut expected = lost.clone();
    expected.sort_unstable();
    assert_eq!(missing[0], expected, "exactly the crashed node's descendants miss it");
}

#[test]
fn rmtp_serves_the_subtree_of_a_crashed_interior_node() {
    let n = 200;
    let k = BaselineConfig::default().k;
    let list: Vec<u32> = (0..n).collect();
    let origin = 10;
    let crashed = tree_children(&list, origin, origin, k)[0];
    let mut sim = sim::<Rmtp<u32>>(Rmtp::new, n, 0.0, 3);
    sim.schedule(Time::ZERO, FaultAction::Crash(vec![crashed])).unwrap();
    let missing = run(&mut sim, origin, 2);
    assert!(missing.iter().all(Vec::is_empty), "{missing:?}");
}

/// Every live member delivers every message under 10% loss, for three seeds.
fn recovers_from_ten_percent_loss<P: Protocol<Address = u32> + Send + 'static>(build: Build<P>) {
    for seed in 1..=3 {
        let mut sim = sim(build, 300, 0.1, seed);
        let missing = run(&mut sim, 5, 4);
        assert!(missing.iter().all(Vec::is_empty), "seed {seed}: {missing:?}");
    }
}

#[test]
fn srm_recovers_from_ten_percent_loss() {
    recovers_from_ten_percent_loss::<Srm<u32>>(Srm::new);
}

#[test]
fn rmtp_recovers_from_ten_percent_loss() {
    recovers_from_ten_percent_loss::<Rmtp<u32>>(Rmtp::new);
}

#[test]
fn the_plain_tree_does_not_recover_from_loss() {
    let mut sim = sim::<Tree<u32>>(Tree::new, 300, 0.1, 1);
    let missing = run(&mut sim, 5, 4);
    assert!(missing.iter().all(|m| !m.is_empty()), "10% loss cuts off subtrees: {missing:?}");
}
