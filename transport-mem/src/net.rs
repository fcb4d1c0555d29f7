//! An in-memory datagram network on tokio channels with the same
//! [`LinkModel`] as the simulator and gossip-runtime's `FaultyTransport`,
//! changed at run time through a [`NetHandle`].
//!
//! Every endpoint ([`MemEndpoint`]) implements gossip-runtime's
//! [`Transport`] with `u32` addresses. A datagram's fate is decided when it
//! is sent (crashed ends, partition, loss, latency, duplication,
//! reordering); a delayed datagram is held by one dispatcher task per
//! network and checked again on arrival (a receiver that crashed meanwhile
//! does not get it). Every timer is tokio's, so under `tokio::time::pause`
//! the network runs in virtual time. Inboxes and the in-flight set are
//! bounded; what they drop is counted.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use async_trait::async_trait;
use bytes::Bytes;
use gossip_core::SmallRng;
use gossip_runtime::{Transport, TransportError, TransportStats, TrySend, run_script};
use rand::SeedableRng;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::NetError;
use gossip_sim::DueQueue;
use gossip_sim::link::{DropReason, LinkModel, Script, SharedLink, Verdict};

/// Settings of a [`MemNetwork`].
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Seeds the generator that draws loss and latency.
    pub seed: u64,
    /// Initial link conditions.
    pub link: LinkModel,
    /// Largest datagram an endpoint sends. Default 1200.
    pub max_packet_size: usize,
    /// Datagrams queued per endpoint before new ones are dropped. Default 4096.
    pub inbox_capacity: usize,
    /// Delayed datagrams held at once before new ones are dropped. Default 65,536.
    pub max_in_flight: usize,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            seed: 0,
            link: LinkModel::new(),
            max_packet_size: 1200,
            inbox_capacity: 4096,
            max_in_flight: 65_536,
        }
    }
}

/// Counters of one directed link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams sent on it.
    pub packets: u64,
    /// Bytes sent on it.
    pub bytes: u64,
    /// Datagrams put in the receiver's inbox.
    pub delivered: u64,
    /// Datagrams dropped (loss, partition, crash, full queue).
    pub dropped: u64,
}

/// Whole-network counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetStats {
    /// Datagrams sent by any endpoint.
    pub packets: u64,
    /// Bytes sent by any endpoint.
    pub bytes: u64,
    /// Datagrams put in an inbox.
    pub delivered: u64,
    /// Dropped by random loss.
    pub dropped_loss: u64,
    /// Dropped by a partition.
    pub dropped_partition: u64,
    /// Dropped because an end was crashed.
    pub dropped_down: u64,
    /// Dropped because an inbox or the in-flight set was full.
    pub dropped_queue_full: u64,
    /// Extra copies made by link duplication.
    pub duplicated: u64,
    /// Deliveries held back by link reordering.
    pub reordered: u64,
    /// Delayed datagrams held now (not a total: the in-flight gauge).
    pub in_flight: u64,
    /// Datagrams waiting in endpoints' inboxes now (a gauge).
    pub queued: u64,
}

/// Maps keyed by addresses: foldhash, seeded at random per map (SipHash
/// here cost a few percent of a delivery's instructions).
type AddrMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

struct State {
    rng: SmallRng,
    inboxes: AddrMap<u32, mpsc::Sender<(u32, Bytes)>>,
    links: AddrMap<(u32, u32), LinkStats>,
    stats: NetStats,
    in_flight: usize,
}

impl State {
    fn dropped(&mut self, from: u32, to: u32, reason: DropReason) {
        let link = self.links.entry((from, to)).or_default();
        count_drop(&mut self.stats, link, reason);
    }

    /// Puts a delayed datagram in `to`'s inbox now, if `to` is still up and
    /// has room; returns whether it did.
    fn hand_over_delayed(&mut self, link: &SharedLink, from: u32, to: u32, bytes: Bytes) -> bool {
        let up = link.is_up(to);
        let stats = self.links.entry((from, to)).or_default();
        hand_over(up.then(|| self.inboxes.get(&to)).flatten(), &mut self.stats, stats, from, bytes)
    }
}

fn count_drop(stats: &mut NetStats, link: &mut LinkStats, reason: DropReason) {
    link.dropped += 1;
    match reason {
        DropReason::Loss => stats.dropped_loss += 1,
        DropReason::Partition => stats.dropped_partition += 1,
        DropReason::SenderDown | DropReason::ReceiverDown => stats.dropped_down += 1,
        DropReason::QueueFull => stats.dropped_queue_full += 1,
    }
}

/// Puts a datagram in `inbox` (`None`: the receiver is down or gone) and
/// counts the outcome on the network and on the link; returns whether it
/// went in.
fn hand_over(
    inbox: Option<&mpsc::Sender<(u32, Bytes)>>,
    stats: &mut NetStats,
    link: &mut LinkStats,
    from: u32,
    bytes: Bytes,
) -> bool {
    let Some(inbox) = inbox else {
        count_drop(stats, link, DropReason::ReceiverDown);
        return false;
    };
    match inbox.try_send((from, bytes)) {
        Ok(()) => {
            stats.delivered += 1;
            link.delivered += 1;
            true
        }
        Err(mpsc::error::TrySendError::Full(_)) => {
            count_drop(stats, link, DropReason::QueueFull);
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            count_drop(stats, link, DropReason::ReceiverDown);
            false
        }
    }
}

struct Delayed {
    at: Instant,
    from: u32,
    to: u32,
    bytes: Bytes,
}

struct Inner {
    state: Mutex<State>,
    /// Locked after `state` when both are.
    link: SharedLink,
    config: NetConfig,
    dispatcher: OnceLock<mpsc::UnboundedSender<Delayed>>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves counters at worst slightly
        // off; keep serving.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An in-memory network. Cheap to clone; all clones are the same network.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use gossip_runtime::Transport;
/// use transport_mem::{MemNetwork, NetConfig};
///
/// let net = MemNetwork::new(NetConfig::default())?;
/// let a = net.bind(1)?;
/// let b = net.bind(2)?;
/// a.send(&2, bytes::Bytes::from_static(b"ping")).await?;
/// let (from, bytes) = b.recv().await?;
/// assert_eq!((from, &bytes[..]), (1, &b"ping"[..]));
///
/// // Faults at run time: a partition drops everything between the sides.
/// net.handle().partition(&[vec![1], vec![2]]);
/// a.send(&2, bytes::Bytes::from_static(b"lost")).await?;
/// assert_eq!(net.handle().link_stats(1, 2).dropped, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemNetwork {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for MemNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemNetwork").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl MemNetwork {
    /// A network with `config`.
    pub fn new(config: NetConfig) -> Result<Self, NetError> {
        if config.max_packet_size == 0 {
            return Err(NetError::InvalidConfig("max_packet_size must be positive"));
        }
        if config.inbox_capacity == 0 || config.max_in_flight == 0 {
            return Err(NetError::InvalidConfig("inbox_capacity and max_in_flight must be positive"));
        }
        config.link.latency().validate()?;
        let state = State {
            rng: SmallRng::seed_from_u64(config.seed),
            inboxes: AddrMap::default(),
            links: AddrMap::default(),
            stats: NetStats::default(),
            in_flight: 0,
        };
        Ok(MemNetwork {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                link: SharedLink::new(config.link.clone()),
                config,
                dispatcher: OnceLock::new(),
            }),
        })
    }

    /// An endpoint at address `addr`. An address can be bound again once
    /// its previous endpoint was dropped.
    pub fn bind(&self, addr: u32) -> Result<MemEndpoint, NetError> {
        let mut state = self.inner.lock();
        if state.inboxes.get(&addr).is_some_and(|tx| !tx.is_closed()) {
            return Err(NetError::AddressInUse(addr));
        }
        let (tx, rx) = mpsc::channel(self.inner.config.inbox_capacity);
        state.inboxes.insert(addr, tx);
        Ok(MemEndpoint {
            addr,
            net: self.inner.clone(),
            inbox: tokio::sync::Mutex::new(rx),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    /// The control handle.
    pub fn handle(&self) -> NetHandle {
        NetHandle { inner: self.inner.clone() }
    }
}

/// Changes a [`MemNetwork`]'s link model at run time and reads its counters.
///
/// It dereferences to the network's [`SharedLink`], so every change the
/// link model offers is a method here: `crash`, `restart`, `partition`,
/// `heal`, `set_loss`, `set_latency`, `set_duplicate`, `set_reorder`,
/// `apply`, `snapshot`.
#[derive(Clone)]
pub struct NetHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for NetHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetHandle").finish_non_exhaustive()
    }
}

impl Deref for NetHandle {
    type Target = SharedLink;

    fn deref(&self) -> &SharedLink {
        &self.inner.link
    }
}

impl NetHandle {
    /// A copy of the current link model.
    pub fn link(&self) -> LinkModel {
        self.inner.link.snapshot()
    }

    /// Counters of the directed link `from → to`.
    pub fn link_stats(&self, from: u32, to: u32) -> LinkStats {
        self.inner.lock().links.get(&(from, to)).copied().unwrap_or_default()
    }

    /// Counters of every link that carried or dropped something.
    pub fn all_link_stats(&self) -> HashMap<(u32, u32), LinkStats> {
        self.inner.lock().links.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Whole-network counters, with the in-flight and inbox gauges of now.
    pub fn stats(&self) -> NetStats {
        let state = self.inner.lock();
        let queued = state.inboxes.values().map(|tx| tx.max_capacity() - tx.capacity()).sum::<usize>();
        NetStats { in_flight: state.in_flight as u64, queued: queued as u64, ..state.stats.clone() }
    }

    /// Whether nothing is on its way: no delayed datagram held and every
    /// inbox empty.
    pub fn is_drained(&self) -> bool {
        let stats = self.stats();
        stats.in_flight == 0 && stats.queued == 0
    }

    /// Applies `script`'s steps at their times, counted from now on tokio's
    /// clock, on a spawned task (call from within a tokio runtime).
    pub fn run_script(&self, script: Script) -> Result<JoinHandle<()>, NetError> {
        Ok(run_script(self.inner.link.clone(), script)?)
    }
}

/// One address on a [`MemNetwork`]: a [`Transport`] with `u32` addresses.
pub struct MemEndpoint {
    addr: u32,
    net: Arc<Inner>,
    inbox: tokio::sync::Mutex<mpsc::Receiver<(u32, Bytes)>>,
    sent: AtomicU64,
    received: AtomicU64,
    /// Datagrams this endpoint sent that the network dropped at once.
    dropped: AtomicU64,
}

impl std::fmt::Debug for MemEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemEndpoint").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl MemEndpoint {
    fn dispatcher(&self) -> &mpsc::UnboundedSender<Delayed> {
        self.net.dispatcher.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(dispatch(Arc::downgrade(&self.net), rx));
            tx
        })
    }

    /// Decides the datagram's fate and carries it out; never waits.
    fn send_now(&self, to: u32, bytes: Bytes) -> Result<(), TransportError> {
        let max = self.net.config.max_packet_size;
        if bytes.len() > max {
            return Err(TransportError::Oversized { len: bytes.len(), max });
        }
        let from = self.addr;
        let delayed = {
            let mut guard = self.net.lock();
            let State { rng, inboxes, links, stats, in_flight } = &mut *guard;
            let Some(inbox) = inboxes.get(&to) else { return Err(TransportError::Unreachable) };
            self.sent.fetch_add(1, AtomicOrdering::Relaxed);
            stats.packets += 1;
            stats.bytes += bytes.len() as u64;
            let link = links.entry((from, to)).or_default();
            link.packets += 1;
            link.bytes += bytes.len() as u64;
            // Decided with the receiver's state of now: a receiver down now
            // is a drop here, so the inbox below is that of a live one.
            let fate = self.net.link.fate(from, to, rng);
            if let Verdict::Drop(reason) = fate.verdict {
                count_drop(stats, link, reason);
                self.dropped.fetch_add(1, AtomicOrdering::Relaxed);
                return Ok(());
            }
            stats.duplicated += u64::from(fate.copy.is_some());
            stats.reordered += u64::from(fate.reordered);
            let mut delayed = Vec::new();
            for delay in fate.delays() {
                if delay.is_zero() {
                    if !hand_over(Some(inbox), stats, link, from, bytes.clone()) {
                        self.dropped.fetch_add(1, AtomicOrdering::Relaxed);
                    }
                } else if *in_flight >= self.net.config.max_in_flight {
                    count_drop(stats, link, DropReason::QueueFull);
                    self.dropped.fetch_add(1, AtomicOrdering::Relaxed);
                } else {
                    *in_flight += 1;
                    delayed.push(Delayed { at: Instant::now() + delay, from, to, bytes: bytes.clone() });
                }
            }
            delayed
        };
        for item in delayed {
            if self.dispatcher().send(item).is_err() {
                let mut state = self.net.lock();
                state.in_flight -= 1;
                state.dropped(from, to, DropReason::QueueFull);
            }
        }
        Ok(())
    }
}

/// Holds delayed datagrams until they are due. Its queue is unbounded as a
/// channel but bounded in practice: senders count `in_flight` under the
/// network lock and drop above `max_in_flight`.
async fn dispatch(net: Weak<Inner>, mut rx: mpsc::UnboundedReceiver<Delayed>) {
    let mut queue: DueQueue<Instant, Delayed> = DueQueue::new();
    loop {
        let next = queue.next_at().copied();
        tokio::select! {
            item = rx.recv() => match item {
                Some(item) => queue.push(item.at, item),
                None => return,
            },
            () = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                let Some(net) = net.upgrade() else { return };
                let now = Instant::now();
                let mut state = net.lock();
                while let Some(d) = queue.pop_due(&now) {
                    state.in_flight -= 1;
                    let _ = state.hand_over_delayed(&net.link, d.from, d.to, d.bytes);
                }
            }
        }
    }
}

#[async_trait]
impl Transport for MemEndpoint {
    type Address = u32;

    async fn send(&self, to: &u32, bytes: Bytes) -> Result<(), TransportError> {
        self.send_now(*to, bytes)
    }

    /// Sending never waits here: the datagram is in the inbox, held as
    /// delayed, or dropped by the time this returns.
    fn try_send(&self, to: &u32, bytes: Bytes) -> TrySend {
        TrySend::Done(self.send_now(*to, bytes))
    }

    async fn recv(&self) -> Result<(u32, Bytes), TransportError> {
        let mut inbox = self.inbox.lock().await;
        match inbox.recv().await {
            Some(datagram) => {
                self.received.fetch_add(1, AtomicOrdering::Relaxed);
                Ok(datagram)
            }
            None => Err(TransportError::Closed),
        }
    }

    async fn recv_batch(&self, out: &mut Vec<(u32, Bytes)>, max: usize) -> Result<(), TransportError> {
        let mut inbox = self.inbox.lock().await;
        let Some(first) = inbox.recv().await else { return Err(TransportError::Closed) };
        out.push(first);
        let mut got = 1u64;
        while (got as usize) < max.max(1) {
            match inbox.try_recv() {
                Ok(datagram) => {
                    out.push(datagram);
                    got += 1;
                }
                Err(_) => break,
            }
        }
        self.received.fetch_add(got, AtomicOrdering::Relaxed);
        Ok(())
    }

    fn local_addr(&self) -> u32 {
        self.addr
    }

    fn max_packet_size(&self) -> usize {
        self.net.config.max_packet_size
    }

    fn stats(&self) -> TransportStats {
        TransportStats {
            datagrams_out: self.sent.load(AtomicOrdering::Relaxed),
            datagrams_in: self.received.load(AtomicOrdering::Relaxed),
            auth_failures: 0,
            dropped: self.dropped.load(AtomicOrdering::Relaxed),
        }
    }
}
