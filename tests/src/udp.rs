//! Runtime nodes on loopback UDP.

use std::net::SocketAddr;

use gossip_runtime::{Builder, Faults, FaultyTransport, Handle};
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

use crate::config;

/// A key ring holding one key derived from `passphrase`.
pub fn key(passphrase: &str) -> Option<KeyRing> {
    Some(KeyRing::new(ClusterKey::from_passphrase(1, passphrase)))
}

/// A node on loopback UDP, optionally keyed, behind a seeded fault decorator.
pub fn node(seed: u64, keys: Option<KeyRing>, faults: Faults) -> Handle<SocketAddr> {
    let udp = UdpTransport::bind(UdpConfig { keys, ..UdpConfig::new("127.0.0.1:0".parse().unwrap()) }).unwrap();
    Builder::new(FaultyTransport::new(udp, faults)).config(config()).seed(seed).spawn().unwrap()
}
