//! What one live scenario is, the checks it must pass before it starts,
//! and the memory a cluster of its size is expected to take.

use std::time::Duration;

use gossip_core::{Config, Mode};

use crate::cli::{LiveScenario, TransportKind};
use crate::error::HarnessError;
use crate::protocols::ProtocolKind;
use crate::system;

/// One live scenario: one fan-out, one loss, one crash fraction.
#[derive(Clone, Debug)]
pub struct LiveSpec {
    /// What it measures (for results).
    pub scenario: LiveScenario,
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
    /// When set, the steady part is paced by this many messages not yet
    /// delivered everywhere instead of by `rate`.
    pub window: Option<u64>,
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
