//! Tree mode: a message goes down a spanning tree of its group once, and the
//! periodic pull repairs what lost edges missed; exactly once throughout.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::Net;
use gossip_core::{Config, Event, GroupId, Mode, Node, NodeId, Protocol, SharedMembers, SmallRng, Time};
use rand::{Rng, SeedableRng};

const G: GroupId = GroupId(11);

fn tree() -> Config {
    Config::builder().mode(Mode::Tree).build().expect("config")
}

fn shared(n: u32, config: &Config) -> Net {
    let mut list = SharedMembers::new();
    for i in 0..n {
        list.push(NodeId(u64::from(i) + 1), i, &[G]);
    }
    let list = Arc::new(list);
    let nodes = (0..n)
        .map(|i| {
            let rng = SmallRng::seed_from_u64(u64::from(i) + 5);
            let mut node = Node::with_shared_members(NodeId(u64::from(i) + 1), config.clone(), rng, list.clone());
            node.subscribe(Time::ZERO, G).expect("subscribe");
            node
        })
        .collect();
    Net::with_nodes(nodes)
}

fn duplicates(net: &Net) -> u64 {
    net.nodes.iter().map(|n| n.stats().duplicates).sum()
}

/// Without loss, one message reaches all 500 members before any round
/// runs, each copy once, in at most ⌈log_3 500⌉ + 1 hops.
#[test]
fn one_message_crosses_each_member_once() {
    let config = tree();
    let mut net = shared(500, &config);
    net.tick(Time::ZERO);
    net.flush();
    let id = net.multicast(7, G, Bytes::from_static(b"once"));
    let mut hops = 0;
    loop {
        net.collect();
        if net.in_flight.is_empty() {
            break;
        }
        let batch = std::mem::take(&mut net.in_flight);
        for p in batch {
            let node = &mut net.nodes[p.to as usize];
            node.handle_packet(net.now, p.from, p.bytes).expect("decodes");
            while let Some(event) = node.poll_event() {
                if let Event::Delivered(d) = event {
                    hops = hops.max(d.hops);
                    *net.delivered[p.to as usize].entry(d.id).or_default() += 1;
                }
            }
        }
    }
    assert!(net.delivered.iter().all(|d| d.get(&id) == Some(&1)));
    assert_eq!(duplicates(&net), 0);
    assert!(hops <= 6, "{hops} hops");
    let copies: u64 = net.nodes.iter().map(|n| n.stats().messages_sent).sum();
    assert_eq!(copies, 499);
}

/// Gossiped membership: once views are complete the tree holds, and every
/// member delivers each of a burst exactly once, with few duplicates.
#[test]
fn a_burst_over_gossiped_views_is_delivered_once_with_few_duplicates() {
    let config = tree();
    let mut net = Net::gossiped(40, &config, 9);
    net.subscribe_all(G);
    let period = config.period();
    net.rounds(period, 60);
    assert!(net.nodes.iter().all(|n| n.usage().members == 39));
    let before = duplicates(&net);
    for i in 0..100u32 {
        net.multicast((i % 40) as usize, G, Bytes::from(i.to_le_bytes().to_vec()));
    }
    net.rounds(period, 10);
    for (i, delivered) in net.delivered.iter().enumerate() {
        assert_eq!(delivered.len(), 100, "node {i}");
        assert!(delivered.values().all(|c| *c == 1), "node {i}");
    }
    let dups = duplicates(&net) - before;
    assert!(dups <= 100 * 40 / 10, "{dups} duplicates for 4,000 deliveries");
}

/// 30% loss on every packet: lost tree edges are repaired by pull, and
/// every member still delivers every message exactly once.
#[test]
fn pull_repairs_what_lost_edges_missed() {
    let config = tree();
    let mut net = shared(200, &config);
    let mut rng = SmallRng::seed_from_u64(3);
    for i in 0..50u32 {
        net.multicast((i * 7 % 200) as usize, G, Bytes::from(i.to_le_bytes().to_vec()));
    }
    let period = config.period();
    for _ in 0..60 {
        let now = net.now + period;
        net.tick(now);
        loop {
            net.collect();
            net.in_flight.retain(|_| rng.random::<f64>() >= 0.3);
            if net.in_flight.is_empty() {
                break;
            }
            let batch = std::mem::take(&mut net.in_flight);
            for p in batch {
                net.nodes[p.to as usize].handle_packet(net.now, p.from, p.bytes).expect("decodes");
            }
        }
    }
    net.collect();
    for (i, delivered) in net.delivered.iter().enumerate() {
        assert_eq!(delivered.len(), 50, "node {i}");
        assert!(delivered.values().all(|c| *c == 1), "node {i}");
    }
}

/// What one input brings goes down the tree together: ten multicasts
/// before the next poll leave the origin as one packet per child, and the
/// children relay them in one packet each too.
#[test]
fn multicasts_before_a_poll_share_packets_down_the_tree() {
    let config = tree();
    let mut net = shared(13, &config);
    net.tick(Time::ZERO);
    net.flush();
    let before: u64 = net.nodes.iter().map(|n| n.stats().packets_out).sum();
    let ids: Vec<_> = (0..10u8)
        .map(|i| {
            let payload = Bytes::from(vec![i; 64]);
            let id = net.nodes[0].multicast(Time::ZERO, G, payload.clone()).expect("multicast");
            net.sent.insert(id, payload);
            id
        })
        .collect();
    net.collect();
    // Arity 3: the root's three children, one packet each.
    assert_eq!(net.in_flight.len(), 3);
    net.flush();
    for delivered in &net.delivered[1..] {
        assert!(ids.iter().all(|id| delivered.get(id) == Some(&1)));
    }
    let packets = net.nodes.iter().map(|n| n.stats().packets_out).sum::<u64>() - before;
    // Thirteen members: the root and its three children send three packets
    // each, the other nine are leaves.
    assert_eq!(packets, 3 + 9, "packets in all");
    assert_eq!(duplicates(&net), 0);
}

/// A digest is an exchange in tree mode: a member whose digest shows it
/// holds what the receiver lacks gets the receiver's digest back, and so
/// the receiver is repaired without waiting for its own round.
#[test]
fn a_digest_that_shows_more_brings_a_digest_back_and_repairs_the_receiver() {
    let config = tree();
    let mut net = shared(2, &config);
    let id = net.nodes[0].multicast(Time::ZERO, G, Bytes::from_static(b"lost")).expect("multicast");
    // The eager copy is lost.
    while net.nodes[0].poll_transmit().is_some() {}
    // Node 0's round: its digest (listing its own stream) goes to node 1.
    let now = Time::ZERO + config.period();
    net.nodes[0].handle_timeout(now);
    let digest = net.nodes[0].poll_transmit().expect("a digest");
    assert!(net.nodes[0].poll_transmit().is_none());
    net.nodes[1].handle_packet(now, 0, digest.bytes).expect("decodes");
    // Node 1 has not run a round: what it sends is its reply digest.
    let reply = net.nodes[1].poll_transmit().expect("a reply digest");
    assert_eq!(reply.to, 0);
    net.nodes[0].handle_packet(now, 1, reply.bytes).expect("decodes");
    let answer = net.nodes[0].poll_transmit().expect("an answer");
    net.nodes[1].handle_packet(now, 0, answer.bytes).expect("decodes");
    let delivered: Vec<_> = std::iter::from_fn(|| net.nodes[1].poll_event())
        .filter_map(|e| match e {
            Event::Delivered(d) => Some(d.id),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, vec![id]);
    // A reply is never answered with another digest.
    assert!(net.nodes[1].poll_transmit().is_none());
    // Repaired by the exchange, node 1 no longer lacks anything: its next
    // round sends one digest (it has something new), not one to `b`.
    let before = net.nodes[1].stats().digests_sent;
    net.nodes[1].handle_timeout(now + config.period());
    assert_eq!(net.nodes[1].stats().digests_sent - before, 1);
}

/// An idle group costs little in tree mode: a member with nothing new and
/// nothing missing sends one digest every few rounds, not `b` a round.
#[test]
fn an_idle_member_sends_few_digests() {
    let config = tree();
    let mut net = shared(10, &config);
    let rounds = 100u64;
    for r in 0..rounds {
        net.tick(Time::ZERO + config.period() * r as u32);
        net.flush();
    }
    for node in &net.nodes {
        let digests = node.stats().digests_sent;
        assert!(digests <= rounds / 4, "{digests} digests in {rounds} rounds");
    }
}

/// A member that joins in the middle of a round is in the origin's tree
/// for the next message of that round: the origin rebuilds its stale rings
/// for the message instead of waiting for its next round (or for pull).
#[test]
fn a_member_joining_within_a_round_is_in_the_next_tree() {
    let config = tree();
    let mut net = Net::gossiped(20, &config, 4);
    net.subscribe_all(G);
    let period = config.period();
    net.rounds(period, 40);
    assert!(net.nodes.iter().all(|n| n.usage().members == 19));
    // A first message builds node 0's rings; a round later they are clean.
    net.multicast(0, G, Bytes::from_static(b"first"));
    net.flush();
    net.rounds(period, 1);
    // The newcomer's id sorts right after node 0's: rank 1 in node 0's
    // tree, a child of the root itself.
    let id = NodeId(net.nodes[0].id().0.wrapping_add(1));
    let mut newcomer = Node::new(id, config.clone(), SmallRng::seed_from_u64(77));
    newcomer.subscribe(net.now, G).expect("subscribe");
    newcomer.join(net.now, &[0]);
    net.nodes.push(newcomer);
    net.delivered.push(Default::default());
    net.downs.push(Vec::new());
    net.flush();
    assert_eq!(net.nodes[0].usage().members, 20, "node 0 knows the newcomer");
    // Still the same round: no tick before the message arrives.
    let second = net.multicast(0, G, Bytes::from_static(b"second"));
    net.flush();
    assert_eq!(net.delivered[20].get(&second), Some(&1), "down the tree at once, not by a later pull");
}
