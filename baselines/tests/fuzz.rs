//! Arbitrary bytes never panic a baseline, and malformed packets are counted.

use std::sync::Arc;

use baselines::wire::{Data, Packet, VERSION};
use baselines::{BaselineConfig, Rmtp, Seat, Srm, Tree, Unicast};
use bytes::Bytes;
use gossip_core::{GroupId, MessageId, NodeId, Protocol, ProtocolStats, SharedMembers, SmallRng, Time};
use proptest::prelude::*;
use rand::SeedableRng;

fn members() -> Arc<SharedMembers<u32>> {
    let mut list = SharedMembers::new();
    for i in 0..16u32 {
        list.push(NodeId(u64::from(i) + 1), i, &[GroupId(1)]);
    }
    Arc::new(list)
}

fn feed<P: Protocol<Address = u32>>(mut node: P, packets: &[Vec<u8>]) {
    node.subscribe(Time::ZERO, GroupId(1)).unwrap();
    let mut now = Time::ZERO;
    for p in packets {
        let result = node.handle_packet(now, 3, Bytes::copy_from_slice(p));
        if result.is_err() {
            assert!(node.stats().common().decode_errors > 0);
        }
        now += std::time::Duration::from_millis(3);
        node.handle_timeout(now);
        while node.poll_transmit().is_some() {}
        while node.poll_event().is_some() {}
        let _ = node.poll_timeout();
    }
}

fn all(packets: &[Vec<u8>]) {
    let seat = || Seat {
        id: NodeId(2),
        index: 1,
        members: members(),
        config: Arc::new(BaselineConfig::default()),
        rng: SmallRng::seed_from_u64(1),
    };
    feed(Unicast::new(seat()), packets);
    feed(Tree::new(seat()), packets);
    feed(Srm::new(seat()), packets);
    feed(Rmtp::new(seat()), packets);
}

fn valid() -> Vec<u8> {
    Packet::Data(Data {
        forward: true,
        repair: false,
        id: MessageId { group: GroupId(1), origin: NodeId(5), seq: 3 },
        origin_index: 4,
        root: 4,
        sender: 4,
        hops: 1,
        payload: Bytes::from_static(b"payload"),
    })
    .encode()
    .to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_125),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(packets in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..8)) {
        all(&packets);
    }

    #[test]
    fn random_bytes_behind_a_valid_header_never_panic(
        kind in 0u8..6,
        body in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut packet = vec![VERSION, kind];
        packet.extend(body);
        all(&[packet]);
    }

    #[test]
    fn hostile_sequence_numbers_never_panic(
        seqs in prop::collection::vec(prop_oneof![Just(u64::MAX), Just(u64::MAX - 1), any::<u64>(), 0u64..8], 1..40),
    ) {
        let packets: Vec<Vec<u8>> = seqs
            .into_iter()
            .map(|seq| {
                Packet::Data(Data {
                    forward: true,
                    repair: seq % 2 == 0,
                    id: MessageId { group: GroupId(1), origin: NodeId(5), seq },
                    origin_index: 4,
                    root: 4,
                    sender: 4,
                    hops: u16::MAX,
                    payload: Bytes::from_static(b"p"),
                })
                .encode()
                .to_vec()
            })
            .collect();
        all(&packets);
    }

    #[test]
    fn mutated_valid_packets_never_panic(flips in prop::collection::vec((0usize..40, any::<u8>()), 1..6)) {
        let mut packet = valid();
        for (at, byte) in flips {
            let at = at % packet.len();
            packet[at] = byte;
        }
        all(&[packet]);
    }
}
