//! Checks for tests of whole clusters of runtime nodes: wait for a cluster
//! to form, count deliveries, wait for a count. They panic with a message
//! naming what failed, as test code does, and never wait past their deadline.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use gossip_core::{Address, MessageId};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use gossip_runtime::StreamExt;
use gossip_runtime::{Handle, Subscription};

/// Polls `check` every 10 ms until it holds; panics after `within`.
pub async fn wait_for<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until every node knows all the others.
pub async fn formed<A: Address>(handles: &[Handle<A>], within: Duration) {
    let n = handles.len();
    for h in handles {
        wait_for(within, "the cluster to form", || async { h.live_members().await.is_ok_and(|m| m.len() >= n - 1) })
            .await;
    }
}

/// Counts deliveries per message id in the background: the receiver
/// publishes the number of distinct ids, the task (ending when the
/// subscription does) returns the counts. Panics on a duplicate delivery or
/// a lag.
pub fn collect(mut sub: Subscription) -> (watch::Receiver<usize>, JoinHandle<HashMap<MessageId, u32>>) {
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

/// Waits until `progress` (from [`collect`]) reaches `total`; panics after
/// `within`, naming `who`.
pub async fn reaches(progress: &mut watch::Receiver<usize>, total: usize, within: Duration, who: &str) {
    let deadline = tokio::time::Instant::now() + within;
    while *progress.borrow() < total {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let changed = tokio::time::timeout(left, progress.changed()).await;
        assert!(changed.is_ok(), "{who} delivered only {} of {total}", *progress.borrow());
    }
}

/// The cluster test every transport runs: `handles` (fresh nodes, none
/// joined yet) subscribe to `group` and join through the first; once the
/// cluster has formed, `senders` of them multicast `total` messages between
/// them, in bursts of 20. Every node must deliver every message exactly
/// once, with no lag and no authentication failure, and keep doing so
/// through a graceful shutdown.
pub async fn every_message_once_at_every_member<A: Address>(
    handles: &[Handle<A>],
    group: gossip_core::GroupId,
    total: usize,
    senders: usize,
) {
    let mut collectors = Vec::new();
    for h in handles {
        collectors.push(collect(h.subscribe(group).await.expect("subscribe")));
    }
    let seed = handles[0].local_addr().clone();
    for h in &handles[1..] {
        h.join(vec![seed.clone()]).await.expect("join");
    }
    formed(handles, Duration::from_secs(20)).await;
    let stride = (handles.len() / senders).max(1);
    let mut tasks = Vec::new();
    for s in 0..senders {
        let h = handles[(s * stride) % handles.len()].clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..total / senders {
                h.multicast(group, format!("sender {s} message {i}")).await.expect("multicast");
                if i % 20 == 19 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender task");
    }
    for (i, (progress, _)) in collectors.iter_mut().enumerate() {
        reaches(progress, total, Duration::from_secs(30), &format!("node {i}")).await;
    }
    for h in handles {
        let stats = h.stats().await.expect("stats");
        assert_eq!(stats.engine.deliveries, total as u64, "engine deliveries");
        assert_eq!(stats.lagged, 0);
        assert_eq!(stats.transport.auth_failures, 0);
    }
    for h in handles {
        h.shutdown().await;
    }
    for (_, task) in collectors {
        let seen = task.await.expect("collector");
        assert_eq!(seen.len(), total);
        assert!(seen.values().all(|&c| c == 1));
    }
}

/// The last of `handles` multicasts 300 messages to `group` and shuts down
/// at once: every other node still delivers all of them (nothing
/// `multicast` acknowledged is lost), a multicast after shutdown fails, and
/// the first node drops the leaver from its live members. The nodes join
/// through the first one.
pub async fn shutdown_loses_no_acknowledged_message<A: Address>(handles: &[Handle<A>], group: gossip_core::GroupId) {
    let n = handles.len();
    let mut collectors = Vec::new();
    for h in handles {
        collectors.push(collect(h.subscribe(group).await.unwrap()));
    }
    let seed = handles[0].local_addr().clone();
    for h in &handles[1..] {
        h.join(vec![seed.clone()]).await.unwrap();
    }
    formed(handles, Duration::from_secs(10)).await;
    let leaver = handles[n - 1].clone();
    let total = 300;
    for i in 0..total {
        leaver.multicast(group, format!("last words {i}")).await.unwrap();
    }
    leaver.shutdown().await;
    assert!(leaver.multicast(group, "too late").await.is_err(), "multicast after shutdown");
    for (i, (progress, _)) in collectors.iter_mut().enumerate().take(n - 1) {
        reaches(progress, total, Duration::from_secs(15), &format!("node {i}")).await;
    }
    wait_for(Duration::from_secs(10), "the leaver to be dropped from membership", || async {
        !handles[0].live_members().await.unwrap().iter().any(|m| m.addr == *leaver.local_addr())
    })
    .await;
}
