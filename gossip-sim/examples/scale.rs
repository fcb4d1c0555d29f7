//! Scale benchmark: one message, gossip over N nodes in one group sharing
//! one member list, in the simulator. Reports wall time, peak memory and
//! the dissemination figures, with a progress bar per seed.
//!
//! ```text
//! cargo run --release -p gossip-sim --example scale -- --nodes 1000000
//! cargo run --release -p gossip-sim --example scale -- --nodes 100000 --mode push-pull --fanout 3 --seeds 20
//! ```
//!
//! `--help` lists the options. Exits with 1 if a seed's message did not
//! reach every live node (the figures of such a run are not "rounds to all").

use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{CommandFactory, Parser, ValueEnum};
use gossip_core::{GroupId, Mode, Time};
use gossip_sim::{FaultAction, Latency, LinkModel, SimConfig, Simulator, Stop, Timing, textbook_engine};
use indicatif::{ProgressBar, ProgressStyle};

/// Peak memory per simulated node, measured at 100,000 and 1,000,000 nodes
/// (about 3.5 KiB), with some margin.
const BYTES_PER_NODE: u64 = 4 << 10;

/// The gossip style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    /// Holders send to b random members each round.
    Push,
    /// Members ask b random members for what they miss.
    Pull,
    /// Both.
    #[value(alias = "pushpull")]
    PushPull,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::Push => Mode::Push,
            ModeArg::Pull => Mode::Pull,
            ModeArg::PushPull => Mode::PushPull,
        }
    }
}

/// How virtual time advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TimingArg {
    /// Synchronous rounds: every packet of a round arrives before the next.
    Rounds,
    /// Discrete events with a fixed link latency (`--latency-ms`).
    Events,
}

/// One message gossiped over N simulated nodes; rounds, packets, wall time
/// and peak memory.
#[derive(Debug, Parser)]
#[command(name = "scale")]
struct Args {
    /// Nodes in the group (at least 1).
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..))]
    nodes: u32,
    /// Fan-out b: members gossiped to per round (1 to 64).
    #[arg(long, value_name = "B", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    fanout: u32,
    /// Gossip style.
    #[arg(long, value_enum, default_value_t = ModeArg::Push)]
    mode: ModeArg,
    /// How time advances.
    #[arg(long, value_enum, default_value_t = TimingArg::Rounds)]
    timing: TimingArg,
    /// Runs seeds 0..K and reports the mean rounds (1 to 10,000).
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    seeds: u64,
    /// Largest packet, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 512)]
    max_packet: usize,
    /// Link latency with `--timing events`, in milliseconds (0 to 60,000).
    #[arg(long, value_name = "MS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    latency_ms: u64,
    /// Loss probability of every link (0 to 1, below 1).
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = fraction)]
    loss: f64,
    /// Fraction of the nodes (never the origin, node 0) crashed from the
    /// start (0 to 1, below 1).
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = fraction)]
    crash: f64,
    /// Threads with `--timing events` (the same run on any number; the
    /// cores available by default). Synchronous rounds use one.
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// Run even if the estimated memory exceeds what the machine has available.
    #[arg(long)]
    force: bool,
    /// Print only the summary line per seed; no progress bar.
    #[arg(long)]
    quiet: bool,
}

/// A probability in `[0, 1)`.
fn fraction(arg: &str) -> Result<f64, String> {
    let p: f64 = arg.parse().map_err(|_| format!("`{arg}` is not a number"))?;
    if !(0.0..1.0).contains(&p) {
        return Err(format!("{arg} is out of range: give at least 0 and less than 1"));
    }
    Ok(p)
}

/// Peak resident set size of this process, from /proc/self/status (VmHWM).
fn peak_rss_mib() -> Option<f64> {
    proc_kib("/proc/self/status", "VmHWM:").map(|kib| kib as f64 / 1024.0)
}

/// A `NAME: N kB` line of a /proc file.
fn proc_kib(file: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok()
}

/// The nodes crashed from the start: about `fraction * nodes` of them,
/// spread evenly, never node 0 (the origin).
fn crashed_nodes(nodes: u32, fraction: f64) -> Vec<u32> {
    if fraction <= 0.0 || nodes < 2 {
        return Vec::new();
    }
    let step = 1.0 / fraction;
    let count = ((f64::from(nodes) * fraction).round() as u32).min(nodes - 1);
    let mut crashed: Vec<u32> = (1..=count).map(|k| ((f64::from(k) * step) as u32).clamp(1, nodes - 1)).collect();
    crashed.dedup();
    crashed
}

/// What one seed gave.
struct SeedResult {
    rounds: Option<u32>,
    wall: Duration,
}

fn progress_bar(quiet: bool, live: u32, seed: u64) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::from(live));
    let style =
        ProgressStyle::with_template("seed {prefix}: [{bar:40}] {pos}/{len} live nodes hold it, {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_prefix(seed.to_string());
    bar
}

fn run_seed(args: &Args, engine: &gossip_core::Config, seed: u64) -> Result<SeedResult, String> {
    let period = Duration::from_secs(1);
    let group = GroupId(1);
    let start = Instant::now();
    let mut config = SimConfig::rounds(seed, period);
    let mut link = LinkModel::new();
    if args.timing == TimingArg::Events {
        config.timing = Timing::Events { start_jitter: false };
        config.threads =
            args.threads.map_or_else(|| std::thread::available_parallelism().map_or(1, usize::from), usize::from);
        link = link.with_latency(Latency::Fixed(Duration::from_millis(args.latency_ms))).map_err(|e| e.to_string())?;
    }
    config.link = link.with_loss(args.loss).map_err(|e| e.to_string())?;
    let bar = progress_bar(args.quiet, args.nodes, seed);
    bar.set_message(format!("building {} nodes", args.nodes));
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut sim = Simulator::gossip(config, engine.clone(), args.nodes, group).map_err(|e| e.to_string())?;
    let crashed = crashed_nodes(args.nodes, args.crash);
    let live = args.nodes - crashed.len() as u32;
    bar.set_length(u64::from(live));
    if !crashed.is_empty() {
        sim.schedule(Time::ZERO, FaultAction::Crash(crashed.clone())).map_err(|e| e.to_string())?;
    }
    let built = start.elapsed();
    let msg = sim.multicast(Time::ZERO, 0, group, Bytes::from_static(b"one message")).map_err(|e| e.to_string())?;
    // One round of virtual time at a time, so that the bar moves.
    let outcome = loop {
        let outcome = sim.run_until(sim.now() + period);
        if let Some(record) = sim.message(msg) {
            bar.set_position(u64::from(record.holders));
        }
        bar.set_message(format!("round {}", outcome.rounds));
        if outcome.stop != Stop::TimeReached {
            break outcome;
        }
    };
    bar.finish_and_clear();
    let wall = start.elapsed();
    let record = sim.message(msg).ok_or("the message was not recorded")?;
    let stats = sim.stats();
    let rounds = record.rounds_to_all();
    let rounds_text = rounds.map_or_else(|| "none (not every live node)".to_owned(), |r| r.to_string());
    println!(
        "seed={seed} stop={:?} rounds_to_all={rounds_text} holders={}/{live} live ({} crashed) wall={:.2}s \
         (build {:.2}s) packets={} bytes={} deliveries={} peak_in_flight={} peak_rss={:.0}MiB",
        outcome.stop,
        record.holders,
        crashed.len(),
        wall.as_secs_f64(),
        built.as_secs_f64(),
        stats.packets_sent,
        stats.bytes_sent,
        stats.deliveries,
        stats.peak_in_flight,
        peak_rss_mib().unwrap_or(f64::NAN),
    );
    if !args.quiet {
        let per_round: Vec<String> = record.holders_by_round.iter().map(u32::to_string).collect();
        println!("  holders by round: {}", per_round.join(" "));
        let hops: Vec<String> = record.hop_histogram().iter().map(u64::to_string).collect();
        println!("  first deliveries by hop: {}", hops.join(" "));
        if let Some(t) = record.time_to_all() {
            println!("  time to all: {:.1} s virtual", t.as_secs_f64());
        }
    }
    Ok(SeedResult { rounds, wall })
}

/// Refuses (exit 2) a run whose estimated memory exceeds what is available.
fn check_memory(args: &Args) {
    let needed = u64::from(args.nodes) * BYTES_PER_NODE;
    let Some(available) = proc_kib("/proc/meminfo", "MemAvailable:").map(|kib| kib * 1024) else { return };
    if needed > available && !args.force {
        let message = format!(
            "{} nodes need about {} MiB, more than the {} MiB available (--force runs anyway)",
            args.nodes,
            needed >> 20,
            available >> 20
        );
        Args::command().error(clap::error::ErrorKind::ValueValidation, message).exit();
    }
}

fn run(args: &Args) -> Result<bool, String> {
    let engine = textbook_engine(args.mode.into(), args.fanout, Duration::from_secs(1))
        .and_then(|c| c.to_builder().max_packet_size(args.max_packet).build())
        .unwrap_or_else(|err| Args::command().error(clap::error::ErrorKind::ValueValidation, err).exit());
    println!(
        "nodes={} mode={:?} fanout={} timing={:?} max_packet={} seeds={} loss={} crash={}",
        args.nodes,
        Mode::from(args.mode),
        args.fanout,
        args.timing,
        args.max_packet,
        args.seeds,
        args.loss,
        args.crash
    );
    let mut results = Vec::new();
    for seed in 0..args.seeds {
        results.push(run_seed(args, &engine, seed)?);
    }
    let complete: Vec<u32> = results.iter().filter_map(|r| r.rounds).collect();
    let wall_max = results.iter().map(|r| r.wall).max().unwrap_or_default();
    let mean = complete.iter().map(|&r| f64::from(r)).sum::<f64>() / complete.len().max(1) as f64;
    println!(
        "summary: complete={}/{} mean_rounds={} max_rounds={} max_wall={:.2}s peak_rss={:.0}MiB",
        complete.len(),
        results.len(),
        if complete.is_empty() { "-".to_owned() } else { format!("{mean:.2}") },
        complete.iter().max().map_or_else(|| "-".to_owned(), u32::to_string),
        wall_max.as_secs_f64(),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    Ok(complete.len() == results.len())
}

fn main() -> ExitCode {
    let args = Args::parse();
    check_memory(&args);
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("scale: not every seed's message reached every live node");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("scale: error: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        Args::command().debug_assert();
        let args = Args::try_parse_from(["scale", "--nodes", "10", "--mode", "push-pull", "--crash", "0.5"]).unwrap();
        assert_eq!((args.nodes, args.mode, args.crash, args.threads), (10, ModeArg::PushPull, 0.5, None));
        let args = Args::try_parse_from(["scale", "--timing", "events", "--threads", "2"]).unwrap();
        assert_eq!(args.threads, Some(2));
        for bad in [
            ["--nodes", "0"],
            ["--crash", "1"],
            ["--loss", "-0.1"],
            ["--fanout", "0"],
            ["--mode", "gossip"],
            ["--threads", "0"],
        ] {
            let argv = std::iter::once("scale").chain(bad);
            assert!(Args::try_parse_from(argv).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn crashed_nodes_spare_the_origin_and_stay_in_range() {
        assert_eq!(crashed_nodes(10, 0.0), Vec::<u32>::new());
        assert_eq!(crashed_nodes(10, 0.5), vec![2, 4, 6, 8, 9]);
        let most = crashed_nodes(100, 0.99);
        assert!(!most.contains(&0) && most.iter().all(|&i| i < 100));
        assert_eq!(crashed_nodes(1, 0.5), Vec::<u32>::new());
    }
}
