//! The runtime on loopback QUIC: 20 nodes with injected loss, 1 MiB
//! messages on the stream path, graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gossip_core::Config;
use gossip_runtime::{Faults, Transport};
use gossip_tests::GROUP;
use gossip_tests::checks::*;
use gossip_tests::quic::*;

/// 20 nodes, 10% loss on every packet sent (the runtime's fault
/// decorator): 1,000 messages from five senders reach every member
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_nodes_ten_percent_loss_exactly_once() {
    let handles: Vec<_> =
        (0..20).map(|i| node(100 + i, identity(&format!("node-{i}")), Faults::loss(0.10, 1000 + i).unwrap())).collect();
    every_message_once_at_every_member(&handles, GROUP, 1000, 5).await;
}

/// Messages of 1 MiB (`max_message_size`) travel alone on QUIC streams
/// and reach every member exactly once, while ordinary packets stay small
/// enough for datagrams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_mib_messages_go_on_streams() {
    let config = Config::lan()
        .to_builder()
        .period(Duration::from_millis(20))
        .probe_interval(Duration::from_millis(500))
        .probe_timeout(Duration::from_millis(250))
        .join_retry(Duration::from_millis(100))
        .max_packet_size(1_100)
        .max_message_size(1 << 20)
        .build()
        .unwrap();
    let max_payload = config.max_payload();
    assert_eq!(max_payload, 1 << 20);
    let n = 4;
    let mut handles = Vec::new();
    let mut transports = Vec::new();
    let mut collectors = Vec::new();
    for i in 0..n {
        let t = Arc::new(quic(identity(&format!("big-{i}"))));
        transports.push(t.clone());
        let h = node_arc(300 + i, t, Faults::default(), config.clone());
        collectors.push(collect(h.subscribe(GROUP).await.unwrap()));
        handles.push(h);
    }
    let seed = *handles[0].local_addr();
    for h in &handles[1..] {
        h.join(vec![seed]).await.unwrap();
    }
    formed(&handles, Duration::from_secs(10)).await;
    let big = 3;
    for i in 0..big {
        let payload: Vec<u8> = (0..max_payload).map(|j| (j as u8).wrapping_mul(7) ^ i as u8).collect();
        handles[1].multicast(GROUP, Bytes::from(payload)).await.unwrap();
    }
    handles[2].multicast(GROUP, "small").await.unwrap();
    let too_big = Bytes::from(vec![0u8; max_payload + 1]);
    assert!(handles[1].multicast(GROUP, too_big).await.is_err(), "a payload over max_message_size is refused");
    for (i, (progress, _)) in collectors.iter_mut().enumerate() {
        reaches(progress, big + 1, Duration::from_secs(30), &format!("node {i}")).await;
    }
    let (mut streams, mut datagrams) = (0, 0);
    for (h, t) in handles.iter().zip(&transports) {
        let stats = h.stats().await.unwrap();
        assert_eq!(stats.engine.deliveries, big as u64 + 1);
        let q = t.quic_stats();
        streams += q.streams_in;
        datagrams += q.datagrams_in;
    }
    assert!(streams >= big as u64 * (n - 1), "only {streams} packets came on streams");
    assert!(datagrams > 0, "no datagrams");
    for h in &handles {
        h.shutdown().await;
    }
    for (_, task) in collectors {
        let seen = task.await.unwrap();
        assert_eq!(seen.len(), big + 1);
        assert!(seen.values().all(|&c| c == 1));
    }
}

/// A node that multicasts and shuts down at once loses none of the
/// messages `multicast` acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_loses_no_acknowledged_message() {
    let handles: Vec<_> = (0..5).map(|i| node(200 + i, identity(&format!("s-{i}")), Faults::default())).collect();
    shutdown_loses_no_acknowledged_message(&handles, GROUP).await;
}

/// A node killed without a word (no connection close) and started again
/// at the same address, as a new process (new id, same certificate), is
/// reached by the others at once: its first connections replace their
/// stale ones, instead of the old connections carrying their packets into
/// the void until the (here 10-minute) idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_at_the_same_address_is_reached_at_once() {
    let long_idle = |c: &mut transport_quic::QuicConfig| c.idle_timeout = Duration::from_secs(600);
    let survivors: Vec<_> = (0..3)
        .map(|i| node_with(400 + i, quic_with(identity(&format!("r-{i}")), long_idle), Faults::default(), config()))
        .collect();
    let mut victim = Crashable::bind(identity("r-3"), long_idle);
    let addr = victim.transport().local_addr();
    let old = victim.spawn_node(403, config());
    let seed = *survivors[0].local_addr();
    for h in survivors[1..].iter().chain([&old]) {
        h.join(vec![seed]).await.unwrap();
    }
    let mut all = survivors.clone();
    all.push(old.clone());
    formed(&all, Duration::from_secs(10)).await;
    drop((all, old));
    victim.crash();

    let restarted = node_with(
        503,
        quic_with(identity("r-3"), |c| {
            c.bind = addr;
            long_idle(c);
        }),
        Faults::default(),
        config(),
    );
    let mut all = survivors.clone();
    all.push(restarted.clone());
    let mut collectors = Vec::new();
    for h in &all {
        collectors.push(collect(h.subscribe(GROUP).await.unwrap()));
    }
    restarted.join(vec![seed]).await.unwrap();
    wait_for(Duration::from_secs(20), "the restarted node to learn every survivor", || async {
        restarted.live_members().await.is_ok_and(|m| m.len() >= 3)
    })
    .await;
    for i in 0..5 {
        survivors[1].multicast(GROUP, format!("from a survivor {i}")).await.unwrap();
        restarted.multicast(GROUP, format!("from the restarted node {i}")).await.unwrap();
    }
    for (i, (progress, _)) in collectors.iter_mut().enumerate() {
        reaches(progress, 10, Duration::from_secs(20), &format!("node {i}")).await;
    }
    for h in &all {
        h.shutdown().await;
    }
}
