//! Live runs: N runtime nodes on a real transport (in-memory or UDP), a
//! steady stream of multicasts and then a burst, latency from the multicast
//! call to each member's delivery in an HDR histogram, one process clock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gossip_core::{Address, CommonStats, Config, GroupId, MessageId, Mode};
use gossip_runtime::{Builder, Faults, FaultyTransport, Handle, SharedLink, StreamExt, Transport};
use indicatif::ProgressBar;
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::SmallRng};
use transport_mem::{LinkModel, MemNetwork, NetConfig};
use transport_quic::{ClusterCa, QuicConfig, QuicTransport};
use transport_udp::{UdpConfig, UdpTransport};

use crate::cli::{TransportKind, mode_name};
use crate::error::HarnessError;
use crate::protocols::{Baseline, ProtocolKind, baseline_config};
use crate::record::{self, Row, ratio};
use crate::system;

/// The group every live run multicasts to.
pub const GROUP: GroupId = GroupId(0x6265_6e63);

/// One live scenario: one fan-out, one loss, one crash fraction.
#[derive(Clone, Debug)]
pub struct LiveSpec {
    /// The protocol (for tree, srm and rmtp, `fanout` is the tree's arity).
    pub protocol: ProtocolKind,
    /// The network.
    pub transport: TransportKind,
    /// Group size.
    pub nodes: u32,
    /// Fan-out.
    pub fanout: u32,
    /// Gossip mode.
    pub mode: Mode,
    /// Gossip period.
    pub period: Duration,
    /// Payload bytes.
    pub payload: usize,
    /// Messages in all (steady part plus burst).
    pub messages: u64,
    /// Messages of the burst.
    pub burst: u64,
    /// Steady rate, messages per second.
    pub rate: f64,
    /// Datagram loss probability.
    pub loss: f64,
    /// Fraction of the non-senders crashed mid-run.
    pub crash: f64,
    /// Seed.
    pub seed: u64,
    /// Nodes that multicast (the first ones).
    pub senders: u32,
    /// Stop waiting after this long without a new delivery.
    pub quiet: Duration,
    /// Longest wait for the membership to converge before measuring anyway.
    pub formation_timeout: Duration,
}

impl LiveSpec {
    /// Checks what the flag parsers cannot see alone.
    pub fn validate(&self) -> Result<(), HarnessError> {
        if self.senders > self.nodes {
            return Err(HarnessError::Config(format!(
                "senders ({}) must not exceed nodes ({})",
                self.senders, self.nodes
            )));
        }
        if self.burst > self.messages {
            return Err(HarnessError::Config(format!(
                "burst ({}) must not exceed messages ({})",
                self.burst, self.messages
            )));
        }
        if self.nodes - self.crashed_count() < 2 {
            return Err(HarnessError::Config("crash leaves fewer than two live nodes".into()));
        }
        let config = self.engine_config()?;
        if self.payload > config.max_payload() {
            return Err(HarnessError::Config(format!(
                "payload must be at most {} bytes on {} ({}-byte packets)",
                config.max_payload(),
                self.transport.name(),
                config.max_packet_size()
            )));
        }
        Ok(())
    }

    /// Non-sender nodes crashed mid-run.
    pub fn crashed_count(&self) -> u32 {
        ((self.crash * f64::from(self.nodes)).round() as u32).min(self.nodes - self.senders.min(self.nodes))
    }

    /// The engine's packet size: 1200 bytes, or 1100 on QUIC so that every
    /// packet travels as one QUIC datagram at the initial 1200-byte MTU.
    pub fn max_packet_size(&self) -> usize {
        match self.transport {
            TransportKind::Quic => 1100,
            _ => 1200,
        }
    }

    /// The engine configuration of every node.
    pub fn engine_config(&self) -> Result<Config, HarnessError> {
        Config::lan()
            .to_builder()
            .mode(self.mode)
            .fanout(self.fanout)
            .period(self.period)
            .join_retry(Duration::from_millis(100).max(self.period))
            .max_packet_size(self.max_packet_size())
            .build()
            .map_err(|e| HarnessError::Config(format!("engine config: {e}")))
    }
}

/// Memory one live node needs on `transport` regardless of the group size,
/// and per other member it knows, in bytes: fitted to the peak RSS of
/// 100-message runs at two group sizes (below), rounded up.
fn node_memory(transport: TransportKind) -> (u64, u64) {
    match transport {
        // N = 100 and 400: 39 and 178 MB, so about 250 KB + 430 B per member.
        TransportKind::Mem => (256 << 10, 512),
        // N = 100 and 200: 57 and 116 MB, so about 410 KB + 600 B per member.
        TransportKind::Udp => (512 << 10, 640),
        // N = 30 and 60: 67 and 196 MB, so about 730 KB + 39 KB per member
        // (a connection per peer).
        TransportKind::Quic => (1 << 20, 40 << 10),
    }
}

/// The estimated peak memory of the largest cluster among `specs`, in bytes.
pub fn estimated_memory(specs: &[LiveSpec]) -> u64 {
    specs
        .iter()
        .map(|s| {
            let (node, peer) = node_memory(s.transport);
            let n = u64::from(s.nodes);
            n.saturating_mul(node.saturating_add(peer.saturating_mul(n - 1)))
        })
        .max()
        .unwrap_or(0)
}

/// Refuses `specs` when their estimated memory exceeds what the machine has
/// available (`MemAvailable`), unless `force`.
pub fn check_memory(specs: &[LiveSpec], force: bool) -> Result<(), HarnessError> {
    let (Some(available), false) = (system::available_memory_bytes(), force) else { return Ok(()) };
    let need = estimated_memory(specs);
    if need > available {
        let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
        return Err(HarnessError::Config(format!(
            "this run needs about {:.1} GiB but {:.1} GiB is available; use fewer --nodes, or --force to run anyway",
            gib(need),
            gib(available)
        )));
    }
    Ok(())
}

/// Wraps node `i`'s transport in the fault decorator on the cluster's
/// shared link model: `spec.loss`, and crashing node `i` there silences it
/// (it then sends nothing and drops what it receives, while the node above
/// keeps running).
fn crashable<T: Transport>(spec: &LiveSpec, link: &SharedLink, transport: T, i: u32) -> FaultyTransport<T> {
    FaultyTransport::new(transport, Faults::member(link, i, node_seed(spec.seed ^ 0x1055, i)))
}

/// The shared link model of a cluster of decorated transports.
fn cluster_link(spec: &LiveSpec) -> Result<SharedLink, HarnessError> {
    let model = LinkModel::new().with_loss(spec.loss).map_err(|e| HarnessError::Config(e.to_string()))?;
    Ok(SharedLink::new(model))
}

type CrashFn = Box<dyn Fn(usize) + Send + Sync>;

/// Crashes node `i` of the cluster whose links `link` models.
fn crash_in(link: SharedLink) -> CrashFn {
    Box::new(move |i| {
        if let Ok(i) = u32::try_from(i) {
            link.crash(i);
        }
    })
}

/// Running nodes and a way to crash one.
struct Cluster<A> {
    handles: Vec<Handle<A>>,
    crash: CrashFn,
    /// The nodes were given the member list (baselines): no join, no formation wait.
    preformed: bool,
}

/// A shared member list of `addrs`, all in [`GROUP`], ids from the seed.
fn member_list<A: Address>(spec: &LiveSpec, addrs: &[A]) -> Arc<gossip_core::SharedMembers<A>> {
    let mut list = gossip_core::SharedMembers::new();
    for (i, addr) in addrs.iter().enumerate() {
        list.push(baseline_id(spec, i as u32), addr.clone(), &[GROUP]);
    }
    Arc::new(list)
}

fn baseline_id(spec: &LiveSpec, i: u32) -> gossip_core::NodeId {
    gossip_core::NodeId(node_seed(spec.seed ^ 0x1d, i) | 1)
}

/// Spawns baseline node `i` of `members` over `transport`.
fn spawn_baseline<T: Transport>(
    spec: &LiveSpec,
    transport: T,
    i: u32,
    members: &Arc<gossip_core::SharedMembers<T::Address>>,
) -> Result<Handle<T::Address>, HarnessError> {
    let config = Arc::new(baseline_config(spec.fanout, spec.max_packet_size()));
    let id = baseline_id(spec, i);
    let rng = SmallRng::seed_from_u64(node_seed(spec.seed, i));
    let protocol = Baseline::new(spec.protocol, id, i, members.clone(), config, rng)
        .ok_or_else(|| HarnessError::run("gossip is not a baseline"))?;
    Builder::new(transport)
        .seed(node_seed(spec.seed, i))
        .subscriber_capacity(subscriber_capacity(spec))
        .linger(spec.period)
        .spawn_protocol(protocol, id, spec.max_packet_size(), spec.period)
        .map_err(HarnessError::run)
}

fn node_seed(seed: u64, i: u32) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (u64::from(i) + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

fn subscriber_capacity(spec: &LiveSpec) -> usize {
    usize::try_from(spec.messages).unwrap_or(usize::MAX).clamp(1024, 1 << 20) + 64
}

/// The one cluster builder: a node per transport of `transports` (node `i`
/// on `transports[i]`), gossip joined later through node 0 or a baseline
/// given the member list, and `crash` to crash node `i`.
fn cluster<T: Transport>(
    spec: &LiveSpec,
    config: &Config,
    transports: Vec<T>,
    crash: CrashFn,
) -> Result<Cluster<T::Address>, HarnessError> {
    let preformed = spec.protocol != ProtocolKind::Gossip;
    let members = preformed.then(|| {
        let addrs: Vec<T::Address> = transports.iter().map(Transport::local_addr).collect();
        member_list(spec, &addrs)
    });
    let mut handles = Vec::with_capacity(transports.len());
    for (i, transport) in (0u32..).zip(transports) {
        let handle = match &members {
            Some(members) => spawn_baseline(spec, transport, i, members)?,
            None => Builder::new(transport)
                .config(config.clone())
                .seed(node_seed(spec.seed, i))
                .subscriber_capacity(subscriber_capacity(spec))
                .linger(spec.period)
                .spawn()
                .map_err(HarnessError::run)?,
        };
        handles.push(handle);
    }
    Ok(Cluster { handles, crash, preformed })
}

/// Binds `spec.nodes` transports with `bind(i)`, moving the bar one step per node.
fn bind_all<T>(
    spec: &LiveSpec,
    progress: &ProgressBar,
    mut bind: impl FnMut(u32) -> Result<T, HarnessError>,
) -> Result<Vec<T>, HarnessError> {
    let mut transports = Vec::with_capacity(spec.nodes as usize);
    for i in 0..spec.nodes {
        transports.push(bind(i)?);
        if i % 64 == 63 || i + 1 == spec.nodes {
            progress.set_message(format!(
                "b={}: bound {}/{} {} transports",
                spec.fanout,
                i + 1,
                spec.nodes,
                spec.transport.name()
            ));
        }
    }
    Ok(transports)
}

/// Socket transports get loss and crashes from gossip-runtime's fault
/// decorator on one shared link model; returns them and the crash switch.
fn with_faults<T: Transport>(
    spec: &LiveSpec,
    transports: Vec<T>,
) -> Result<(Vec<FaultyTransport<T>>, CrashFn), HarnessError> {
    let link = cluster_link(spec)?;
    let wrapped = (0u32..).zip(transports).map(|(i, t)| crashable(spec, &link, t, i)).collect();
    Ok((wrapped, crash_in(link)))
}

/// How long a UDP row first measures the raw datagram rate of its setup.
const RAW_WINDOW: Duration = Duration::from_millis(500);

const LOOPBACK: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

fn quic_transport(spec: &LiveSpec, ca: &ClusterCa, i: u32) -> Result<QuicTransport, HarnessError> {
    let identity = ca.issue(&format!("node-{i}")).map_err(HarnessError::run)?;
    let mut quic = QuicConfig::new(LOOPBACK, identity);
    quic.max_connections = (spec.nodes as usize).max(quic.max_connections);
    quic.dial_timeout = Duration::from_millis(500);
    QuicTransport::bind(quic).map_err(HarnessError::run)
}

/// Runs one live scenario to completion (or to its quiet deadline) and
/// returns its row. Must be called inside a multi-threaded tokio runtime.
pub async fn run_live(spec: &LiveSpec, progress: &ProgressBar) -> Result<Row, HarnessError> {
    spec.validate()?;
    let config = spec.engine_config()?;
    let mut row = match spec.transport {
        TransportKind::Mem => {
            let link = LinkModel::new().with_loss(spec.loss).map_err(|e| HarnessError::Config(e.to_string()))?;
            let net =
                MemNetwork::new(NetConfig { seed: spec.seed, link, inbox_capacity: 16_384, ..NetConfig::default() })
                    .map_err(HarnessError::run)?;
            let endpoints = bind_all(spec, progress, |i| net.bind(i).map_err(HarnessError::run))?;
            let crash = crash_in(SharedLink::clone(&net.handle()));
            measure(cluster(spec, &config, endpoints, crash)?, spec, progress).await?
        }
        TransportKind::Udp => {
            // The same socket setup with nothing on top: transport-udp's yardstick.
            let raw = transport_udp::raw_datagram_rate(&UdpConfig::new(LOOPBACK), spec.max_packet_size(), RAW_WINDOW)
                .await
                .map_err(HarnessError::run)?
                .datagrams_per_sec;
            let sockets =
                bind_all(spec, progress, |_| UdpTransport::bind(UdpConfig::new(LOOPBACK)).map_err(HarnessError::run))?;
            let (transports, crash) = with_faults(spec, sockets)?;
            let mut row = measure(cluster(spec, &config, transports, crash)?, spec, progress).await?;
            row.raw_datagrams_per_s = Some(raw);
            row
        }
        TransportKind::Quic => {
            let ca = ClusterCa::generate("gossip-bench cluster CA").map_err(HarnessError::run)?;
            let endpoints = bind_all(spec, progress, |i| quic_transport(spec, &ca, i))?;
            let (transports, crash) = with_faults(spec, endpoints)?;
            measure(cluster(spec, &config, transports, crash)?, spec, progress).await?
        }
    };
    row.config = if spec.protocol == ProtocolKind::Gossip {
        format!("{config:?}")
    } else {
        format!("{:?}", baseline_config(spec.fanout, spec.max_packet_size()))
    };
    Ok(row)
}

#[derive(Clone, Copy, Default)]
struct Counters {
    packets: u64,
    bytes: u64,
    duplicates: u64,
}

impl Counters {
    fn of(stats: &CommonStats) -> Self {
        Counters { packets: stats.packets_out, bytes: stats.bytes_out, duplicates: stats.duplicates }
    }

    fn minus(self, base: Counters) -> Counters {
        Counters {
            packets: self.packets.saturating_sub(base.packets),
            bytes: self.bytes.saturating_sub(base.bytes),
            duplicates: self.duplicates.saturating_sub(base.duplicates),
        }
    }
}

async fn counters<A: Address>(handle: &Handle<A>) -> Counters {
    handle.stats().await.map(|s| Counters::of(&s.engine)).unwrap_or_default()
}

type Collected = (Vec<(MessageId, Instant)>, u64);

async fn measure<A: Address>(
    cluster: Cluster<A>,
    spec: &LiveSpec,
    progress: &ProgressBar,
) -> Result<Row, HarnessError> {
    let start_pos = progress.position();
    let n = spec.nodes as usize;
    let senders = spec.senders as usize;
    let handles = &cluster.handles;

    // Which non-senders crash, drawn from the seed.
    let mut rng = SmallRng::seed_from_u64(spec.seed ^ 0xc4a5);
    let mut candidates: Vec<usize> = (senders..n).collect();
    candidates.shuffle(&mut rng);
    let doomed: HashSet<usize> = candidates.into_iter().take(spec.crashed_count() as usize).collect();
    let alive = n - doomed.len();

    // Subscribe everyone, then collect deliveries in the background.
    let delivered = Arc::new(AtomicU64::new(0));
    let mut collectors = Vec::with_capacity(n);
    for (i, handle) in handles.iter().enumerate() {
        let mut sub = handle.subscribe(GROUP).await.map_err(HarnessError::run)?;
        let own = handle.id();
        let counter = (!doomed.contains(&i)).then(|| delivered.clone());
        collectors.push(tokio::spawn(async move {
            let mut got = Vec::new();
            let mut lagged = 0;
            while let Some(item) = sub.next().await {
                match item {
                    Ok(delivery) if delivery.id.origin != own => {
                        got.push((delivery.id, Instant::now()));
                        if let Some(c) = &counter {
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(_) => {}
                    Err(gossip_runtime::Missed::Lagged(missed)) => lagged += missed,
                    Err(_) => {}
                }
            }
            (got, lagged)
        }));
    }

    // Join through node 0 and wait until every node sees all the others
    // (baselines are given the member list: nothing to wait for).
    let formed_at = Instant::now();
    let seed_addr = handles[0].local_addr().clone();
    if !cluster.preformed {
        for handle in &handles[1..] {
            handle.join(vec![seed_addr.clone()]).await.map_err(HarnessError::run)?;
        }
        progress.set_message(format!("b={}: forming {n} nodes", spec.fanout));
    }
    loop {
        if cluster.preformed {
            break;
        }
        let mut formed = 0;
        for handle in handles {
            if handle.members().await.map(|m| m.len() + 1 >= n).unwrap_or(false) {
                formed += 1;
            }
        }
        progress.set_position(start_pos + formed as u64);
        progress.set_message(format!("b={}: forming, {formed}/{n} nodes see everyone", spec.fanout));
        if formed == n {
            break;
        }
        if formed_at.elapsed() > spec.formation_timeout {
            progress.suspend(|| {
                eprintln!(
                    "warning: only {formed} of {n} nodes saw the whole membership after {:?}; measuring anyway",
                    spec.formation_timeout
                )
            });
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let convergence = formed_at.elapsed();

    // Baselines.
    let mut base = Vec::with_capacity(n);
    for handle in handles {
        base.push(counters(handle).await);
    }
    let mut frozen: HashMap<usize, Counters> = HashMap::new();
    let cpu_start = system::cpu_seconds();

    // Steady phase, then the burst.
    let payload = Bytes::from(vec![0xa5u8; spec.payload]);
    let steady = spec.messages - spec.burst;
    let crash_at = steady / 2;
    let mut sent: HashMap<MessageId, Instant> = HashMap::with_capacity(spec.messages as usize);
    let start = Instant::now();
    let crash_now = |frozen: &mut HashMap<usize, Counters>, snapshot: Vec<(usize, Counters)>| {
        for (i, c) in snapshot {
            (cluster.crash)(i);
            frozen.insert(i, c);
        }
    };
    progress.set_message(format!("b={}: steady {steady} msgs", spec.fanout));
    for k in 0..steady {
        if k == crash_at && !doomed.is_empty() {
            let mut snapshot = Vec::new();
            for &i in &doomed {
                snapshot.push((i, counters(&handles[i]).await));
            }
            crash_now(&mut frozen, snapshot);
        }
        let due = start + Duration::from_secs_f64(k as f64 / spec.rate);
        tokio::time::sleep_until(due.into()).await;
        let handle = &handles[(k as usize) % senders];
        let t0 = Instant::now();
        let id = handle.multicast(GROUP, payload.clone()).await.map_err(HarnessError::run)?;
        sent.insert(id, t0);
    }
    if steady == 0 && !doomed.is_empty() {
        let mut snapshot = Vec::new();
        for &i in &doomed {
            snapshot.push((i, counters(&handles[i]).await));
        }
        crash_now(&mut frozen, snapshot);
    }
    if spec.burst > 0 {
        progress.set_message(format!("b={}: burst {} msgs", spec.fanout, spec.burst));
        let mut tasks = Vec::new();
        for (s, handle) in handles.iter().enumerate().take(senders) {
            let count = spec.burst / senders as u64 + u64::from((s as u64) < spec.burst % senders as u64);
            if count == 0 {
                continue;
            }
            let handle = handle.clone();
            let payloads = vec![payload.clone(); count as usize];
            tasks.push(tokio::spawn(async move {
                let t0 = Instant::now();
                handle.multicast_many(GROUP, payloads).await.map(|ids| (ids, t0))
            }));
        }
        for task in tasks {
            let (ids, t0) = task.await.map_err(HarnessError::run)?.map_err(HarnessError::run)?;
            for id in ids {
                sent.insert(id.map_err(HarnessError::run)?, t0);
            }
        }
    }

    // Wait for every expected delivery, or until nothing new arrives for `quiet`.
    let expected = spec.messages * (alive as u64 - 1);
    progress.set_message(format!("b={}: waiting", spec.fanout));
    let base_pos = start_pos + n as u64;
    let mut last = delivered.load(Ordering::Relaxed);
    let mut last_change = Instant::now();
    let hard_deadline = Instant::now() + spec.quiet * 20;
    loop {
        let now = delivered.load(Ordering::Relaxed);
        progress.set_position(base_pos + now.min(expected));
        progress.set_message(format!("b={}: {}/{expected} deliveries", spec.fanout, now.min(expected)));
        if now >= expected {
            break;
        }
        if now != last {
            last = now;
            last_change = Instant::now();
        } else if last_change.elapsed() >= spec.quiet || Instant::now() >= hard_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let end = Instant::now();
    let cpu_s = system::cpu_seconds() - cpu_start;

    // Counters at the end (crashed nodes: at their crash).
    let mut total = Counters::default();
    for (i, handle) in handles.iter().enumerate() {
        let now = match frozen.get(&i) {
            Some(c) => *c,
            None => counters(handle).await,
        };
        let d = now.minus(base[i]);
        total.packets += d.packets;
        total.bytes += d.bytes;
        total.duplicates += d.duplicates;
    }
    let peak_rss = system::peak_rss_bytes();

    // Stop everything, then read what the collectors saw.
    progress.set_message(format!("b={}: shutting down", spec.fanout));
    let mut stops = Vec::with_capacity(n);
    for handle in handles {
        let handle = handle.clone();
        stops.push(tokio::spawn(async move { handle.shutdown().await }));
    }
    for stop in stops {
        let _ = stop.await;
    }
    let mut hist = record::new_histogram();
    let mut deliveries = 0u64;
    let mut duplicate_deliveries = 0u64;
    let mut lagged_total = 0u64;
    let mut last_delivery = start;
    for (i, collector) in collectors.into_iter().enumerate() {
        let (got, lagged): Collected = collector.await.map_err(HarnessError::run)?;
        lagged_total += lagged;
        if doomed.contains(&i) {
            continue;
        }
        let mut seen = HashSet::with_capacity(got.len());
        for (id, at) in got {
            if at > end {
                continue;
            }
            if !seen.insert(id) {
                duplicate_deliveries += 1;
                continue;
            }
            let Some(t0) = sent.get(&id) else { continue };
            deliveries += 1;
            let us = u64::try_from(at.saturating_duration_since(*t0).as_micros()).unwrap_or(u64::MAX);
            hist.saturating_record(us.max(1));
            last_delivery = last_delivery.max(at);
        }
    }
    let duration = last_delivery.saturating_duration_since(start).as_secs_f64();
    Ok(Row {
        transport: spec.transport.name().to_string(),
        protocol: spec.protocol.name().to_string(),
        mode: if spec.protocol == ProtocolKind::Gossip { mode_name(spec.mode).to_string() } else { "-".to_string() },
        nodes: spec.nodes,
        fanout: spec.fanout,
        period_ms: spec.period.as_secs_f64() * 1e3,
        payload_bytes: spec.payload,
        loss: spec.loss,
        crash: spec.crash,
        seed: spec.seed,
        messages: spec.messages,
        expected_deliveries: expected,
        deliveries,
        delivery_ratio: ratio(deliveries as f64, expected as f64),
        duplicates: total.duplicates,
        duplicate_deliveries,
        latency_us: record::summarize(&hist),
        latency_cdf: record::cdf(&hist),
        duration_s: duration,
        deliveries_per_s: ratio(deliveries as f64, duration),
        packets_sent: total.packets,
        bytes_sent: total.bytes,
        packets_per_delivery: ratio(total.packets as f64, deliveries as f64),
        bytes_per_delivery: ratio(total.bytes as f64, deliveries as f64),
        cpu_s,
        cpu_us_per_delivery: (deliveries > 0).then(|| cpu_s * 1e6 / deliveries as f64),
        peak_rss_bytes: peak_rss,
        senders: Some(spec.senders),
        rate: Some(spec.rate),
        burst: Some(spec.burst),
        convergence_s: Some(convergence.as_secs_f64()),
        lagged: Some(lagged_total),
        ..Row::default()
    })
}
