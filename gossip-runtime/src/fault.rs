//! A decorator that injects seeded faults into any [`Transport`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::transport::{Transport, TransportError, TransportStats};

/// Extra latency added to every datagram sent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Delay {
    /// None: datagrams go out at once.
    #[default]
    None,
    /// The same delay for every datagram.
    Fixed(Duration),
    /// A delay drawn uniformly from `min..=max` for each datagram (which
    /// also reorders them).
    Uniform {
        /// Shortest delay.
        min: Duration,
        /// Longest delay.
        max: Duration,
    },
}

/// What faults to inject, and the seed that makes them reproducible.
///
/// Faults apply to datagrams *sent* through the decorator; wrap every
/// node's transport to model a lossy network.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    /// Probability that a datagram is silently dropped (0.0..=1.0).
    pub loss: f64,
    /// Probability that a datagram is sent twice.
    pub duplicate: f64,
    /// Probability that a datagram is held back by an extra random delay
    /// of up to `reorder_window`, so later datagrams overtake it.
    pub reorder: f64,
    /// The largest extra delay of a reordered datagram.
    pub reorder_window: Duration,
    /// Latency added to every datagram.
    pub delay: Delay,
    /// Cap on datagrams waiting out a delay; more are dropped and counted.
    pub max_delayed: usize,
    /// Seed of the random choices.
    pub seed: u64,
}

impl Default for Faults {
    /// No faults, seed 0.
    fn default() -> Self {
        Faults {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_window: Duration::from_millis(10),
            delay: Delay::None,
            max_delayed: 4096,
            seed: 0,
        }
    }
}

impl Faults {
    /// Only loss, with probability `loss`.
    pub fn loss(loss: f64, seed: u64) -> Self {
        Faults { loss, seed, ..Faults::default() }
    }
}

/// Counters of the faults injected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Datagrams dropped on purpose.
    pub lost: u64,
    /// Extra copies sent.
    pub duplicated: u64,
    /// Datagrams held back to be reordered.
    pub reordered: u64,
    /// Datagrams delayed (including reordered ones).
    pub delayed: u64,
    /// Datagrams dropped because `max_delayed` were already waiting.
    pub delay_queue_full: u64,
}

#[derive(Default)]
struct Counters {
    lost: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    delayed: AtomicU64,
    delay_queue_full: AtomicU64,
}

struct Delayed<A> {
    due: Instant,
    seq: u64,
    to: A,
    bytes: Bytes,
}

impl<A> PartialEq for Delayed<A> {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl<A> Eq for Delayed<A> {}
impl<A> PartialOrd for Delayed<A> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<A> Ord for Delayed<A> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// Wraps any [`Transport`] and injects loss, delay, duplication and
/// reordering into what it sends, all drawn from one seeded generator.
///
/// Delayed datagrams wait in a bounded queue served by a background task,
/// so [`FaultyTransport::new`] must be called inside a tokio runtime.
///
/// ```no_run
/// # use gossip_runtime::{FaultyTransport, Faults, Transport};
/// # async fn demo<T: Transport>(inner: T) {
/// let lossy = FaultyTransport::new(inner, Faults::loss(0.1, 42));
/// # }
/// ```
pub struct FaultyTransport<T: Transport> {
    inner: Arc<T>,
    faults: Faults,
    rng: Mutex<(SmallRng, u64)>,
    delayed: mpsc::Sender<Delayed<T::Address>>,
    counters: Arc<Counters>,
}

impl<T: Transport> FaultyTransport<T> {
    /// Wraps `inner`. Panics if a probability is outside `0.0..=1.0`.
    pub fn new(inner: T, faults: Faults) -> Self {
        for (name, p) in [("loss", faults.loss), ("duplicate", faults.duplicate), ("reorder", faults.reorder)] {
            assert!((0.0..=1.0).contains(&p), "fault probability {name} = {p} is outside 0..=1");
        }
        let inner = Arc::new(inner);
        let (tx, rx) = mpsc::channel(faults.max_delayed.max(1));
        let counters = Arc::new(Counters::default());
        tokio::spawn(delay_task(inner.clone(), rx));
        FaultyTransport {
            rng: Mutex::new((SmallRng::seed_from_u64(faults.seed), 0)),
            inner,
            faults,
            delayed: tx,
            counters,
        }
    }

    /// The wrapped transport.
    pub fn inner(&self) -> &T {
        &self.inner
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
        }
    }

    /// Decides the fate of one datagram: the delays of the copies to send
    /// (empty if lost). Also returns a sequence number for stable ordering.
    fn plan(&self) -> (Vec<Duration>, u64) {
        let mut guard = self.rng.lock().unwrap_or_else(|poison| poison.into_inner());
        let (rng, seq) = &mut *guard;
        *seq += 1;
        let f = &self.faults;
        if f.loss > 0.0 && rng.random_bool(f.loss) {
            self.counters.lost.fetch_add(1, Ordering::Relaxed);
            return (Vec::new(), *seq);
        }
        let copies = if f.duplicate > 0.0 && rng.random_bool(f.duplicate) {
            self.counters.duplicated.fetch_add(1, Ordering::Relaxed);
            2
        } else {
            1
        };
        let mut delays = Vec::with_capacity(copies);
        for _ in 0..copies {
            let mut delay = match f.delay {
                Delay::None => Duration::ZERO,
                Delay::Fixed(d) => d,
                Delay::Uniform { min, max } if max > min => {
                    min + Duration::from_nanos(rng.random_range(0..=(max - min).as_nanos() as u64))
                }
                Delay::Uniform { min, .. } => min,
            };
            if f.reorder > 0.0 && rng.random_bool(f.reorder) {
                self.counters.reordered.fetch_add(1, Ordering::Relaxed);
                let window = f.reorder_window.as_nanos().max(1) as u64;
                delay += Duration::from_nanos(rng.random_range(1..=window));
            }
            delays.push(delay);
        }
        (delays, *seq)
    }

    fn check_size(&self, bytes: &Bytes) -> Result<(), TransportError> {
        let max = self.inner.max_packet_size();
        if bytes.len() > max { Err(TransportError::Oversized { len: bytes.len(), max }) } else { Ok(()) }
    }

    fn schedule(&self, to: &T::Address, bytes: &Bytes, delay: Duration, seq: u64) {
        self.counters.delayed.fetch_add(1, Ordering::Relaxed);
        let item = Delayed { due: Instant::now() + delay, seq, to: to.clone(), bytes: bytes.clone() };
        if self.delayed.try_send(item).is_err() {
            self.counters.delay_queue_full.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn delay_task<T: Transport>(inner: Arc<T>, mut rx: mpsc::Receiver<Delayed<T::Address>>) {
    let mut heap: BinaryHeap<Reverse<Delayed<T::Address>>> = BinaryHeap::new();
    loop {
        let next_due = heap.peek().map(|Reverse(d)| d.due);
        tokio::select! {
            item = rx.recv() => match item {
                Some(item) => heap.push(Reverse(item)),
                None if heap.is_empty() => return,
                None => {
                    // The decorator is gone: flush what is left, on time.
                    while let Some(Reverse(d)) = heap.pop() {
                        tokio::time::sleep_until(d.due).await;
                        let _ = inner.send(&d.to, d.bytes).await;
                    }
                    return;
                }
            },
            _ = async { tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)).await }, if next_due.is_some() => {
                let now = Instant::now();
                while heap.peek().is_some_and(|Reverse(d)| d.due <= now) {
                    if let Some(Reverse(d)) = heap.pop() {
                        let _ = inner.send(&d.to, d.bytes).await;
                    }
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
        let (delays, seq) = self.plan();
        let mut result = Ok(());
        for delay in delays {
            if delay.is_zero() {
                result = self.inner.send(to, bytes.clone()).await;
            } else {
                self.schedule(to, &bytes, delay, seq);
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
            let (delays, seq) = self.plan();
            let index = results.len();
            results.push(Ok(()));
            for delay in delays {
                if delay.is_zero() {
                    now.push((to.clone(), bytes.clone()));
                    slots.push(index);
                } else {
                    self.schedule(to, bytes, delay, seq);
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
        self.inner.recv().await
    }

    async fn recv_batch(&self, out: &mut Vec<(Self::Address, Bytes)>, max: usize) -> Result<(), TransportError> {
        self.inner.recv_batch(out, max).await
    }

    fn local_addr(&self) -> Self::Address {
        self.inner.local_addr()
    }

    fn max_packet_size(&self) -> usize {
        self.inner.max_packet_size()
    }

    fn stats(&self) -> TransportStats {
        let mut stats = self.inner.stats();
        stats.dropped +=
            self.counters.lost.load(Ordering::Relaxed) + self.counters.delay_queue_full.load(Ordering::Relaxed);
        stats
    }
}
