//! The runtime task that drives a protocol over a transport, and its [`Handle`].

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use gossip_core::{
    Config, Delivery, DownReason, Event, GroupId, MessageId, MulticastError, Node, NodeId, Protocol, SmallRng, Stats,
    SubscribeError, Time,
};
use rand::SeedableRng;
use thiserror::Error;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_stream::Stream;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::transport::{Transport, TransportError, TransportStats};

/// Datagrams taken from the transport per receive call, at most.
const RECV_BATCH: usize = 64;
/// Datagrams handed to the transport per send call, at most.
const SEND_BATCH: usize = 64;

/// Why the runtime could not be built.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The engine would build packets the transport cannot carry.
    #[error("engine packets of up to {engine} bytes exceed the transport's maximum of {transport}")]
    PacketTooLarge {
        /// The largest packet the engine may build (`Config::max_wire_size`).
        engine: usize,
        /// The transport's maximum.
        transport: usize,
    },
    /// The transport cannot carry the smallest packet the engine allows.
    #[error("transport maximum packet size {0} is below the engine minimum")]
    TransportTooSmall(usize),
    /// [`Builder::spawn`] was called outside a tokio runtime.
    #[error("not inside a tokio runtime")]
    NoRuntime,
    /// A capacity was zero.
    #[error("{0} must be at least 1")]
    ZeroCapacity(&'static str),
}

/// Why a [`Handle`] call failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The engine refused the multicast.
    #[error(transparent)]
    Multicast(#[from] MulticastError),
    /// The engine refused the subscription.
    #[error(transparent)]
    Subscribe(#[from] SubscribeError),
    /// The runtime has shut down.
    #[error("the runtime has shut down")]
    Closed,
}

/// A membership change seen by this node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberEvent<A> {
    /// A member became known or came back.
    Up {
        /// Its id.
        id: NodeId,
        /// Its address.
        addr: A,
    },
    /// A member is considered down.
    Down {
        /// Its id.
        id: NodeId,
        /// Why.
        reason: DownReason,
    },
}

/// The runtime's counters: the engine's, the transport's, and its own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// The engine's counters.
    pub engine: Stats,
    /// The transport's counters (authentication failures and the like).
    pub transport: TransportStats,
    /// Deliveries that subscribers missed because they fell behind
    /// (the sum of every "lagged by N").
    pub lagged: u64,
    /// Lag signals given to subscribers.
    pub lag_events: u64,
    /// Deliveries for a group nobody in this process subscribed to a
    /// stream for.
    pub unobserved: u64,
    /// Datagrams the transport refused to send (any error).
    pub send_errors: u64,
    /// Of those, the ones it reported unreachable (passed to the engine).
    pub unreachable: u64,
    /// Datagrams dropped because the send queue stayed full.
    pub send_queue_full: u64,
    /// Receive errors other than the transport closing.
    pub recv_errors: u64,
    /// Membership events dropped because nobody listened fast enough.
    pub member_events_lagged: u64,
}

#[derive(Default)]
struct Shared {
    lagged: AtomicU64,
    lag_events: AtomicU64,
    send_errors: AtomicU64,
    unreachable: AtomicU64,
    send_queue_full: AtomicU64,
    recv_errors: AtomicU64,
}

/// Builds and spawns the runtime task.
///
/// ```no_run
/// # use gossip_runtime::{Builder, Transport};
/// # async fn demo<T: Transport>(transport: T) -> Result<(), Box<dyn std::error::Error>> {
/// let handle = Builder::new(transport).seed(7).spawn()?;
/// # Ok(()) }
/// ```
pub struct Builder<T: Transport> {
    transport: T,
    config: Option<Config>,
    seed: Option<u64>,
    command_capacity: usize,
    send_capacity: usize,
    subscriber_capacity: usize,
    send_wait: Duration,
    linger: Option<Duration>,
}

impl<T: Transport> Builder<T> {
    /// A builder for a runtime on `transport`, with [`Config::lan`] (its
    /// packet size lowered to the transport's if that is smaller).
    pub fn new(transport: T) -> Self {
        Builder {
            transport,
            config: None,
            seed: None,
            command_capacity: 1024,
            send_capacity: 4096,
            subscriber_capacity: 1024,
            send_wait: Duration::from_millis(100),
            linger: None,
        }
    }

    /// The engine configuration. Its `max_packet_size` must not exceed the
    /// transport's ([`BuildError::PacketTooLarge`]).
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Seeds the node's random generator (and its id) for reproducible
    /// runs. Default: seeded from the process's hash keys and the clock.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Commands from handles waiting for the task; callers wait when full. Default 1024.
    pub fn command_capacity(mut self, n: usize) -> Self {
        self.command_capacity = n;
        self
    }

    /// Datagrams waiting for the transport. Default 4096.
    pub fn send_capacity(mut self, n: usize) -> Self {
        self.send_capacity = n;
        self
    }

    /// Deliveries buffered per group for subscribers; one that falls further
    /// behind is told it lagged. Default 1024.
    pub fn subscriber_capacity(mut self, n: usize) -> Self {
        self.subscriber_capacity = n;
        self
    }

    /// How long the task waits for room in a full send queue before it
    /// drops the datagram (and counts it). Default 100 ms.
    pub fn send_wait(mut self, wait: Duration) -> Self {
        self.send_wait = wait;
        self
    }

    /// How long [`Handle::shutdown`] keeps gossiping before it announces
    /// leaving, so that recent multicasts get their rounds. Default: three
    /// gossip periods.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = Some(linger);
        self
    }

    /// Builds a gossip [`Node`] and spawns the runtime task.
    pub fn spawn(self) -> Result<Handle<T::Address>, BuildError> {
        let transport_max = self.transport.max_packet_size();
        if transport_max < gossip_core::MIN_PACKET_SIZE {
            return Err(BuildError::TransportTooSmall(transport_max));
        }
        let config = match self.config.clone() {
            Some(config) => config,
            None => {
                let lan = Config::lan();
                let size = lan.max_packet_size().min(transport_max);
                lan.to_builder()
                    .max_packet_size(size)
                    .build()
                    .map_err(|_| BuildError::TransportTooSmall(transport_max))?
            }
        };
        let seed = self.seed.unwrap_or_else(default_seed);
        let mut rng = SmallRng::seed_from_u64(seed);
        let id = NodeId::random(&mut rng);
        let period = config.period();
        // Packets reach max_wire_size when max_message_size exceeds a packet.
        let max = config.max_wire_size();
        let node: Node<T::Address> = Node::new(id, config, rng);
        let linger = self.linger.unwrap_or(period * 3);
        self.spawn_protocol(node, id, max, linger)
    }

    /// Spawns the runtime task around any [`Protocol`] (a baseline, say)
    /// whose packets are at most `max_packet_size` bytes.
    pub fn spawn_protocol<P>(
        self,
        protocol: P,
        id: NodeId,
        max_packet_size: usize,
        linger: Duration,
    ) -> Result<Handle<T::Address>, BuildError>
    where
        P: Protocol<Address = T::Address> + Send + 'static,
    {
        let transport_max = self.transport.max_packet_size();
        if max_packet_size > transport_max {
            return Err(BuildError::PacketTooLarge { engine: max_packet_size, transport: transport_max });
        }
        for (name, n) in [
            ("command_capacity", self.command_capacity),
            ("send_capacity", self.send_capacity),
            ("subscriber_capacity", self.subscriber_capacity),
        ] {
            if n == 0 {
                return Err(BuildError::ZeroCapacity(name));
            }
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        let transport = Arc::new(self.transport);
        let local_addr = transport.local_addr();
        let shared = Arc::new(Shared::default());
        let (commands, command_rx) = mpsc::channel(self.command_capacity);
        let (send_tx, send_rx) = mpsc::channel(self.send_capacity);
        let (unreachable_tx, unreachable_rx) = mpsc::channel(256);
        let (done_tx, done_rx) = watch::channel(false);
        let (member_events, _) = broadcast::channel(256);
        let sender = runtime.spawn(send_task(transport.clone(), send_rx, unreachable_tx, shared.clone()));
        let task = Task {
            protocol,
            transport,
            start: Instant::now(),
            commands: command_rx,
            send_tx: Some(send_tx),
            sender: Some(sender),
            unreachable_rx,
            groups: HashMap::new(),
            members: HashMap::new(),
            member_events: member_events.clone(),
            shared: shared.clone(),
            subscriber_capacity: self.subscriber_capacity,
            send_wait: self.send_wait,
            linger,
            unobserved: 0,
            member_events_lagged: 0,
        };
        runtime.spawn(task.run(done_tx));
        Ok(Handle { inner: Arc::new(HandleInner { commands, done: done_rx, local_addr, id, member_events, shared }) })
    }
}

fn default_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.finish()
}

enum Command<A> {
    Multicast {
        group: GroupId,
        payload: Bytes,
        reply: oneshot::Sender<Result<MessageId, MulticastError>>,
    },
    MulticastMany {
        group: GroupId,
        payloads: Vec<Bytes>,
        reply: oneshot::Sender<Vec<Result<MessageId, MulticastError>>>,
    },
    Subscribe {
        group: GroupId,
        reply: oneshot::Sender<Result<broadcast::Receiver<Delivery>, SubscribeError>>,
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
        reply: oneshot::Sender<Vec<(NodeId, A)>>,
    },
    Shutdown,
}

struct HandleInner<A> {
    commands: mpsc::Sender<Command<A>>,
    done: watch::Receiver<bool>,
    local_addr: A,
    id: NodeId,
    member_events: broadcast::Sender<MemberEvent<A>>,
    shared: Arc<Shared>,
}

/// A cloneable handle to a running node.
///
/// Every call is a message to the runtime task through a bounded channel;
/// a caller waits when the task is behind. When the last handle is
/// dropped, the task shuts down gracefully, as with [`Handle::shutdown`].
pub struct Handle<A> {
    inner: Arc<HandleInner<A>>,
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
        let rx = self.call(|reply| Command::Subscribe { group, reply }).await??;
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

    /// The members this node currently believes alive.
    pub async fn members(&self) -> Result<Vec<(NodeId, A)>, RuntimeError> {
        self.call(|reply| Command::Members { reply }).await
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

/// Deliveries of one group, as a [`Stream`].
///
/// Items are `Ok(delivery)`, or `Err(Lagged(n))` when this subscriber fell
/// more than the subscriber capacity behind and missed `n` deliveries; the
/// node never waits for a subscriber. The stream ends when the node shuts
/// down or leaves the group.
pub struct Subscription {
    group: GroupId,
    inner: BroadcastStream<Delivery>,
    lagged: u64,
    shared: Option<Arc<Shared>>,
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

struct Task<P: Protocol, T: Transport> {
    protocol: P,
    transport: Arc<T>,
    start: Instant,
    commands: mpsc::Receiver<Command<T::Address>>,
    send_tx: Option<mpsc::Sender<(T::Address, Bytes)>>,
    sender: Option<tokio::task::JoinHandle<()>>,
    unreachable_rx: mpsc::Receiver<T::Address>,
    groups: HashMap<GroupId, broadcast::Sender<Delivery>>,
    members: HashMap<NodeId, T::Address>,
    member_events: broadcast::Sender<MemberEvent<T::Address>>,
    shared: Arc<Shared>,
    subscriber_capacity: usize,
    send_wait: Duration,
    linger: Duration,
    unobserved: u64,
    member_events_lagged: u64,
}

impl<P, T> Task<P, T>
where
    P: Protocol<Address = T::Address> + Send + 'static,
    T: Transport,
{
    fn now(&self) -> Time {
        Time::from_duration(self.start.elapsed())
    }

    fn instant(&self, time: Time) -> Instant {
        self.start + Duration::from_micros(time.as_micros())
    }

    /// Moves the engine's transmits to the send queue and its events to
    /// subscribers.
    async fn drain(&mut self) {
        while let Some(transmit) = self.protocol.poll_transmit() {
            let Some(tx) = &self.send_tx else { break };
            match tx.try_send((transmit.to, transmit.bytes)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(item)) => {
                    // Back-pressure, bounded: wait a little for the
                    // transport, then drop rather than stall.
                    match tokio::time::timeout(self.send_wait, tx.send(item)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break,
                        Err(_) => {
                            self.shared.send_queue_full.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
        }
        while let Some(event) = self.protocol.poll_event() {
            match event {
                Event::Delivered(delivery) => match self.groups.get(&delivery.group()) {
                    Some(tx) if tx.receiver_count() > 0 => {
                        let _ = tx.send(delivery);
                    }
                    _ => self.unobserved += 1,
                },
                Event::MemberUp { id, addr } => {
                    self.members.insert(id, addr.clone());
                    self.member_event(MemberEvent::Up { id, addr });
                }
                Event::MemberDown { id, reason } => {
                    self.members.remove(&id);
                    self.member_event(MemberEvent::Down { id, reason });
                }
            }
        }
    }

    fn member_event(&mut self, event: MemberEvent<T::Address>) {
        // broadcast never blocks: a slow listener loses the oldest events.
        if self.member_events.receiver_count() > 0 && self.member_events.len() >= 255 {
            self.member_events_lagged += 1;
        }
        let _ = self.member_events.send(event);
    }

    fn stats(&self) -> RuntimeStats {
        let s = &self.shared;
        RuntimeStats {
            engine: self.protocol.stats().clone(),
            transport: self.transport.stats(),
            lagged: s.lagged.load(Ordering::Relaxed),
            lag_events: s.lag_events.load(Ordering::Relaxed),
            unobserved: self.unobserved,
            send_errors: s.send_errors.load(Ordering::Relaxed),
            unreachable: s.unreachable.load(Ordering::Relaxed),
            send_queue_full: s.send_queue_full.load(Ordering::Relaxed),
            recv_errors: s.recv_errors.load(Ordering::Relaxed),
            member_events_lagged: self.member_events_lagged,
        }
    }

    /// Handles one command; returns `true` to shut down.
    fn command(&mut self, command: Command<T::Address>) -> bool {
        let now = self.now();
        match command {
            Command::Multicast { group, payload, reply } => {
                let _ = reply.send(self.protocol.multicast(now, group, payload));
            }
            Command::MulticastMany { group, payloads, reply } => {
                let results = payloads.into_iter().map(|p| self.protocol.multicast(now, group, p)).collect();
                let _ = reply.send(results);
            }
            Command::Subscribe { group, reply } => {
                let result = self.protocol.subscribe(now, group).map(|()| {
                    let capacity = self.subscriber_capacity;
                    self.groups.entry(group).or_insert_with(|| broadcast::channel(capacity).0).subscribe()
                });
                let _ = reply.send(result);
            }
            Command::Unsubscribe { group } => {
                self.protocol.unsubscribe(now, group);
                self.groups.remove(&group);
            }
            Command::Join { seeds } => self.protocol.join(now, &seeds),
            Command::Leave => self.protocol.leave(now),
            Command::Stats { reply } => {
                let _ = reply.send(self.stats());
            }
            Command::Members { reply } => {
                let _ = reply.send(self.members.iter().map(|(id, addr)| (*id, addr.clone())).collect());
            }
            Command::Shutdown => return true,
        }
        false
    }

    fn packets(&mut self, batch: &mut Vec<(T::Address, Bytes)>) {
        let now = self.now();
        for (from, bytes) in batch.drain(..) {
            if let Err(err) = self.protocol.handle_packet(now, from, bytes) {
                tracing::trace!(%err, "dropped a packet that did not decode");
            }
        }
    }

    /// One turn of the loop; `accept_commands` is off while lingering.
    /// Returns `Some(true)` on a shutdown request, `Some(false)` when the
    /// transport closed, `None` otherwise.
    async fn turn(&mut self, batch: &mut Vec<(T::Address, Bytes)>, accept_commands: bool) -> Option<bool> {
        self.drain().await;
        let deadline = self.protocol.poll_timeout().map(|t| self.instant(t));
        let transport = self.transport.clone();
        tokio::select! {
            biased;
            Some(addr) = self.unreachable_rx.recv() => {
                let now = self.now();
                self.protocol.handle_unreachable(now, &addr);
            }
            _ = async { tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)).await }, if deadline.is_some() => {
                let now = self.now();
                self.protocol.handle_timeout(now);
            }
            result = transport.recv_batch(batch, RECV_BATCH) => match result {
                Ok(()) => self.packets(batch),
                Err(TransportError::Closed) => return Some(false),
                Err(err) => {
                    self.shared.recv_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%err, "transport receive error");
                    batch.clear();
                }
            },
            command = self.commands.recv(), if accept_commands => match command {
                Some(command) => {
                    if self.command(command) {
                        return Some(true);
                    }
                    // Take whatever else is queued before the next drain,
                    // so a burst of multicasts shares packets and syscalls.
                    for _ in 0..64 {
                        match self.commands.try_recv() {
                            Ok(command) => if self.command(command) { return Some(true) },
                            Err(_) => break,
                        }
                    }
                }
                None => return Some(true),
            },
        }
        None
    }

    async fn run(mut self, done: watch::Sender<bool>) {
        let mut batch = Vec::with_capacity(RECV_BATCH);
        let graceful = loop {
            if let Some(graceful) = self.turn(&mut batch, true).await {
                break graceful;
            }
        };
        if graceful {
            // Keep gossiping (and answering pulls) for the linger time, so
            // that acknowledged multicasts get their rounds.
            let until = Instant::now() + self.linger;
            while Instant::now() < until {
                let step = tokio::time::timeout_at(until, self.turn(&mut batch, false)).await;
                if matches!(step, Ok(Some(false))) {
                    break;
                }
            }
            let now = self.now();
            self.protocol.leave(now);
            self.drain().await;
        }
        // Flush: closing the queue lets the sender task finish what is queued.
        self.send_tx = None;
        if let Some(sender) = self.sender.take() {
            let _ = sender.await;
        }
        self.groups.clear();
        // Refuse later commands, and fail the ones still queued.
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            drop(command);
        }
        let _ = done.send(true);
    }
}

async fn send_task<T: Transport>(
    transport: Arc<T>,
    mut queue: mpsc::Receiver<(T::Address, Bytes)>,
    unreachable: mpsc::Sender<T::Address>,
    shared: Arc<Shared>,
) {
    let mut batch = Vec::with_capacity(SEND_BATCH);
    while queue.recv_many(&mut batch, SEND_BATCH).await > 0 {
        let results = transport.send_batch(&batch).await;
        for ((to, _), result) in batch.drain(..).zip(results) {
            match result {
                Ok(()) => {}
                Err(err) => {
                    shared.send_errors.fetch_add(1, Ordering::Relaxed);
                    if matches!(err, TransportError::Unreachable) {
                        shared.unreachable.fetch_add(1, Ordering::Relaxed);
                        let _ = unreachable.try_send(to);
                    } else if matches!(err, TransportError::Closed) {
                        return;
                    }
                    tracing::debug!(%err, "send failed");
                }
            }
        }
    }
}
