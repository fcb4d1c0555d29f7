//! Command-line flags (clap derive) and their validation.
//!
//! Every invalid value is rejected while parsing, with a one-line message,
//! and the binary exits with code 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use gossip_core::Mode;

pub use crate::membership::{MembershipArg, Scenario};
pub use crate::protocols::ProtocolKind;

/// gossip-bench: throughput, tail latency, reliability and overhead of gossip
/// multicast across fan-out values, on the in-memory network, UDP and QUIC,
/// and in the simulator against theory.
///
/// Without a sub-command it runs the default scenario (`run` with its
/// defaults): 100 nodes on the in-memory network, push-pull, fan-out 1, 2,
/// 3, 4 and 6, 64-byte payloads at a steady rate and then a burst.
#[derive(Debug, Parser)]
#[command(name = "gossip-bench", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do (default: `run` with its defaults).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Live nodes on a transport: throughput, latency, delivery ratio, overhead per fan-out.
    Run(RunArgs),
    /// Virtual-time simulator: rounds to full dissemination against theory.
    Sim(SimArgs),
    /// Re-render the plots (and print the table) of a saved results file.
    Report(ReportArgs),
    /// Gossip against the classics (unicast loop, tree, SRM, RMTP) on one
    /// simulated scenario grid: delivery, time to last delivery, load.
    Compare(CompareArgs),
}

/// Which network live nodes use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TransportKind {
    /// The in-memory network (transport-mem's `MemNetwork`).
    Mem,
    /// UDP sockets on 127.0.0.1 (transport-udp).
    Udp,
    /// QUIC (transport-quic).
    Quic,
}

impl TransportKind {
    /// The name used in results.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Mem => "mem",
            TransportKind::Udp => "udp",
            TransportKind::Quic => "quic",
        }
    }
}

/// The gossip mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Push only.
    Push,
    /// Pull only.
    Pull,
    /// Push for new messages, pull as the repair path.
    PushPull,
    /// Eager push down a per-origin spanning tree of the group, pull repair.
    Tree,
}

impl ModeArg {
    /// The engine's mode.
    pub fn mode(self) -> Mode {
        match self {
            ModeArg::Push => Mode::Push,
            ModeArg::Pull => Mode::Pull,
            ModeArg::PushPull => Mode::PushPull,
            ModeArg::Tree => Mode::Tree,
        }
    }
}

/// The name of a mode in results: `push`, `pull`, `push-pull`, `tree`.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Push => "push",
        Mode::Pull => "pull",
        Mode::PushPull => "push-pull",
        Mode::Tree => "tree",
        // A mode added to gossip-core after this harness.
        _ => "other",
    }
}

/// Where a command writes its results besides the table on stdout (shared
/// by `run`, `sim` and `compare`).
#[derive(Clone, Debug, Default, Args)]
pub struct OutputArgs {
    /// Write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the results as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write plots (SVG and PNG) into DIR.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// Write one static HTML page with every table and plot into DIR.
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
}

/// What a live run measures; each scenario has its own defaults for the
/// group size, fan-out, messages and senders (the flags override them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LiveScenario {
    /// A steady stream from 4 senders and then a burst, once per fan-out
    /// value (1, 2, 3, 4, 6), N=100: the fan-out study.
    Sweep,
    /// One message at a time from one origin, 10 per second, each alone on
    /// the network, N=100: single-message latency.
    Single,
    /// 1,000 messages at once from one origin, N=100: cost per delivery.
    Burst,
    /// One origin sending as fast as a window of 1,000 messages not yet
    /// delivered everywhere allows, N=10: throughput.
    Throughput,
}

impl LiveScenario {
    /// The name used in results.
    pub fn name(self) -> &'static str {
        match self {
            LiveScenario::Sweep => "sweep",
            LiveScenario::Single => "single",
            LiveScenario::Burst => "burst",
            LiveScenario::Throughput => "throughput",
        }
    }
}

/// Flags of `gossip-bench run` (and of the default command). Flags left out
/// take the scenario's defaults; the engine's take `Config::lan()`'s.
#[derive(Clone, Debug, Args)]
pub struct RunArgs {
    /// What to measure: sweep (fan-out study), single, burst, throughput.
    #[arg(long, value_enum, default_value_t = LiveScenario::Sweep)]
    pub scenario: LiveScenario,
    /// Protocols, comma-separated: gossip, unicast, tree, srm, rmtp. For
    /// tree, srm and rmtp, --fanout is the tree's arity k; unicast runs once.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [ProtocolKind::Gossip])]
    pub protocol: Vec<ProtocolKind>,
    /// Network: mem, udp or quic.
    #[arg(long, value_enum, default_value_t = TransportKind::Mem)]
    pub transport: TransportKind,
    /// Group size N (at least 2) [default: 100; throughput: 10].
    #[arg(long, value_parser = parse_nodes)]
    pub nodes: Option<u32>,
    /// Fan-out values to sweep, comma-separated (each 1..=64)
    /// [default: sweep 1,2,3,4,6; the others `Config::lan()`'s].
    #[arg(long, value_delimiter = ',', value_parser = parse_fanout)]
    pub fanout: Vec<u32>,
    /// Gossip mode: push, pull, push-pull or tree [default: `Config::lan()`'s].
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Gossip period in milliseconds (1..=60000) [default: `Config::lan()`'s].
    #[arg(long = "period-ms", value_parser = parse_period)]
    pub period_ms: Option<u64>,
    /// Payload size in bytes (up to the engine's maximum for 1200-byte packets).
    #[arg(long, default_value_t = 64, value_parser = parse_payload)]
    pub payload: usize,
    /// Messages per fan-out value: the steady part and then the burst
    /// [default: sweep 400, single 50, burst 1,000, throughput 100,000].
    #[arg(long, value_parser = parse_messages)]
    pub messages: Option<u64>,
    /// Messages of the final burst (sent at once by all senders)
    /// [default: sweep a quarter of --messages, burst all, others none].
    #[arg(long)]
    pub burst: Option<u64>,
    /// Steady multicast rate, messages per second over all senders
    /// [default: sweep 500, single 10].
    #[arg(long, value_parser = parse_rate, allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Instead of a rate, send as fast as this many messages not yet
    /// delivered everywhere allow [default: throughput 1,000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub window: Option<u64>,
    /// Datagram loss probability in [0, 1); a comma-separated list sweeps it.
    #[arg(long, value_delimiter = ',', default_values_t = [0.0], value_parser = parse_loss, allow_negative_numbers = true)]
    pub loss: Vec<f64>,
    /// Fraction of the non-sender nodes crashed mid-run, in [0, 1); a list sweeps it.
    #[arg(long, value_delimiter = ',', default_values_t = [0.0], value_parser = parse_crash, allow_negative_numbers = true)]
    pub crash: Vec<f64>,
    /// Seed of every random choice (node ids, targets, loss, which nodes crash).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Nodes that multicast (the first ones; never crashed) [default: sweep 4, others 1].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub senders: Option<u32>,
    /// Give up on missing deliveries after this many milliseconds without a new one.
    #[arg(long = "quiet-ms", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(100..))]
    pub quiet_ms: u64,
    /// Run even when the estimated memory of the cluster exceeds what the machine has available.
    #[arg(long)]
    pub force: bool,
    /// Where to write the results.
    #[command(flatten)]
    pub output: OutputArgs,
}

impl Default for RunArgs {
    fn default() -> Self {
        match Cli::try_parse_from(["gossip-bench", "run"]) {
            Ok(Cli { command: Some(Command::Run(args)) }) => args,
            _ => unreachable!("the defaults parse"),
        }
    }
}

/// Flags of `gossip-bench sim`.
#[derive(Clone, Debug, Args)]
pub struct SimArgs {
    /// Protocols, comma-separated: gossip (the synchronous-rounds textbook
    /// model), unicast, tree, srm, rmtp (discrete events, 1–5 ms links; for
    /// tree, srm and rmtp --fanout is the tree's arity k; unicast runs once).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [ProtocolKind::Gossip])]
    pub protocol: Vec<ProtocolKind>,
    /// Group sizes, comma-separated (each at least 2).
    #[arg(long, value_delimiter = ',', default_values_t = [100, 1_000, 10_000], value_parser = parse_nodes)]
    pub nodes: Vec<u32>,
    /// Fan-out values, comma-separated (each 1..=64).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2, 3, 4, 6], value_parser = parse_fanout)]
    pub fanout: Vec<u32>,
    /// Modes, comma-separated: push, pull, push-pull.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [ModeArg::Push, ModeArg::PushPull])]
    pub mode: Vec<ModeArg>,
    /// Loss probability in [0, 1); a comma-separated list sweeps it.
    #[arg(long, value_delimiter = ',', default_values_t = [0.0], value_parser = parse_loss, allow_negative_numbers = true)]
    pub loss: Vec<f64>,
    /// Fraction of nodes crashed from the start, in [0, 1); a list sweeps it.
    #[arg(long, value_delimiter = ',', default_values_t = [0.0], value_parser = parse_crash, allow_negative_numbers = true)]
    pub crash: Vec<f64>,
    /// Runs (seeds) per cell.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub seeds: u32,
    /// Base seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Membership: shared (one static list: dissemination studies) or
    /// gossip (learned through 3 seeds: membership studies, one JSON row
    /// per scenario, group size and seed, with `--scenario`, `--periods`).
    #[arg(long, value_enum, default_value_t = MembershipArg::Shared)]
    pub membership: MembershipArg,
    /// With --membership gossip: scenarios, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Scenario::Join])]
    pub scenario: Vec<Scenario>,
    /// With --membership gossip: periods simulated per run (the scenario's
    /// fault starts at half of them).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(4..=1_000_000))]
    pub periods: u32,
    /// With --membership gossip, scenario slow: the slow member's extra delay, in periods.
    #[arg(long, default_value_t = 3)]
    pub slow_periods: u32,
    /// With --membership gossip, scenario partition: how long it lasts, in periods.
    #[arg(long, default_value_t = 100)]
    pub partition_periods: u32,
    /// With --membership gossip: threads each run uses (the same rows on
    /// any number, only faster); the cores available by default.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Where to write the results.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `gossip-bench compare`.
#[derive(Clone, Debug, Args)]
pub struct CompareArgs {
    /// Protocols, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = ProtocolKind::ALL)]
    pub protocol: Vec<ProtocolKind>,
    /// Group sizes, comma-separated (each at least 2).
    #[arg(long, value_delimiter = ',', default_values_t = [100, 1_000, 10_000], value_parser = parse_nodes)]
    pub nodes: Vec<u32>,
    /// Loss probabilities (with no crash), comma-separated, in [0, 1).
    #[arg(long, value_delimiter = ',', default_values_t = [0.0, 0.1, 0.3], value_parser = parse_loss, allow_negative_numbers = true)]
    pub loss: Vec<f64>,
    /// Crashed fractions (with no loss), comma-separated, in [0, 1).
    #[arg(long, value_delimiter = ',', default_values_t = [0.0, 0.2, 0.5], value_parser = parse_crash, allow_negative_numbers = true)]
    pub crash: Vec<f64>,
    /// Cross every loss with every crash fraction instead of varying one at a time.
    #[arg(long)]
    pub full_grid: bool,
    /// Leave out the scenario with one slow member.
    #[arg(long)]
    pub no_slow: bool,
    /// Gossip's fan-out b (push-pull, 20 ms period).
    #[arg(long, default_value_t = 3, value_parser = parse_fanout)]
    pub fanout: u32,
    /// Gossip's mode (`tree` compares the tree mode against the baselines).
    #[arg(long, value_enum, default_value_t = ModeArg::PushPull)]
    pub mode: ModeArg,
    /// Arity k of the tree, SRM and RMTP trees.
    #[arg(long, default_value_t = 4, value_parser = parse_fanout)]
    pub k: u32,
    /// Runs (seeds) per cell.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub seeds: u32,
    /// Runs per cell for groups of more than 1,000 nodes.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub large_seeds: u32,
    /// Messages per run (from one origin, 10 ms apart).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub messages: u32,
    /// Base seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the results.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Flags of `gossip-bench report`.
#[derive(Clone, Debug, Args)]
pub struct ReportArgs {
    /// A results file written with --json.
    #[arg(value_name = "FILE.json")]
    pub file: PathBuf,
    /// Write plots (SVG and PNG) into DIR.
    #[arg(long, value_name = "DIR", default_value = "gossip-bench-plots")]
    pub plot: PathBuf,
    /// Also write the rows as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Also write one static HTML page with every table and plot into DIR
    /// (the plots are copied beside it; it reads offline).
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
}

fn parse_int<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.trim().parse().map_err(|_| format!("{what} must be a whole number"))
}

fn parse_float(s: &str, what: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("{what} must be a number")),
    }
}

/// Group size: at least 2, at most 1,000,000.
pub fn parse_nodes(s: &str) -> Result<u32, String> {
    let n: u32 = parse_int(s, "nodes")?;
    if n < 2 {
        return Err("nodes must be at least 2".into());
    }
    if n > 1_000_000 {
        return Err("nodes must be at most 1000000".into());
    }
    Ok(n)
}

/// One fan-out value: 1..=64.
pub fn parse_fanout(s: &str) -> Result<u32, String> {
    let b: u32 = parse_int(s, "fan-out")?;
    if b == 0 {
        return Err("fan-out must be at least 1".into());
    }
    if b > 64 {
        return Err("fan-out must be at most 64".into());
    }
    Ok(b)
}

fn fraction(s: &str, what: &str) -> Result<f64, String> {
    let p = parse_float(s, what)?;
    if !(0.0..1.0).contains(&p) {
        return Err(format!("{what} must be in [0, 1)"));
    }
    Ok(p)
}

/// Loss probability: in [0, 1).
pub fn parse_loss(s: &str) -> Result<f64, String> {
    fraction(s, "loss")
}

/// Crashed fraction: in [0, 1).
pub fn parse_crash(s: &str) -> Result<f64, String> {
    fraction(s, "crash")
}

fn parse_period(s: &str) -> Result<u64, String> {
    let t: u64 = parse_int(s, "period")?;
    if !(1..=60_000).contains(&t) {
        return Err("period must be between 1 and 60000 ms".into());
    }
    Ok(t)
}

fn parse_payload(s: &str) -> Result<usize, String> {
    let b: usize = parse_int(s, "payload")?;
    let max = gossip_core::Config::lan().max_payload();
    if b > max {
        return Err(format!("payload must be at most {max} bytes (1200-byte packets)"));
    }
    Ok(b)
}

fn parse_messages(s: &str) -> Result<u64, String> {
    let m: u64 = parse_int(s, "messages")?;
    if !(1..=10_000_000).contains(&m) {
        return Err("messages must be between 1 and 10000000".into());
    }
    Ok(m)
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let r = parse_float(s, "rate")?;
    if r <= 0.0 {
        return Err("rate must be positive".into());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("gossip-bench").chain(args.iter().copied()))
    }

    #[test]
    fn defaults() {
        let cli = parse(&[]).unwrap();
        assert!(cli.command.is_none());
        let run = RunArgs::default();
        assert_eq!(run.scenario, LiveScenario::Sweep);
        assert!(run.fanout.is_empty());
        assert_eq!(run.nodes, None);
        assert_eq!(run.transport, TransportKind::Mem);
        assert_eq!(run.mode, None);
        assert_eq!(run.loss, vec![0.0]);
    }

    #[test]
    fn scenarios_take_their_presets_and_the_lan_defaults_unless_told() {
        let Some(Command::Run(run)) = parse(&["run", "--scenario", "throughput"]).unwrap().command else {
            panic!("not run")
        };
        let specs = crate::live_specs(&run).unwrap();
        let lan = gossip_core::Config::lan();
        assert_eq!(specs.len(), 1);
        let spec = &specs[0];
        assert_eq!((spec.nodes, spec.senders, spec.window, spec.burst), (10, 1, Some(1_000), 0));
        assert_eq!((spec.fanout, spec.mode, spec.period), (lan.fanout(), lan.mode(), lan.period()));

        let Some(Command::Run(run)) =
            parse(&["run", "--scenario", "burst", "--nodes", "500", "--mode", "push", "--period-ms", "20"])
                .unwrap()
                .command
        else {
            panic!("not run")
        };
        let spec = &crate::live_specs(&run).unwrap()[0];
        assert_eq!((spec.nodes, spec.messages, spec.burst, spec.senders), (500, 1_000, 1_000, 1));
        assert_eq!((spec.mode, spec.period, spec.window), (Mode::Push, std::time::Duration::from_millis(20), None));

        let sweep = crate::live_specs(&RunArgs::default()).unwrap();
        assert_eq!(sweep.iter().map(|s| s.fanout).collect::<Vec<_>>(), vec![1, 2, 3, 4, 6]);
    }

    #[test]
    fn lists_parse() {
        let Some(Command::Sim(sim)) =
            parse(&["sim", "--nodes", "100,1000", "--mode", "push,pull", "--loss", "0,0.1"]).unwrap().command
        else {
            panic!("not sim")
        };
        assert_eq!(sim.nodes, vec![100, 1000]);
        assert_eq!(sim.mode, vec![ModeArg::Push, ModeArg::Pull]);
        assert_eq!(sim.loss, vec![0.0, 0.1]);
    }

    #[test]
    fn invalid_values_are_rejected() {
        for args in [
            &["run", "--fanout", "0"][..],
            &["run", "--fanout", "1,0"],
            &["run", "--loss", "1"],
            &["run", "--loss", "-0.1"],
            &["run", "--loss", "nan"],
            &["run", "--crash", "1.5"],
            &["run", "--nodes", "1"],
            &["run", "--transport", "carrier-pigeon"],
            &["run", "--payload", "5000"],
            &["run", "--rate", "0"],
            &["sim", "--nodes", "100,1"],
            &["sim", "--seeds", "0"],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }
}
