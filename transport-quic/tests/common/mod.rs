//! Helpers for the QUIC tests; the cluster checks come from
//! `gossip_runtime::checks`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gossip_core::{Config, GroupId};
#[allow(unused_imports)] // not every test binary uses every check
pub use gossip_runtime::checks::{collect, every_message_once_at_every_member, formed, reaches, wait_for};
use gossip_runtime::{Builder, Faults, FaultyTransport, Handle};
use transport_quic::{ClusterCa, NodeIdentity, QuicConfig, QuicTransport};

pub const GROUP: GroupId = GroupId(42);

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

/// A fast gossip config for tests: 20 ms rounds, 1,100-byte packets (so
/// that they travel as QUIC datagrams at the initial 1,200-byte MTU).
pub fn config() -> Config {
    Config::lan()
        .to_builder()
        .period(Duration::from_millis(20))
        .member_timeout(Duration::from_secs(3))
        .join_retry(Duration::from_millis(100))
        .max_packet_size(1100)
        .build()
        .unwrap()
}

/// A node on loopback QUIC behind a seeded fault decorator.
pub fn node(seed: u64, identity: NodeIdentity, faults: Faults) -> Handle<SocketAddr> {
    node_with(seed, quic(identity), faults, config())
}

pub fn node_with(seed: u64, transport: QuicTransport, faults: Faults, config: Config) -> Handle<SocketAddr> {
    node_arc(seed, Arc::new(transport), faults, config)
}

/// A node whose transport the test keeps a reference to (for its [`transport_quic::QuicStats`]).
pub fn node_arc(seed: u64, transport: Arc<QuicTransport>, faults: Faults, config: Config) -> Handle<SocketAddr> {
    Builder::new(FaultyTransport::new(transport, faults)).config(config).seed(seed).spawn().unwrap()
}
