//! Building a live cluster on any transport: binding, the fault decorator
//! on one shared link model, gossip nodes or baselines given the member
//! list, and the switch that crashes a node.

use std::sync::Arc;
use std::time::Duration;

use baselines::Seat;
use gossip_core::{Address, Config};
use gossip_runtime::{Builder, Faults, FaultyTransport, Handle, SharedLink, Transport};
use indicatif::ProgressBar;
use rand::{SeedableRng, rngs::SmallRng};
use transport_mem::LinkModel;
use transport_quic::{ClusterCa, QuicConfig, QuicTransport};

use super::{GROUP, LiveSpec};
use crate::error::HarnessError;
use crate::protocols::{Baseline, ProtocolKind, baseline_config};

/// Wraps node `i`'s transport in the fault decorator on the cluster's
/// shared link model: `spec.loss`, and crashing node `i` there silences it
/// (it then sends nothing and drops what it receives, while the node above
/// keeps running).
pub(super) fn crashable<T: Transport>(spec: &LiveSpec, link: &SharedLink, transport: T, i: u32) -> FaultyTransport<T> {
    FaultyTransport::new(transport, Faults::member(link, i, node_seed(spec.seed ^ 0x1055, i)))
}

/// The shared link model of a cluster of decorated transports.
pub(super) fn cluster_link(spec: &LiveSpec) -> Result<SharedLink, HarnessError> {
    let model = LinkModel::new().with_loss(spec.loss).map_err(|e| HarnessError::Config(e.to_string()))?;
    Ok(SharedLink::new(model))
}

pub(super) type CrashFn = Box<dyn Fn(usize) + Send + Sync>;

/// Crashes node `i` of the cluster whose links `link` models.
pub(super) fn crash_in(link: SharedLink) -> CrashFn {
    Box::new(move |i| {
        if let Ok(i) = u32::try_from(i) {
            link.crash(i);
        }
    })
}

/// Running nodes and a way to crash one.
pub(super) struct Cluster<A> {
    pub(super) handles: Vec<Handle<A>>,
    pub(super) crash: CrashFn,
    /// The nodes were given the member list (baselines): no join, no formation wait.
    pub(super) preformed: bool,
}

/// A shared member list of `addrs`, all in [`GROUP`], ids from the seed.
pub(super) fn member_list<A: Address>(spec: &LiveSpec, addrs: &[A]) -> Arc<gossip_core::SharedMembers<A>> {
    let mut list = gossip_core::SharedMembers::new();
    for (i, addr) in addrs.iter().enumerate() {
        list.push(baseline_id(spec, i as u32), addr.clone(), &[GROUP]);
    }
    Arc::new(list)
}

pub(super) fn baseline_id(spec: &LiveSpec, i: u32) -> gossip_core::NodeId {
    gossip_core::NodeId(node_seed(spec.seed ^ 0x1d, i) | 1)
}

/// Spawns baseline node `i` of `members` over `transport`.
pub(super) fn spawn_baseline<T: Transport>(
    spec: &LiveSpec,
    transport: T,
    i: u32,
    members: &Arc<gossip_core::SharedMembers<T::Address>>,
) -> Result<Handle<T::Address>, HarnessError> {
    let id = baseline_id(spec, i);
    let seat = Seat {
        id,
        index: i,
        members: members.clone(),
        config: Arc::new(baseline_config(spec.fanout, spec.max_packet_size())),
        rng: SmallRng::seed_from_u64(node_seed(spec.seed, i)),
    };
    let protocol = Baseline::new(spec.protocol, seat).ok_or_else(|| HarnessError::run("gossip is not a baseline"))?;
    Builder::new(transport)
        .seed(node_seed(spec.seed, i))
        .subscriber_capacity(subscriber_capacity(spec))
        .linger(spec.period)
        .spawn_protocol(protocol, id, spec.max_packet_size(), spec.period)
        .map_err(HarnessError::run)
}

pub(super) fn node_seed(seed: u64, i: u32) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (u64::from(i) + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

pub(super) fn subscriber_capacity(spec: &LiveSpec) -> usize {
    usize::try_from(spec.messages).unwrap_or(usize::MAX).clamp(1024, 1 << 20) + 64
}

/// The one cluster builder: a node per transport of `transports` (node `i`
/// on `transports[i]`), gossip joined later through node 0 or a baseline
/// given the member list, and `crash` to crash node `i`.
pub(super) fn cluster<T: Transport>(
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
pub(super) fn bind_all<T>(
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
pub(super) fn with_faults<T: Transport>(
    spec: &LiveSpec,
    transports: Vec<T>,
) -> Result<(Vec<FaultyTransport<T>>, CrashFn), HarnessError> {
    let link = cluster_link(spec)?;
    let wrapped = (0u32..).zip(transports).map(|(i, t)| crashable(spec, &link, t, i)).collect();
    Ok((wrapped, crash_in(link)))
}

pub(super) const LOOPBACK: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

pub(super) fn quic_transport(spec: &LiveSpec, ca: &ClusterCa, i: u32) -> Result<QuicTransport, HarnessError> {
    let identity = ca.issue(&format!("node-{i}")).map_err(HarnessError::run)?;
    let mut quic = QuicConfig::new(LOOPBACK, identity);
    quic.max_connections = (spec.nodes as usize).max(quic.max_connections);
    quic.dial_timeout = Duration::from_millis(500);
    QuicTransport::bind(quic).map_err(HarnessError::run)
}
