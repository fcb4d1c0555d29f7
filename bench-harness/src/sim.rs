//! Simulated runs: the textbook synchronous-rounds model in virtual time
//! (transport-mem's simulator), rounds to full dissemination against the
//! formulas and reference table of docs/theory.md.

use std::time::Duration;

use bytes::Bytes;
use gossip_core::{GroupId, Mode, Protocol, Time};
use gossip_sim::{SimConfig, Simulator, textbook_engine};
use indicatif::ProgressBar;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use transport_mem::FaultAction;
use transport_mem::LinkModel;

use crate::cell::{self, Measured};
use crate::cli::mode_name;
use crate::error::HarnessError;
use crate::record::Row;
use crate::{seeds, theory};

/// The virtual gossip period of simulated rows.
pub const PERIOD: Duration = Duration::from_millis(100);
const GROUP: GroupId = GroupId(1);

/// One simulated cell: every seed runs one multicast from a random live node.
#[derive(Clone, Debug)]
pub struct SimSpec {
    /// Group size.
    pub nodes: u32,
    /// Fan-out.
    pub fanout: u32,
    /// Mode.
    pub mode: Mode,
    /// Loss probability of every packet.
    pub loss: f64,
    /// Fraction of the nodes crashed from the start (never the origin).
    pub crash: f64,
    /// Runs.
    pub seeds: u32,
    /// Base seed.
    pub seed: u64,
    /// Payload bytes.
    pub payload: usize,
}

#[derive(Default)]
struct Outcome {
    measured: Measured,
    rounds: Option<u32>,
    uninformed: Vec<f64>,
    messages_sent: u64,
}

/// The engine configuration of every node of `spec`'s runs, as recorded in its row.
pub fn engine_description(spec: &SimSpec) -> String {
    match textbook_engine(spec.mode, spec.fanout, PERIOD) {
        Ok(config) => format!("{config:?}"),
        Err(e) => format!("invalid: {e}"),
    }
}

fn one_run(spec: &SimSpec, run: u32) -> Result<Outcome, HarnessError> {
    let seed = seeds::run_seed(spec.seed, run, 0);
    let mut config = SimConfig::rounds(seed, PERIOD);
    config.link = LinkModel::new().with_loss(spec.loss).map_err(|e| HarnessError::Config(e.to_string()))?;
    config.max_rounds = 2_000;
    let engine = textbook_engine(spec.mode, spec.fanout, PERIOD).map_err(|e| HarnessError::Config(e.to_string()))?;
    let mut sim = Simulator::gossip(config, engine, spec.nodes, GROUP).map_err(HarnessError::run)?;

    let mut rng = SmallRng::seed_from_u64(seed ^ 0x0416);
    let origin = rng.random_range(0..spec.nodes);
    let crashed = ((spec.crash * f64::from(spec.nodes)).round() as u32).min(spec.nodes - 2);
    if crashed > 0 {
        let mut others: Vec<u32> = (0..spec.nodes).filter(|&i| i != origin).collect();
        others.shuffle(&mut rng);
        others.truncate(crashed as usize);
        sim.schedule(Time::ZERO, FaultAction::Crash(others)).map_err(HarnessError::run)?;
    }
    let payload = Bytes::from(vec![0x5au8; spec.payload]);
    let handle = sim.multicast(Time::ZERO, origin, GROUP, payload).map_err(HarnessError::run)?;
    let outcome = sim.run();

    let live = spec.nodes - crashed;
    let record = sim.message(handle).ok_or_else(|| HarnessError::run("the simulator lost a message record"))?;
    let sent_at = record.sent_at.unwrap_or(Time::ZERO);
    let mut latencies_us = Vec::with_capacity(live as usize);
    for node in (0..spec.nodes).filter(|&i| i != origin) {
        if let Some((at, _hop)) = record.delivery(node) {
            latencies_us.push(at.as_micros().saturating_sub(sent_at.as_micros()));
        }
    }
    let uninformed = record.holders_by_round.iter().map(|&h| 1.0 - f64::from(h) / f64::from(live)).collect();
    let (mut messages_sent, mut duplicates) = (0, 0);
    for i in 0..spec.nodes {
        if let Some(node) = sim.node(i) {
            messages_sent += node.stats().messages_sent;
            duplicates += node.stats().duplicates;
        }
    }
    let stats = sim.stats();
    let measured = Measured {
        deliveries: latencies_us.len() as u64,
        latencies_us,
        expected: u64::from(live - 1),
        packets: stats.packets_sent,
        bytes: stats.bytes_sent,
        duplicates,
        duplicate_deliveries: record.duplicate_deliveries,
        virtual_s: outcome.now.as_micros() as f64 / 1e6,
    };
    Ok(Outcome { measured, rounds: record.rounds_to_all(), uninformed, messages_sent })
}

/// Runs every seed of one cell (on all CPUs) and summarizes it in a row.
pub fn run_cell(spec: &SimSpec, progress: &ProgressBar) -> Result<Row, HarnessError> {
    let (outcomes, cpu_s) = seeds::run_seeds(spec.seeds, progress, |run| one_run(spec, run))?;
    Ok(summarize(spec, outcomes, cpu_s))
}

fn summarize(spec: &SimSpec, outcomes: Vec<Outcome>, cpu_s: f64) -> Row {
    let runs = outcomes.len().max(1) as f64;
    let mut rounds: Vec<u32> = outcomes.iter().filter_map(|o| o.rounds).collect();
    rounds.sort_unstable();
    let completed = rounds.len() as u32;
    let rounds_mean =
        (!rounds.is_empty()).then(|| rounds.iter().map(|&r| f64::from(r)).sum::<f64>() / rounds.len() as f64);
    let rounds_p99 = (!rounds.is_empty()).then(|| {
        let rank = ((0.99 * rounds.len() as f64).ceil() as usize).clamp(1, rounds.len());
        f64::from(rounds[rank - 1])
    });
    let longest = outcomes.iter().map(|o| o.uninformed.len()).max().unwrap_or(0);
    let uninformed: Vec<f64> = (0..longest)
        .map(|r| {
            outcomes.iter().map(|o| o.uninformed.get(r).or(o.uninformed.last()).copied().unwrap_or(0.0)).sum::<f64>()
                / runs
        })
        .collect();
    let sum = |f: fn(&Outcome) -> u64| outcomes.iter().map(f).fold(0, u64::saturating_add);
    let reference = theory::reference(spec.mode, spec.nodes, spec.fanout, spec.loss, spec.crash);
    Row {
        protocol: "gossip".to_string(),
        mode: mode_name(spec.mode).to_string(),
        nodes: spec.nodes,
        fanout: spec.fanout,
        period_ms: PERIOD.as_secs_f64() * 1e3,
        payload_bytes: spec.payload,
        loss: spec.loss,
        crash: spec.crash,
        seed: spec.seed,
        messages: outcomes.len() as u64,
        seeds: Some(spec.seeds),
        completed: Some(completed),
        rounds_mean,
        rounds_p99,
        theory_rounds: Some(theory::rounds(spec.mode, spec.nodes, spec.fanout, spec.loss, spec.crash)),
        reference_rounds: reference.map(|r| r.mean),
        reference_p99: reference.and_then(|r| r.p99.map(f64::from)),
        messages_per_node: Some(sum(|o| o.messages_sent) as f64 / runs / f64::from(spec.nodes)),
        uninformed_by_round: Some(uninformed),
        ..cell::measured_row(outcomes.iter().map(|o| &o.measured), cpu_s)
    }
}
