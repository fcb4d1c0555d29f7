//! Live runs: N runtime nodes on a real transport (in-memory or UDP), a
//! steady stream of multicasts and then a burst, latency from the multicast
//! call to each member's delivery in an HDR histogram, one process clock.

use std::time::Duration;

use gossip_core::GroupId;
use gossip_runtime::SharedLink;
use indicatif::ProgressBar;
use transport_mem::{LinkModel, MemNetwork, NetConfig};
use transport_quic::ClusterCa;
use transport_udp::{UdpConfig, UdpTransport};

use crate::cli::TransportKind;
use crate::error::HarnessError;
use crate::protocols::{ProtocolKind, baseline_config};
use crate::record::Row;

mod cluster;
mod measure;
mod scenario;
mod spec;

use cluster::{LOOPBACK, bind_all, cluster, crash_in, quic_transport, with_faults};
use measure::measure;
pub use scenario::Preset;
pub use spec::{LiveSpec, check_memory, estimated_memory};

/// The group every live run multicasts to.
pub const GROUP: GroupId = GroupId(0x6265_6e63);

/// How long a UDP row first measures the raw datagram rate of its setup.
const RAW_WINDOW: Duration = Duration::from_millis(500);
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
            let raw =
                transport_udp::raw_datagram_rate(&UdpConfig::insecure(LOOPBACK), spec.max_packet_size(), RAW_WINDOW)
                    .await
                    .map_err(HarnessError::run)?
                    .datagrams_per_sec;
            let sockets = bind_all(spec, progress, |_| {
                UdpTransport::bind(UdpConfig::insecure(LOOPBACK)).map_err(HarnessError::run)
            })?;
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
