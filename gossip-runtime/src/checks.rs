//! Checks for tests of whole clusters of runtime nodes (feature
//! `conformance`): wait for a cluster to form, count deliveries, wait for a
//! count. Like the conformance suite, they panic with a message naming
//! what failed, as test code does, and never wait past their deadline.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use gossip_core::{Address, MessageId};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::StreamExt;
use crate::runtime::{Handle, Subscription};

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
        wait_for(within, "the cluster to form", || async { h.members().await.is_ok_and(|m| m.len() >= n - 1) }).await;
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
