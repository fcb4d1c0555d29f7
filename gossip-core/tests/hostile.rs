//! Hostile and edge-case input: replays after silence, forged frames with
//! extreme numbers, floods of fake origins, digests from strangers, and the
//! edges of subscribing, each checked for "exactly once, and nothing else".

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::Net;
use gossip_core::codec::{DigestFrame, Header, MessageFrame, PacketWriter};
use gossip_core::{
    Config, Event, Gap, GapReason, GroupId, MessageId, Mode, Node, NodeId, Protocol, SharedMembers, SmallRng,
    SubscribeFrom, Time,
};
use rand::SeedableRng;

const G: GroupId = GroupId(7);

/// A node on a shared list of `n` members (addresses 0..n), in group `G`.
fn shared_node(index: u32, n: u32, config: &Config) -> Node<u32> {
    let mut members = SharedMembers::new();
    for a in 0..n {
        members.push(NodeId(u64::from(a) + 1), a, &[G]);
    }
    let members = std::sync::Arc::new(members);
    let mut node = Node::with_shared_members(
        NodeId(u64::from(index) + 1),
        config.clone(),
        SmallRng::seed_from_u64(u64::from(index)),
        members,
    )
    .at_index(index);
    node.subscribe(Time::ZERO, G).expect("subscribe");
    node
}

fn message(origin: u64, seq: u64, age: u32) -> MessageFrame {
    MessageFrame {
        id: MessageId { group: G, origin: NodeId(origin), seq },
        age,
        hops: 0,
        priority: 0,
        feedback: false,
        ack: false,
        payload: Bytes::from(format!("{origin}/{seq}")),
    }
}

/// A packet from `sender` holding `frames`.
fn packet(sender: u64, frames: &[MessageFrame]) -> Bytes {
    let mut writer = PacketWriter::new(1200, Header { sender: NodeId(sender), incarnation: 0 });
    for frame in frames {
        assert!(writer.push_message(frame));
    }
    writer.finish()
}

fn deliveries(node: &mut Node<u32>) -> Vec<MessageId> {
    std::iter::from_fn(|| node.poll_event())
        .filter_map(|e| match e {
            Event::Delivered(d) => Some(d.id),
            _ => None,
        })
        .collect()
}

fn gaps(events: &[Event<u32>]) -> Vec<Gap> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Gap(gap) => Some(*gap),
            _ => None,
        })
        .collect()
}

/// Captured packets re-sent after the receiver forgot the stream as idle
/// deliver nothing: the stream's floor outlives the stream.
#[test]
fn a_replay_after_the_idle_timeout_delivers_nothing() {
    let config = Config::builder().mode(Mode::Push).build().expect("config");
    let mut node = shared_node(1, 3, &config);
    let captured = packet(9, &[message(9, 1, 0), message(9, 2, 0), message(9, 3, 0)]);
    node.handle_packet(Time::ZERO, 2, captured.clone()).expect("decodes");
    assert_eq!(deliveries(&mut node).len(), 3);
    // Rounds pass until the idle stream is no longer tracked.
    let period = config.period();
    let mut now = Time::ZERO;
    for _ in 0..3_000 {
        now += period;
        node.handle_timeout(now);
        while node.poll_transmit().is_some() {}
        if node.usage().streams == 0 {
            break;
        }
    }
    assert_eq!((node.usage().streams, node.usage().stream_floors), (0, 1));
    node.handle_packet(now, 2, captured).expect("decodes");
    assert_eq!(deliveries(&mut node), vec![]);
    assert_eq!(node.stats().drops.stale, 3);
    // The origin's next message is delivered as usual.
    node.handle_packet(now, 2, packet(9, &[message(9, 4, 0)])).expect("decodes");
    assert_eq!(deliveries(&mut node).len(), 1);
}

/// `seq = u64::MAX` cannot move a stream's window to the top of the range,
/// and the 36-byte packet of two such frames that used to overflow a
/// counter is harmless.
#[test]
fn an_extreme_sequence_number_is_refused_and_the_stream_goes_on() {
    let config = Config::builder().mode(Mode::Push).build().expect("config");
    let mut node = shared_node(1, 3, &config);
    let poison = packet(5, &[message(5, u64::MAX, 0), message(6, u64::MAX, 0)]);
    node.handle_packet(Time::ZERO, 2, poison).expect("decodes");
    node.handle_packet(Time::ZERO, 2, packet(5, &[message(5, 1, 0)])).expect("decodes");
    let got = deliveries(&mut node);
    assert_eq!(got, vec![MessageId { group: G, origin: NodeId(5), seq: 1 }]);
    assert_eq!(node.stats().drops.out_of_range, 2);
    // A relayed copy may not jump far past what the stream has seen; the
    // origin's own copy may.
    let far = 1 + 64 * 1_024 + 1;
    node.handle_packet(Time::ZERO, 2, packet(8, &[message(5, far, 0)])).expect("decodes");
    assert_eq!(deliveries(&mut node), vec![]);
    node.handle_packet(Time::ZERO, 2, packet(5, &[message(5, far, 0)])).expect("decodes");
    assert_eq!(deliveries(&mut node).len(), 1);
}

/// A legitimate origin that starts during a flood of 100,000 fake origins
/// gets every message delivered: the stream table evicts the stream
/// delivered to least recently, so a flood cannot lock newcomers out.
#[test]
fn a_flood_of_fake_origins_does_not_lock_out_a_new_origin() {
    let config = Config::builder().mode(Mode::Push).build().expect("config");
    let mut node = shared_node(1, 3, &config);
    let mut delivered = 0;
    for fake in 0..100_000u64 {
        let mut frames = vec![message(1_000_000 + fake, 1, 0)];
        if fake >= 50_000 && fake % 100 == 0 {
            frames.push(message(42, (fake - 50_000) / 100 + 1, 0));
        }
        node.handle_packet(Time::ZERO, 2, packet(3, &frames)).expect("decodes");
        while node.poll_transmit().is_some() {}
        delivered += deliveries(&mut node).iter().filter(|id| id.origin == NodeId(42)).count();
        while node.poll_event().is_some() {}
    }
    assert_eq!(delivered, 500);
    let usage = node.usage();
    assert!(usage.streams <= 4_096 && usage.stream_floors <= 65_536, "{usage:?}");
}

/// Leaving a group and joining it again delivers nothing twice, even as
/// members keep pushing and pulling the old messages.
#[test]
fn unsubscribe_then_subscribe_delivers_nothing_twice() {
    let config = Config::lan();
    let mut net = Net::gossiped(4, &config, 3);
    net.subscribe_all(G);
    let step = |net: &mut Net, periods: usize| net.rounds(config.period(), periods);
    step(&mut net, 30);
    for i in 0..5 {
        net.multicast(0, G, Bytes::from(format!("m{i}")));
    }
    step(&mut net, 3);
    net.nodes[3].unsubscribe(net.now, G);
    step(&mut net, 2);
    net.nodes[3].subscribe(net.now, G).expect("subscribe");
    step(&mut net, 50);
    for (i, delivered) in net.delivered.iter().enumerate() {
        assert!(delivered.values().all(|count| *count == 1), "node {i}: {delivered:?}");
    }
    assert_eq!(net.delivered[3].len(), 5);
}

/// A late subscriber gets no message multicast before it subscribed, unless
/// it asks for the buffered history.
#[test]
fn a_late_subscriber_starts_from_now_unless_it_asks_for_history() {
    let config = Config::lan();
    let mut net = Net::gossiped(4, &config, 4);
    for node in &mut net.nodes[..2] {
        node.subscribe(Time::ZERO, G).expect("subscribe");
    }
    let step = |net: &mut Net, periods: usize| net.rounds(config.period(), periods);
    step(&mut net, 30);
    for i in 0..5 {
        net.multicast(0, G, Bytes::from(format!("old {i}")));
    }
    step(&mut net, 5);
    let now = net.now;
    net.nodes[2].subscribe(now, G).expect("subscribe");
    net.nodes[3].subscribe_from(now, G, SubscribeFrom::Buffered).expect("subscribe");
    step(&mut net, 40);
    let new = net.multicast(0, G, Bytes::from_static(b"new"));
    step(&mut net, 20);
    assert_eq!(net.delivered[2].keys().copied().collect::<Vec<_>>(), vec![new]);
    assert!(net.nodes[2].stats().drops.before_subscribe >= 1);
    assert_eq!(net.delivered[3].len(), 6);
    assert_eq!(net.delivered[1].len(), 6);
}

/// Each reason a stream gives up on numbers yields exactly one `Gap`.
#[test]
fn each_gap_reason_yields_one_gap_event() {
    // Window skip: the origin's own copy jumps past the window.
    let config = Config::builder().mode(Mode::Push).max_streams(1).build().expect("config");
    let mut node = shared_node(1, 3, &config);
    node.handle_packet(Time::ZERO, 2, packet(5, &[message(5, 2, 0)])).expect("decodes");
    node.handle_packet(Time::ZERO, 2, packet(5, &[message(5, 5_000, 0)])).expect("decodes");
    let events: Vec<_> = std::iter::from_fn(|| node.poll_event()).collect();
    let found = gaps(&events);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].reason, found[0].from, found[0].origin), (GapReason::WindowSkip, 1, NodeId(5)));
    // Evicted: a second origin takes the only stream slot while 5..4999 of
    // origin 5 are still missing below 5000.
    node.handle_packet(Time::ZERO, 2, packet(6, &[message(6, 1, 0)])).expect("decodes");
    let events: Vec<_> = std::iter::from_fn(|| node.poll_event()).collect();
    let found = gaps(&events);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].reason, found[0].origin, found[0].to), (GapReason::Evicted, NodeId(5), 4_999));
    // Retention: number 1 of origin 6's successor stream stays missing
    // until no copy can arrive any more.
    node.handle_packet(Time::ZERO, 2, packet(6, &[message(6, 3, 0)])).expect("decodes");
    let mut now = Time::ZERO;
    let mut found = Vec::new();
    for _ in 0..2_000 {
        now += config.period();
        node.handle_timeout(now);
        while node.poll_transmit().is_some() {}
        let events: Vec<_> = std::iter::from_fn(|| node.poll_event()).collect();
        found.extend(gaps(&events));
    }
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].reason, found[0].from, found[0].to), (GapReason::Retention, 2, 2));
    // What was given up on is never delivered afterwards.
    node.handle_packet(now, 2, packet(6, &[message(6, 2, 0)])).expect("decodes");
    assert_eq!(deliveries(&mut node), vec![]);
}

/// Digests are answered only to live members at their known address, and
/// to a member whose address is not proven lately with at most three times
/// the digest's size.
#[test]
fn digest_answers_go_to_members_only_and_stay_bounded_until_proven() {
    let config = Config::builder().mode(Mode::Pull).retention(Duration::from_millis(500)).build().expect("config");
    let mut net = Net::gossiped(3, &config, 5);
    net.subscribe_all(G);
    let period = config.period();
    net.rounds(period, 40);
    assert!(net.nodes.iter().all(|n| n.usage().members == 2));
    let digest = |sender: NodeId| {
        let mut writer = PacketWriter::new(1200, Header { sender, incarnation: 0 });
        let frame = DigestFrame { group: G, complete: true, reply: false, entries: Vec::new() };
        writer.push_digest(frame.group, frame.complete, frame.reply, &frame.entries);
        writer.finish()
    };
    // Node 0 runs alone for longer than retention (all traffic is lost):
    // nobody's address is proven any more.
    let member = net.nodes[2].id();
    for _ in 0..10 {
        let now = net.now + period;
        net.now = now;
        net.nodes[0].handle_timeout(now);
        while net.nodes[0].poll_transmit().is_some() {}
    }
    // Then it buffers messages that nobody pulled yet.
    for i in 0..20 {
        net.multicast(0, G, Bytes::from(vec![i; 200]));
    }
    net.in_flight.clear();
    let now = net.now + period;
    net.now = now;
    net.nodes[0].handle_timeout(now);
    while net.nodes[0].poll_transmit().is_some() {}
    while net.nodes[0].poll_event().is_some() {}
    // A stranger: no answer.
    net.nodes[0].handle_packet(now, 77, digest(NodeId(999))).expect("decodes");
    assert!(std::iter::from_fn(|| net.nodes[0].poll_transmit()).all(|t| t.to != 77));
    // Node 2, not heard from lately: a bounded answer.
    let request = digest(member);
    net.nodes[0].handle_packet(net.now, 2, request.clone()).expect("decodes");
    let answers: Vec<_> = std::iter::from_fn(|| net.nodes[0].poll_transmit()).filter(|t| t.to == 2).collect();
    let answered: usize = answers.iter().map(|t| t.bytes.len()).sum();
    assert!(answered <= 3 * request.len(), "answered {answered} bytes to a {}-byte digest", request.len());
    // Now proven (it was just heard from there): a full answer.
    net.nodes[0].handle_packet(net.now, 2, request.clone()).expect("decodes");
    let answers: Vec<_> = std::iter::from_fn(|| net.nodes[0].poll_transmit()).filter(|t| t.to == 2).collect();
    let answered: usize = answers.iter().map(|t| t.bytes.len()).sum();
    assert!(answered > 3 * request.len(), "answered {answered} bytes");
    assert!(net.nodes[0].stats().drops.digests_refused >= 2);
}
