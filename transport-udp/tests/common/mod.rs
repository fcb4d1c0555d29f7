//! Helpers for the runtime-on-UDP tests; the cluster checks come from
//! `gossip_runtime::checks`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use gossip_core::{Config, GroupId};
#[allow(unused_imports)] // not every test binary uses every check
pub use gossip_runtime::checks::{collect, every_message_once_at_every_member, formed, wait_for};
use gossip_runtime::{Builder, Faults, FaultyTransport, Handle};
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

pub const GROUP: GroupId = GroupId(42);

/// A fast gossip config for tests: 20 ms rounds.
pub fn config() -> Config {
    Config::lan()
        .to_builder()
        .period(Duration::from_millis(20))
        .member_timeout(Duration::from_secs(3))
        .join_retry(Duration::from_millis(100))
        .build()
        .unwrap()
}

pub fn key(passphrase: &str) -> Option<KeyRing> {
    Some(KeyRing::new(ClusterKey::from_passphrase(1, passphrase)))
}

/// A node on loopback UDP, optionally keyed, behind a seeded fault decorator.
pub fn node(seed: u64, keys: Option<KeyRing>, faults: Faults) -> Handle<SocketAddr> {
    let udp = UdpTransport::bind(UdpConfig { keys, ..UdpConfig::new("127.0.0.1:0".parse().unwrap()) }).unwrap();
    Builder::new(FaultyTransport::new(udp, faults)).config(config()).seed(seed).spawn().unwrap()
}
