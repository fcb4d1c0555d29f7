//! A tiny hand-driven network for the engine's integration tests: nodes in a
//! vector, addressed by index, packets held in flight until the test decides
//! their fate.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use gossip_core::{Config, DownReason, Event, GroupId, MessageId, Node, NodeId, Protocol, SmallRng, Time};
use rand::SeedableRng;

/// A packet in flight.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub from: u32,
    pub to: u32,
    pub bytes: Bytes,
}

/// Nodes, the packets between them, and what each delivered.
pub struct Net {
    pub nodes: Vec<Node<u32>>,
    pub in_flight: Vec<InFlight>,
    /// Per node: message id → number of deliveries.
    pub delivered: Vec<BTreeMap<MessageId, u32>>,
    /// Every multicast: id → payload.
    pub sent: BTreeMap<MessageId, Bytes>,
    /// Per node: members it reported down, in order.
    pub downs: Vec<Vec<(NodeId, DownReason)>>,
    pub now: Time,
    /// Deliveries of ids never multicast are recorded instead of failing
    /// the test (for forged input in an unkeyed cluster).
    pub allow_phantoms: bool,
}

impl Net {
    /// `n` nodes with gossiped membership, all seeded with node 0.
    pub fn gossiped(n: usize, config: &Config, seed: u64) -> Self {
        let nodes = (0..n)
            .map(|i| {
                let mut rng = SmallRng::seed_from_u64(seed.wrapping_mul(1000).wrapping_add(i as u64));
                let id = NodeId::random(&mut rng);
                Node::new(id, config.clone(), rng)
            })
            .collect();
        let mut net = Net::with_nodes(nodes);
        for i in 1..n {
            net.nodes[i].join(Time::ZERO, &[0]);
        }
        net
    }

    /// Wraps ready-made nodes.
    pub fn with_nodes(nodes: Vec<Node<u32>>) -> Self {
        let n = nodes.len();
        Net {
            nodes,
            in_flight: Vec::new(),
            delivered: vec![BTreeMap::new(); n],
            sent: BTreeMap::new(),
            downs: vec![Vec::new(); n],
            now: Time::ZERO,
            allow_phantoms: false,
        }
    }

    /// Moves every queued transmit into flight and every event into the
    /// delivery record.
    pub fn collect(&mut self) {
        for (i, node) in self.nodes.iter_mut().enumerate() {
            while let Some(t) = node.poll_transmit() {
                self.in_flight.push(InFlight { from: i as u32, to: t.to, bytes: t.bytes });
            }
            while let Some(event) = node.poll_event() {
                match event {
                    Event::Delivered(d) => {
                        *self.delivered[i].entry(d.id).or_default() += 1;
                        if !self.allow_phantoms {
                            assert_eq!(
                                self.sent.get(&d.id),
                                Some(&d.payload),
                                "node {i} delivered a message never sent"
                            );
                        }
                    }
                    Event::MemberDown { id, reason, .. } => self.downs[i].push((id, reason)),
                    _ => {}
                }
            }
        }
    }

    /// Hands packet `index` of the in-flight list to its destination.
    pub fn deliver(&mut self, index: usize) {
        let p = self.in_flight.swap_remove(index);
        if let Some(node) = self.nodes.get_mut(p.to as usize) {
            node.handle_packet(self.now, p.from, p.bytes).expect("engine packets decode");
        }
    }

    /// Delivers everything in flight, repeatedly, until nothing is left.
    pub fn flush(&mut self) {
        loop {
            self.collect();
            if self.in_flight.is_empty() {
                return;
            }
            let batch = std::mem::take(&mut self.in_flight);
            for p in batch {
                self.nodes[p.to as usize].handle_packet(self.now, p.from, p.bytes).expect("engine packets decode");
            }
        }
    }

    /// Advances time to `now` and runs every node's timeout.
    pub fn tick(&mut self, now: Time) {
        self.now = now;
        for node in &mut self.nodes {
            node.handle_timeout(now);
        }
        self.collect();
    }

    /// Subscribes every node to `group` at time zero.
    pub fn subscribe_all(&mut self, group: GroupId) {
        for node in &mut self.nodes {
            node.subscribe(Time::ZERO, group).expect("subscribe");
        }
    }

    /// Runs `rounds` rounds of `period`, delivering everything each time.
    pub fn rounds(&mut self, period: Duration, rounds: usize) {
        for _ in 0..rounds {
            let now = self.now + period;
            self.tick(now);
            self.flush();
        }
    }

    pub fn multicast(&mut self, node: usize, group: GroupId, payload: Bytes) -> MessageId {
        let id = self.nodes[node].multicast(self.now, group, payload.clone()).expect("multicast accepted");
        self.sent.insert(id, payload);
        self.collect();
        id
    }

    /// Nodes subscribed to `group`.
    pub fn members(&self, group: GroupId) -> BTreeSet<usize> {
        (0..self.nodes.len()).filter(|i| self.nodes[*i].is_subscribed(group)).collect()
    }
}
