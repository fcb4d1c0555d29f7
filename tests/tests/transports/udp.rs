//! The shared transport conformance suite against UDP: IPv4 and IPv6,
//! batched and unbatched, plain and sealed.

use std::net::SocketAddr;

use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

fn bind(addr: &str, batching: bool, sealed: bool) -> UdpTransport {
    let keys = sealed.then(|| KeyRing::new(ClusterKey::from_passphrase(7, "conformance")));
    UdpTransport::bind(UdpConfig { batching, keys, ..UdpConfig::new(addr.parse().unwrap()) }).unwrap()
}

fn bad_v4() -> Vec<SocketAddr> {
    ["[::1]:9", "127.0.0.1:0", "0.0.0.0:9"].iter().map(|a| a.parse().unwrap()).collect()
}

#[tokio::test]
async fn ipv4_batched_plain() {
    gossip_runtime::conformance::run_all(
        || async { (bind("127.0.0.1:0", true, false), bind("127.0.0.1:0", true, false)) },
        bad_v4(),
    )
    .await;
}

#[tokio::test]
async fn ipv4_batched_sealed() {
    gossip_runtime::conformance::run_all(
        || async { (bind("127.0.0.1:0", true, true), bind("127.0.0.1:0", true, true)) },
        bad_v4(),
    )
    .await;
}

#[tokio::test]
async fn ipv4_unbatched_sealed() {
    gossip_runtime::conformance::run_all(
        || async { (bind("127.0.0.1:0", false, true), bind("127.0.0.1:0", false, true)) },
        bad_v4(),
    )
    .await;
}

#[tokio::test]
async fn ipv6_batched_sealed() {
    let bad: Vec<SocketAddr> = ["127.0.0.1:9", "[::1]:0", "[::]:9"].iter().map(|a| a.parse().unwrap()).collect();
    gossip_runtime::conformance::run_all(|| async { (bind("[::1]:0", true, true), bind("[::1]:0", true, true)) }, bad)
        .await;
}

#[tokio::test]
async fn buffers_are_reported() {
    let t = bind("127.0.0.1:0", true, false);
    let sizes = t.buffer_sizes();
    assert_eq!(sizes.recv_requested, 8 << 20);
    assert!(sizes.recv_actual > 0 && sizes.send_actual > 0, "{sizes:?}");
    assert!(t.is_batching());
}
