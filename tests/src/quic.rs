//! Runtime nodes on loopback QUIC, with certificates from one test CA.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gossip_core::Config;
use gossip_runtime::{Builder, Faults, FaultyTransport, Handle};
use transport_quic::{ClusterCa, NodeIdentity, QuicConfig, QuicTransport};

/// One cluster CA for the whole test binary (generated at run time).
pub fn ca() -> &'static ClusterCa {
    static CA: OnceLock<ClusterCa> = OnceLock::new();
    CA.get_or_init(|| ClusterCa::generate("test cluster CA").unwrap())
}

/// A node certificate from the shared test CA.
pub fn identity(name: &str) -> NodeIdentity {
    ca().issue(name).unwrap()
}

/// A QUIC transport on loopback with `identity`.
pub fn quic(identity: NodeIdentity) -> QuicTransport {
    quic_with(identity, |_| {})
}

/// A QUIC transport on loopback with `identity` and config changes.
pub fn quic_with(identity: NodeIdentity, change: impl FnOnce(&mut QuicConfig)) -> QuicTransport {
    let mut config = QuicConfig::new("127.0.0.1:0".parse().unwrap(), identity);
    config.dial_timeout = Duration::from_millis(500);
    change(&mut config);
    QuicTransport::bind(config).unwrap()
}

/// The test config with 1,100-byte packets, so that they travel as QUIC
/// datagrams at the initial 1,200-byte MTU.
pub fn config() -> Config {
    crate::config().to_builder().max_packet_size(1100).build().unwrap()
}

/// A node on loopback QUIC behind a seeded fault decorator.
pub fn node(seed: u64, identity: NodeIdentity, faults: Faults) -> Handle<SocketAddr> {
    node_with(seed, quic(identity), faults, config())
}

/// A node on `transport` with `config`, behind a seeded fault decorator.
pub fn node_with(seed: u64, transport: QuicTransport, faults: Faults, config: Config) -> Handle<SocketAddr> {
    node_arc(seed, Arc::new(transport), faults, config)
}

/// A node whose transport the test keeps a reference to (for its [`transport_quic::QuicStats`]).
pub fn node_arc(seed: u64, transport: Arc<QuicTransport>, faults: Faults, config: Config) -> Handle<SocketAddr> {
    Builder::new(FaultyTransport::new(transport, faults)).config(config).seed(seed).spawn().unwrap()
}
