//! The runtime task: owns the protocol and the transport, `select!`s over
//! input, timers and commands; and the sender task that feeds the transport.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use gossip_core::{Event, GroupId, Protocol, ProtocolStats, Time};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use crate::handle::{Command, MemberEvent};
use crate::readiness::Readiness;
use crate::stats::{RuntimeStats, Shared};
use crate::subscription::Arrival;
use crate::transport::{Transport, TransportError, TrySend};

/// Datagrams taken from the transport per receive call, at most.
const RECV_BATCH: usize = 64;
/// Datagrams handed to the transport per send call, at most.
const SEND_BATCH: usize = 64;
/// Commands served per loop turn at most, before and after waiting.
const COMMANDS_PER_TURN: usize = 64;
/// How long shutdown lets the sender flush its queue.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(1);

/// Adds one to `counter`, saturating.
fn saturating_inc(counter: &std::sync::atomic::AtomicU64) {
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| Some(v.saturating_add(1)));
}

/// The engine's next timeout as one tokio timer, moved only when the
/// deadline changes: a new `Sleep` every loop turn cost a timer-wheel
/// insertion and removal per turn.
struct Deadline {
    sleep: Pin<Box<tokio::time::Sleep>>,
    at: Option<Instant>,
}

impl Deadline {
    /// Must be called within a tokio runtime.
    fn new() -> Self {
        Deadline { sleep: Box::pin(tokio::time::sleep_until(Instant::now())), at: None }
    }

    /// Arms the timer for `at`, or leaves it unpolled for `None`.
    fn set(&mut self, at: Option<Instant>) {
        if let Some(at) = at
            && self.at != Some(at)
        {
            self.sleep.as_mut().reset(at);
        }
        self.at = at;
    }
}

pub(crate) struct Task<P: Protocol, T: Transport> {
    pub(crate) protocol: P,
    pub(crate) transport: Arc<T>,
    pub(crate) start: Instant,
    pub(crate) commands: mpsc::Receiver<Command<T::Address>>,
    pub(crate) send_tx: Option<mpsc::Sender<(T::Address, Bytes)>>,
    pub(crate) sender: Option<tokio::task::JoinHandle<()>>,
    pub(crate) unreachable_rx: mpsc::Receiver<T::Address>,
    /// Subscribers per group (a B-tree: few keys, looked up per delivery).
    pub(crate) groups: BTreeMap<GroupId, broadcast::Sender<Arrival>>,
    pub(crate) member_events: broadcast::Sender<MemberEvent<T::Address>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) subscriber_capacity: usize,
    pub(crate) send_wait: Duration,
    pub(crate) linger: Duration,
    pub(crate) unobserved: u64,
    pub(crate) member_events_lagged: u64,
    pub(crate) readiness: Readiness,
    #[cfg(feature = "metrics")]
    pub(crate) metrics: crate::metrics::Recorder,
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
    ///
    /// Back-pressure is bounded per drain, not per transmit: the first
    /// time the queue is full the drain sets one deadline `send_wait`
    /// ahead; until then it waits for room, after it every transmit that
    /// finds the queue full is dropped (and counted) at once. A stuck
    /// transport thus stalls the loop for at most `send_wait` per drain.
    ///
    /// Each transmit is first offered to [`Transport::try_send`], which
    /// spares the hand-off to the sender task where the transport can send
    /// without waiting; after the first one it hands back, the rest of the
    /// drain goes through the queue, so a transport that batches gets
    /// whole batches.
    async fn drain(&mut self) {
        let mut deadline: Option<Instant> = None;
        let mut direct = true;
        while let Some(transmit) = self.protocol.poll_transmit() {
            let Some(tx) = &self.send_tx else { break };
            let bytes = if direct {
                match self.transport.try_send(&transmit.to, transmit.bytes) {
                    TrySend::Done(result) => {
                        if let Err(err) = result {
                            self.send_failed(&transmit.to, err);
                        }
                        continue;
                    }
                    TrySend::WouldBlock(bytes) => {
                        direct = false;
                        bytes
                    }
                }
            } else {
                transmit.bytes
            };
            match tx.try_send((transmit.to, bytes)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(item)) => {
                    let until = *deadline.get_or_insert_with(|| Instant::now() + self.send_wait);
                    // Past the deadline this still takes room that freed
                    // up, without waiting.
                    match tokio::time::timeout_at(until, tx.send(item)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break,
                        Err(_) => saturating_inc(&self.shared.send_queue_full),
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
        }
        while let Some(event) = self.protocol.poll_event() {
            match event {
                Event::Delivered(delivery) => match self.groups.get(&delivery.group()) {
                    Some(tx) if tx.receiver_count() > 0 => {
                        let _ = tx.send(Arrival::Delivery(delivery));
                    }
                    _ => self.unobserved += 1,
                },
                Event::Gap(gap) => {
                    tracing::debug!(group = gap.group.0, origin = gap.origin.0, from = gap.from, to = gap.to, reason = ?gap.reason, "messages given up on");
                    saturating_inc(&self.shared.gaps);
                    if let Some(tx) = self.groups.get(&gap.group) {
                        let _ = tx.send(Arrival::Gap(gap));
                    }
                }
                Event::MemberUp { id, addr, incarnation } => {
                    self.readiness.up(id);
                    self.member_event(MemberEvent::Up { id, addr, incarnation });
                }
                Event::MemberSuspect { id, incarnation } => {
                    self.member_event(MemberEvent::Suspect { id, incarnation });
                }
                Event::MemberDown { id, incarnation, reason } => {
                    self.readiness.down(id);
                    self.member_event(MemberEvent::Down { id, incarnation, reason });
                }
                // A protocol's own events have no subscriber API yet.
                _ => {}
            }
        }
        // Taken even without the metrics feature, so the engine's record
        // never overflows (it would count the overwritten samples).
        let rtts = self.protocol.drain_probe_rtts();
        #[cfg(feature = "metrics")]
        rtts.for_each(|rtt| self.metrics.probe_rtt(rtt));
        #[cfg(not(feature = "metrics"))]
        rtts.for_each(drop);
        #[cfg(feature = "metrics")]
        if self.metrics.due() {
            self.metrics.publish(&self.stats(), &self.protocol.members());
        }
    }

    /// Counts a send that failed in this task; an unreachable destination
    /// is reported to the engine as the sender task reports it.
    fn send_failed(&mut self, to: &T::Address, err: TransportError) {
        if count_send_error(&self.shared, &err) {
            let now = self.now();
            self.protocol.handle_unreachable(now, to);
        }
    }

    fn member_event(&mut self, event: MemberEvent<T::Address>) {
        #[cfg(feature = "metrics")]
        self.metrics.member_event(match event {
            MemberEvent::Up { .. } => "up",
            MemberEvent::Suspect { .. } => "suspect",
            MemberEvent::Down { .. } => "down",
        });
        // broadcast never blocks: a slow listener loses the oldest events.
        if self.member_events.receiver_count() > 0 && self.member_events.len() >= 255 {
            self.member_events_lagged += 1;
        }
        let _ = self.member_events.send(event);
    }

    fn stats(&self) -> RuntimeStats {
        let s = &self.shared;
        RuntimeStats {
            engine: self.protocol.stats().common(),
            engine_drops: self.protocol.stats().drops_by_reason(),
            membership: self.protocol.stats().membership(),
            transport: self.transport.stats(),
            lagged: s.lagged.load(Ordering::Relaxed),
            lag_events: s.lag_events.load(Ordering::Relaxed),
            gaps: s.gaps.load(Ordering::Relaxed),
            publish_errors: s.publish_errors.load(Ordering::Relaxed),
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
            Command::Publish { group, payload } => {
                if let Err(err) = self.protocol.multicast(now, group, payload) {
                    saturating_inc(&self.shared.publish_errors);
                    tracing::debug!(%err, "a queued multicast was refused");
                }
            }
            Command::MulticastMany { group, payloads, reply } => {
                let results = payloads.into_iter().map(|p| self.protocol.multicast(now, group, p)).collect();
                let _ = reply.send(results);
            }
            Command::Subscribe { group, from, reply } => {
                let result = self.protocol.subscribe_from(now, group, from).map(|()| {
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
                let _ = reply.send(self.protocol.members());
            }
            Command::SetMeta { meta, reply } => {
                let _ = reply.send(self.protocol.set_meta(now, meta));
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
    ///
    /// Fairness: each turn first serves up to [`COMMANDS_PER_TURN`] queued
    /// commands without waiting, then waits for the first of unreachable
    /// reports, the timer, a batch of packets or a command. So commands are
    /// never starved by a flood of packets, and each turn's work is bounded.
    async fn turn(
        &mut self,
        batch: &mut Vec<(T::Address, Bytes)>,
        timer: &mut Deadline,
        accept_commands: bool,
    ) -> Option<bool> {
        if accept_commands {
            for _ in 0..COMMANDS_PER_TURN {
                match self.commands.try_recv() {
                    Ok(command) => {
                        if self.command(command) {
                            return Some(true);
                        }
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return Some(true),
                }
            }
        }
        self.drain().await;
        timer.set(self.protocol.poll_timeout().map(|t| self.instant(t)));
        let transport = self.transport.clone();
        tokio::select! {
            biased;
            Some(addr) = self.unreachable_rx.recv() => {
                let now = self.now();
                self.protocol.handle_unreachable(now, &addr);
            }
            () = &mut timer.sleep, if timer.at.is_some() => {
                let now = self.now();
                let _timer = tracing::trace_span!("timer").entered();
                #[cfg(feature = "metrics")]
                let started = Instant::now();
                self.protocol.handle_timeout(now);
                #[cfg(feature = "metrics")]
                self.metrics.timer(started.elapsed());
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
                    for _ in 0..COMMANDS_PER_TURN {
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

    pub(crate) async fn run(mut self, done: watch::Sender<bool>) {
        let mut batch = Vec::with_capacity(RECV_BATCH);
        let mut timer = Deadline::new();
        let graceful = loop {
            if let Some(graceful) = self.turn(&mut batch, &mut timer, true).await {
                break graceful;
            }
        };
        if graceful {
            // Keep gossiping (and answering pulls) for the linger time, so
            // that acknowledged multicasts get their rounds.
            let until = Instant::now() + self.linger;
            while Instant::now() < until {
                let step = tokio::time::timeout_at(until, self.turn(&mut batch, &mut timer, false)).await;
                if matches!(step, Ok(Some(false))) {
                    break;
                }
            }
            let now = self.now();
            self.protocol.leave(now);
            self.drain().await;
        }
        // Flush: closing the queue lets the sender task finish what is
        // queued, for at most `SHUTDOWN_FLUSH`; a sender stuck on the
        // transport is then aborted and what it still held is dropped.
        self.send_tx = None;
        if let Some(mut sender) = self.sender.take() {
            if tokio::time::timeout(SHUTDOWN_FLUSH, &mut sender).await.is_err() {
                tracing::debug!("the sender did not flush within {SHUTDOWN_FLUSH:?}; dropping what it held");
                sender.abort();
            }
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

/// Counts and logs a failed send, wherever it was sent from; returns
/// whether the destination is unreachable (to be reported to the engine).
fn count_send_error(shared: &Shared, err: &TransportError) -> bool {
    saturating_inc(&shared.send_errors);
    tracing::debug!(%err, "send failed");
    let unreachable = matches!(err, TransportError::Unreachable);
    if unreachable {
        saturating_inc(&shared.unreachable);
    }
    unreachable
}

/// Feeds the transport from the send queue: up to `SEND_BATCH` queued
/// datagrams per [`Transport::send_batch`] call, so a transport that
/// batches system calls (GSO, `sendmmsg`) gets whole batches.
pub(crate) async fn send_task<T: Transport>(
    transport: Arc<T>,
    mut queue: mpsc::Receiver<(T::Address, Bytes)>,
    unreachable: mpsc::Sender<T::Address>,
    shared: Arc<Shared>,
) {
    let mut batch = Vec::with_capacity(SEND_BATCH);
    while queue.recv_many(&mut batch, SEND_BATCH).await > 0 {
        let results = transport.send_batch(&batch).await;
        for ((to, _), result) in batch.drain(..).zip(results) {
            let Err(err) = result else { continue };
            if count_send_error(&shared, &err) {
                let _ = unreachable.try_send(to);
            }
            if matches!(err, TransportError::Closed) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use async_trait::async_trait;
    use bytes::Bytes;
    use tokio::time::Instant;

    use super::*;
    use crate::Builder;

    /// A transport whose queued sends never complete and that never
    /// receives; with `direct`, `try_send` sends at once and records where
    /// to.
    struct Stuck {
        addr: SocketAddr,
        direct: Option<std::sync::Mutex<Vec<SocketAddr>>>,
    }

    #[async_trait]
    impl Transport for Stuck {
        type Address = SocketAddr;

        async fn send(&self, _: &SocketAddr, _: Bytes) -> Result<(), TransportError> {
            std::future::pending().await
        }

        fn try_send(&self, to: &SocketAddr, bytes: Bytes) -> TrySend {
            match &self.direct {
                Some(sent) => {
                    sent.lock().unwrap().push(*to);
                    TrySend::Done(Ok(()))
                }
                None => TrySend::WouldBlock(bytes),
            }
        }

        async fn recv(&self) -> Result<(SocketAddr, Bytes), TransportError> {
            std::future::pending().await
        }

        fn local_addr(&self) -> SocketAddr {
            self.addr
        }

        fn max_packet_size(&self) -> usize {
            1400
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_transport_that_sends_without_waiting_gets_every_transmit_from_the_node_task() {
        let transport = Arc::new(Stuck { addr: "127.0.0.1:1".parse().unwrap(), direct: Some(Default::default()) });
        let handle = Builder::new(transport.clone()).send_capacity(4).linger(Duration::ZERO).spawn().unwrap();
        let seeds: Vec<SocketAddr> = (2..202).map(|port| SocketAddr::from(([127, 0, 0, 1], port))).collect();
        handle.join(seeds.clone()).await.unwrap();
        let stats = handle.stats().await.unwrap();
        // With a send queue of 4 and a sender that never finishes, only
        // the direct path can have sent the 200 joins.
        let mut sent = transport.direct.as_ref().unwrap().lock().unwrap().clone();
        sent.sort_unstable();
        sent.dedup();
        assert_eq!(sent, seeds);
        assert_eq!(stats.send_queue_full, 0);
        handle.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_transport_costs_one_send_wait_per_drain_and_shutdown_is_bounded() {
        let wait = Duration::from_millis(100);
        let handle = Builder::new(Stuck { addr: "127.0.0.1:1".parse().unwrap(), direct: None })
            .send_capacity(4)
            .send_wait(wait)
            .linger(Duration::ZERO)
            .spawn()
            .unwrap();
        let seeds: Vec<SocketAddr> = (2..202).map(|port| SocketAddr::from(([127, 0, 0, 1], port))).collect();
        let start = Instant::now();
        handle.join(seeds).await.unwrap();
        // The join and the first request share a turn; the second is
        // answered after that turn's drain.
        handle.stats().await.unwrap();
        let stats = handle.stats().await.unwrap();
        let elapsed = start.elapsed();
        // 200 join transmits into a queue of 4 (plus one batch in the
        // stuck sender): waiting per transmit would take ~190 × 100 ms.
        assert!(elapsed <= 2 * wait, "the drain stalled for {elapsed:?}");
        assert!(stats.send_queue_full >= 190, "dropped {} of 200", stats.send_queue_full);
        let start = Instant::now();
        handle.shutdown().await;
        assert!(start.elapsed() <= SHUTDOWN_FLUSH + 2 * wait, "shutdown took {:?}", start.elapsed());
    }
}
