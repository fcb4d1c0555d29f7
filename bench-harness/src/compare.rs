//! Gossip against the classics: every protocol on the same simulated
//! scenarios (discrete events, 1–5 ms links, loss, crashes, one slow
//! member), measured the same way.
//!
//! Each run multicasts a few messages from one random live origin, 10 ms
//! apart, and records per message which live members delivered it and
//! when, what every node sent, and what the origin itself sent.

use std::time::Duration;

use baselines::Seat;
use bytes::Bytes;
use gossip_core::{Config, GroupId, Mode, Protocol, ProtocolStats, SmallRng, Time};
use gossip_sim::{Factory, SimConfig, Simulator, Spawn, Timing, gossip_factory, node_id, one_group};
use indicatif::ProgressBar;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use transport_mem::{FaultAction, Latency, LinkModel};

use crate::cell::{self, Measured};
use crate::error::HarnessError;
use crate::protocols::{Baseline, ProtocolKind, baseline_config};
use crate::record::{Row, ratio};
use crate::seeds;

const GROUP: GroupId = GroupId(1);
/// Gossip's period in compared runs.
pub const GOSSIP_PERIOD: Duration = Duration::from_millis(20);
/// Width of the simulator's per-round records; a run ends after two of them without a packet.
pub const RECORD_PERIOD: Duration = Duration::from_secs(1);
/// Extra delay of every packet into the slow member.
pub const SLOW_DELAY: Duration = Duration::from_millis(200);
/// Spacing of the messages of one run.
pub const MESSAGE_GAP: Duration = Duration::from_millis(10);
/// Bins of [`Row::delivered_fraction_hist`]: ten of 10% each below 100%, then exactly 100%.
pub const FRACTION_BINS: usize = 11;
/// Link latency of compared runs.
pub fn latency() -> Latency {
    Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(5) }
}

/// One compared cell.
#[derive(Clone, Debug)]
pub struct CompareSpec {
    /// The protocol.
    pub protocol: ProtocolKind,
    /// Group size.
    pub nodes: u32,
    /// Gossip's fan-out b.
    pub fanout: u32,
    /// Gossip's mode.
    pub mode: Mode,
    /// The trees' arity k.
    pub k: u32,
    /// Loss probability of every packet.
    pub loss: f64,
    /// Fraction of the nodes crashed from the start (never the origin).
    pub crash: f64,
    /// Whether one member (the origin's first tree child) receives everything 200 ms late.
    pub slow: bool,
    /// Runs.
    pub seeds: u32,
    /// Base seed.
    pub seed: u64,
    /// Messages per run.
    pub messages: u32,
    /// Payload bytes.
    pub payload: usize,
    /// Stop a run after this much virtual time.
    pub max_time: Duration,
}

impl CompareSpec {
    /// The scenario's short name: `clean`, `loss 10%`, `crash 20%`, `slow`, or a combination.
    pub fn scenario(&self) -> String {
        scenario_name(self.loss, self.crash, self.slow)
    }

    fn crashed(&self) -> u32 {
        ((self.crash * f64::from(self.nodes)).round() as u32).min(self.nodes.saturating_sub(2))
    }
}

/// The scenario name of a row's loss, crash and slow flag.
pub fn scenario_name(loss: f64, crash: f64, slow: bool) -> String {
    let mut parts = Vec::new();
    if loss > 0.0 {
        parts.push(format!("loss {:.0}%", loss * 100.0));
    }
    if crash > 0.0 {
        parts.push(format!("crash {:.0}%", crash * 100.0));
    }
    if slow {
        parts.push("slow member".to_string());
    }
    if parts.is_empty() { "clean".to_string() } else { parts.join(", ") }
}

#[derive(Default)]
struct Outcome {
    measured: Measured,
    fractions: Vec<f64>,
    last_us: Vec<u64>,
    sender_packets: u64,
    messages: u64,
    complete: u64,
}

/// The gossip engine of compared runs: `mode` (push-pull by default),
/// fan-out `fanout`, 20 ms period, eager push, automatic rumor lifetime
/// (gossip-core's LAN preset otherwise).
pub fn gossip_engine(fanout: u32, mode: Mode) -> Result<Config, HarnessError> {
    Config::lan()
        .to_builder()
        .mode(mode)
        .fanout(fanout)
        .period(GOSSIP_PERIOD)
        .build()
        .map_err(|e| HarnessError::Config(format!("engine config: {e}")))
}

/// The configuration of every node of `spec`'s runs, as recorded in its row.
pub fn config_description(spec: &CompareSpec) -> String {
    match spec.protocol {
        ProtocolKind::Gossip => match gossip_engine(spec.fanout, spec.mode) {
            Ok(config) => format!("{config:?}"),
            Err(e) => format!("invalid: {e}"),
        },
        _ => format!("{:?}", baseline_config(spec.k, gossip_core::MAX_PACKET_SIZE.min(1200))),
    }
}

fn one_run(spec: &CompareSpec, run: u32) -> Result<Outcome, HarnessError> {
    let seed = seeds::run_seed(spec.seed, run, (spec.protocol as u64) << 56);
    // The same origin, crashes and slow member for every protocol of a seed.
    let mut rng = SmallRng::seed_from_u64(seeds::run_seed(spec.seed, run, 0) ^ 0x0416);
    let n = spec.nodes;
    let origin = rng.random_range(0..n);
    let list: Vec<u32> = (0..n).collect();
    let slow = if spec.slow { baselines::tree_children(&list, origin, origin, spec.k).first().copied() } else { None };
    let mut others: Vec<u32> = (0..n).filter(|&i| i != origin && Some(i) != slow).collect();
    others.shuffle(&mut rng);
    others.truncate(spec.crashed() as usize);
    let crashed = others;

    let mut config = SimConfig::events(seed, RECORD_PERIOD);
    // Timers from time zero: with jitter a node's first timer waits up to a record period.
    config.timing = Timing::Events { start_jitter: false };
    let link = LinkModel::new()
        .with_loss(spec.loss)
        .and_then(|l| l.with_latency(latency()))
        .map_err(|e| HarnessError::Config(e.to_string()))?;
    // The slow member: every packet to it takes SLOW_DELAY more.
    config.link = match slow {
        Some(node) => link.with_slow(node, SLOW_DELAY),
        None => link,
    };
    config.max_rounds = (spec.max_time.as_micros() / RECORD_PERIOD.as_micros()).max(1) as u32;
    match spec.protocol {
        ProtocolKind::Gossip => {
            let factory = gossip_factory(gossip_engine(spec.fanout, spec.mode)?, vec![GROUP]);
            drive(spec, config, factory, origin, &crashed)
        }
        kind => {
            let cfg = std::sync::Arc::new(baseline_config(spec.k, gossip_core::MAX_PACKET_SIZE.min(1200)));
            let factory: Factory<Baseline<u32>> = Box::new(move |s: &Spawn<'_>| {
                let seat = Seat {
                    id: node_id(s.index, s.incarnation),
                    index: s.index,
                    members: s.members.clone(),
                    config: cfg.clone(),
                    rng: SmallRng::seed_from_u64(s.seed),
                };
                let mut node = Baseline::new(kind, seat).expect("not gossip: a baseline");
                let _ = node.subscribe(s.now, GROUP);
                node
            });
            drive(spec, config, factory, origin, &crashed)
        }
    }
}

fn drive<P: Protocol<Address = u32> + Send>(
    spec: &CompareSpec,
    config: SimConfig,
    factory: Factory<P>,
    origin: u32,
    crashed: &[u32],
) -> Result<Outcome, HarnessError> {
    let n = spec.nodes;
    let mut sim = Simulator::new(config, one_group(n, GROUP), factory).map_err(HarnessError::run)?;
    if !crashed.is_empty() {
        sim.schedule(Time::ZERO, FaultAction::Crash(crashed.to_vec())).map_err(HarnessError::run)?;
    }
    let payload = Bytes::from(vec![0x5au8; spec.payload]);
    let mut handles = Vec::with_capacity(spec.messages as usize);
    for m in 0..spec.messages {
        let at = Time::ZERO + MESSAGE_GAP * m;
        handles.push(sim.multicast(at, origin, GROUP, payload.clone()).map_err(HarnessError::run)?);
    }
    let outcome = sim.run();
    let live = n - crashed.len() as u32;
    let mut out = Outcome::default();
    for handle in handles {
        let record = sim.message(handle).ok_or_else(|| HarnessError::run("the simulator lost a message record"))?;
        let Some(sent_at) = record.sent_at else { continue };
        out.messages += 1;
        let mut got = 0u64;
        let mut last = 0u64;
        for node in (0..n).filter(|&i| i != origin && sim.node(i).is_some()) {
            if let Some((at, _)) = record.delivery(node) {
                let us = at.as_micros().saturating_sub(sent_at.as_micros());
                out.measured.latencies_us.push(us);
                last = last.max(us);
                got += 1;
            }
        }
        let expected = u64::from(live - 1);
        out.measured.deliveries += got;
        out.measured.expected += expected;
        out.fractions.push(ratio(got as f64, expected as f64));
        if got > 0 {
            out.last_us.push(last);
        }
        if got == expected {
            out.complete += 1;
        }
        out.measured.duplicate_deliveries += record.duplicate_deliveries;
    }
    for i in 0..n {
        if let Some(node) = sim.node(i) {
            out.measured.duplicates += node.stats().common().duplicates;
        }
    }
    out.sender_packets = sim.node(origin).map_or(0, |node| node.stats().common().packets_out);
    let stats = sim.stats();
    out.measured.packets = stats.packets_sent;
    out.measured.bytes = stats.bytes_sent;
    out.measured.virtual_s = outcome.now.as_micros() as f64 / 1e6;
    Ok(out)
}

/// Runs every seed of one cell (on all CPUs) and summarizes it in a row.
pub fn run_cell(spec: &CompareSpec, progress: &ProgressBar) -> Result<Row, HarnessError> {
    let (outcomes, cpu_s) = seeds::run_seeds(spec.seeds, progress, |run| one_run(spec, run))?;
    Ok(summarize(spec, outcomes, cpu_s))
}

fn summarize(spec: &CompareSpec, outcomes: Vec<Outcome>, cpu_s: f64) -> Row {
    let mut fraction_hist = vec![0u64; FRACTION_BINS];
    let mut last = Vec::new();
    for o in &outcomes {
        for &f in &o.fractions {
            let bin = if f >= 1.0 { FRACTION_BINS - 1 } else { ((f * 10.0) as usize).min(FRACTION_BINS - 2) };
            fraction_hist[bin] += 1;
        }
        last.extend(o.last_us.iter().copied());
    }
    let sum = |f: fn(&Outcome) -> u64| outcomes.iter().map(f).fold(0, u64::saturating_add);
    let messages = sum(|o| o.messages);
    let last_ms = (!last.is_empty()).then(|| last.iter().sum::<u64>() as f64 / last.len() as f64 / 1e3);
    let measured = cell::measured_row(outcomes.iter().map(|o| &o.measured), cpu_s);
    let gossip = spec.protocol == ProtocolKind::Gossip;
    Row {
        protocol: spec.protocol.name().to_string(),
        mode: if gossip { "push-pull".to_string() } else { "events".to_string() },
        nodes: spec.nodes,
        fanout: if gossip { spec.fanout } else { spec.k },
        period_ms: GOSSIP_PERIOD.as_secs_f64() * 1e3,
        payload_bytes: spec.payload,
        loss: spec.loss,
        crash: spec.crash,
        seed: spec.seed,
        messages,
        seeds: Some(spec.seeds),
        completed: Some(sum(|o| o.complete) as u32),
        slow_member: spec.slow.then_some(true),
        last_delivery_ms: last_ms,
        packets_per_member: Some(ratio(measured.packets_sent as f64, f64::from(spec.nodes) * messages as f64)),
        sender_packets: Some(ratio(sum(|o| o.sender_packets) as f64, messages as f64)),
        delivered_fraction_hist: Some(fraction_hist),
        ..measured
    }
}
