//! Drives one gossip node with arbitrary packets, timeouts and multicasts:
//! it must never panic (overflow checks are on), never deliver a message id
//! twice, and stay within its caps.

#![no_main]

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use gossip_core::codec::{Header, PacketWriter};
use gossip_core::{Config, Event, GroupId, Node, NodeId, Protocol, SmallRng, Time};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let config = Config::builder().max_streams(64).max_stream_floors(256).max_members(256).build().expect("config");
    let mut node: Node<u32> = Node::new(NodeId(1), config.clone(), SmallRng::seed_from_u64(7));
    let group = GroupId(3);
    let _ = node.subscribe(Time::ZERO, group);
    node.join(Time::ZERO, &[2]);
    let mut now = Time::ZERO;
    let mut delivered = BTreeSet::new();
    let mut rest = data;
    while let [op, from, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (chunk, next) = tail.split_at(len);
        rest = next;
        let from = u32::from(*from % 8);
        match op % 5 {
            0 | 1 => {
                let _ = node.handle_packet(now, from, Bytes::copy_from_slice(chunk));
            }
            2 => {
                // A valid header in front, so the frames are what is fuzzed.
                let sender = NodeId(u64::from(chunk.first().copied().unwrap_or(0) % 16) + 2);
                let mut packet = PacketWriter::new(1200, Header { sender, incarnation: 0 }).finish().to_vec();
                packet.extend_from_slice(chunk.get(1..).unwrap_or_default());
                let _ = node.handle_packet(now, from, Bytes::from(packet));
            }
            3 => {
                now += Duration::from_millis(u64::from(chunk.first().copied().unwrap_or(1)) * 20);
                node.handle_timeout(now);
            }
            _ => {
                let _ = node.multicast(now, group, Bytes::copy_from_slice(chunk));
            }
        }
        while node.poll_transmit().is_some() {}
        while let Some(event) = node.poll_event() {
            if let Event::Delivered(d) = event {
                assert!(delivered.insert(d.id), "delivered {} twice", d.id);
            }
        }
        let usage = node.usage();
        assert!(usage.streams <= 64 && usage.stream_floors <= 256, "{usage:?}");
        assert!(usage.known_members <= 256 + 1, "{usage:?}");
    }
});
