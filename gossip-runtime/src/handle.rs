//! [`Handle`]: the cloneable user-facing side of a running node, and the
//! commands it sends to the task.

use std::sync::Arc;

use bytes::Bytes;
use gossip_core::{
    DownReason, GroupId, Member, MessageId, MetaError, MulticastError, NodeId, SubscribeError, SubscribeFrom,
};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_stream::wrappers::BroadcastStream;

use crate::error::TryMulticastError;
use crate::subscription::Arrival;

use crate::error::RuntimeError;
use crate::stats::{RuntimeStats, Shared};
use crate::subscription::Subscription;

pub(crate) enum Command<A> {
    Multicast {
        group: GroupId,
        payload: Bytes,
        reply: oneshot::Sender<Result<MessageId, MulticastError>>,
    },
    Publish {
        group: GroupId,
        payload: Bytes,
    },
    MulticastMany {
        group: GroupId,
        payloads: Vec<Bytes>,
        reply: oneshot::Sender<Vec<Result<MessageId, MulticastError>>>,
    },
    Subscribe {
        group: GroupId,
        from: SubscribeFrom,
        reply: oneshot::Sender<Result<broadcast::Receiver<Arrival>, SubscribeError>>,
    },
    Unsubscribe {
        group: GroupId,
    },
    Join {
        seeds: Vec<A>,
    },
    Leave,
    Stats {
        reply: oneshot::Sender<RuntimeStats>,
    },
    Members {
        reply: oneshot::Sender<Vec<Member<A>>>,
    },
    SetMeta {
        meta: Bytes,
        reply: oneshot::Sender<Result<(), MetaError>>,
    },
    Shutdown,
}

pub(crate) struct HandleInner<A> {
    pub(crate) commands: mpsc::Sender<Command<A>>,
    pub(crate) done: watch::Receiver<bool>,
    pub(crate) local_addr: A,
    pub(crate) id: NodeId,
    pub(crate) member_events: broadcast::Sender<MemberEvent<A>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) live_members: watch::Receiver<usize>,
}

/// A cloneable handle to a running node.
///
/// Every call is a message to the runtime task through a bounded channel;
/// a caller waits when the task is behind. When the last handle is
/// dropped, the task shuts down gracefully, as with [`Handle::shutdown`].
pub struct Handle<A> {
    pub(crate) inner: Arc<HandleInner<A>>,
}

impl<A> Clone for Handle<A> {
    fn clone(&self) -> Self {
        Handle { inner: self.inner.clone() }
    }
}

impl<A: gossip_core::Address> Handle<A> {
    async fn call<R>(&self, make: impl FnOnce(oneshot::Sender<R>) -> Command<A>) -> Result<R, RuntimeError> {
        let (reply, rx) = oneshot::channel();
        self.inner.commands.send(make(reply)).await.map_err(|_| RuntimeError::Closed)?;
        rx.await.map_err(|_| RuntimeError::Closed)
    }

    async fn tell(&self, command: Command<A>) -> Result<(), RuntimeError> {
        self.inner.commands.send(command).await.map_err(|_| RuntimeError::Closed)
    }

    /// This node's transport address.
    pub fn local_addr(&self) -> &A {
        &self.inner.local_addr
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.inner.id
    }

    /// Multicasts `payload` to `group`. When this returns `Ok`, the engine
    /// holds the message: it is delivered locally if this node is a member,
    /// and it is gossiped even if [`shutdown`](Handle::shutdown) follows at once.
    pub async fn multicast(&self, group: GroupId, payload: impl Into<Bytes>) -> Result<MessageId, RuntimeError> {
        let payload = payload.into();
        Ok(self.call(|reply| Command::Multicast { group, payload, reply }).await??)
    }

    /// Queues a multicast to `group` without waiting for the task: no round
    /// trip per message, so a publisher under load is limited by the
    /// engine, not by replies. Fails at once with [`TryMulticastError::Full`]
    /// when the command queue (`Builder::command_capacity`) is full (back
    /// off and retry), or [`TryMulticastError::Closed`]. The engine may
    /// still refuse the message (a payload too large, the node left): such
    /// refusals are counted in `RuntimeStats::publish_errors` and logged.
    pub fn try_multicast(&self, group: GroupId, payload: impl Into<Bytes>) -> Result<(), TryMulticastError> {
        self.inner.commands.try_send(Command::Publish { group, payload: payload.into() }).map_err(|err| match err {
            mpsc::error::TrySendError::Full(_) => TryMulticastError::Full,
            mpsc::error::TrySendError::Closed(_) => TryMulticastError::Closed,
        })
    }

    /// Multicasts several payloads to `group` with one round trip to the
    /// task (so they share packets and system calls); one result each.
    pub async fn multicast_many(
        &self,
        group: GroupId,
        payloads: Vec<Bytes>,
    ) -> Result<Vec<Result<MessageId, MulticastError>>, RuntimeError> {
        self.call(|reply| Command::MulticastMany { group, payloads, reply }).await
    }

    /// Joins `group` and returns a stream of its deliveries from now on.
    /// Several subscriptions to one group each get every delivery.
    pub async fn subscribe(&self, group: GroupId) -> Result<Subscription, RuntimeError> {
        self.subscribe_from(group, SubscribeFrom::Now).await
    }

    /// Joins `group` and returns a stream of its deliveries from `from` on
    /// ([`SubscribeFrom::Buffered`] also fetches what members still buffer,
    /// for a group this node was not in yet).
    pub async fn subscribe_from(&self, group: GroupId, from: SubscribeFrom) -> Result<Subscription, RuntimeError> {
        let rx = self.call(|reply| Command::Subscribe { group, from, reply }).await??;
        Ok(Subscription { group, inner: BroadcastStream::new(rx), lagged: 0, shared: Some(self.inner.shared.clone()) })
    }

    /// Leaves `group`; its subscription streams end.
    pub async fn unsubscribe(&self, group: GroupId) -> Result<(), RuntimeError> {
        self.tell(Command::Unsubscribe { group }).await
    }

    /// Contacts `seeds` to join the cluster.
    pub async fn join(&self, seeds: Vec<A>) -> Result<(), RuntimeError> {
        self.tell(Command::Join { seeds }).await
    }

    /// Announces leaving the cluster without stopping the task (it keeps
    /// counting what arrives). Use [`shutdown`](Handle::shutdown) to stop.
    pub async fn leave(&self) -> Result<(), RuntimeError> {
        self.tell(Command::Leave).await
    }

    /// The counters.
    pub async fn stats(&self) -> Result<RuntimeStats, RuntimeError> {
        self.call(|reply| Command::Stats { reply }).await
    }

    /// Every member this node knows, with status (alive, suspect, dead or
    /// left until forgotten), incarnation, groups and metadata.
    pub async fn members(&self) -> Result<Vec<Member<A>>, RuntimeError> {
        self.call(|reply| Command::Members { reply }).await
    }

    /// The members this node believes live (alive or suspect).
    pub async fn live_members(&self) -> Result<Vec<Member<A>>, RuntimeError> {
        let mut members = self.members().await?;
        members.retain(|m| m.status.is_live());
        Ok(members)
    }

    /// Replaces this node's metadata; it spreads with its member entry.
    pub async fn set_meta(&self, meta: impl Into<Bytes>) -> Result<(), RuntimeError> {
        let meta = meta.into();
        Ok(self.call(|reply| Command::SetMeta { meta, reply }).await??)
    }

    /// A stream of membership changes from now on (bounded: a listener that
    /// falls behind misses events, counted in `member_events_lagged`).
    pub fn member_events(&self) -> broadcast::Receiver<MemberEvent<A>> {
        self.inner.member_events.subscribe()
    }

    /// Shuts down gracefully: keeps gossiping for the linger time so that
    /// acknowledged multicasts spread, announces leaving, flushes every
    /// queued datagram to the transport, and ends the subscription streams.
    /// Returns when the task has stopped; calling it again, or from another
    /// handle, also waits for that.
    pub async fn shutdown(&self) {
        let _ = self.inner.commands.send(Command::Shutdown).await;
        self.closed().await;
    }

    /// Waits until the runtime task has stopped.
    pub async fn closed(&self) {
        let mut done = self.inner.done.clone();
        let _ = done.wait_for(|done| *done).await;
    }
}

/// A membership change seen by this node.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberEvent<A> {
    /// A member became known or came back.
    Up {
        /// Its id.
        id: NodeId,
        /// Its address.
        addr: A,
        /// Its incarnation.
        incarnation: u64,
    },
    /// A member did not answer a probe; it is declared down unless it
    /// refutes in time.
    Suspect {
        /// Its id.
        id: NodeId,
        /// The incarnation suspected.
        incarnation: u64,
    },
    /// A member is considered down.
    Down {
        /// Its id.
        id: NodeId,
        /// Its incarnation when it went down.
        incarnation: u64,
        /// Why.
        reason: DownReason,
    },
}
