//! Support for the workspace's cross-crate integration tests (this crate is
//! not published): cluster checks shared by every transport's tests, and
//! node builders for UDP and QUIC on loopback.
//!
//! The tests themselves live in `tests/`: `transports` runs every transport
//! against `gossip_runtime::conformance`, `clusters` runs runtime clusters
//! over UDP and QUIC, `faults` runs fault scenarios on the in-memory network.
//! Like test code, the helpers panic with a message naming what failed.
#![deny(missing_docs)]

pub mod checks;
pub mod quic;
pub mod udp;

use std::time::Duration;

use gossip_core::{Config, GroupId};

/// The group every test cluster uses.
pub const GROUP: GroupId = GroupId(42);

/// A fast gossip config for tests: 20 ms rounds.
pub fn config() -> Config {
    Config::lan()
        .to_builder()
        .period(Duration::from_millis(20))
        .probe_interval(Duration::from_millis(500))
        .probe_timeout(Duration::from_millis(250))
        .join_retry(Duration::from_millis(100))
        .build()
        .unwrap()
}
