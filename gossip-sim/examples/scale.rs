//! Scale benchmark: one message, gossip over N nodes in one group sharing
//! one member list, in the simulator. Reports wall time, peak memory and
//! the dissemination figures.
//!
//! ```text
//! cargo run --release -p gossip-sim --example scale -- --nodes 1000000
//! cargo run --release -p gossip-sim --example scale -- --nodes 100000 --mode push-pull --fanout 3 --seeds 20
//! ```
//!
//! Options: `--nodes N` (100000), `--fanout B` (2), `--mode push|push-pull|pull`
//! (push), `--timing rounds|events` (rounds), `--seeds K` (1: runs seeds
//! 0..K and reports the mean rounds), `--max-packet BYTES` (512),
//! `--latency-ms L` (events timing: fixed latency, 10), `--loss P` (loss
//! probability of every link, 0), `--crash F` (fraction of nodes, never the
//! origin 0, crashed from the start, 0), `--quiet`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use gossip_core::{GroupId, Mode, Time};
use gossip_sim::{FaultAction, Latency, LinkModel};
use gossip_sim::{SimConfig, Simulator, Timing, textbook_engine};

struct Args {
    nodes: u32,
    fanout: u32,
    mode: Mode,
    events: bool,
    seeds: u64,
    max_packet: usize,
    latency_ms: u64,
    loss: f64,
    crash: f64,
    quiet: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        nodes: 100_000,
        fanout: 2,
        mode: Mode::Push,
        events: false,
        seeds: 1,
        max_packet: 512,
        latency_ms: 10,
        loss: 0.0,
        crash: 0.0,
        quiet: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--nodes" => args.nodes = value()?.parse().map_err(|e| format!("--nodes: {e}"))?,
            "--fanout" => args.fanout = value()?.parse().map_err(|e| format!("--fanout: {e}"))?,
            "--seeds" => args.seeds = value()?.parse().map_err(|e| format!("--seeds: {e}"))?,
            "--max-packet" => args.max_packet = value()?.parse().map_err(|e| format!("--max-packet: {e}"))?,
            "--latency-ms" => args.latency_ms = value()?.parse().map_err(|e| format!("--latency-ms: {e}"))?,
            "--mode" => {
                args.mode = match value()?.as_str() {
                    "push" => Mode::Push,
                    "push-pull" | "pushpull" => Mode::PushPull,
                    "pull" => Mode::Pull,
                    other => return Err(format!("unknown mode {other}")),
                }
            }
            "--timing" => {
                args.events = match value()?.as_str() {
                    "rounds" => false,
                    "events" => true,
                    other => return Err(format!("unknown timing {other}")),
                }
            }
            "--loss" => args.loss = value()?.parse().map_err(|e| format!("--loss: {e}"))?,
            "--crash" => args.crash = value()?.parse().map_err(|e| format!("--crash: {e}"))?,
            "--quiet" => args.quiet = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(args)
}

/// Peak resident set size of this process, from /proc/self/status (VmHWM).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let args = match parse() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("scale: {err}");
            std::process::exit(2);
        }
    };
    let period = Duration::from_secs(1);
    let engine = match textbook_engine(args.mode, args.fanout, period)
        .and_then(|c| c.to_builder().max_packet_size(args.max_packet).build())
    {
        Ok(engine) => engine,
        Err(err) => {
            eprintln!("scale: {err}");
            std::process::exit(2);
        }
    };
    let group = GroupId(1);
    println!(
        "nodes={} mode={:?} fanout={} timing={} max_packet={} seeds={}",
        args.nodes,
        args.mode,
        args.fanout,
        if args.events { "events" } else { "rounds" },
        args.max_packet,
        args.seeds
    );
    let mut rounds_sum = 0u64;
    let mut rounds_max = 0u32;
    let mut wall_max = Duration::ZERO;
    for seed in 0..args.seeds {
        let start = Instant::now();
        let mut config = SimConfig::rounds(seed, period);
        let mut link = LinkModel::new();
        if args.events {
            config.timing = Timing::Events { start_jitter: false };
            link = link
                .with_latency(Latency::Fixed(Duration::from_millis(args.latency_ms)))
                .expect("a fixed latency is valid");
        }
        config.link = match link.with_loss(args.loss) {
            Ok(link) => link,
            Err(err) => {
                eprintln!("scale: {err}");
                std::process::exit(2);
            }
        };
        let mut sim = match Simulator::gossip(config, engine.clone(), args.nodes, group) {
            Ok(sim) => sim,
            Err(err) => {
                eprintln!("scale: {err}");
                std::process::exit(2);
            }
        };
        if args.crash > 0.0 {
            // Every k-th node, never node 0 (the origin), crashed from the start.
            let step = (1.0 / args.crash).max(1.0);
            let count = (f64::from(args.nodes) * args.crash).round() as u32;
            let crashed: Vec<u32> =
                (1..=count).map(|k| ((f64::from(k) * step) as u32).min(args.nodes - 1)).filter(|&i| i != 0).collect();
            sim.schedule(Time::ZERO, FaultAction::Crash(crashed)).expect("valid nodes");
        }
        let built = start.elapsed();
        let msg = sim.multicast(Time::ZERO, 0, group, Bytes::from_static(b"one message")).expect("node 0 exists");
        let outcome = sim.run();
        let wall = start.elapsed();
        wall_max = wall_max.max(wall);
        let record = sim.message(msg).expect("scheduled");
        let stats = sim.stats();
        let rounds = record.rounds_to_all().unwrap_or(0);
        rounds_sum += u64::from(rounds);
        rounds_max = rounds_max.max(rounds);
        println!(
            "seed={seed} stop={:?} rounds_to_all={rounds} holders={}/{} wall={:.2}s (build {:.2}s) \
             packets={} bytes={} deliveries={} peak_in_flight={} peak_rss={:.0}MiB",
            outcome.stop,
            record.holders,
            args.nodes,
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
    }
    println!(
        "summary: mean_rounds={:.2} max_rounds={rounds_max} max_wall={:.2}s peak_rss={:.0}MiB",
        rounds_sum as f64 / args.seeds as f64,
        wall_max.as_secs_f64(),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
}
