//! The runtime on loopback UDP: many nodes, injected loss, wrong keys,
//! garbage, graceful shutdown.

use std::time::Duration;

use gossip_runtime::Faults;
use gossip_tests::GROUP;
use gossip_tests::checks::*;
use gossip_tests::udp::*;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use transport_udp::Security;

/// 20 nodes, 10% loss on every datagram sent: 1,000 messages from five
/// senders reach every member exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_nodes_ten_percent_loss_exactly_once() {
    let handles: Vec<_> =
        (0..20).map(|i| node(100 + i, key("cluster"), Faults::loss(0.10, 1000 + i).unwrap())).collect();
    every_message_once_at_every_member(&handles, GROUP, 1000, 5).await;
}

/// A node with the wrong key hears nothing and is not heard: its
/// datagrams are counted as authentication failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_cluster_key_delivers_nothing() {
    let a = node(1, key("right"), Faults::default());
    let b = node(2, key("right"), Faults::default());
    let intruder = node(3, key("wrong"), Faults::default());
    let (b_progress, _) = collect(b.subscribe(GROUP).await.unwrap());
    let (intruder_progress, _) = collect(intruder.subscribe(GROUP).await.unwrap());
    a.subscribe(GROUP).await.unwrap();
    // a seeds from both; the intruder seeds from a.
    a.join(vec![*b.local_addr(), *intruder.local_addr()]).await.unwrap();
    intruder.join(vec![*a.local_addr()]).await.unwrap();
    formed(&[a.clone(), b.clone()], Duration::from_secs(10)).await;
    for i in 0..10 {
        a.multicast(GROUP, format!("secret {i}")).await.unwrap();
    }
    let mut progress = b_progress;
    wait_for(Duration::from_secs(10), "b to deliver", || {
        let done = *progress.borrow_and_update() >= 10;
        async move { done }
    })
    .await;
    wait_for(Duration::from_secs(10), "authentication failures on both sides", || async {
        a.stats().await.unwrap().transport.auth_failures > 0
            && intruder.stats().await.unwrap().transport.auth_failures > 0
    })
    .await;
    let stats = intruder.stats().await.unwrap();
    assert_eq!(*intruder_progress.borrow(), 0, "the intruder delivered something");
    assert_eq!(stats.engine.deliveries, 0);
    assert_eq!(stats.engine.packets_in, 0, "a datagram under the wrong key reached the engine");
    assert!(intruder.members().await.unwrap().is_empty());
    assert!(a.members().await.unwrap().iter().all(|m| m.addr != *intruder.local_addr()));
}

async fn garbage_at(keyed: bool) {
    let keys = || if keyed { key("k") } else { Security::Insecure };
    let a = node(10, keys(), Faults::default());
    let b = node(11, keys(), Faults::default());
    let (progress, _) = collect(a.subscribe(GROUP).await.unwrap());
    b.join(vec![*a.local_addr()]).await.unwrap();
    formed(&[a.clone(), b.clone()], Duration::from_secs(10)).await;

    let raw = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut rng = SmallRng::seed_from_u64(99);
    let count = 2000u64;
    for i in 0..count {
        let len = rng.random_range(0..1400usize);
        let mut junk: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if i % 2 == 0 && junk.len() > 8 {
            // This cluster's id (0), then a plausible key id / version byte.
            junk[..9].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, u8::from(keyed)]);
        }
        raw.send_to(&junk, a.local_addr()).await.unwrap();
        if i % 100 == 99 {
            tokio::task::yield_now().await;
        }
    }
    wait_for(Duration::from_secs(10), "every garbage datagram to be counted", || async {
        let s = a.stats().await.unwrap();
        // Without this cluster's id: dropped by the transport; with it:
        // refused by authentication (keyed) or by the engine's decoder.
        let counted = s.transport.dropped + if keyed { s.transport.auth_failures } else { s.engine.decode_errors };
        counted >= count
    })
    .await;
    // Still working: b's multicasts reach a.
    for i in 0..20 {
        b.multicast(GROUP, format!("after garbage {i}")).await.unwrap();
    }
    let mut progress = progress;
    wait_for(Duration::from_secs(10), "delivery after garbage", || {
        let done = *progress.borrow_and_update() >= 20;
        async move { done }
    })
    .await;
    let stats = a.stats().await.unwrap();
    assert_eq!(stats.engine.deliveries, 20);
    if keyed {
        assert_eq!(stats.engine.decode_errors, 0, "garbage reached the engine despite the key");
    }
}

/// Random datagrams at a keyed node: counted as another cluster's or as
/// authentication failures, never reach the engine, and the node keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_at_a_keyed_node_is_counted() {
    garbage_at(true).await;
}

/// Random datagrams at an unkeyed node: counted as another cluster's or
/// as decode errors, no crash, and the node keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_at_a_plain_node_is_counted() {
    garbage_at(false).await;
}

/// A node that multicasts and shuts down at once loses none of the
/// messages `multicast` acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_loses_no_acknowledged_message() {
    let handles: Vec<_> = (0..5).map(|i| node(200 + i, key("shutdown"), Faults::default())).collect();
    shutdown_loses_no_acknowledged_message(&handles, GROUP).await;
}
