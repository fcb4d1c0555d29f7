//! [`Subscription`]: one group's deliveries as a stream.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use gossip_core::{Delivery, GroupId};
use thiserror::Error;
use tokio_stream::Stream;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::stats::Shared;

/// Deliveries of one group, as a [`Stream`].
///
/// Items are `Ok(delivery)`, or `Err(Lagged(n))` when this subscriber fell
/// more than the subscriber capacity behind and missed `n` deliveries; the
/// node never waits for a subscriber. The stream ends when the node shuts
/// down or leaves the group.
pub struct Subscription {
    pub(crate) group: GroupId,
    pub(crate) inner: BroadcastStream<Delivery>,
    pub(crate) lagged: u64,
    pub(crate) shared: Option<Arc<Shared>>,
}

/// A subscriber fell behind and missed this many deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("subscriber lagged by {0} deliveries")]
pub struct Lagged(pub u64);

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
    type Item = Result<Delivery, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(delivery))) => Poll::Ready(Some(Ok(delivery))),
            Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(n)))) => {
                self.lagged += n;
                if let Some(shared) = &self.shared {
                    shared.lagged.fetch_add(n, Ordering::Relaxed);
                    shared.lag_events.fetch_add(1, Ordering::Relaxed);
                }
                Poll::Ready(Some(Err(Lagged(n))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}
