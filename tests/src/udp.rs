//! Runtime nodes on loopback UDP.

use std::net::SocketAddr;

use gossip_runtime::{Builder, Faults, FaultyTransport, Handle};
use transport_udp::{ClusterKey, KeyRing, Security, UdpConfig, UdpTransport};

use crate::config;

/// Sealed with one key made from `secret` (its bytes, repeated, as the
/// 32 key bytes: tests skip the passphrase KDF's deliberate cost).
pub fn key(secret: &str) -> Security {
    Security::Sealed(KeyRing::new(ClusterKey::from_bytes(1, test_key_bytes(secret))))
}

/// 32 key bytes from `secret`, for tests only.
pub fn test_key_bytes(secret: &str) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (b, s) in bytes.iter_mut().zip(secret.bytes().cycle()) {
        *b = s;
    }
    bytes
}

/// A node on loopback UDP, sealed or insecure, behind a seeded fault decorator.
pub fn node(seed: u64, security: Security, faults: Faults) -> Handle<SocketAddr> {
    let udp =
        UdpTransport::bind(UdpConfig { security, ..UdpConfig::insecure("127.0.0.1:0".parse().unwrap()) }).unwrap();
    Builder::new(FaultyTransport::new(udp, faults)).config(config()).seed(seed).spawn().unwrap()
}
