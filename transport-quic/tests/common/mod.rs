//! Helpers for the QUIC tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gossip_core::{Config, GroupId, MessageId};
use gossip_runtime::{Builder, Faults, FaultyTransport, Handle, StreamExt, Subscription};
use tokio::sync::watch;
use transport_quic::{ClusterCa, NodeIdentity, QuicConfig, QuicTransport};

pub const GROUP: GroupId = GroupId(42);

/// One cluster CA for the whole test binary (generated at run time).
pub fn ca() -> &'static ClusterCa {
    static CA: OnceLock<ClusterCa> = OnceLock::new();
    CA.get_or_init(|| ClusterCa::generate("test cluster CA").unwrap())
}

/// A node certificate from the shared test CA.
pub fn identity(name: &str) -> NodeIdentity {
    ca().issue(name).unwrap()
}

/// A QUIC transport on loopback with `identity`.
pub fn quic(identity: NodeIdentity) -> QuicTransport {
    quic_with(identity, |_| {})
}

/// A QUIC transport on loopback with `identity` and config changes.
pub fn quic_with(identity: NodeIdentity, change: impl FnOnce(&mut QuicConfig)) -> QuicTransport {
    let mut config = QuicConfig::new("127.0.0.1:0".parse().unwrap(), identity);
    config.dial_timeout = Duration::from_millis(500);
    change(&mut config);
    QuicTransport::bind(config).unwrap()
}

/// A fast gossip config for tests: 20 ms rounds, 1,100-byte packets (so
/// that they travel as QUIC datagrams at the initial 1,200-byte MTU).
pub fn config() -> Config {
    Config::lan()
        .to_builder()
        .period(Duration::from_millis(20))
        .member_timeout(Duration::from_secs(3))
        .join_retry(Duration::from_millis(100))
        .max_packet_size(1100)
        .build()
        .unwrap()
}

/// A node on loopback QUIC behind a seeded fault decorator.
pub fn node(seed: u64, identity: NodeIdentity, faults: Faults) -> Handle<SocketAddr> {
    node_with(seed, quic(identity), faults, config())
}

pub fn node_with(seed: u64, transport: QuicTransport, faults: Faults, config: Config) -> Handle<SocketAddr> {
    node_arc(seed, Arc::new(transport), faults, config)
}

/// A node whose transport the test keeps a reference to (for its [`transport_quic::QuicStats`]).
pub fn node_arc(seed: u64, transport: Arc<QuicTransport>, faults: Faults, config: Config) -> Handle<SocketAddr> {
    Builder::new(FaultyTransport::new(transport, faults)).config(config).seed(seed).spawn().unwrap()
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

/// Waits until `progress` reaches `total`.
pub async fn reaches(progress: &mut watch::Receiver<usize>, total: usize, within: Duration, who: &str) {
    let deadline = tokio::time::Instant::now() + within;
    while *progress.borrow() < total {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let changed = tokio::time::timeout(left, progress.changed()).await;
        assert!(changed.is_ok(), "{who} delivered only {} of {total}", *progress.borrow());
    }
}
