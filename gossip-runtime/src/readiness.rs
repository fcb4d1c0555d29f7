//! Readiness: whether this node has joined a cluster, that is, knows at
//! least one other live (alive or suspect) member. A node whose seeds never answer (down, the
//! wrong key, a foreign CA) stays alone, and this is how it finds out.

use std::collections::HashSet;
use std::time::Duration;

use gossip_core::NodeId;
use tokio::sync::watch;

use crate::error::RuntimeError;
use crate::handle::Handle;

/// The task's side: follows the membership events and publishes the
/// number of live (alive or suspect) members. The set is bounded by the
/// engine's `max_members`, since only its events fill it.
pub(crate) struct Readiness {
    count: watch::Sender<usize>,
    live: HashSet<NodeId>,
}

impl Readiness {
    pub(crate) fn new() -> (Self, watch::Receiver<usize>) {
        let (count, rx) = watch::channel(0);
        (Readiness { count, live: HashSet::new() }, rx)
    }

    /// A member came up (or back).
    pub(crate) fn up(&mut self, id: NodeId) {
        self.live.insert(id);
        self.publish();
    }

    /// A member went down (failed, left or replaced).
    pub(crate) fn down(&mut self, id: NodeId) {
        self.live.remove(&id);
        self.publish();
    }

    fn publish(&self) {
        let n = self.live.len();
        self.count.send_if_modified(|old| std::mem::replace(old, n) != n);
    }
}

impl<A: gossip_core::Address> Handle<A> {
    /// Whether this node knows at least one other live member right now.
    pub fn is_joined(&self) -> bool {
        *self.inner.live_members.borrow() > 0
    }

    /// Waits until this node knows at least one other live member (at once
    /// if it already does). Fails with [`RuntimeError::Closed`] if the
    /// runtime stops first.
    pub async fn joined(&self) -> Result<(), RuntimeError> {
        let mut live = self.inner.live_members.clone();
        live.wait_for(|n| *n > 0).await.map(|_| ()).map_err(|_| RuntimeError::Closed)
    }

    /// Waits until this node knows at least `n` other live members (at once
    /// if it already does): for a cluster of `N` nodes, `n = N − 1` means
    /// this node's view is complete. Fails with [`RuntimeError::Closed`] if
    /// the runtime stops first; wrap it in `tokio::time::timeout` to bound it.
    pub async fn wait_for_members(&self, n: usize) -> Result<(), RuntimeError> {
        let mut live = self.inner.live_members.clone();
        live.wait_for(|count| *count >= n).await.map(|_| ()).map_err(|_| RuntimeError::Closed)
    }

    /// Contacts `seeds` and waits up to `within` for the first member to
    /// answer: [`RuntimeError::NotJoined`] when nobody did (seeds down,
    /// unreachable, or refusing this node's key or certificate). The node
    /// keeps retrying its seeds after that error.
    pub async fn join_within(&self, seeds: Vec<A>, within: Duration) -> Result<(), RuntimeError> {
        self.join(seeds).await?;
        match tokio::time::timeout(within, self.joined()).await {
            Ok(result) => result,
            Err(_) => Err(RuntimeError::NotJoined(within)),
        }
    }
}
