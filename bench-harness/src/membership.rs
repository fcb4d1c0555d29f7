//! `gossip-bench sim --membership gossip`: membership studies in the
//! simulator (gossip-sim's [`Study`]): N nodes learn the membership by
//! gossip after joining through 3 seeds in bulk, then meet one scenario's
//! fault; one JSON row per scenario, group size and seed.

use std::io::Write;
use std::time::Instant;

use clap::ValueEnum;
use gossip_core::Config;
use gossip_sim::{Study, StudyFault, StudyReport};
use serde::Serialize;

use crate::cli::SimArgs;
use crate::error::HarnessError;
use crate::system;

/// Which membership the simulated nodes use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum MembershipArg {
    /// One read-only member list every node shares: dissemination studies.
    #[default]
    Shared,
    /// Learned by gossip after joining through 3 seeds: membership studies.
    Gossip,
}

/// A membership study's scenario (what happens after the warm-up, at a
/// half of the periods, once the join has settled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// The bulk join and idle periods only.
    Join,
    /// `--crash` of the nodes (1% if 0) crash at once.
    Crash,
    /// `--loss` (10% if 0) on every link from then on.
    Loss,
    /// One member's packets are delayed `--slow-periods` periods.
    Slow,
    /// Two halves for `--partition-periods` periods, then heal.
    Partition,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Join => "join",
            Scenario::Crash => "crash",
            Scenario::Loss => "loss",
            Scenario::Slow => "slow",
            Scenario::Partition => "partition",
        }
    }
}

/// One row: the study's setting and its [`StudyReport`].
#[derive(Clone, Debug, Serialize)]
pub struct MembershipRow {
    /// The scenario's name.
    pub scenario: &'static str,
    /// Always `gossip`.
    pub membership: &'static str,
    /// Nodes.
    pub nodes: u32,
    /// The run's seed.
    pub seed: u64,
    /// The engine's gossip period, in milliseconds: the unit of every
    /// `periods` figure of the row.
    pub period_ms: f64,
    /// The engine's SWIM probe interval, in milliseconds (a probe period
    /// is `probe_interval_ms / period_ms` periods).
    pub probe_interval_ms: f64,
    /// The period the fault started at.
    pub fault_at: u32,
    /// Loss probability (loss scenario).
    pub loss: f64,
    /// Fraction crashed (crash scenario).
    pub crash: f64,
    /// The slow member's extra delay, in periods (slow scenario).
    pub slow_periods: u32,
    /// How long the partition lasted, in periods (partition scenario).
    pub partition_periods: u32,
    /// What the study found.
    #[serde(flatten)]
    pub report: ReportFields,
    /// False deaths per live member per period.
    pub false_deaths_per_member_period: f64,
    /// Threads the run used.
    pub threads: usize,
    /// Wall-clock seconds of the run.
    pub wall_s: f64,
    /// CPU seconds of the run.
    pub cpu_s: f64,
    /// Peak resident memory of the process, in bytes.
    pub peak_rss_bytes: u64,
}

/// [`StudyReport`]'s fields, as serialized.
#[derive(Clone, Debug, Serialize)]
pub struct ReportFields {
    periods: u32,
    live: u32,
    periods_to_complete_views: Option<u32>,
    complete_at_end: u32,
    periods_to_complete_after_fault: Option<u32>,
    false_suspicions: u64,
    false_deaths: u64,
    crashed: u32,
    detected: u32,
    first_detection_mean_periods: Option<f64>,
    first_detection_max_periods: Option<f64>,
    removed_from_all_views: u32,
    removed_from_all_max_periods: Option<f64>,
    removed_after_suspicion_max_periods: Option<f64>,
    removed_after_first_down_max_periods: Option<f64>,
    crashed_still_believed_views: u32,
    crashed_still_suspected_views: u32,
    membership_bytes_per_node_period: f64,
    membership_bytes_per_node_period_after_fault: f64,
    bytes_per_node_period: f64,
}

impl From<&StudyReport> for ReportFields {
    fn from(r: &StudyReport) -> Self {
        ReportFields {
            periods: r.periods,
            live: r.live,
            periods_to_complete_views: r.all_complete,
            complete_at_end: r.complete_at_end,
            periods_to_complete_after_fault: r.complete_after_fault,
            false_suspicions: r.false_suspicions,
            false_deaths: r.false_deaths,
            crashed: r.crashed,
            detected: r.detected,
            first_detection_mean_periods: r.first_detection_mean,
            first_detection_max_periods: r.first_detection_max,
            removed_from_all_views: r.removed,
            removed_from_all_max_periods: r.removed_max,
            removed_after_suspicion_max_periods: r.removed_after_suspicion_max,
            removed_after_first_down_max_periods: r.removed_after_first_down_max,
            crashed_still_believed_views: r.still_believed,
            crashed_still_suspected_views: r.still_suspected,
            membership_bytes_per_node_period: r.membership_bytes_per_node_period,
            membership_bytes_per_node_period_after_fault: r.membership_bytes_per_node_period_after_fault,
            bytes_per_node_period: r.bytes_per_node_period,
        }
    }
}

fn one(args: &SimArgs, scenario: Scenario, nodes: u32, seed: u64) -> Result<MembershipRow, HarnessError> {
    let engine = Config::lan();
    let mut study = Study::join(nodes, engine.clone(), args.periods, seed);
    study.threads =
        args.threads.map_or_else(|| std::thread::available_parallelism().map_or(1, usize::from), usize::from);
    let loss = args.loss.first().copied().filter(|l| *l > 0.0).unwrap_or(0.1);
    let crash = args.crash.first().copied().filter(|c| *c > 0.0).unwrap_or(0.01);
    study.fault = match scenario {
        Scenario::Join => StudyFault::None,
        Scenario::Crash => StudyFault::Crash { fraction: crash },
        Scenario::Loss => StudyFault::Loss { loss },
        Scenario::Slow => StudyFault::Slow { periods: args.slow_periods },
        Scenario::Partition => StudyFault::Partition { periods: args.partition_periods },
    };
    let (wall, cpu) = (Instant::now(), system::cpu_seconds());
    let report = study.run().map_err(HarnessError::run)?;
    let (wall_s, cpu_s) = (wall.elapsed().as_secs_f64(), system::cpu_seconds() - cpu);
    let member_periods = f64::from(report.live.max(1)) * f64::from(report.periods.max(1));
    Ok(MembershipRow {
        scenario: scenario.name(),
        membership: "gossip",
        nodes,
        seed,
        period_ms: engine.period().as_secs_f64() * 1e3,
        probe_interval_ms: engine.probe_interval().as_secs_f64() * 1e3,
        fault_at: study.fault_at,
        loss: if scenario == Scenario::Loss { loss } else { 0.0 },
        crash: if scenario == Scenario::Crash { crash } else { 0.0 },
        slow_periods: if scenario == Scenario::Slow { args.slow_periods } else { 0 },
        partition_periods: if scenario == Scenario::Partition { args.partition_periods } else { 0 },
        false_deaths_per_member_period: report.false_deaths as f64 / member_periods,
        report: ReportFields::from(&report),
        threads: study.threads,
        wall_s,
        cpu_s,
        peak_rss_bytes: system::peak_rss_bytes(),
    })
}

/// Runs every scenario × group size × seed of `args`, one at a time (so
/// each row's peak memory is its own), printing each row as one JSON line
/// and writing them all as a JSON array to `--json`, if given.
pub fn command(args: &SimArgs) -> Result<(), HarnessError> {
    let mut rows = Vec::new();
    let mut out = std::io::stdout().lock();
    for &scenario in &args.scenario {
        for &nodes in &args.nodes {
            for run in 0..u64::from(args.seeds) {
                let row = one(args, scenario, nodes, args.seed + run)?;
                let line = serde_json::to_string(&row).map_err(HarnessError::run)?;
                writeln!(out, "{line}").map_err(|e| HarnessError::io("stdout", e))?;
                rows.push(row);
            }
        }
    }
    if let Some(path) = &args.output.json {
        let text = serde_json::to_string_pretty(&rows).map_err(HarnessError::run)?;
        std::fs::write(path, text).map_err(|e| HarnessError::io(path, e))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
