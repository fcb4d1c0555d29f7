//! The shared transport conformance suite against QUIC (IPv4 and IPv6),
//! and transport-level checks of the datagram and stream paths.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use gossip_runtime::{Transport, TransportError};
use gossip_tests::checks::*;
use gossip_tests::quic::*;
use tracing_subscriber::util::SubscriberInitExt;

fn bad_v4() -> Vec<SocketAddr> {
    ["[::1]:9", "127.0.0.1:0", "0.0.0.0:9"].iter().map(|a| a.parse().unwrap()).collect()
}

fn bind_v6(name: &str) -> transport_quic::QuicTransport {
    let config = transport_quic::QuicConfig::new("[::1]:0".parse().unwrap(), identity(name));
    transport_quic::QuicTransport::bind(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4() {
    gossip_runtime::conformance::run_all(|| async { (quic(identity("a")), quic(identity("b"))) }, bad_v4()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6() {
    let bad: Vec<SocketAddr> = ["127.0.0.1:9", "[::1]:0", "[::]:9"].iter().map(|a| a.parse().unwrap()).collect();
    gossip_runtime::conformance::run_all(|| async { (bind_v6("a"), bind_v6("b")) }, bad).await;
}

/// Polls a future once, with a waker that does nothing.
fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    std::pin::pin!(fut).poll(&mut Context::from_waker(Waker::noop()))
}

fn pattern(len: usize, seed: u8) -> Bytes {
    Bytes::from((0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect::<Vec<u8>>())
}

async fn recv(t: &transport_quic::QuicTransport) -> (SocketAddr, Bytes) {
    tokio::time::timeout(Duration::from_secs(10), t.recv()).await.expect("nothing received").expect("recv")
}

/// Small packets go as datagrams; a 1 MiB packet goes on a stream and
/// arrives intact; both counted as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagram_and_stream_paths() {
    // Path MTU discovery off (upper bound = initial MTU): the datagram size
    // must not grow between reading it and sending one byte more.
    let fixed_mtu = |c: &mut transport_quic::QuicConfig| c.mtu_upper_bound = c.initial_mtu;
    let a = quic_with(identity("a"), fixed_mtu);
    let b = quic_with(identity("b"), fixed_mtu);
    let small = pattern(200, 1);
    a.send(&b.local_addr(), small.clone()).await.unwrap();
    let (from, got) = recv(&b).await;
    assert_eq!((from, got), (a.local_addr(), small));
    let dgram = a.datagram_size(&b.local_addr()).expect("a connection with datagrams");
    assert!(dgram >= 1100, "datagram size {dgram}");
    eprintln!("datagram size at the default initial MTU: {dgram}");

    // Just over the datagram size, and 1 MiB: streams.
    let over = pattern(dgram + 1, 2);
    let mib = pattern(1 << 20, 3);
    a.send(&b.local_addr(), over.clone()).await.unwrap();
    a.send(&b.local_addr(), mib.clone()).await.unwrap();
    let mut got = [recv(&b).await.1, recv(&b).await.1];
    got.sort_by_key(|b| b.len());
    assert_eq!(got[0], over, "a packet one byte over the datagram size changed");
    assert_eq!(got[1].len(), 1 << 20, "1 MiB packet truncated");
    assert_eq!(got[1], mib, "1 MiB packet changed");

    // And back over the same connection (b reuses the one a dialled).
    let back = pattern(1 << 20, 4);
    b.send(&a.local_addr(), back.clone()).await.unwrap();
    assert_eq!(recv(&a).await.1, back);

    // A sender counts a stream once it is finished, which may be a moment
    // after the receiver has it.
    wait_for(Duration::from_secs(5), "streams to be counted", || async {
        a.quic_stats().streams_out == 2 && b.quic_stats().streams_out == 1
    })
    .await;
    let (sa, sb) = (a.quic_stats(), b.quic_stats());
    assert_eq!(sa.datagrams_out, 1);
    assert_eq!(sa.streams_out, 2);
    assert_eq!(sb.datagrams_in, 1);
    assert_eq!(sb.streams_in, 2);
    assert_eq!(sb.streams_out, 1);
    assert_eq!(sa.dials, 1, "a dialled once");
    assert_eq!(sb.dials, 0, "b reused a's connection");
    assert_eq!(sa.dropped() + sb.dropped(), 0);
}

/// A packet over the receiver's limit, sent on a stream by a peer with a
/// larger limit, is dropped and counted, not buffered without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_over_receiver_limit_is_dropped() {
    let a = quic(identity("a"));
    let b = quic_with(identity("b"), |c| c.max_packet_size = 64 << 10);
    a.send(&b.local_addr(), pattern(100 << 10, 5)).await.unwrap();
    a.send(&b.local_addr(), pattern(300, 6)).await.unwrap();
    assert_eq!(recv(&b).await.1, pattern(300, 6));
    wait_for(Duration::from_secs(10), "the oversized stream to be counted", || async {
        b.quic_stats().stream_recv_failures == 1
    })
    .await;
    assert_eq!(b.quic_stats().streams_in, 0);
}

/// A peer that does not answer: the first send is accepted (a dial
/// starts), later sends fail with `Unreachable` without awaiting anything
/// while it backs off (no new dial, nothing queued), and a reachable peer
/// is served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_peer_fails_fast_and_is_counted() {
    let a = quic_with(identity("a"), |c| {
        c.dial_timeout = Duration::from_millis(200);
        c.backoff_min = Duration::from_secs(5);
    });
    let b = quic(identity("b"));
    // A bound UDP socket that never answers QUIC.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dead = silent.local_addr().unwrap();
    a.send(&dead, pattern(100, 7)).await.expect("first send starts a dial");
    a.send(&b.local_addr(), pattern(100, 8)).await.unwrap();
    assert_eq!(recv(&b).await.1, pattern(100, 8), "another peer is not held up");
    wait_for(Duration::from_secs(5), "the dial to fail", || async { a.quic_stats().dial_failures == 1 }).await;
    for i in 0..100 {
        // Ready on the first poll: a send that waited for a dial, a timer
        // or the network would be pending here.
        match poll_once(a.send(&dead, pattern(100, 9))) {
            Poll::Ready(Err(TransportError::Unreachable)) => {}
            other => panic!("send {i} to a peer in back-off: {other:?}"),
        }
    }
    let s = a.quic_stats();
    assert_eq!(s.unreachable, 100);
    assert_eq!(s.dials, 2, "one dial to the silent peer, one to b; none during back-off");
    assert_eq!(s.dial_failures, 1);
    assert_eq!(s.pending_dropped, 1, "only the packet that waited for the failed dial");
    assert_eq!(s.pending_full, 0);
    assert_eq!(a.stats().dropped, 1);
}

/// The connection cap closes the least recently used connection; the
/// evicted peer is dialled again when next needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cap_evicts_least_recently_used() {
    let a = quic_with(identity("a"), |c| c.max_connections = 2);
    let peers: Vec<_> = (0..3).map(|i| quic(identity(&format!("p{i}")))).collect();
    for round in 0..2u8 {
        for (i, p) in peers.iter().enumerate() {
            let payload = pattern(50, round * 10 + i as u8);
            a.send(&p.local_addr(), payload.clone()).await.unwrap();
            assert_eq!(recv(p).await.1, payload);
        }
    }
    let s = a.quic_stats();
    assert!(s.evictions >= 4, "evictions {}", s.evictions);
    assert_eq!(s.dials, 6, "each send after an eviction dials again");
    wait_for(Duration::from_secs(5), "evicted connections to close", || async { a.quic_stats().connections_open <= 2 })
        .await;
}

/// A peer killed without a word (no CONNECTION_CLOSE) and started again
/// at the same address dials in anew: its new connection replaces the
/// stale cached one at once, so the next send reaches the new process,
/// not a connection that would linger until the (here 10-minute) idle
/// timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_restarted_at_the_same_address_is_reached_at_once() {
    let long_idle = |c: &mut transport_quic::QuicConfig| c.idle_timeout = Duration::from_secs(600);
    let a = quic_with(identity("a"), long_idle);
    let old = Crashable::bind(identity("b"), long_idle);
    let addr = old.transport().local_addr();
    a.send(&addr, pattern(100, 1)).await.unwrap();
    assert_eq!(recv(old.transport()).await.1, pattern(100, 1));
    // An answer on a's connection: the old process knew a too.
    old.transport().send(&a.local_addr(), pattern(100, 2)).await.unwrap();
    assert_eq!(recv(&a).await, (addr, pattern(100, 2)));
    old.crash();

    let b = quic_with(identity("b"), |c| {
        c.bind = addr;
        long_idle(c);
    });
    b.send(&a.local_addr(), pattern(100, 3)).await.unwrap();
    assert_eq!(recv(&a).await, (addr, pattern(100, 3)), "the restarted peer's dial reaches a");
    a.send(&addr, pattern(100, 4)).await.unwrap();
    assert_eq!(recv(&b).await, (a.local_addr(), pattern(100, 4)), "a's next send reaches the new process");
    let s = a.quic_stats();
    assert_eq!(s.connections_replaced, 1, "the stale connection was replaced");
    assert_eq!(s.dials, 1, "a dialled only the first time");
}

/// A closed transport refuses to send and ends `recv`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_send_and_recv() {
    let a = quic(identity("a"));
    let b = quic(identity("b"));
    a.close();
    assert!(matches!(a.send(&b.local_addr(), pattern(10, 1)).await, Err(TransportError::Closed)));
    assert!(matches!(a.recv().await, Err(TransportError::Closed)));
}

/// With path MTU discovery capped at QUIC's minimum (1,200 bytes), the
/// datagram size is smaller, and a 1,200-byte packet goes on a stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagram_size_follows_the_path_mtu() {
    let a = quic_with(identity("a"), |c| c.mtu_upper_bound = 1200);
    let b = quic_with(identity("b"), |c| c.mtu_upper_bound = 1200);
    a.send(&b.local_addr(), pattern(100, 1)).await.unwrap();
    recv(&b).await;
    let dgram = a.datagram_size(&b.local_addr()).expect("datagrams");
    eprintln!("datagram size at MTU 1200: {dgram}");
    assert!((1100..1200).contains(&dgram), "datagram size {dgram}");
    a.send(&b.local_addr(), pattern(1200, 2)).await.unwrap();
    assert_eq!(recv(&b).await.1, pattern(1200, 2));
    wait_for(Duration::from_secs(5), "the stream to be counted", || async { a.quic_stats().streams_out == 1 }).await;
}

/// Log lines written by the code under test, for checking what it warns
/// about.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A refused TLS handshake is logged at `warn` on both sides, each naming
/// the other's address and who refused whom. (Current-thread runtime: the
/// transports' tasks run on this thread, under this thread's subscriber.)
#[tokio::test]
async fn tls_refusal_is_logged_at_warn_on_both_sides() {
    let captured = Captured::default();
    let writer = captured.clone();
    let _log = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .set_default();
    let other = transport_quic::ClusterCa::generate("another cluster CA").unwrap();
    let a = quic(identity("a"));
    let intruder = quic(other.issue("intruder").unwrap());
    a.send(&intruder.local_addr(), pattern(10, 1)).await.expect("the first send starts a dial");
    wait_for(Duration::from_secs(10), "refusals on both sides", || async {
        a.quic_stats().auth_failures > 0 && intruder.quic_stats().auth_failures > 0
    })
    .await;
    let log = captured.text();
    let refusals: Vec<&str> =
        log.lines().filter(|l| l.contains("WARN") && l.contains("TLS handshake refused")).collect();
    let dialer = format!("peer={}", intruder.local_addr());
    let acceptor = format!("peer={}", a.local_addr());
    assert!(
        refusals.iter().any(|l| l.contains(&dialer) && l.contains("we refused the peer's certificate")),
        "no warning from the dialer naming the intruder:\n{log}"
    );
    assert!(
        refusals.iter().any(|l| l.contains(&acceptor) && l.contains("the peer refused our certificate")),
        "no warning from the intruder naming the dialer:\n{log}"
    );
}
