//! Helpers for the runtime-on-UDP tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use gossip_core::{Config, GroupId, MessageId};
use gossip_runtime::{Builder, Faults, FaultyTransport, Handle, StreamExt, Subscription};
use tokio::sync::watch;
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

pub const GROUP: GroupId = GroupId(42);

/// A fast gossip config for tests: 20 ms rounds.
pub fn config() -> Config {
    Config::lan()
        .to_builder()
        .period(Duration::from_millis(20))
        .member_timeout(Duration::from_secs(3))
        .join_retry(Duration::from_millis(100))
        .build()
        .unwrap()
}

pub fn key(passphrase: &str) -> Option<KeyRing> {
    Some(KeyRing::new(ClusterKey::from_passphrase(1, passphrase)))
}

/// A node on loopback UDP, optionally keyed, behind a seeded fault decorator.
pub fn node(seed: u64, keys: Option<KeyRing>, faults: Faults) -> Handle<SocketAddr> {
    let udp = UdpTransport::bind(UdpConfig { keys, ..UdpConfig::new("127.0.0.1:0".parse().unwrap()) }).unwrap();
    Builder::new(FaultyTransport::new(udp, faults)).config(config()).seed(seed).spawn().unwrap()
}

/// Polls `check` every 10 ms until it holds or `within` passes.
pub async fn wait_for<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until every node knows all the others.
pub async fn formed(handles: &[Handle<SocketAddr>], within: Duration) {
    let n = handles.len();
    for h in handles {
        wait_for(within, "the cluster to form", || async { h.members().await.unwrap().len() >= n - 1 }).await;
    }
}

/// Counts deliveries per message id in the background; publishes the
/// number of distinct ids and panics on a duplicate.
pub fn collect(mut sub: Subscription) -> (watch::Receiver<usize>, tokio::task::JoinHandle<HashMap<MessageId, u32>>) {
    let (tx, rx) = watch::channel(0);
    let task = tokio::spawn(async move {
        let mut seen: HashMap<MessageId, u32> = HashMap::new();
        while let Some(item) = sub.next().await {
            let delivery = item.expect("a test subscriber never lags");
            let count = seen.entry(delivery.id).or_default();
            *count += 1;
            assert_eq!(*count, 1, "message {} delivered twice", delivery.id);
            let _ = tx.send(seen.len());
        }
        seen
    });
    (rx, task)
}
