//! [`Builder`]: configures and spawns the runtime task.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gossip_core::{Config, Node, NodeId, Protocol, SmallRng};
use rand::SeedableRng;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use crate::error::BuildError;
use crate::handle::{Handle, HandleInner};
use crate::readiness::Readiness;
use crate::stats::Shared;
use crate::task::{Task, send_task};
use crate::transport::Transport;

/// Builds and spawns the runtime task.
///
/// ```no_run
/// # use gossip_runtime::{Builder, Transport};
/// # async fn demo<T: Transport>(transport: T) -> Result<(), Box<dyn std::error::Error>> {
/// let handle = Builder::new(transport).seed(7).spawn()?;
/// # Ok(()) }
/// ```
pub struct Builder<T: Transport> {
    pub(crate) transport: T,
    pub(crate) config: Option<Config>,
    pub(crate) seed: Option<u64>,
    pub(crate) meta: Option<bytes::Bytes>,
    pub(crate) command_capacity: usize,
    pub(crate) send_capacity: usize,
    pub(crate) subscriber_capacity: usize,
    pub(crate) send_wait: Duration,
    pub(crate) linger: Option<Duration>,
}

impl<T: Transport> Builder<T> {
    /// A builder for a runtime on `transport`, with [`Config::lan`] (its
    /// packet size lowered to the transport's if that is smaller).
    pub fn new(transport: T) -> Self {
        Builder {
            transport,
            config: None,
            seed: None,
            meta: None,
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

    /// This node's metadata (a name, tags: opaque bytes, at most the
    /// config's `max_meta_len`), gossiped with its member entry and listed
    /// by [`Handle::members`](crate::Handle::members) on every other node.
    pub fn meta(mut self, meta: impl Into<bytes::Bytes>) -> Self {
        self.meta = Some(meta.into());
        self
    }

    /// Seeds the engine's random number generator, for reproducible runs
    /// (the node's id is drawn afresh at every start regardless).
    /// Default: seeded from the process's hash keys and the clock.
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

    /// How long one drain of the engine's transmits may wait for room in a
    /// full send queue, in total; after that, transmits that find the
    /// queue full are dropped (and counted) at once. Default 100 ms.
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
        let rng = SmallRng::seed_from_u64(seed);
        // A fresh id at every start, whatever the seed: a restart must not
        // reuse its sequence numbers, which peers would drop as duplicates.
        let id = NodeId(default_seed());
        let period = config.period();
        // Packets reach max_wire_size when max_message_size exceeds a packet.
        let max = config.max_wire_size();
        let mut node: Node<T::Address> = Node::new(id, config, rng);
        if let Some(meta) = self.meta.clone() {
            node.set_meta(gossip_core::Time::ZERO, meta).map_err(BuildError::Meta)?;
        }
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
        let (readiness, live_members) = Readiness::new();
        let sender = runtime.spawn(send_task(transport.clone(), send_rx, unreachable_tx, shared.clone()));
        let task = Task {
            protocol,
            transport,
            start: Instant::now(),
            commands: command_rx,
            send_tx: Some(send_tx),
            sender: Some(sender),
            unreachable_rx,
            groups: BTreeMap::new(),
            member_events: member_events.clone(),
            shared: shared.clone(),
            subscriber_capacity: self.subscriber_capacity,
            send_wait: self.send_wait,
            linger,
            unobserved: 0,
            member_events_lagged: 0,
            readiness,
            #[cfg(feature = "metrics")]
            metrics: crate::metrics::Recorder::new(),
        };
        // The task's logs carry its id, inside whatever span spawned it.
        runtime.spawn(tracing::Instrument::instrument(task.run(done_tx), tracing::info_span!("gossip", id = %id)));
        Ok(Handle {
            inner: Arc::new(HandleInner {
                commands,
                done: done_rx,
                local_addr,
                id,
                member_events,
                shared,
                live_members,
            }),
        })
    }
}

pub(crate) fn default_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.finish()
}
