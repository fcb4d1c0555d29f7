//! Hot paths of the engine: decode, encode, handling push packets (with and
//! without eager forwarding), multicast, and a round with many live rumors.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, criterion_group, criterion_main};
use gossip_core::wire::{self, Header, MessageFrame, PacketWriter};
use gossip_core::{Config, GroupId, MessageId, Mode, Node, NodeId, Protocol, SharedMembers, SmallRng, Time};
use rand::SeedableRng;

const GROUP: GroupId = GroupId(1);
const ORIGIN: NodeId = NodeId(2);

fn members(n: u32) -> Arc<SharedMembers<u32>> {
    let mut list = SharedMembers::new();
    for i in 0..n {
        list.push(NodeId(u64::from(i) + 1), i, &[GROUP]);
    }
    Arc::new(list)
}

fn node(config: Config) -> Node<u32> {
    let mut node = Node::with_shared_members(NodeId(1), config, SmallRng::seed_from_u64(1), members(100));
    node.subscribe(Time::ZERO, GROUP).unwrap();
    node
}

fn frame(seq: u64, len: usize) -> MessageFrame {
    MessageFrame {
        id: MessageId { group: GROUP, origin: ORIGIN, seq },
        age: 1,
        hops: 1,
        priority: 0,
        feedback: false,
        ack: false,
        payload: Bytes::from(vec![7u8; len]),
    }
}

/// A packet of `per_packet` 64-byte messages starting at `first_seq`, in a
/// buffer of its own as a socket read would leave it (`BytesMut` frozen).
fn packet(first_seq: u64, per_packet: usize) -> Bytes {
    let mut w = PacketWriter::new(1200, Header { sender: ORIGIN, incarnation: 1 });
    for i in 0..per_packet as u64 {
        assert!(w.push_message(&frame(first_seq + i, 64)));
    }
    BytesMut::from(&w.finish()[..]).freeze()
}

/// Messages of 64 bytes that fit in one 1200-byte packet.
fn full_batch() -> usize {
    let mut w = PacketWriter::new(1200, Header { sender: ORIGIN, incarnation: 1 });
    let mut n = 0;
    while w.push_message(&frame(n as u64 + 1, 64)) {
        n += 1;
    }
    n
}

/// Times handling `iters` fresh packets (new sequence numbers each time),
/// draining events and transmits as a driver would. Packets are made in
/// small chunks outside the timed part, so that each is handled while still
/// in cache, as a packet just read from a socket would be.
fn handle_fresh(node: &mut Node<u32>, per_packet: usize, iters: u64, next_seq: &mut u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(64);
        left -= chunk;
        let packets: Vec<Bytes> = (0..chunk)
            .map(|_| {
                let p = packet(*next_seq, per_packet);
                *next_seq += per_packet as u64;
                p
            })
            .collect();
        let start = Instant::now();
        for p in packets {
            node.handle_packet(Time::ZERO, 1, p).unwrap();
            while let Some(e) = node.poll_event() {
                black_box(e);
            }
            while let Some(t) = node.poll_transmit() {
                black_box(t);
            }
        }
        total += start.elapsed();
    }
    total
}

fn benches(c: &mut Criterion) {
    let batch = full_batch();
    let one = packet(1, 1);
    let full = packet(1, batch);
    c.bench_function("decode/one 64-byte message", |b| b.iter(|| wire::decode::<u32>(black_box(&one)).unwrap()));
    c.bench_function(&format!("decode/full 1200-byte packet ({batch} messages)"), |b| {
        b.iter(|| wire::decode::<u32>(black_box(&full)).unwrap())
    });
    let frames: Vec<MessageFrame> = (1..=batch as u64).map(|s| frame(s, 64)).collect();
    c.bench_function(&format!("encode/full 1200-byte packet ({batch} messages)"), |b| {
        b.iter(|| {
            let mut w = PacketWriter::new(1200, Header { sender: ORIGIN, incarnation: 1 });
            for f in &frames {
                w.push_message(f);
            }
            w.finish()
        })
    });

    let periodic = Config::builder().mode(Mode::Push).eager_push(false).build().unwrap();
    let eager = Config::builder().mode(Mode::Push).fanout(3).eager_push(true).build().unwrap();
    for (name, config, per_packet) in [
        ("handle/one 64-byte push (decode, dedup, deliver)", periodic.clone(), 1),
        ("handle/one 64-byte push + eager forward to 3", eager, 1),
        ("handle/full 1200-byte batch", periodic, batch),
    ] {
        let mut node = node(config);
        let mut next_seq = 1;
        c.bench_function(name, |b| b.iter_custom(|iters| handle_fresh(&mut node, per_packet, iters, &mut next_seq)));
    }

    let mut sender = node(Config::builder().mode(Mode::PushPull).fanout(3).build().unwrap());
    let payload = Bytes::from(vec![1u8; 64]);
    c.bench_function("multicast + drain transmits (b = 3, eager)", |b| {
        b.iter(|| {
            sender.multicast(Time::ZERO, GROUP, payload.clone()).unwrap();
            while let Some(t) = sender.poll_transmit() {
                black_box(t);
            }
            while let Some(e) = sender.poll_event() {
                black_box(e);
            }
        })
    });

    // 1,000 live rumors, each multicast here; a round pushes them all to b
    // targets. The node is rebuilt (untimed) every 1,000 rounds, well inside
    // the rumors' lifetime and retention.
    let config = Config::builder()
        .mode(Mode::Push)
        .fanout(3)
        .eager_push(false)
        .lifetime(gossip_core::Lifetime::Rounds(10_000))
        .build()
        .unwrap();
    let busy = |config: &Config| {
        let mut busy = node(config.clone());
        for _ in 0..1_000 {
            busy.multicast(Time::ZERO, GROUP, Bytes::from(vec![1u8; 64])).unwrap();
        }
        while busy.poll_event().is_some() {}
        busy
    };
    c.bench_function("timeout round with 1,000 live rumors (b = 3)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let mut node = busy(&config);
                let mut now = Time::ZERO;
                let start = Instant::now();
                for _ in 0..(iters - done).min(1_000) {
                    now += config.period();
                    node.handle_timeout(now);
                    while let Some(t) = node.poll_transmit() {
                        black_box(t);
                    }
                    done += 1;
                }
                total += start.elapsed();
            }
            total
        })
    });
}

criterion_group!(engine, benches);
criterion_main!(engine);
