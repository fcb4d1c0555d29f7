//! One link model shared between threads and changed at run time.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::RngCore;

use super::{Fate, FaultAction, Latency, LinkModel, Verdict};
use crate::error::LinkError;

/// One [`LinkModel`] shared between threads (the endpoints of a network,
/// the decorated transports of a cluster) and changed at run time. Cheap to
/// clone; all clones are the same model.
#[derive(Clone, Debug, Default)]
pub struct SharedLink {
    model: Arc<Mutex<LinkModel>>,
}

impl From<LinkModel> for SharedLink {
    fn from(model: LinkModel) -> Self {
        SharedLink { model: Arc::new(Mutex::new(model)) }
    }
}

impl SharedLink {
    /// A shared copy of `model`.
    pub fn new(model: LinkModel) -> Self {
        model.into()
    }

    fn lock(&self) -> MutexGuard<'_, LinkModel> {
        // Every change is a single assignment: a panic elsewhere while the
        // lock was held cannot leave the model half-changed.
        self.model.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the current model.
    pub fn snapshot(&self) -> LinkModel {
        self.lock().clone()
    }

    /// [`LinkModel::route`] on the current model.
    pub fn route(&self, from: u32, to: u32, rng: &mut impl RngCore) -> Verdict {
        self.lock().route(from, to, rng)
    }

    /// [`LinkModel::fate`] on the current model.
    pub fn fate(&self, from: u32, to: u32, rng: &mut impl RngCore) -> Fate {
        self.lock().fate(from, to, rng)
    }

    /// Whether `node` is up.
    pub fn is_up(&self, node: u32) -> bool {
        self.lock().is_up(node)
    }

    /// Crashes `node`: it sends and receives nothing until restarted.
    /// Returns whether it was up.
    pub fn crash(&self, node: u32) -> bool {
        self.lock().crash(node)
    }

    /// Restarts `node`'s links; returns whether it was crashed.
    pub fn restart(&self, node: u32) -> bool {
        self.lock().restart(node)
    }

    /// Partitions the network (see [`FaultAction::Partition`]).
    pub fn partition(&self, sets: &[Vec<u32>]) {
        self.lock().partition(sets);
    }

    /// Removes the partition.
    pub fn heal(&self) {
        self.lock().heal();
    }

    /// Makes `node` slow by `delay` (see [`LinkModel::set_slow`]).
    pub fn set_slow(&self, node: u32, delay: Duration) {
        self.lock().set_slow(node, delay);
    }

    /// Sets the loss probability of every link.
    pub fn set_loss(&self, loss: f64) -> Result<(), LinkError> {
        self.lock().set_loss(loss)
    }

    /// Sets the latency of every link.
    pub fn set_latency(&self, latency: Latency) -> Result<(), LinkError> {
        self.lock().set_latency(latency)
    }

    /// Sets the duplication probability of every link.
    pub fn set_duplicate(&self, duplicate: f64) -> Result<(), LinkError> {
        self.lock().set_duplicate(duplicate)
    }

    /// Sets the reordering probability and window of every link.
    pub fn set_reorder(&self, reorder: f64, window: Duration) -> Result<(), LinkError> {
        self.lock().set_reorder(reorder, window)
    }

    /// Applies one action.
    pub fn apply(&self, action: &FaultAction) -> Result<(), LinkError> {
        self.lock().apply(action)
    }
}
