//! [`Subscription`]: one group's deliveries as a stream.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use gossip_core::{Delivery, Gap, GroupId};
use thiserror::Error;
use tokio_stream::Stream;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::stats::Shared;

/// Deliveries of one group, as a [`Stream`].
///
/// Items are `Ok(delivery)`, or `Err(Missed::Lagged(n))` when this
/// subscriber fell more than the subscriber capacity behind and missed `n`
/// deliveries (the node never waits for a subscriber), or
/// `Err(Missed::Gap(gap))` when the engine gave up on messages of a stream
/// (see [`Gap`]). The stream ends when the node shuts down or leaves the
/// group.
pub struct Subscription {
    pub(crate) group: GroupId,
    pub(crate) inner: BroadcastStream<Arrival>,
    pub(crate) lagged: u64,
    pub(crate) shared: Option<Arc<Shared>>,
}

/// What a group's task hands its subscribers.
#[derive(Clone, Debug)]
pub(crate) enum Arrival {
    Delivery(Delivery),
    Gap(Gap),
}

/// Messages a subscriber will not see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Missed {
    /// This subscriber fell behind and missed this many deliveries (others
    /// may have had them).
    #[error("subscriber lagged by {0} deliveries")]
    Lagged(u64),
    /// The node will never deliver these messages (to any subscriber).
    #[error("messages {}..={} of origin {} will not be delivered ({:?})", .0.from, .0.to, .0.origin, .0.reason)]
    Gap(Gap),
}

impl Subscription {
    /// The group.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// Deliveries this subscriber missed so far.
    pub fn lagged(&self) -> u64 {
        self.lagged
    }
}

impl Stream for Subscription {
    type Item = Result<Delivery, Missed>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(Arrival::Delivery(delivery)))) => Poll::Ready(Some(Ok(delivery))),
            Poll::Ready(Some(Ok(Arrival::Gap(gap)))) => Poll::Ready(Some(Err(Missed::Gap(gap)))),
            Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(n)))) => {
                self.lagged = self.lagged.saturating_add(n);
                if let Some(shared) = &self.shared {
                    shared.lagged.fetch_add(n, Ordering::Relaxed);
                    shared.lag_events.fetch_add(1, Ordering::Relaxed);
                }
                Poll::Ready(Some(Err(Missed::Lagged(n))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
