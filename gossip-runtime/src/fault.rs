//! A decorator that injects seeded faults into any [`Transport`], decided
//! by the same link model as the simulator and the in-memory network.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use gossip_sim::{DropReason, DueQueue, Fate, LinkError, LinkModel, Script, SharedLink, Verdict};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::transport::{Transport, TransportError, TransportStats};

/// What faults to inject, and the seed that makes them reproducible.
///
/// The rules are a [`LinkModel`]'s: loss, latency, duplication, reordering
/// and crashes, drawn for each datagram *sent* through the decorator. The
/// model is a [`SharedLink`]: give the same one to every node's decorator
/// (each with its own `node` index) to crash and restart nodes of a cluster
/// from one place at run time.
#[derive(Clone, Debug)]
pub struct Faults {
    /// The link conditions, shared with whoever changes them at run time.
    pub link: SharedLink,
    /// This node's index in the link model: while it is crashed the
    /// decorator sends nothing and drops everything it receives.
    pub node: u32,
    /// Cap on datagrams waiting out a delay at once; more are dropped and
    /// counted (`FaultStats::delay_queue_full`).
    pub max_delayed: usize,
    /// Seed of the random choices.
    pub seed: u64,
}

impl Default for Faults {
    /// No faults, node 0, seed 0.
    fn default() -> Self {
        Faults { link: SharedLink::default(), node: 0, max_delayed: 4096, seed: 0 }
    }
}

impl Faults {
    /// The faults of `link` (a model of its own, or a shared one), seeded.
    pub fn new(link: impl Into<SharedLink>, seed: u64) -> Self {
        Faults { link: link.into(), seed, ..Faults::default() }
    }

    /// Only loss, with probability `loss` (refused outside `0.0..=1.0`).
    pub fn loss(loss: f64, seed: u64) -> Result<Self, LinkError> {
        Ok(Faults::new(LinkModel::new().with_loss(loss)?, seed))
    }

    /// Node `node` of a cluster whose decorators all share `link`.
    pub fn member(link: &SharedLink, node: u32, seed: u64) -> Self {
        Faults { link: link.clone(), node, seed, ..Faults::default() }
    }
}

/// Counters of the faults injected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultStats {
    /// Datagrams dropped by random loss.
    pub lost: u64,
    /// Extra copies sent.
    pub duplicated: u64,
    /// Deliveries held back to be reordered.
    pub reordered: u64,
    /// Deliveries delayed (including reordered ones), not counting those
    /// refused by a full delay queue.
    pub delayed: u64,
    /// Datagrams dropped because `max_delayed` were already waiting.
    pub delay_queue_full: u64,
    /// Datagrams not sent, or received and dropped, because this node was
    /// crashed (including delayed ones that came due while it was), or not
    /// sent because the peer was (see [`FaultyTransport::with_peers`]).
    pub down: u64,
    /// Datagrams not sent because a partition separates this node from the
    /// peer (see [`FaultyTransport::with_peers`]).
    pub partitioned: u64,
}

#[derive(Default)]
struct Counters {
    lost: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    delayed: AtomicU64,
    delay_queue_full: AtomicU64,
    down: AtomicU64,
    partitioned: AtomicU64,
    /// Delayed datagrams waiting now (a gauge, capped at `max_delayed`).
    waiting: AtomicUsize,
}

fn bump(counter: &AtomicU64, by: u64) {
    // Saturates rather than wraps.
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_add(by)));
}

struct Delayed<A> {
    due: Instant,
    to: A,
    bytes: Bytes,
}

/// Wraps any [`Transport`] and applies a [`LinkModel`] to what it sends
/// (loss, latency, duplication, reordering), all drawn from one seeded
/// generator, and its node's crashes to both directions.
///
/// By default the decorator knows its own index only: peers count as up
/// and on its side of any partition (a crashed peer is silent anyway when
/// its own transport is decorated with the same [`SharedLink`]).
/// [`FaultyTransport::with_peers`] gives it the peers' indices, and with
/// them partitions and crashed receivers.
///
/// Delayed datagrams wait in a bounded queue served by a task spawned on
/// the first delay, so a delaying model needs a tokio runtime by then.
/// Every timer is tokio's: under `tokio::time::pause` the faults play out
/// in virtual time.
///
/// ```no_run
/// # use gossip_runtime::{FaultyTransport, Faults, SharedLink, LinkModel, Transport};
/// # async fn demo<T: Transport>(a: T, b: T) -> Result<(), gossip_runtime::LinkError> {
/// let lossy = FaultyTransport::new(a, Faults::loss(0.1, 42)?);
/// // A cluster on one shared model: crash node 1 from outside, later restart it.
/// let link = SharedLink::new(LinkModel::new());
/// let node1 = FaultyTransport::new(b, Faults::member(&link, 1, 7));
/// link.crash(1);
/// link.restart(1);
/// # Ok(()) }
/// ```
pub struct FaultyTransport<T: Transport> {
    inner: Arc<T>,
    faults: Faults,
    rng: Mutex<SmallRng>,
    delayed: OnceLock<mpsc::UnboundedSender<Delayed<T::Address>>>,
    counters: Arc<Counters>,
    peers: Option<PeerIndex<T::Address>>,
}

/// Maps a peer's address to its index in the link model.
type PeerIndex<A> = Box<dyn Fn(&A) -> Option<u32> + Send + Sync>;

impl<T: Transport> FaultyTransport<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, faults: Faults) -> Self {
        FaultyTransport {
            rng: Mutex::new(SmallRng::seed_from_u64(faults.seed)),
            inner: Arc::new(inner),
            faults,
            delayed: OnceLock::new(),
            counters: Arc::new(Counters::default()),
            peers: None,
        }
    }

    /// Tells the decorator each peer's index in the link model, so that it
    /// also drops datagrams to a crashed peer and across a partition (a
    /// peer `index` does not know stays up and on this node's side).
    pub fn with_peers(mut self, index: impl Fn(&T::Address) -> Option<u32> + Send + Sync + 'static) -> Self {
        self.peers = Some(Box::new(index));
        self
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The link model this decorator applies (change it at run time here).
    pub fn link(&self) -> &SharedLink {
        &self.faults.link
    }

    /// The faults injected so far.
    pub fn fault_stats(&self) -> FaultStats {
        let c = &self.counters;
        FaultStats {
            lost: c.lost.load(Ordering::Relaxed),
            duplicated: c.duplicated.load(Ordering::Relaxed),
            reordered: c.reordered.load(Ordering::Relaxed),
            delayed: c.delayed.load(Ordering::Relaxed),
            delay_queue_full: c.delay_queue_full.load(Ordering::Relaxed),
            down: c.down.load(Ordering::Relaxed),
            partitioned: c.partitioned.load(Ordering::Relaxed),
        }
    }

    fn is_down(&self) -> bool {
        !self.faults.link.is_up(self.faults.node)
    }

    /// Decides the fate of one datagram to `to` and counts it.
    fn plan(&self, to: &T::Address) -> Fate {
        let node = self.faults.node;
        let peer = self.peers.as_ref().and_then(|index| index(to)).unwrap_or(node);
        let mut rng = self.rng.lock().unwrap_or_else(|poison| poison.into_inner());
        let fate = self.faults.link.fate(node, peer, &mut *rng);
        let c = &self.counters;
        match fate.verdict {
            Verdict::Drop(DropReason::Loss) => bump(&c.lost, 1),
            Verdict::Drop(DropReason::Partition) => bump(&c.partitioned, 1),
            Verdict::Drop(_) => bump(&c.down, 1),
            Verdict::Deliver(_) => {
                bump(&c.duplicated, u64::from(fate.copy.is_some()));
                bump(&c.reordered, u64::from(fate.reordered));
            }
        }
        fate
    }

    fn check_size(&self, bytes: &Bytes) -> Result<(), TransportError> {
        let max = self.inner.max_packet_size();
        if bytes.len() > max { Err(TransportError::Oversized { len: bytes.len(), max }) } else { Ok(()) }
    }

    fn schedule(&self, to: &T::Address, bytes: &Bytes, delay: Duration) {
        let c = &self.counters;
        if c.waiting.fetch_add(1, Ordering::Relaxed) >= self.faults.max_delayed {
            c.waiting.fetch_sub(1, Ordering::Relaxed);
            bump(&c.delay_queue_full, 1);
            return;
        }
        bump(&c.delayed, 1);
        let queue = self.delayed.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let down = Down { link: self.faults.link.clone(), node: self.faults.node, counters: self.counters.clone() };
            tokio::spawn(delay_task(self.inner.clone(), rx, down));
            tx
        });
        let item = Delayed { due: Instant::now() + delay, to: to.clone(), bytes: bytes.clone() };
        if queue.send(item).is_err() {
            c.waiting.fetch_sub(1, Ordering::Relaxed);
            bump(&c.delay_queue_full, 1);
        }
    }
}

/// What the delay task needs to drop datagrams that come due while their
/// sender is crashed.
struct Down {
    link: SharedLink,
    node: u32,
    counters: Arc<Counters>,
}

impl Down {
    async fn send<T: Transport>(&self, inner: &T, d: Delayed<T::Address>) {
        self.counters.waiting.fetch_sub(1, Ordering::Relaxed);
        if self.link.is_up(self.node) {
            let _ = inner.send(&d.to, d.bytes).await;
        } else {
            bump(&self.counters.down, 1);
        }
    }
}

async fn delay_task<T: Transport>(inner: Arc<T>, mut rx: mpsc::UnboundedReceiver<Delayed<T::Address>>, down: Down) {
    let mut queue: DueQueue<Instant, Delayed<T::Address>> = DueQueue::new();
    loop {
        let next = queue.next_at().copied();
        tokio::select! {
            item = rx.recv() => match item {
                Some(item) => queue.push(item.due, item),
                None => {
                    // The decorator is gone: flush what is left, on time.
                    while let Some((due, d)) = queue.pop() {
                        tokio::time::sleep_until(due).await;
                        down.send(&*inner, d).await;
                    }
                    return;
                }
            },
            () = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                let now = Instant::now();
                while let Some(d) = queue.pop_due(&now) {
                    down.send(&*inner, d).await;
                }
            }
        }
    }
}

#[async_trait]
impl<T: Transport> Transport for FaultyTransport<T> {
    type Address = T::Address;

    async fn send(&self, to: &Self::Address, bytes: Bytes) -> Result<(), TransportError> {
        self.check_size(&bytes)?;
        let fate = self.plan(to);
        let mut result = Ok(());
        for delay in fate.delays() {
            if delay.is_zero() {
                result = self.inner.send(to, bytes.clone()).await;
            } else {
                self.schedule(to, &bytes, delay);
            }
        }
        result
    }

    async fn send_batch(&self, batch: &[(Self::Address, Bytes)]) -> Vec<Result<(), TransportError>> {
        let mut results: Vec<Result<(), TransportError>> = Vec::with_capacity(batch.len());
        let mut now: Vec<(Self::Address, Bytes)> = Vec::with_capacity(batch.len());
        let mut slots: Vec<usize> = Vec::with_capacity(batch.len());
        for (to, bytes) in batch {
            if let Err(err) = self.check_size(bytes) {
                results.push(Err(err));
                continue;
            }
            let fate = self.plan(to);
            let index = results.len();
            results.push(Ok(()));
            for delay in fate.delays() {
                if delay.is_zero() {
                    now.push((to.clone(), bytes.clone()));
                    slots.push(index);
                } else {
                    self.schedule(to, bytes, delay);
                }
            }
        }
        if !now.is_empty() {
            for (slot, result) in slots.into_iter().zip(self.inner.send_batch(&now).await) {
                if result.is_err() {
                    results[slot] = result;
                }
            }
        }
        results
    }

    async fn recv(&self) -> Result<(Self::Address, Bytes), TransportError> {
        loop {
            let item = self.inner.recv().await?;
            if !self.is_down() {
                return Ok(item);
            }
            bump(&self.counters.down, 1);
        }
    }

    async fn recv_batch(&self, out: &mut Vec<(Self::Address, Bytes)>, max: usize) -> Result<(), TransportError> {
        let before = out.len();
        loop {
            self.inner.recv_batch(out, max).await?;
            if !self.is_down() {
                return Ok(());
            }
            bump(&self.counters.down, (out.len() - before) as u64);
            out.truncate(before);
        }
    }

    fn local_addr(&self) -> Self::Address {
        self.inner.local_addr()
    }

    fn max_packet_size(&self) -> usize {
        self.inner.max_packet_size()
    }

    fn stats(&self) -> TransportStats {
        let mut stats = self.inner.stats();
        let c = &self.counters;
        for counter in [&c.lost, &c.delay_queue_full, &c.down, &c.partitioned] {
            stats.dropped = stats.dropped.saturating_add(counter.load(Ordering::Relaxed));
        }
        stats
    }
}

/// Applies `script`'s steps to `link` at their times, counted from now on
/// tokio's clock, on a spawned task (call from within a tokio runtime).
/// Under `tokio::time::pause` the script plays in virtual time.
pub fn run_script(link: SharedLink, script: Script) -> Result<JoinHandle<()>, LinkError> {
    script.validate()?;
    let start = Instant::now();
    Ok(tokio::spawn(async move {
        for (at, action) in script.steps() {
            tokio::time::sleep_until(start + Duration::from_micros(at.as_micros())).await;
            // Validated above.
            let _ = link.apply(action);
        }
    }))
}
