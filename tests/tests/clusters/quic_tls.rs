//! Mutual TLS: only peers with a certificate from the cluster CA are
//! heard; certificates round-trip through PEM files.

use std::sync::Arc;
use std::time::Duration;

use gossip_runtime::{Faults, Transport};
use gossip_tests::GROUP;
use gossip_tests::checks::*;
use gossip_tests::quic::*;
use transport_quic::{ClusterCa, NodeIdentity};

/// Two cluster nodes and an intruder with `intruder_identity`: the
/// intruder is refused in both directions, hears nothing and is not
/// heard; the refusals are counted as authentication failures.
async fn intruder_is_refused(intruder_identity: NodeIdentity, seed: u64) {
    let a_t = Arc::new(quic(identity("a")));
    let i_t = Arc::new(quic(intruder_identity));
    let a = node_arc(seed, a_t.clone(), Faults::default(), config());
    let b = node(seed + 1, identity("b"), Faults::default());
    let intruder = node_arc(seed + 2, i_t.clone(), Faults::default(), config());
    let (b_progress, _) = collect(b.subscribe(GROUP).await.unwrap());
    let (mut intruder_progress, _) = collect(intruder.subscribe(GROUP).await.unwrap());
    a.subscribe(GROUP).await.unwrap();
    // a seeds from both (so a dials the intruder); the intruder seeds from
    // a (so it dials a).
    a.join(vec![*b.local_addr(), *intruder.local_addr()]).await.unwrap();
    intruder.join(vec![*a.local_addr()]).await.unwrap();
    formed(&[a.clone(), b.clone()], Duration::from_secs(10)).await;
    for i in 0..10 {
        a.multicast(GROUP, format!("secret {i}")).await.unwrap();
    }
    intruder.multicast(GROUP, "let me in").await.unwrap();
    let mut progress = b_progress;
    reaches(&mut progress, 10, Duration::from_secs(10), "b").await;
    wait_for(Duration::from_secs(10), "refusals on both sides", || async {
        a_t.quic_stats().auth_failures > 0 && i_t.quic_stats().auth_failures > 0
    })
    .await;
    // Its own message reaches its collector; wait for that count before
    // checking that nothing else arrived.
    reaches(&mut intruder_progress, 1, Duration::from_secs(10), "the intruder's own message").await;
    let stats = intruder.stats().await.unwrap();
    assert_eq!(*intruder_progress.borrow(), 1, "the intruder delivered something besides its own message");
    assert_eq!(stats.engine.deliveries, 1, "only its own message");
    assert_eq!(stats.engine.packets_in, 0, "a packet from the cluster reached the intruder's engine");
    assert!(intruder.members().await.unwrap().is_empty());
    assert!(a.members().await.unwrap().iter().all(|m| m.addr != *intruder.local_addr()));
    assert!(b.members().await.unwrap().iter().all(|m| m.addr != *intruder.local_addr()));
    assert_eq!(b.stats().await.unwrap().engine.deliveries, 10, "b delivered the intruder's message");
    // No connection with the intruder ever carried a packet, either way.
    let i = i_t.quic_stats();
    assert_eq!(i.datagrams_out + i.streams_out + i.datagrams_in + i.streams_in, 0, "{i:?}");
    for h in [a, b, intruder] {
        h.shutdown().await;
    }
}

/// A node whose certificate comes from another CA delivers nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_from_another_ca_is_refused() {
    let other = ClusterCa::generate("another cluster CA").unwrap();
    intruder_is_refused(other.issue("intruder").unwrap(), 10).await;
}

/// A node with a self-signed certificate delivers nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificate_is_refused() {
    intruder_is_refused(NodeIdentity::self_signed(transport_quic::DEFAULT_SERVER_NAME).unwrap(), 20).await;
}

/// At the transport level: a send to a foreign node fails its handshake,
/// the peer goes into back-off, and nothing is received on either side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_handshake_fails_and_backs_off() {
    let other = ClusterCa::generate("another cluster CA").unwrap();
    let a = quic(identity("a"));
    let x = quic(other.issue("x").unwrap());
    a.send(&x.local_addr(), bytes::Bytes::from_static(b"hello")).await.unwrap();
    wait_for(Duration::from_secs(5), "the dial to fail", || async { a.quic_stats().dial_failures == 1 }).await;
    assert!(matches!(
        a.send(&x.local_addr(), bytes::Bytes::from_static(b"again")).await,
        Err(gossip_runtime::TransportError::Unreachable)
    ));
    x.send(&a.local_addr(), bytes::Bytes::from_static(b"hi")).await.unwrap();
    wait_for(Duration::from_secs(5), "a to refuse x", || async { a.quic_stats().auth_failures >= 2 }).await;
    assert!(tokio::time::timeout(Duration::from_millis(300), a.recv()).await.is_err(), "a received from x");
    assert!(tokio::time::timeout(Duration::from_millis(300), x.recv()).await.is_err(), "x received from a");
    assert_eq!(a.stats().datagrams_in + x.stats().datagrams_in, 0);
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("transport-quic-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Certificates written to PEM files and read back work; a CA reloaded
/// from its files issues certificates the cluster accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pem_files_round_trip_and_reloaded_ca_issues_accepted_certs() {
    let dir = temp_dir("pem");
    let ca = ClusterCa::generate("file cluster CA").unwrap();
    std::fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
    std::fs::write(dir.join("ca.key"), ca.key_pem()).unwrap();
    let one = ca.issue("node-1").unwrap();
    std::fs::write(dir.join("node-1.pem"), one.cert_pem()).unwrap();
    std::fs::write(dir.join("node-1.key"), one.key_pem()).unwrap();

    let reloaded = ClusterCa::from_pem(
        "file cluster CA",
        &std::fs::read_to_string(dir.join("ca.pem")).unwrap(),
        &std::fs::read_to_string(dir.join("ca.key")).unwrap(),
    )
    .unwrap();
    let two = reloaded.issue("node-2").unwrap();

    let one =
        NodeIdentity::from_pem_files(&dir.join("ca.pem"), &dir.join("node-1.pem"), &dir.join("node-1.key")).unwrap();
    let a = quic(one);
    let b = quic(two);
    a.send(&b.local_addr(), bytes::Bytes::from_static(b"from one")).await.unwrap();
    let (from, got) = tokio::time::timeout(Duration::from_secs(5), b.recv()).await.unwrap().unwrap();
    assert_eq!((from, &got[..]), (a.local_addr(), &b"from one"[..]));
    b.send(&a.local_addr(), bytes::Bytes::from_static(b"from two")).await.unwrap();
    let (_, got) = tokio::time::timeout(Duration::from_secs(5), a.recv()).await.unwrap().unwrap();
    assert_eq!(&got[..], b"from two");
    assert_eq!(a.quic_stats().auth_failures + b.quic_stats().auth_failures, 0);

    assert!(NodeIdentity::from_pem("not pem", "", "").is_err());
    assert!(NodeIdentity::from_pem(ca.cert_pem(), ca.cert_pem(), ca.cert_pem()).is_err(), "a certificate is no key");
    let _ = std::fs::remove_dir_all(&dir);
}
