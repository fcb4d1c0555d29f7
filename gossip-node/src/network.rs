//! Builds the transport the settings name and spawns the runtime on it.

use std::net::SocketAddr;
use std::sync::Arc;

use gossip_core::Config;
use gossip_runtime::{Builder, Handle, Transport};
use transport_quic::{NodeIdentity, QuicConfig, QuicTransport};
use transport_udp::{UdpConfig, UdpTransport};

use crate::config::{ConfigError, Settings, TransportSettings};
use crate::meta::NodeMeta;

/// The transport's own counters, for `/stats`.
#[derive(Clone)]
pub enum TransportHandle {
    /// UDP.
    Udp(Arc<UdpTransport>),
    /// QUIC.
    Quic(Arc<QuicTransport>),
}

impl TransportHandle {
    /// The transport's specific counters as JSON.
    pub fn stats_json(&self) -> serde_json::Value {
        match self {
            TransportHandle::Udp(t) => {
                let s = t.udp_stats();
                serde_json::json!({
                    "kind": "udp", "sealed": t.is_sealed(), "batching": t.is_batching(),
                    "send_syscalls": s.send_syscalls, "recv_syscalls": s.recv_syscalls,
                    "foreign_cluster": s.foreign_cluster, "replayed": s.replayed, "too_old": s.too_old,
                    "clock_skew": s.clock_skew, "replay_window_evictions": s.replay_window_evictions,
                })
            }
            TransportHandle::Quic(t) => {
                let s = t.quic_stats();
                serde_json::json!({
                    "kind": "quic", "datagrams_out": s.datagrams_out, "streams_out": s.streams_out,
                    "datagrams_in": s.datagrams_in, "streams_in": s.streams_in,
                    "handshake_failures": s.handshake_failures, "dial_failures": s.dial_failures,
                    "connections_replaced": s.connections_replaced, "send_evictions": s.send_evictions,
                })
            }
        }
    }
}

fn engine_config(settings: &Settings, transport_max: usize) -> Result<Config, ConfigError> {
    let lan = Config::lan();
    let mut builder = lan.to_builder().max_packet_size(lan.max_packet_size().min(transport_max));
    if let Some(period) = settings.period {
        builder = builder.period(period);
    }
    builder.build().map_err(|e| ConfigError::new("period_ms", e.to_string()))
}

fn spawn<T: Transport<Address = SocketAddr>>(
    transport: T,
    settings: &Settings,
    meta: Vec<u8>,
) -> Result<Handle<SocketAddr>, ConfigError> {
    let config = engine_config(settings, transport.max_packet_size())?;
    let mut builder = Builder::new(transport).config(config).meta(meta);
    if let Some(linger) = settings.linger {
        builder = builder.linger(linger);
    }
    builder.spawn().map_err(|e| ConfigError::new("transport", e.to_string()))
}

/// Binds the transport and spawns the runtime (inside a tokio runtime),
/// with the node's name and tags as its member meta.
pub fn start(settings: &Settings) -> Result<(Handle<SocketAddr>, TransportHandle), ConfigError> {
    let meta = NodeMeta { name: settings.name.clone(), tags: settings.tags.clone() }
        .encode()
        .map_err(|e| ConfigError::new("tags", e.to_string()))?;
    match &settings.transport {
        TransportSettings::Udp { key_file, cluster_id } => {
            let config = match key_file {
                Some(path) => UdpConfig::new(settings.bind, crate::keys::read(path)?),
                None => UdpConfig::insecure(settings.bind),
            };
            let udp = UdpTransport::bind(UdpConfig { cluster_id: *cluster_id, ..config })
                .map_err(|e| ConfigError::new("bind", e.to_string()))?;
            let udp = Arc::new(udp);
            Ok((spawn(udp.clone(), settings, meta)?, TransportHandle::Udp(udp)))
        }
        TransportSettings::Quic { ca, cert, key } => {
            let identity =
                NodeIdentity::from_pem_files(ca, cert, key).map_err(|e| ConfigError::new("tls_cert", e.to_string()))?;
            let quic = QuicTransport::bind(QuicConfig::new(settings.bind, identity))
                .map_err(|e| ConfigError::new("bind", e.to_string()))?;
            let quic = Arc::new(quic);
            Ok((spawn(quic.clone(), settings, meta)?, TransportHandle::Quic(quic)))
        }
    }
}
