//! Gossiped membership (SWIM with Lifeguard) on the hand-driven network:
//! joins at scale, crash detection, refutation, replacement at the same
//! address, and a property test over random crashes, loss and reordering.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use common::{InFlight, Net};
use gossip_core::codec::{Frame, Header, MemberFrame, MemberGroups, PacketWriter};
use gossip_core::{Config, DownReason, GroupId, MemberStatus, Node, NodeId, Protocol, SmallRng, Time};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

fn nodes(n: usize, config: &Config, seed: u64) -> Net {
    let nodes = (0..n)
        .map(|i| {
            let rng = SmallRng::seed_from_u64(seed * 10_000 + i as u64);
            Node::new(NodeId(seed * 10_000 + i as u64 + 1), config.clone(), rng)
        })
        .collect();
    Net::with_nodes(nodes)
}

/// One period of `period`: every packet sent in it, and in answer to it,
/// is offered to `keep` (which may look at it) and delivered if kept.
fn step(net: &mut Net, period: Duration, mut keep: impl FnMut(&InFlight) -> bool) {
    let now = net.now + period;
    net.tick(now);
    loop {
        net.collect();
        net.in_flight.retain(&mut keep);
        if net.in_flight.is_empty() {
            break;
        }
        for p in std::mem::take(&mut net.in_flight) {
            net.nodes[p.to as usize].handle_packet(net.now, p.from, p.bytes).expect("engine packets decode");
        }
    }
}

/// Runs `steps` periods; packets touching a node in `down` are lost.
fn run(net: &mut Net, period: Duration, steps: usize, down: &[u32]) {
    for _ in 0..steps {
        step(net, period, |p| !down.contains(&p.from) && !down.contains(&p.to));
    }
}

fn complete(net: &Net, live: usize) -> bool {
    net.nodes.iter().all(|n| n.usage().members == live - 1)
}

/// 1,000 nodes join through 3 seeds with the LAN defaults: every view
/// becomes complete, and then 30 idle seconds see no suspicion at all (the
/// figures at 10,000 and over 1,000 idle periods come from `gossip-bench sim`).
#[test]
fn a_thousand_nodes_join_through_three_seeds_and_stay_up() {
    let config = Config::lan();
    let period = config.period();
    let mut net = nodes(1_000, &config, 1);
    for i in 1..1_000 {
        let seeds: Vec<u32> = (0..3).filter(|s| *s != i).collect();
        net.nodes[i as usize].join(Time::ZERO, &seeds);
    }
    let mut periods = 0;
    while !complete(&net, 1_000) {
        run(&mut net, period, 10, &[]);
        periods += 10;
        assert!(periods <= 3_000, "views incomplete after {periods} periods");
    }
    println!("1,000 views complete after {periods} periods of {period:?}");
    run(&mut net, period, 300, &[]);
    let suspicions: u64 = net.nodes.iter().map(|n| n.stats().membership.suspicions).sum();
    assert_eq!(suspicions, 0, "no suspicion without loss or crashes");
    assert!(net.downs.iter().all(Vec::is_empty));
    assert!(complete(&net, 1_000));
}

/// Cluster formation with the LAN defaults, as a runtime sees it: nodes
/// start one after another over the first second and join through 3 seeds;
/// the catch-up after joining (the whole table from the first member, then
/// backed-off requests while the view grows) completes every view within
/// 2 s at 100 nodes and 5 s at 500 — not a sync interval per table slice.
#[test]
fn staggered_joins_complete_every_view_within_seconds() {
    for (n, limit) in [(100, 20), (500, 50)] {
        let config = Config::lan();
        let period = config.period();
        let mut net = nodes(n, &config, 7);
        let mut periods = 0;
        while !complete(&net, n) {
            let now = net.now + period;
            for i in 1..n {
                if i % 10 == periods % 10 && periods < 10 {
                    let seeds: Vec<u32> = (0..3).filter(|s| *s != i as u32).collect();
                    net.nodes[i].join(now, &seeds);
                }
            }
            run(&mut net, period, 1, &[]);
            periods += 1;
            assert!(periods <= limit, "{n} views incomplete after {periods} periods of {period:?}");
        }
        println!("{n} staggered joins: views complete after {periods} periods of {period:?}");
        let suspicions: u64 = net.nodes.iter().map(|n| n.stats().membership.suspicions).sum();
        assert_eq!(suspicions, 0);
    }
}

/// A JOIN from a node the answerer does not know yet gets one packet (its
/// address is unproven: no amplification); once the joiner is a member,
/// its catch-up request gets the whole table.
#[test]
fn an_unknown_joiner_gets_one_packet_and_a_member_the_whole_table() {
    let mut net = formed(300, 3);
    let config = fast();
    let mut rng = SmallRng::seed_from_u64(99);
    net.nodes.push(Node::new(NodeId::random(&mut rng), config.clone(), rng));
    net.delivered.push(Default::default());
    net.downs.push(Vec::new());
    let joiner = (net.nodes.len() - 1) as u32;
    net.nodes[joiner as usize].join(net.now, &[0]);
    net.collect();
    assert_eq!(net.in_flight.len(), 1, "one JOIN");
    let join = net.in_flight.pop().unwrap();
    net.nodes[0].handle_packet(net.now, join.from, join.bytes).unwrap();
    net.collect();
    let answer: Vec<_> = net.in_flight.drain(..).filter(|p| p.from == 0 && p.to == joiner).collect();
    assert_eq!(answer.len(), 1, "an unknown joiner gets one packet");
    for p in answer {
        net.nodes[joiner as usize].handle_packet(net.now, p.from, p.bytes).unwrap();
    }
    net.collect();
    let request: Vec<_> = net.in_flight.drain(..).filter(|p| p.from == joiner && p.to == 0).collect();
    assert_eq!(request.len(), 1, "the catch-up request goes to the member that answered");
    let replay = request[0].bytes.clone();
    for p in request {
        net.nodes[0].handle_packet(net.now, p.from, p.bytes).unwrap();
    }
    net.collect();
    let answer: Vec<_> = net.in_flight.drain(..).filter(|p| p.from == 0 && p.to == joiner).collect();
    assert!(answer.len() >= 3, "the whole table of 299 members: {} packets", answer.len());
    for p in answer {
        net.nodes[joiner as usize].handle_packet(net.now, p.from, p.bytes).unwrap();
    }
    assert_eq!(net.nodes[joiner as usize].usage().members, 300, "the joiner's view is complete at once");
    // The same JOIN replayed at once draws one slice, not the table again;
    // half a period later, the whole table again (a catch-up re-asks).
    let answers_to = |net: &mut Net, at: Time| {
        net.nodes[0].handle_packet(at, joiner, replay.clone()).unwrap();
        net.collect();
        let answer: Vec<_> = net.in_flight.drain(..).filter(|p| p.from == 0 && p.to == joiner).collect();
        answer.len()
    };
    let now = net.now;
    assert_eq!(answers_to(&mut net, now), 1, "a replayed JOIN gets one slice");
    assert_eq!(net.nodes[0].stats().membership.full_answers_limited, 1);
    assert!(answers_to(&mut net, now + config.period() / 2) >= 3, "a later request gets the whole table");
}

/// What a packet from `from` to `to` says of catch-up: the CATCH-UP mark
/// of its JOIN, if it is one, and the entries of the table answer it is
/// part of (`None` if neither).
fn catch_up_frames(bytes: &Bytes) -> (Option<u64>, Option<u64>) {
    let packet = gossip_core::codec::decode::<u32>(bytes).expect("engine packets decode");
    let (mut join, mut here) = (None, None);
    for frame in packet.frames {
        match frame {
            Frame::Join => join = Some(0),
            Frame::CatchUp { since } => join = join.map(|_| since),
            Frame::Table { here: h, .. } => here = Some(h),
            _ => {}
        }
    }
    (join, here)
}

/// After the first whole table, a catch-up asks the same member again with
/// the mark of that answer, and the answer holds only what changed since:
/// the member that joined in between, not the 300 entries again.
#[test]
fn catch_up_requests_after_the_first_bring_only_what_changed() {
    let mut net = formed(300, 5);
    let config = fast();
    for seed in [101, 102] {
        let mut rng = SmallRng::seed_from_u64(seed);
        net.nodes.push(Node::new(NodeId::random(&mut rng), config.clone(), rng));
        net.delivered.push(Default::default());
        net.downs.push(Vec::new());
    }
    let (joiner, late) = (300u32, 301u32);
    net.nodes[joiner as usize].join(net.now, &[0]);
    // (mark asked from, entries answered) of each catch-up request to node 0.
    let mut requests: Vec<(u64, u64)> = Vec::new();
    for period in 0..40 {
        if period == 2 {
            net.nodes[late as usize].join(net.now, &[0]);
        }
        step(&mut net, config.period(), |p| {
            let (join, here) = catch_up_frames(&p.bytes);
            if let (Some(since), true) = (join, p.from == joiner && p.to == 0) {
                requests.push((since, 0));
            }
            if let (Some(here), true) = (here, p.from == 0 && p.to == joiner) {
                requests.last_mut().expect("an answer follows a request").1 += here;
            }
            true
        });
    }
    assert!(requests.len() >= 4, "a join, a catch-up and at least two more requests: {requests:?}");
    // The JOIN to a seed that does not know the joiner yet gets one plain
    // slice; the catch-up that follows, the whole table (299 + the joiner).
    assert_eq!(requests[..2], [(0, 0), (0, 300)], "{requests:?}");
    for &(since, here) in &requests[2..] {
        assert!(since > 0, "later requests carry a mark: {requests:?}");
        assert!(here <= 5, "later answers hold only what changed: {requests:?}");
    }
    let deltas: u64 = requests[2..].iter().map(|r| r.1).sum();
    assert!(deltas >= 1, "the member that joined later came in a delta: {requests:?}");
    assert_eq!(net.nodes[joiner as usize].usage().members, 301, "the joiner knows every member");
}

/// What a packet says of anti-entropy: whether it asks for a sync, and
/// whether it is a sync answer (a slice of the sender's table that is not
/// part of a catch-up answer); and whether it mentions member `id`.
fn sync_frames(bytes: &Bytes, id: NodeId) -> (bool, bool, bool) {
    let packet = gossip_core::codec::decode::<u32>(bytes).expect("engine packets decode");
    let (mut request, mut answer, mut table) = (false, false, false);
    let mut mentions = packet.header.sender == id;
    for frame in packet.frames {
        match frame {
            Frame::Sync { reply } => (request, answer) = (reply, !reply),
            Frame::Table { .. } => table = true,
            Frame::Member(m) => mentions |= m.id == id,
            _ => {}
        }
    }
    (request, answer && !table, mentions)
}

/// Sync requests and sync answers over `periods`, dropping every packet to
/// node `blind` that mentions `hidden`.
fn count_syncs(net: &mut Net, periods: usize, blind: u32, hidden: NodeId) -> (usize, usize) {
    let (mut requests, mut answers) = (0, 0);
    for _ in 0..periods {
        step(net, fast().period(), |p| {
            let (request, answer, mentions) = sync_frames(&p.bytes, hidden);
            requests += usize::from(request);
            answers += usize::from(answer);
            !(p.to == blind && mentions)
        });
    }
    (requests, answers)
}

/// Anti-entropy between views that agree costs one packet: the request's
/// summary of its view matches the answerer's, which sends nothing back.
/// A view that differs (one node never hears of a new member) still gets
/// table slices, and once it has caught up the answers stop again.
#[test]
fn views_that_agree_skip_the_sync_answer_and_views_that_differ_get_it() {
    let mut net = formed(30, 9);
    let agreed = |net: &Net| net.nodes.iter().map(|n| n.stats().membership.syncs_agreed).sum::<u64>();
    let (before, hidden) = (agreed(&net), NodeId(u64::MAX));
    let (requests, answers) = count_syncs(&mut net, 120, u32::MAX, hidden);
    assert!(requests >= 30, "every node synced at least once: {requests}");
    assert_eq!(answers, 0, "views that agree exchange no slices");
    assert_eq!(agreed(&net) - before, requests as u64);
    // A new member that node 7 never hears of.
    let config = fast();
    let mut rng = SmallRng::seed_from_u64(123);
    let newcomer = NodeId::random(&mut rng);
    net.nodes.push(Node::new(newcomer, config.clone(), rng));
    net.delivered.push(Default::default());
    net.downs.push(Vec::new());
    net.nodes[30].join(net.now, &[0]);
    let (_, answers) = count_syncs(&mut net, 120, 7, newcomer);
    assert!(answers > 0, "syncs with the node that lacks a member are answered");
    assert_eq!(net.nodes[7].usage().members, 29, "node 7 never heard of the newcomer");
    assert!(net.nodes.iter().enumerate().all(|(i, n)| i == 7 || n.usage().members == 30));
    // Unblinded, it learns of the newcomer, and the answers stop.
    count_syncs(&mut net, 120, u32::MAX, newcomer);
    assert!(complete(&net, 31));
    let (requests, answers) = count_syncs(&mut net, 120, u32::MAX, newcomer);
    assert!(requests >= 30);
    assert_eq!(answers, 0, "caught up, the views agree again");
}

fn fast() -> Config {
    Config::builder()
        .probe_interval(Duration::from_millis(200))
        .probe_timeout(Duration::from_millis(100))
        .build()
        .unwrap()
}

fn formed(n: usize, seed: u64) -> Net {
    let config = fast();
    let mut net = nodes(n, &config, seed);
    for i in 1..n {
        net.nodes[i].join(Time::ZERO, &[0]);
    }
    let mut steps = 0;
    while !complete(&net, n) {
        run(&mut net, config.period(), 10, &[]);
        steps += 10;
        assert!(steps < 2_000, "cluster of {n} did not form");
    }
    net
}

/// A crashed member is suspected, then declared failed by every live node,
/// once, within the suspicion timeout and a few probe cycles.
#[test]
fn a_crashed_member_is_detected_everywhere_once() {
    let mut net = formed(40, 2);
    let crashed = net.nodes[7].id();
    let start = net.now;
    let mut first_down = None;
    for _ in 0..300 {
        run(&mut net, Duration::from_millis(100), 1, &[7]);
        if first_down.is_none() && net.downs.iter().any(|d| !d.is_empty()) {
            first_down = Some(net.now.saturating_duration_since(start));
        }
    }
    for (i, downs) in net.downs.iter().enumerate() {
        if i != 7 {
            assert_eq!(downs, &vec![(crashed, DownReason::Failed)], "node {i}");
            let status = net.nodes[i].members().into_iter().find(|m| m.id == crashed).map(|m| m.status);
            assert_eq!(status, Some(MemberStatus::Dead), "node {i}");
        }
    }
    println!("first declared failed after {first_down:?}");
}

/// A member cut off for less than the suspicion timeout is suspected but
/// refutes, and no node ever declares it failed.
#[test]
fn a_member_that_comes_back_in_time_refutes() {
    let mut net = formed(20, 3);
    let slow = net.nodes[4].id();
    // Three probe intervals of silence (the shortest suspicion here is
    // 4·log10(20) intervals): several probes of it fail.
    run(&mut net, Duration::from_millis(100), 6, &[4]);
    run(&mut net, Duration::from_millis(100), 300, &[]);
    let suspicions: u64 = net.nodes.iter().map(|n| n.stats().membership.suspicions).sum();
    assert!(suspicions > 0, "the silence was noticed");
    assert!(net.nodes[4].stats().membership.refutations > 0, "it refuted");
    assert!(net.downs.iter().all(|d| d.iter().all(|(id, _)| *id != slow)), "{:?}", net.downs);
    assert!(complete(&net, 20));
}

/// A new node at a crashed node's address replaces it at once.
#[test]
fn a_restart_at_the_same_address_replaces_the_old_member() {
    let mut net = formed(10, 4);
    let old = net.nodes[5].id();
    let mut fresh: Node<u32> = Node::new(NodeId(999_999), fast(), SmallRng::seed_from_u64(99));
    fresh.join(net.now, &[0]);
    net.nodes[5] = fresh;
    run(&mut net, Duration::from_millis(100), 30, &[]);
    for (i, downs) in net.downs.iter().enumerate() {
        if i != 5 {
            assert_eq!(downs, &vec![(old, DownReason::Replaced)], "node {i}");
            assert!(net.nodes[i].members().iter().any(|m| m.id == NodeId(999_999) && m.status == MemberStatus::Alive));
        }
    }
}

/// The packets `node` sends during `periods` periods (delivered as usual).
fn capture(net: &mut Net, node: u32, periods: usize) -> Vec<Bytes> {
    let mut captured = Vec::new();
    for _ in 0..periods {
        step(net, Duration::from_millis(100), |p| {
            if p.from == node {
                captured.push(p.bytes.clone());
            }
            true
        });
    }
    captured
}

fn member(net: &Net, at: usize, id: NodeId) -> Option<(MemberStatus, u32)> {
    net.nodes[at].members().into_iter().find(|m| m.id == id).map(|m| (m.status, m.addr))
}

/// A member that tells of another as suspect at an incarnation that one
/// has since refuted (the refutation missed it) gets the fresh entry back
/// at once, so its suspicion cannot run out into a false death; a stranger
/// telling the same gets nothing.
#[test]
fn a_stale_suspicion_is_answered_with_the_refutation() {
    let mut net = formed(40, 8);
    let (teller, suspect) = (3u32, 5usize);
    // The suspect raises its incarnation (a new group), and the change spreads.
    net.nodes[suspect].subscribe(net.now, GroupId(9)).unwrap();
    run(&mut net, Duration::from_millis(100), 30, &[]);
    let id = net.nodes[suspect].id();
    let fresh = net.nodes[0].members().into_iter().find(|m| m.id == id).map(|m| m.incarnation);
    assert_eq!(fresh, Some(1), "node 0 holds the suspect alive at its new incarnation");
    let stale = |sender: NodeId| {
        let mut w = PacketWriter::new(1200, Header { sender, incarnation: 0 });
        let frame = MemberFrame {
            id,
            incarnation: 0,
            status: MemberStatus::Suspect,
            addr: Some(suspect as u32),
            groups: [GroupId(1)].into_iter().collect(),
            meta: Bytes::new(),
        };
        assert!(w.push_member(&frame));
        w.finish()
    };
    let answers = |net: &mut Net, to: u32| -> Vec<Option<u64>> {
        net.collect();
        let out: Vec<_> = net.in_flight.drain(..).filter(|p| p.from == 0 && p.to == to).collect();
        out.iter()
            .map(|p| {
                let packet = gossip_core::codec::decode::<u32>(&p.bytes).unwrap();
                packet.frames.into_iter().find_map(|f| match f {
                    Frame::Member(m) if m.id == id && m.status == MemberStatus::Alive => Some(m.incarnation),
                    _ => None,
                })
            })
            .collect()
    };
    net.collect();
    net.in_flight.clear();
    let teller_id = net.nodes[teller as usize].id();
    let now = net.now;
    net.nodes[0].handle_packet(now, teller, stale(teller_id)).unwrap();
    assert_eq!(answers(&mut net, teller), vec![Some(1)], "one packet back, with the refutation");
    assert_eq!(net.nodes[0].stats().membership.corrections, 1);
    assert_eq!(member(&net, 0, id).map(|m| m.0), Some(MemberStatus::Alive), "and no suspicion here");
    // A stranger's stale word: no answer (its address is unproven).
    net.nodes[0].handle_packet(now, 99, stale(NodeId(0xdead))).unwrap();
    assert!(answers(&mut net, 99).iter().all(Option::is_none), "nothing sent to a stranger about the suspect");
    assert_eq!(net.nodes[0].stats().membership.corrections, 1);
}

/// A node that every refutation missed (here: it hears nothing for 10 s
/// after it came to suspect a member) gossips its suspicion once more at
/// half the minimum timeout, and members that know better answer with the
/// refutation before the suspicion runs out. (In a cluster this small the
/// suspect's own probes would also reach it in time; anti-entropy, which
/// would too, is slowed to 2 min. The 1,000-node study at 30% loss shows
/// the deaths it prevents.)
#[test]
fn a_suspicion_every_refutation_missed_is_gossiped_again_and_corrected() {
    let config = Config::builder()
        .probe_interval(Duration::from_secs(2))
        .probe_timeout(Duration::from_millis(100))
        .suspicion_mult(8)
        .sync_interval(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut net = nodes(40, &config, 9);
    for i in 1..40 {
        net.nodes[i].join(Time::ZERO, &[0]);
    }
    while !complete(&net, 40) {
        run(&mut net, config.period(), 10, &[]);
    }
    let (teller, suspect) = (3u32, 5usize);
    let id = net.nodes[suspect].id();
    let mut w = PacketWriter::new(1200, Header { sender: net.nodes[teller as usize].id(), incarnation: 0 });
    let frame = MemberFrame {
        id,
        incarnation: 0,
        status: MemberStatus::Suspect,
        addr: Some(suspect as u32),
        groups: MemberGroups::new(),
        meta: Bytes::new(),
    };
    assert!(w.push_member(&frame));
    let now = net.now;
    net.nodes[0].handle_packet(now, teller, w.finish()).unwrap();
    assert_eq!(member(&net, 0, id).map(|m| m.0), Some(MemberStatus::Suspect));
    // Node 0 hears nothing for 10 s, while its suspicion spreads and is
    // refuted everywhere else; then 20 s more of normal traffic (the
    // shortest suspicion here is 8·log10(40)·2 s ≈ 25.6 s).
    for period in 0..300 {
        step(&mut net, config.period(), |p| period >= 100 || p.to != 0);
        if period == 99 {
            assert_eq!(member(&net, 0, id).map(|m| m.0), Some(MemberStatus::Suspect), "node 0 missed the refutation");
        }
    }
    assert!(net.nodes[suspect].stats().membership.refutations > 0, "the suspect refuted");
    assert!(net.downs[0].is_empty(), "no false death: {:?}", net.downs[0]);
    assert_eq!(member(&net, 0, id).map(|m| m.0), Some(MemberStatus::Alive));
    assert!(net.nodes[0].stats().membership.reannounced > 0, "node 0 gossiped its suspicion again");
    let corrections: u64 = net.nodes.iter().map(|n| n.stats().membership.corrections).sum();
    assert!(corrections > 0, "members that knew better corrected it");
}

/// Issue 13: a member's earlier valid packets, re-sent later by anyone
/// (from an outsider's address, or from another member's), neither revive
/// it once it is dead or gone, nor move a live member's address, nor evict
/// the member whose address the replay claims.
#[test]
fn replayed_packets_neither_revive_the_dead_nor_move_the_live() {
    let mut net = formed(10, 5);
    let (crashed, departed, live) = (7u32, 8u32, 2u32);
    let ids: Vec<NodeId> = net.nodes.iter().map(|n| n.id()).collect();
    let old_crashed = capture(&mut net, crashed, 20);
    let old_departed = capture(&mut net, departed, 20);
    let old_live = capture(&mut net, live, 20);
    assert!(!old_crashed.is_empty() && !old_departed.is_empty() && !old_live.is_empty());
    net.nodes[departed as usize].leave(net.now);
    run(&mut net, Duration::from_millis(100), 300, &[crashed]);
    let observer = 0usize;
    assert_eq!(member(&net, observer, ids[crashed as usize]).map(|m| m.0), Some(MemberStatus::Dead));
    assert_eq!(member(&net, observer, ids[departed as usize]).map(|m| m.0), Some(MemberStatus::Left));
    let ups_before = net.nodes[observer].stats().membership.refuted;
    // Replays from an outsider's address (99) and from a live member's (3).
    for from in [99u32, 3] {
        for packet in old_crashed.iter().chain(&old_departed).chain(&old_live) {
            net.nodes[observer].handle_packet(net.now, from, packet.clone()).expect("replays decode");
        }
    }
    net.collect();
    net.in_flight.clear();
    assert_eq!(member(&net, observer, ids[crashed as usize]), Some((MemberStatus::Dead, crashed)));
    assert_eq!(member(&net, observer, ids[departed as usize]), Some((MemberStatus::Left, departed)));
    assert_eq!(member(&net, observer, ids[live as usize]), Some((MemberStatus::Alive, live)), "the address stays");
    assert_eq!(member(&net, observer, ids[3]), Some((MemberStatus::Alive, 3)), "the claimed address's owner stays");
    assert_eq!(net.nodes[observer].stats().membership.refuted, ups_before);
    assert!(net.nodes[observer].stats().membership.address_refused > 0);
    // And the cluster goes on undisturbed: no one else was declared down.
    run(&mut net, Duration::from_millis(100), 100, &[crashed]);
    let others_down =
        net.downs[observer].iter().filter(|(id, _)| *id != ids[crashed as usize] && *id != ids[departed as usize]);
    assert_eq!(others_down.count(), 0, "{:?}", net.downs[observer]);
}

/// The documented cap on the member table (README, "Gossiped membership"):
/// 65,536 members with 64 groups each, all distinct.
const FORGED_MEMBERSHIP_CAP: usize = 96 << 20;

/// Issue 13: 65,536 forged members with 64 random groups each, each sent
/// first-hand in a well-formed packet from its own address, fill the table
/// to `max_members` and no further; the group index, its member-group
/// pairs and the table's heap bytes stay within their caps, all shown by
/// `usage()`.
#[test]
fn forged_members_with_64_groups_each_stay_within_the_memory_cap() {
    let config = Config::lan();
    let mut node: Node<u32> = Node::new(NodeId(1), config.clone(), SmallRng::seed_from_u64(1));
    let mut rng = SmallRng::seed_from_u64(2);
    let mut now = Time::ZERO;
    node.handle_timeout(now);
    let mut peak = node.usage();
    for i in 0..70_000u32 {
        let id = NodeId(1_000_000 + u64::from(i));
        let mut w = PacketWriter::new(config.max_packet_size(), Header { sender: id, incarnation: 0 });
        let groups: MemberGroups = (0..64).map(|_| GroupId(rng.random())).collect();
        let frame: MemberFrame<u32> =
            MemberFrame { id, incarnation: 0, status: MemberStatus::Alive, addr: None, groups, meta: Bytes::new() };
        assert!(w.push_member(&frame));
        node.handle_packet(now, 10_000 + i, w.finish()).expect("well-formed");
        if i % 4_096 == 4_095 {
            // New members per sender are capped per probe interval; time moves on.
            now += config.probe_interval();
            node.handle_timeout(now);
            while node.poll_transmit().is_some() {}
            while node.poll_event().is_some() {}
            let usage = node.usage();
            peak.known_members = peak.known_members.max(usage.known_members);
            peak.indexed_groups = peak.indexed_groups.max(usage.indexed_groups);
            peak.indexed_memberships = peak.indexed_memberships.max(usage.indexed_memberships);
            peak.membership_bytes = peak.membership_bytes.max(usage.membership_bytes);
        }
    }
    println!("peak usage with forged members: {peak:?}");
    assert_eq!(peak.known_members, 65_536, "the table fills up to max_members and no further");
    assert!(peak.indexed_groups <= 4_096);
    assert!(peak.indexed_memberships <= 1 << 20);
    assert!(peak.membership_bytes <= FORGED_MEMBERSHIP_CAP, "{} bytes", peak.membership_bytes);
    assert!(node.stats().membership.members_full > 0 && node.stats().membership.groups_unindexed > 0);
}

#[derive(Clone, Debug)]
enum Op {
    Tick,
    Crash(usize),
    Lose(usize),
    Reorder(usize),
    Deliver(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Tick),
        1 => (0..8usize).prop_map(Op::Crash),
        2 => any::<usize>().prop_map(Op::Lose),
        2 => any::<usize>().prop_map(Op::Reorder),
        6 => any::<usize>().prop_map(Op::Deliver),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, rng_seed: proptest::test_runner::RngSeed::Fixed(12), ..ProptestConfig::default() })]

    /// Random crashes, loss and reordering among 8 nodes: incarnations
    /// never go down in any view, only crashed nodes are declared failed
    /// once loss has stopped and the cluster settled, and nobody is ever
    /// reported as having left (nobody left).
    #[test]
    fn membership_invariants_hold(ops in proptest::collection::vec(op(), 1..400), seed in 0..1_000u64) {
        let mut net = formed(8, 10 + seed % 5);
        let mut crashed: Vec<u32> = Vec::new();
        let mut seen: BTreeMap<(usize, NodeId), u64> = BTreeMap::new();
        let mut rng = SmallRng::seed_from_u64(seed);
        for op in ops {
            match op {
                Op::Tick => {
                    let now = net.now + Duration::from_millis(100);
                    net.tick(now);
                }
                Op::Crash(i) if crashed.len() < 3 && !crashed.contains(&(i as u32)) && i != 0 => crashed.push(i as u32),
                Op::Crash(_) => {}
                Op::Lose(pick) if !net.in_flight.is_empty() => {
                    let at = pick % net.in_flight.len();
                    net.in_flight.swap_remove(at);
                }
                Op::Reorder(pick) if net.in_flight.len() > 1 => {
                    let a = pick % net.in_flight.len();
                    let b = rng.random_range(0..net.in_flight.len());
                    net.in_flight.swap(a, b);
                }
                Op::Deliver(pick) if !net.in_flight.is_empty() => {
                    let at = pick % net.in_flight.len();
                    let p = net.in_flight.remove(at);
                    if !crashed.contains(&p.from) && !crashed.contains(&p.to) {
                        net.nodes[p.to as usize].handle_packet(net.now, p.from, p.bytes).unwrap();
                    }
                    net.collect();
                }
                _ => {}
            }
            for (i, node) in net.nodes.iter().enumerate() {
                for m in node.members() {
                    let last = seen.entry((i, m.id)).or_insert(0);
                    prop_assert!(m.incarnation >= *last, "node {} saw {}'s incarnation go down", i, m.id);
                    *last = m.incarnation;
                }
            }
        }
        // Loss stops: the survivors settle.
        run(&mut net, Duration::from_millis(100), 400, &crashed);
        let crashed_ids: Vec<NodeId> = crashed.iter().map(|i| net.nodes[*i as usize].id()).collect();
        for (i, downs) in net.downs.iter().enumerate() {
            if crashed.contains(&(i as u32)) {
                continue;
            }
            for (id, reason) in downs {
                prop_assert_ne!(*reason, DownReason::Left);
                let _ = id;
            }
            let node = &net.nodes[i];
            for m in node.members() {
                let should_be_live = !crashed_ids.contains(&m.id);
                prop_assert_eq!(m.status.is_live(), should_be_live, "node {} sees {} as {:?}", i, m.id, m.status);
            }
            prop_assert_eq!(node.usage().members, 8 - 1 - crashed.len(), "node {}", i);
        }
    }
}

/// Anti-entropy carries deaths: a member that believes a crashed member up
/// after every update about the death has been sent learns of it from the
/// next table slice it gets (taken as a suspicion), long before its own
/// probes would find it, and then declares it dead.
#[test]
fn a_node_that_missed_a_death_learns_it_from_anti_entropy() {
    let config = fast();
    let period = config.period();
    // The late node probes rarely (its own probes cannot find the crash in
    // the window below) and syncs often.
    let late_config = Config::builder()
        .probe_interval(Duration::from_secs(60))
        .probe_timeout(Duration::from_secs(1))
        .suspicion_mult(1)
        .suspicion_max_mult(1)
        .sync_interval(Duration::from_secs(1))
        .build()
        .unwrap();
    let (crashed, late, witness) = (7u32, 10usize, 3u32);
    let nodes: Vec<Node<u32>> = (0..11u64)
        .map(|i| {
            let config = if i == late as u64 { &late_config } else { &config };
            Node::new(NodeId(i + 1), config.clone(), SmallRng::seed_from_u64(70 + i))
        })
        .collect();
    let mut net = Net::with_nodes(nodes);
    for i in 1..10 {
        net.nodes[i].join(Time::ZERO, &[0]);
    }
    run(&mut net, period, 50, &[late as u32]);
    assert!(net.nodes[..10].iter().all(|n| n.usage().members == 9), "the first ten formed");
    // The crash is detected and every update about it sent.
    run(&mut net, period, 150, &[crashed, late as u32]);
    let dead = net.nodes[0].members().into_iter().find(|m| m.id == NodeId(u64::from(crashed) + 1)).unwrap();
    assert_eq!(dead.status, MemberStatus::Dead);
    // The late node joins, and a member's old word puts the crashed one in
    // its view as alive (as a view that missed every update would hold it).
    net.nodes[late].join(net.now, &[0]);
    run(&mut net, period, 5, &[crashed]);
    assert_eq!(member(&net, late, dead.id), None, "a joiner does not take a dead entry for a member");
    let mut w =
        PacketWriter::new(config.max_packet_size(), Header { sender: NodeId(u64::from(witness) + 1), incarnation: 0 });
    let alive = MemberFrame {
        id: dead.id,
        incarnation: dead.incarnation,
        status: MemberStatus::Alive,
        addr: Some(crashed),
        groups: dead.groups.iter().copied().collect(),
        meta: Bytes::new(),
    };
    assert!(w.push_member(&alive));
    net.nodes[late].handle_packet(net.now, witness, w.finish()).expect("well-formed");
    assert_eq!(member(&net, late, dead.id), Some((MemberStatus::Alive, crashed)));
    // Within a few of its syncs (well before its first probe could reach
    // the crashed member) it suspects it, and the suspicion times out.
    let mut suspected = None;
    for step in 0..1_000 {
        run(&mut net, period, 1, &[crashed]);
        if suspected.is_none() && member(&net, late, dead.id).is_some_and(|m| m.0 != MemberStatus::Alive) {
            suspected = Some(step);
        }
    }
    let suspected = suspected.expect("the late node learned of the death");
    assert!(suspected < 50, "suspected {suspected} periods after it believed the member up");
    assert_eq!(member(&net, late, dead.id).map(|m| m.0), Some(MemberStatus::Dead));
    assert!(net.downs[late].iter().any(|(id, reason)| *id == dead.id && *reason == DownReason::Failed));
}
