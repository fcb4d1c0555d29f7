//! The shared conformance suite against UDP: IPv4 and IPv6, batched and
//! unbatched, plain and sealed; cancel safety of the receive arena under
//! `select!`; port 0 always yields distinct ports.

use std::collections::HashSet;
use std::net::SocketAddr;

use bytes::Bytes;
use gossip_runtime::Transport;
use gossip_runtime::conformance::WAIT;
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

fn config(addr: &str, sealed: bool) -> UdpConfig {
    let addr = addr.parse().unwrap();
    if sealed {
        UdpConfig::new(addr, KeyRing::new(ClusterKey::from_bytes(7, gossip_tests::udp::test_key_bytes("conformance"))))
    } else {
        UdpConfig::insecure(addr)
    }
}

fn bind(addr: &str, batching: bool, sealed: bool) -> UdpTransport {
    UdpTransport::bind(UdpConfig { batching, ..config(addr, sealed) }).unwrap()
}

fn bad_v4() -> Vec<SocketAddr> {
    ["[::1]:9", "127.0.0.1:0", "0.0.0.0:9"].iter().map(|a| a.parse().unwrap()).collect()
}

fn bad_v6() -> Vec<SocketAddr> {
    ["127.0.0.1:9", "[::1]:0", "[::]:9"].iter().map(|a| a.parse().unwrap()).collect()
}

async fn conformance(addr: &'static str, batching: bool, sealed: bool) {
    let bad = if addr.starts_with('[') { bad_v6() } else { bad_v4() };
    gossip_runtime::conformance::run_all(
        || async move { (bind(addr, batching, sealed), bind(addr, batching, sealed)) },
        bad,
    )
    .await;
}

#[tokio::test]
async fn ipv4_batched_plain() {
    conformance("127.0.0.1:0", true, false).await;
}

#[tokio::test]
async fn ipv4_batched_sealed() {
    conformance("127.0.0.1:0", true, true).await;
}

#[tokio::test]
async fn ipv4_unbatched_plain() {
    conformance("127.0.0.1:0", false, false).await;
}

#[tokio::test]
async fn ipv4_unbatched_sealed() {
    conformance("127.0.0.1:0", false, true).await;
}

#[tokio::test]
async fn ipv6_batched_plain() {
    conformance("[::1]:0", true, false).await;
}

#[tokio::test]
async fn ipv6_batched_sealed() {
    conformance("[::1]:0", true, true).await;
}

#[tokio::test]
async fn ipv6_unbatched_sealed() {
    conformance("[::1]:0", false, true).await;
}

#[tokio::test]
async fn buffers_are_reported() {
    let t = bind("127.0.0.1:0", true, false);
    let sizes = t.buffer_sizes();
    assert_eq!(sizes.recv_requested, 8 << 20);
    assert!(sizes.recv_actual > 0 && sizes.send_actual > 0, "{sizes:?}");
    assert!(t.is_batching());
}

/// Sends `count` tagged datagrams from `a` to `b` in batches of `per_batch`
/// (equal sizes, so they leave as GSO trains where the kernel has GSO).
async fn send_tagged(a: &UdpTransport, to: SocketAddr, count: u32, per_batch: u32) {
    for first in (0..count).step_by(per_batch as usize) {
        let batch: Vec<(SocketAddr, Bytes)> = (first..(first + per_batch).min(count))
            .map(|tag| {
                let mut bytes = vec![0xA5; 200];
                bytes[..4].copy_from_slice(&tag.to_le_bytes());
                (to, Bytes::from(bytes))
            })
            .collect();
        for result in a.send_batch(&batch).await {
            result.unwrap();
        }
    }
}

/// Receives under `select!` against a branch that is always ready, so
/// every receive that is not immediately complete is dropped; every
/// datagram must still arrive exactly once, and dropped receives must not
/// cost the arena its buffers.
async fn cancel_safe_under_select(sealed: bool) {
    const COUNT: u32 = 2_000;
    let (a, b) = (bind("127.0.0.1:0", true, sealed), bind("127.0.0.1:0", true, sealed));
    let mut seen = HashSet::new();
    let mut cancelled = 0u64;
    let mut out = Vec::new();
    let receiving = async {
        while seen.len() < COUNT as usize {
            out.clear();
            tokio::select! {
                biased;
                result = b.recv_batch(&mut out, 1 + (cancelled % 3) as usize) => {
                    result.unwrap();
                    for (from, bytes) in out.drain(..) {
                        assert_eq!(from, a.local_addr());
                        assert_eq!(bytes.len(), 200);
                        let tag = u32::from_le_bytes(bytes[..4].try_into().unwrap());
                        assert!(seen.insert(tag), "datagram {tag} delivered twice");
                    }
                }
                () = std::future::ready(()) => cancelled += 1,
            }
            tokio::task::yield_now().await;
        }
    };
    let sending = send_tagged(&a, b.local_addr(), COUNT, 50);
    let ((), finished) = tokio::join!(sending, tokio::time::timeout(WAIT, receiving));
    assert!(finished.is_ok(), "received {} of {COUNT} ({cancelled} receives cancelled)", seen.len());
    assert!(cancelled > 0, "no receive was ever cancelled: the test tested nothing");
    let stats = b.udp_stats();
    assert_eq!(stats.datagrams_in, u64::from(COUNT));
    // 2,000 datagrams of 229 bytes at most fit in a handful of arena
    // blocks; a receive that lost its buffers on cancellation would need
    // one per cancellation.
    assert!(stats.arena_allocations <= 8, "{} arena blocks for {cancelled} cancellations", stats.arena_allocations);
}

#[tokio::test]
async fn receive_is_cancel_safe_under_select_plain() {
    cancel_safe_under_select(false).await;
}

#[tokio::test]
async fn receive_is_cancel_safe_under_select_sealed() {
    cancel_safe_under_select(true).await;
}

#[tokio::test]
async fn a_thousand_sockets_on_port_zero_get_a_thousand_ports() {
    let mut ports = HashSet::new();
    let mut sockets = Vec::new();
    for _ in 0..1_000 {
        // Address reuse asked for, and ignored for port 0.
        let config = UdpConfig {
            reuse_address: true,
            recv_buffer: 64 << 10,
            send_buffer: 64 << 10,
            ..UdpConfig::insecure("127.0.0.1:0".parse().unwrap())
        };
        let socket = UdpTransport::bind(config).unwrap();
        ports.insert(socket.local_addr().port());
        sockets.push(socket);
    }
    assert_eq!(ports.len(), 1_000);
}

#[tokio::test]
async fn address_reuse_rebinds_a_fixed_port_when_asked() {
    let first = bind("127.0.0.1:0", true, false);
    let fixed = first.local_addr();
    // Without the flag a second socket on a taken port is refused.
    assert!(UdpTransport::bind(UdpConfig::insecure(fixed)).is_err());
    drop(first);
    let again = UdpTransport::bind(UdpConfig { reuse_address: true, ..UdpConfig::insecure(fixed) }).unwrap();
    assert_eq!(again.local_addr(), fixed);
}

#[tokio::test]
async fn equal_datagrams_to_one_peer_share_system_calls() {
    let (a, b) = (bind("127.0.0.1:0", true, false), bind("127.0.0.1:0", true, false));
    send_tagged(&a, b.local_addr(), 64, 64).await;
    let mut got = HashSet::new();
    let mut out = Vec::new();
    let received = tokio::time::timeout(WAIT, async {
        while got.len() < 64 {
            b.recv_batch(&mut out, 64).await.unwrap();
            got.extend(out.drain(..).map(|(_, bytes)| u32::from_le_bytes(bytes[..4].try_into().unwrap())));
        }
    })
    .await;
    assert!(received.is_ok(), "received {} of 64", got.len());
    let (sent, recvd) = (a.udp_stats(), b.udp_stats());
    assert_eq!(sent.datagrams_out, 64);
    // One GSO train per max_gso_segments datagrams where the kernel has
    // GSO; one call per datagram where it does not.
    assert_eq!(sent.send_syscalls, 64u64.div_ceil(a.max_gso_segments() as u64), "{sent:?}");
    if b.gro_segments() > 1 && a.max_gso_segments() > 1 {
        assert!(recvd.recv_syscalls < 64, "GRO coalesced nothing: {recvd:?}");
    }
}
