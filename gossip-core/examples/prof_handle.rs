use bytes::Bytes;
use gossip_core::wire::{Header, MessageFrame, PacketWriter};
use gossip_core::*;
use rand::SeedableRng;
use std::sync::Arc;
fn main() {
    let per: usize = std::env::args().nth(1).map_or(1, |s| s.parse().unwrap());
    let eager = std::env::args().nth(2).is_some();
    let n: u64 = 20_000;
    let mut list = SharedMembers::new();
    for i in 0..100u32 {
        list.push(NodeId(u64::from(i) + 1), i, &[GroupId(1)]);
    }
    let config = Config::builder().mode(Mode::Push).fanout(3).eager_push(eager).build().unwrap();
    let mut node: Node<u32> = Node::with_shared_members(NodeId(1), config, SmallRng::seed_from_u64(1), Arc::new(list));
    node.subscribe(Time::ZERO, GroupId(1)).unwrap();
    let mut seq = 1;
    let packets: Vec<Bytes> = (0..n)
        .map(|_| {
            let mut w = PacketWriter::new(1200, Header { sender: NodeId(2), heartbeat: 1 });
            for _ in 0..per {
                w.push_message(&MessageFrame {
                    id: MessageId { group: GroupId(1), origin: NodeId(2), seq },
                    age: 1,
                    hops: 1,
                    priority: 0,
                    feedback: false,
                    payload: Bytes::from(vec![7u8; 64]),
                });
                seq += 1;
            }
            w.finish()
        })
        .collect();
    for p in packets {
        node.handle_packet(Time::ZERO, 1, p).unwrap();
        while let Some(e) = node.poll_event() {
            std::hint::black_box(e);
        }
        while let Some(t) = node.poll_transmit() {
            std::hint::black_box(t);
        }
    }
    println!("{:?}", node.stats().deliveries);
}
