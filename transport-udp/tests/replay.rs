//! Replays, stale timestamps and other clusters against sealed (and
//! insecure) transports on loopback, in virtual time: a raw socket stands
//! between sender and receiver, captures what the sender sealed and sends
//! it again. A rejected datagram is followed by a fresh one, and the fresh
//! one must be the next thing received, so each test knows the rejected
//! datagram was processed without waiting on a timer.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use bytes::Bytes;
use gossip_runtime::Transport;
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport, WallClock};

const LOOPBACK: &str = "127.0.0.1:0";

fn keyed(clock: WallClock) -> UdpConfig {
    let key = ClusterKey::from_bytes(1, [0x5A; 32]);
    UdpConfig { clock, ..UdpConfig::new(LOOPBACK.parse().unwrap(), KeyRing::new(key)) }
}

fn bind(config: UdpConfig) -> UdpTransport {
    UdpTransport::bind(config).unwrap()
}

/// A raw socket that captures datagrams and sends them on.
struct Spy(UdpSocket);

impl Spy {
    fn new() -> Self {
        let socket = UdpSocket::bind(LOOPBACK).unwrap();
        // A guard against a hung test only: loopback delivers at once.
        socket.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        Spy(socket)
    }

    fn addr(&self) -> SocketAddr {
        self.0.local_addr().unwrap()
    }

    fn capture(&self, count: usize) -> Vec<Vec<u8>> {
        let mut buf = [0u8; 2048];
        (0..count)
            .map(|_| {
                let len = self.0.recv(&mut buf).unwrap();
                buf[..len].to_vec()
            })
            .collect()
    }

    fn send_all(&self, datagrams: &[Vec<u8>], to: &UdpTransport) {
        for datagram in datagrams {
            self.0.send_to(datagram, to.local_addr()).unwrap();
        }
    }
}

async fn send(from: &UdpTransport, to: SocketAddr, what: &'static str) {
    from.send(&to, Bytes::from_static(what.as_bytes())).await.unwrap();
}

async fn next(at: &UdpTransport) -> Bytes {
    at.recv().await.unwrap().1
}

/// Sends a fresh marker from `from` and checks it is the next datagram
/// `at` passes on: everything sent to `at` before it has been judged.
async fn marker_is_next(from: &UdpTransport, at: &UdpTransport, what: &'static str) {
    send(from, at.local_addr(), what).await;
    assert_eq!(next(at).await, what.as_bytes(), "something before the marker got through");
}

#[tokio::test(start_paused = true)]
async fn captures_replayed_at_once_after_a_long_silence_and_into_a_restarted_node_are_dropped() {
    let clock = WallClock::system();
    let (sender, receiver, spy) = (bind(keyed(clock)), bind(keyed(clock)), Spy::new());
    for m in ["m1", "m2", "m3"] {
        send(&sender, spy.addr(), m).await;
    }
    let captured = spy.capture(3);
    spy.send_all(&captured, &receiver);
    for m in ["m1", "m2", "m3"] {
        assert_eq!(next(&receiver).await, m.as_bytes());
    }

    // At once: the replay window has seen every counter.
    spy.send_all(&captured, &receiver);
    marker_is_next(&sender, &receiver, "fresh 1").await;
    let stats = receiver.udp_stats();
    assert_eq!((stats.replayed, stats.datagrams_in), (3, 4), "{stats:?}");

    // 76 s of silence later: stamped outside the 60 s skew.
    tokio::time::advance(Duration::from_secs(76)).await;
    spy.send_all(&captured, &receiver);
    marker_is_next(&sender, &receiver, "fresh 2").await;
    let stats = receiver.udp_stats();
    assert_eq!((stats.clock_skew, stats.datagrams_in), (3, 5), "{stats:?}");

    // Into a node that never saw them (a restart: no window at all).
    let restarted = bind(keyed(clock));
    spy.send_all(&captured, &restarted);
    marker_is_next(&sender, &restarted, "fresh 3").await;
    let stats = restarted.udp_stats();
    assert_eq!((stats.clock_skew, stats.datagrams_in), (3, 1), "{stats:?}");
    // The runtime's view: dropped, not authentication failures.
    let runtime = receiver.stats();
    assert_eq!((runtime.dropped, runtime.auth_failures, runtime.datagrams_in), (6, 0, 5));
}

#[tokio::test(start_paused = true)]
async fn a_counter_older_than_the_window_is_dropped() {
    let clock = WallClock::system();
    let (sender, receiver, spy) = (bind(keyed(clock)), bind(keyed(clock)), Spy::new());
    send(&sender, spy.addr(), "first").await;
    let first = spy.capture(1);
    let window = transport_udp::REPLAY_WINDOW as usize;
    for _ in 0..=window {
        send(&sender, receiver.local_addr(), "later").await;
        assert_eq!(next(&receiver).await, &b"later"[..]);
    }
    spy.send_all(&first, &receiver);
    marker_is_next(&sender, &receiver, "fresh").await;
    assert_eq!(receiver.udp_stats().too_old, 1);
}

#[tokio::test(start_paused = true)]
async fn a_sender_whose_clock_is_off_by_more_than_the_skew_is_dropped() {
    let clock = WallClock::system();
    let receiver = bind(keyed(clock));
    let (ahead, behind, close) =
        (bind(keyed(clock.shifted(61))), bind(keyed(clock.shifted(-61))), bind(keyed(clock.shifted(-59))));
    send(&ahead, receiver.local_addr(), "ahead").await;
    send(&behind, receiver.local_addr(), "behind").await;
    marker_is_next(&close, &receiver, "within the skew").await;
    assert_eq!(receiver.udp_stats().clock_skew, 2);

    // The skew is a knob.
    let lenient = bind(UdpConfig { max_clock_skew: Duration::from_secs(120), ..keyed(clock) });
    marker_is_next(&ahead, &lenient, "ahead, within 120 s").await;
}

#[tokio::test(start_paused = true)]
async fn another_cluster_id_is_dropped_keyed_and_insecure() {
    let clock = WallClock::system();
    // Keyed: the same secret in clusters 1 and 2.
    let ours = bind(UdpConfig { cluster_id: 2, ..keyed(clock) });
    let theirs = bind(UdpConfig { cluster_id: 1, ..keyed(clock) });
    let peer = bind(UdpConfig { cluster_id: 2, ..keyed(clock) });
    send(&theirs, ours.local_addr(), "foreign").await;
    marker_is_next(&peer, &ours, "ours").await;
    let stats = ours.udp_stats();
    assert_eq!((stats.foreign_cluster, stats.auth_failures), (1, 0), "{stats:?}");
    assert_eq!(ours.max_packet_size(), 1452 - transport_udp::SEAL_OVERHEAD);

    // Insecure: only the cluster id prefix keeps them apart.
    let insecure = |cluster_id| bind(UdpConfig { cluster_id, ..UdpConfig::insecure(LOOPBACK.parse().unwrap()) });
    let (ours, theirs, peer) = (insecure(2), insecure(1), insecure(2));
    assert_eq!(ours.max_packet_size(), 1452 - transport_udp::CLUSTER_ID_LEN);
    send(&theirs, ours.local_addr(), "foreign").await;
    marker_is_next(&peer, &ours, "ours").await;
    assert_eq!(ours.udp_stats().foreign_cluster, 1);
    assert_eq!(ours.stats().dropped, 1);
    assert!(!ours.is_sealed());
}

#[tokio::test(start_paused = true)]
async fn the_window_table_is_bounded_and_counts_evictions() {
    let clock = WallClock::system();
    let receiver = bind(UdpConfig { replay_senders: 2, ..keyed(clock) });
    let senders: Vec<UdpTransport> = (0..3).map(|_| bind(keyed(clock))).collect();
    for sender in &senders {
        marker_is_next(sender, &receiver, "hello").await;
    }
    assert_eq!(receiver.udp_stats().replay_window_evictions, 1);
    // An evicted sender starts a new window and is still heard.
    marker_is_next(&senders[0], &receiver, "again").await;
    assert_eq!(receiver.udp_stats().replay_window_evictions, 2);
    assert!(UdpTransport::bind(UdpConfig { replay_senders: 0, ..keyed(clock) }).is_err());
}
