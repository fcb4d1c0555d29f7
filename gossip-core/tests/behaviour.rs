//! The engine's knobs and guarantees, one behaviour per test, on the
//! hand-driven network of `common`.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::Net;
use gossip_core::codec::{self, Frame};
use gossip_core::{
    Batching, Config, DownReason, GroupId, Lifetime, Mode, MulticastError, Node, NodeId, Order, Protocol,
    SharedMembers, SmallRng, Targets, Time,
};
use rand::SeedableRng;

const G: GroupId = GroupId(1);

/// `n` nodes on one shared list; `members` of them subscribed to `G`.
fn shared(n: u32, members: impl Fn(u32) -> bool, config: &Config) -> Net {
    let mut list = SharedMembers::new();
    for i in 0..n {
        let groups: &[GroupId] = if members(i) { &[G] } else { &[] };
        list.push(NodeId(u64::from(i) + 1), i, groups);
    }
    let list = Arc::new(list);
    let nodes = (0..n)
        .map(|i| {
            let rng = SmallRng::seed_from_u64(u64::from(i) + 99);
            let mut node = Node::with_shared_members(NodeId(u64::from(i) + 1), config.clone(), rng, list.clone());
            if members(i) {
                node.subscribe(Time::ZERO, G).unwrap();
            }
            node
        })
        .collect();
    Net::with_nodes(nodes)
}

fn message_frames(bytes: &Bytes) -> Vec<codec::MessageFrame> {
    codec::decode::<u32>(bytes)
        .unwrap()
        .frames
        .into_iter()
        .filter_map(|f| if let Frame::Message(m) = f { Some(m) } else { None })
        .collect()
}

fn all_delivered_once(net: &Net) {
    for id in net.sent.keys() {
        for i in 0..net.nodes.len() {
            let expected = u32::from(net.nodes[i].is_subscribed(id.group));
            assert_eq!(net.delivered[i].get(id).copied().unwrap_or(0), expected, "node {i}, message {id}");
        }
    }
}

#[test]
fn oversized_payloads_are_refused_and_the_largest_fits() {
    let config = Config::builder().max_packet_size(512).build().unwrap();
    let mut net = shared(4, |_| true, &config);
    let max = config.max_payload();
    let err = net.nodes[0].multicast(Time::ZERO, G, Bytes::from(vec![0; max + 1])).unwrap_err();
    assert_eq!(err, MulticastError::PayloadTooLarge { size: max + 1, max });
    net.multicast(0, G, Bytes::from(vec![0; max]));
    assert!(!net.in_flight.is_empty());
    assert!(net.in_flight.iter().all(|p| p.bytes.len() <= 512));
    net.rounds(config.period(), 10);
    all_delivered_once(&net);
}

#[test]
fn messages_larger_than_a_packet_travel_alone_by_push_and_by_pull() {
    for mode in [Mode::PushPull, Mode::Pull] {
        let config = Config::builder().mode(mode).max_message_size(100_000).max_buffer_bytes(1 << 20).build().unwrap();
        let mut net = shared(10, |_| true, &config);
        net.multicast(0, G, Bytes::from(vec![1; 100_000]));
        for i in 0..5 {
            net.multicast(1, G, Bytes::from(vec![2; 300 + i]));
        }
        let mut largest = 0;
        for _ in 0..30 {
            let now = net.now + config.period();
            net.tick(now);
            loop {
                net.collect();
                let Some(p) = net.in_flight.pop() else { break };
                if p.bytes.len() > config.max_packet_size() {
                    assert_eq!(message_frames(&p.bytes).len(), 1, "{mode:?}: a large message travels alone");
                }
                assert!(p.bytes.len() <= config.max_wire_size());
                largest = largest.max(p.bytes.len());
                net.nodes[p.to as usize].handle_packet(now, p.from, p.bytes).unwrap();
            }
        }
        assert!(largest > 100_000);
        all_delivered_once(&net);
    }
}

#[test]
fn a_non_member_reaches_the_group_in_every_mode() {
    for mode in [Mode::Push, Mode::Pull, Mode::PushPull] {
        let config = Config::builder().mode(mode).fanout(2).build().unwrap();
        let mut net = shared(20, |i| i != 0, &config);
        net.multicast(0, G, Bytes::from_static(b"from outside"));
        net.rounds(config.period(), 30);
        all_delivered_once(&net);
        assert!(net.delivered[0].is_empty(), "{mode:?}: the sender is no member");
    }
}

#[test]
fn a_non_member_keeps_sending_until_a_member_acknowledges() {
    let config = Config::builder().fanout(1).build().unwrap();
    let mut net = shared(2, |i| i == 0, &config);
    net.multicast(1, G, Bytes::from_static(b"handed over"));
    // The first three rounds' packets are all lost.
    for _ in 0..3 {
        net.in_flight.clear();
        let now = net.now + config.period();
        net.tick(now);
    }
    assert!(net.in_flight.iter().any(|p| p.from == 1 && !message_frames(&p.bytes).is_empty()), "still sending");
    net.rounds(config.period(), 3);
    all_delivered_once(&net);
    // Acknowledged: the sender is done with it.
    net.in_flight.clear();
    let now = net.now + config.period();
    net.tick(now);
    assert!(net.in_flight.iter().filter(|p| p.from == 1).all(|p| message_frames(&p.bytes).is_empty()));
}

#[test]
fn pull_alone_spreads_a_members_message() {
    let config = Config::builder().mode(Mode::Pull).fanout(1).build().unwrap();
    let mut net = shared(50, |_| true, &config);
    net.multicast(3, G, Bytes::from_static(b"pulled"));
    assert!(net.in_flight.is_empty(), "pull mode does not push a member's message");
    net.rounds(config.period(), 40);
    all_delivered_once(&net);
    assert_eq!(net.nodes.iter().map(|n| n.stats().digests_sent).min(), Some(40));
}

#[test]
fn demers_counter_stops_pushing_after_k_redundant_pushes() {
    let config = Config::builder().mode(Mode::Push).fanout(1).eager_push(false).lifetime(Lifetime::Counter(2));
    let config = config.build().unwrap();
    let mut net = shared(8, |_| true, &config);
    net.multicast(0, G, Bytes::from_static(b"counted"));
    net.rounds(config.period(), 60);
    let sent = |net: &Net| net.nodes.iter().map(|n| n.stats().messages_sent).sum::<u64>();
    let before = sent(&net);
    net.rounds(config.period(), 20);
    assert_eq!(sent(&net), before, "every node stopped after its k-th redundant push");
    // Each node pushes until 2 of its pushes hit informed nodes: a few
    // pushes per node, not one per round for 60 rounds.
    assert!(before < 8 * 10, "{before} pushes");
}

#[test]
fn single_batching_sends_one_message_per_packet_and_packed_fills_packets() {
    for (batching, max_per_packet) in [(Batching::Single, 1), (Batching::Packed, usize::MAX)] {
        let config = Config::builder().mode(Mode::Push).eager_push(false).fanout(1).batching(batching).build().unwrap();
        let mut net = shared(2, |_| true, &config);
        for i in 0..10u8 {
            net.multicast(0, G, Bytes::from(vec![i; 64]));
        }
        net.tick(Time::ZERO + config.period());
        let counts: Vec<usize> = net.in_flight.iter().map(|p| message_frames(&p.bytes).len()).collect();
        assert_eq!(counts.iter().sum::<usize>(), 10, "{batching:?}");
        assert!(counts.iter().all(|c| *c <= max_per_packet));
        if batching == Batching::Packed {
            assert_eq!(counts, vec![10], "ten 64-byte messages fit one packet");
        }
    }
}

#[test]
fn order_decides_what_goes_first() {
    let base = Config::builder().mode(Mode::Push).eager_push(false).fanout(1).max_packet_size(512);
    // The payload byte of the first message sent under each order.
    for (order, expected) in [(Order::Fifo, 0), (Order::NewestFirst, 19), (Order::Priority, 2)] {
        let config = base.clone().order(order).build().unwrap();
        let mut net = shared(2, |_| true, &config);
        for i in 0..20u8 {
            // Priorities 0, 1, 2, 0, 1, 2, …: the highest first appears at i = 2.
            let id = net.nodes[0].multicast_with_priority(Time::ZERO, G, Bytes::from(vec![i; 100]), i % 3).unwrap();
            net.sent.insert(id, Bytes::from(vec![i; 100]));
        }
        net.collect();
        net.tick(Time::ZERO + config.period());
        let first = &message_frames(&net.in_flight[0].bytes)[0];
        assert_eq!(first.payload[0], expected, "{order:?}");
    }
}

#[test]
fn targets_without_replacement_are_distinct() {
    let config = Config::builder()
        .mode(Mode::Push)
        .eager_push(false)
        .fanout(5)
        .targets(Targets::WithoutReplacement)
        .build()
        .unwrap();
    let mut net = shared(6, |_| true, &config);
    net.multicast(0, G, Bytes::from_static(b"x"));
    for round in 1..=20u32 {
        net.in_flight.clear();
        net.tick(Time::ZERO + config.period() * round);
        let from_0: Vec<u32> = net.in_flight.iter().filter(|p| p.from == 0).map(|p| p.to).collect();
        if from_0.is_empty() {
            break;
        }
        let distinct: BTreeSet<u32> = from_0.iter().copied().collect();
        assert_eq!(distinct.len(), from_0.len(), "round {round}: {from_0:?}");
        assert!(!distinct.contains(&0), "never itself");
        assert_eq!(distinct.len(), 5, "all five others");
    }
}

#[test]
fn duplicates_are_counted_and_never_delivered_twice() {
    let config = Config::builder().mode(Mode::Push).build().unwrap();
    let mut net = shared(2, |_| true, &config);
    net.multicast(0, G, Bytes::from_static(b"once"));
    let packet = net.in_flight[0].clone();
    for _ in 0..3 {
        net.in_flight.push(packet.clone());
    }
    net.flush();
    assert_eq!(net.nodes[1].stats().deliveries, 1);
    assert!(net.nodes[1].stats().duplicates >= 2);
    all_delivered_once(&net);
}

#[test]
fn caps_drop_and_count() {
    let config = Config::builder().mode(Mode::Push).max_streams(1).max_transmits(1).build().unwrap();
    let mut net = shared(3, |_| true, &config);
    net.multicast(0, G, Bytes::from_static(b"a"));
    net.multicast(1, G, Bytes::from_static(b"b"));
    net.flush();
    let stats = net.nodes[2].stats();
    // The stream table holds one: the second origin evicts the first (its
    // floor stays), and both messages are delivered.
    assert!(stats.drops.streams_evicted >= 1, "{stats:?}");
    assert_eq!(stats.deliveries, 2, "{stats:?}");
    assert_eq!((net.nodes[2].usage().streams, net.nodes[2].usage().stream_floors), (1, 1));
    // One transmit may wait; a round that wants to send more drops the rest.
    let mut node = Node::with_shared_members(
        NodeId(1),
        Config::builder().max_transmits(1).fanout(3).build().unwrap(),
        SmallRng::seed_from_u64(1),
        Arc::new({
            let mut l = SharedMembers::new();
            for i in 0..5u32 {
                l.push(NodeId(u64::from(i) + 1), i, &[G]);
            }
            l
        }),
    );
    node.multicast(Time::ZERO, G, Bytes::from_static(b"c")).unwrap();
    assert_eq!(node.usage().queued_transmits, 1);
    assert!(node.stats().drops.transmit_queue_full >= 1);
}

#[test]
fn leaving_is_announced_and_ends_sending() {
    let config = Config::builder().fanout(3).build().unwrap();
    let mut net = Net::gossiped(6, &config, 1);
    let mut now = Time::ZERO;
    for _ in 0..20 {
        net.tick(now);
        net.flush();
        now += config.period();
    }
    let leaver = net.nodes[5].id();
    net.nodes[5].leave(now);
    assert_eq!(net.nodes[5].multicast(now, G, Bytes::new()), Err(MulticastError::Left));
    assert_eq!(net.nodes[5].poll_timeout(), None);
    for _ in 0..30 {
        net.tick(now);
        net.flush();
        now += config.period();
    }
    for (i, seen) in net.downs.iter().enumerate().take(5) {
        assert_eq!(seen, &vec![(leaver, DownReason::Left)], "node {i}");
    }
}

#[test]
fn a_silent_member_times_out() {
    let config = Config::builder()
        .fanout(2)
        .probe_interval(Duration::from_millis(200))
        .probe_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let mut net = Net::gossiped(4, &config, 2);
    let mut now = Time::ZERO;
    for _ in 0..10 {
        net.tick(now);
        net.flush();
        now += config.period();
    }
    let crashed = net.nodes[3].id();
    for _ in 0..60 {
        net.tick(now);
        // Node 3 has crashed: nothing reaches it and it sends nothing.
        net.in_flight.retain(|p| p.from != 3 && p.to != 3);
        loop {
            net.in_flight.retain(|p| p.from != 3 && p.to != 3);
            if net.in_flight.is_empty() {
                break;
            }
            net.deliver(0);
            net.collect();
        }
        now += config.period();
    }
    for seen in &net.downs[..3] {
        assert_eq!(seen, &vec![(crashed, DownReason::Failed)]);
    }
}
