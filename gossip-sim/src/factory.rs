//! Node factories: what a factory is told about each node it builds, the
//! ids and member lists the gossip helpers use, and the textbook engine.

use std::sync::Arc;
use std::time::Duration;

use gossip_core::{
    Config, ConfigError, GroupId, Lifetime, Mode, Node, NodeId, Protocol, SharedMembers, SmallRng, SubscribeFrom,
    Targets, Time,
};
use rand::SeedableRng;

/// What a node factory is told about the node to build.
#[derive(Debug)]
pub struct Spawn<'a> {
    /// The node's index, which is also its address.
    pub index: u32,
    /// 0 for the first start, then one more at every restart.
    pub incarnation: u32,
    /// The virtual time it starts at.
    pub now: Time,
    /// A seed for its generator, derived from the simulation seed, the index
    /// and the incarnation.
    pub seed: u64,
    /// The shared member list.
    pub members: &'a Arc<SharedMembers<u32>>,
}

/// A node factory.
pub type Factory<P> = Box<dyn FnMut(&Spawn<'_>) -> P>;

/// The id the gossip helpers give node `index` in `incarnation`: unique
/// per start, so a restarted node never reuses sequence numbers.
pub fn node_id(index: u32, incarnation: u32) -> NodeId {
    NodeId((u64::from(incarnation) << 32) | (u64::from(index) + 1))
}

/// A member list of `n` nodes (`0..n`, ids from [`node_id`]) that all belong
/// to `group`.
pub fn one_group(n: u32, group: GroupId) -> Arc<SharedMembers<u32>> {
    let mut list = SharedMembers::new();
    for i in 0..n {
        list.push(node_id(i, 0), i, &[group]);
    }
    Arc::new(list)
}

/// A factory of gossip-core nodes on the shared list with `config`: node
/// `index` subscribes to those of `groups` whose shared member list holds it,
/// with [`SubscribeFrom::Buffered`]: a node that starts late or restarts
/// catches up on what others still buffer, which is what the simulator's
/// records (every node holds every message) measure.
///
/// A restarted node gets a new id ([`node_id`]) that the read-only shared
/// list does not know, so it may (rarely, with probability about
/// `fanout/n` per round) draw itself as a target; it ignores its own packets.
pub fn gossip_factory(config: Config, groups: Vec<GroupId>) -> Factory<Node<u32>> {
    // One config for all nodes: a million copies would cost 176 MB.
    let config = Arc::new(config);
    Box::new(move |spawn: &Spawn<'_>| {
        let rng = SmallRng::seed_from_u64(spawn.seed);
        let id = node_id(spawn.index, spawn.incarnation);
        // A restarted node has an id the shared list does not hold: tell
        // it its own entry so that it never draws itself.
        let mut node = Node::with_shared_members(id, config.clone(), rng, spawn.members.clone()).at_index(spawn.index);
        for &group in &groups {
            if spawn.members.group(group).binary_search(&spawn.index).is_ok() {
                // Cannot fail below the max_groups cap; extra groups are skipped.
                let _ = node.subscribe_from(spawn.now, group, SubscribeFrom::Buffered);
            }
        }
        node
    })
}

/// A factory of gossip-core nodes with gossiped membership: each node
/// learns the others through the protocol, starting from `seeds` (node
/// indices), not from the shared list (which only names the nodes for the
/// simulator's records). Node `index` subscribes to `groups` and joins
/// through every seed but itself when it starts, and again after every
/// restart, with a new id ([`node_id`]); it subscribes with
/// [`SubscribeFrom::Buffered`], as on the shared list.
pub fn joining_factory(config: Config, groups: Vec<GroupId>, seeds: Vec<u32>) -> Factory<Node<u32>> {
    let config = Arc::new(config);
    Box::new(move |spawn: &Spawn<'_>| {
        let rng = SmallRng::seed_from_u64(spawn.seed);
        let mut node = Node::new(node_id(spawn.index, spawn.incarnation), config.clone(), rng);
        for &group in &groups {
            // Cannot fail below the max_groups cap; extra groups are skipped.
            let _ = node.subscribe_from(spawn.now, group, SubscribeFrom::Buffered);
        }
        let others: Vec<u32> = seeds.iter().copied().filter(|&seed| seed != spawn.index).collect();
        node.join(spawn.now, &others);
        node
    })
}

/// The engine config of the textbook synchronous model: `mode`, fan-out
/// `fanout` with replacement, no eager push (a node informed in round `r`
/// first sends in round `r + 1`), rumors pushed for 10,000 rounds (so the
/// lifetime never cuts dissemination short) and buffered as long, so pulls
/// can always be answered.
pub fn textbook_engine(mode: Mode, fanout: u32, period: Duration) -> Result<Config, ConfigError> {
    Config::builder()
        .mode(mode)
        .fanout(fanout)
        .period(period)
        .targets(Targets::WithReplacement)
        .eager_push(false)
        .lifetime(Lifetime::Rounds(10_000))
        .retention(period.saturating_mul(10_000))
        .dedup_window(64)
        .build()
}

pub(crate) fn mix(mut x: u64) -> u64 {
    // splitmix64
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

pub(crate) fn node_seed(seed: u64, index: u32, incarnation: u32) -> u64 {
    mix(mix(seed) ^ ((u64::from(incarnation) << 32) | u64::from(index)))
}
