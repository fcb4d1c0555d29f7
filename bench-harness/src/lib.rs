//! `gossip-bench`: measures gossip multicast (throughput, tail latency,
//! reliability, overhead) across fan-out values, group sizes, loss and
//! crashes, on the in-memory network and UDP, and in the virtual-time
//! simulator against theory.
//!
//! The binary is a thin shell over [`execute`]; the modules hold the parts:
//! [`cli`] (flags and their validation), [`run`] (live runs), [`sim`]
//! (simulated runs), [`theory`] (docs/theory.md's formulas and reference table),
//! [`record`] (rows, JSON and CSV), [`plot`], [`table`] and [`system`] (CPU
//! time, peak memory, machine).
#![forbid(unsafe_code)]

mod cell;
pub mod cli;
pub mod compare;
pub mod error;
pub mod html;
pub mod membership;
pub mod plot;
pub mod protocols;
pub mod record;
pub mod run;
pub mod sections;
pub mod seeds;
pub mod sim;
pub mod system;
pub mod table;
pub mod theory;

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::ModeArg;

pub use cli::{Cli, Command, CompareArgs, OutputArgs, ReportArgs, RunArgs, SimArgs};
pub use error::HarnessError;
pub use protocols::ProtocolKind;
pub use record::{Results, Row};

/// Runs a parsed command line.
pub fn execute(cli: Cli) -> Result<(), HarnessError> {
    match cli.command {
        None => run_command(&RunArgs::default()),
        Some(Command::Run(args)) => run_command(&args),
        Some(Command::Sim(args)) => sim_command(&args),
        Some(Command::Report(args)) => report_command(&args),
        Some(Command::Compare(args)) => compare_command(&args),
    }
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// The live scenarios `args` asks for, in run order (loss, crash, fan-out):
/// the scenario's preset, overridden by the flags given, on the engine
/// settings of `Config::lan()` unless a flag changes them.
pub fn live_specs(args: &RunArgs) -> Result<Vec<run::LiveSpec>, HarnessError> {
    let preset = run::Preset::of(args.scenario);
    let lan = gossip_core::Config::lan();
    let messages = args.messages.unwrap_or(preset.messages);
    let burst = args.burst.unwrap_or_else(|| preset.burst.unwrap_or(messages / 4).min(messages));
    let fanouts = match (&args.fanout[..], preset.fanouts) {
        ([], Some(preset)) => preset,
        ([], None) => vec![lan.fanout()],
        (given, _) => given.to_vec(),
    };
    let mut specs = Vec::new();
    for &protocol in &args.protocol {
        for &loss in &args.loss {
            for &crash in &args.crash {
                let fanouts = if protocol == ProtocolKind::Unicast { vec![fanouts[0]] } else { fanouts.clone() };
                for fanout in fanouts {
                    let spec = run::LiveSpec {
                        scenario: args.scenario,
                        protocol,
                        transport: args.transport,
                        nodes: args.nodes.unwrap_or(preset.nodes),
                        fanout,
                        mode: args.mode.map_or(lan.mode(), ModeArg::mode),
                        period: args.period_ms.map_or(lan.period(), Duration::from_millis),
                        payload: args.payload,
                        messages,
                        burst,
                        rate: args.rate.unwrap_or(preset.rate),
                        window: args.window.or(preset.window),
                        loss,
                        crash,
                        seed: args.seed,
                        senders: args.senders.unwrap_or(preset.senders),
                        quiet: Duration::from_millis(args.quiet_ms),
                        formation_timeout: Duration::from_secs(30),
                    };
                    spec.validate()?;
                    specs.push(spec);
                }
            }
        }
    }
    Ok(specs)
}

/// Runs the live scenarios of `args` and returns their rows (no output).
pub fn run_live(args: &RunArgs, progress: &ProgressBar) -> Result<Vec<Row>, HarnessError> {
    let specs = live_specs(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(system::cpus().max(2))
        .enable_all()
        .build()
        .map_err(|e| HarnessError::run(format!("tokio runtime: {e}")))?;
    // One step per node that sees the whole membership, then one per delivery.
    let steps = |s: &run::LiveSpec| u64::from(s.nodes) + s.messages * u64::from(s.nodes - s.crashed_count() - 1);
    progress.set_length(specs.iter().map(steps).sum());
    runtime.block_on(async {
        let mut rows = Vec::with_capacity(specs.len());
        for spec in &specs {
            let before = progress.position();
            let row = run::run_live(spec, progress).await?;
            progress.set_position(before + steps(spec));
            rows.push(row);
        }
        Ok(rows)
    })
}

fn run_command(args: &RunArgs) -> Result<(), HarnessError> {
    let load_start = system::load_average();
    let specs = live_specs(args)?; // validate before printing anything
    run::check_memory(&specs, args.force)?;
    let progress = bar(0);
    let rows = run_live(args, &progress);
    progress.finish_and_clear();
    finish(Results::new(command_line(), load_start, rows?), &args.output)
}

/// The simulated cells `args` asks for (gossip, in the textbook model).
pub fn sim_specs(args: &SimArgs) -> Vec<sim::SimSpec> {
    let mut specs = Vec::new();
    if !args.protocol.contains(&ProtocolKind::Gossip) {
        return specs;
    }
    for &loss in &args.loss {
        for &crash in &args.crash {
            for mode in &args.mode {
                for &nodes in &args.nodes {
                    for &fanout in &args.fanout {
                        specs.push(sim::SimSpec {
                            nodes,
                            fanout,
                            mode: mode.mode(),
                            loss,
                            crash,
                            seeds: args.seeds,
                            seed: args.seed,
                            payload: 64,
                        });
                    }
                }
            }
        }
    }
    specs
}

/// The simulated baseline cells `args` asks for (discrete events, one
/// message per seed; the fan-out values are the trees' arity).
pub fn sim_baseline_specs(args: &SimArgs) -> Vec<compare::CompareSpec> {
    let mut specs = Vec::new();
    for &protocol in args.protocol.iter().filter(|p| **p != ProtocolKind::Gossip) {
        for &loss in &args.loss {
            for &crash in &args.crash {
                for &nodes in &args.nodes {
                    let arities = if protocol.uses_tree() { args.fanout.clone() } else { vec![args.fanout[0]] };
                    for k in arities {
                        specs.push(compare::CompareSpec {
                            protocol,
                            nodes,
                            fanout: k,
                            mode: gossip_core::Mode::PushPull,
                            k,
                            loss,
                            crash,
                            slow: false,
                            seeds: args.seeds,
                            seed: args.seed,
                            messages: 1,
                            payload: 64,
                            max_time: Duration::from_secs(30),
                        });
                    }
                }
            }
        }
    }
    specs
}

/// Runs the simulated cells of `args` and returns their rows (no output).
pub fn run_sim(args: &SimArgs, progress: &ProgressBar) -> Result<Vec<Row>, HarnessError> {
    let specs = sim_specs(args);
    let baseline_specs = sim_baseline_specs(args);
    progress.set_length(
        specs.iter().map(|s| u64::from(s.seeds)).sum::<u64>()
            + baseline_specs.iter().map(|s| u64::from(s.seeds)).sum::<u64>(),
    );
    let mut rows = Vec::with_capacity(specs.len() + baseline_specs.len());
    for spec in &specs {
        progress.set_message(format!("N={} {} b={}", spec.nodes, cli::mode_name(spec.mode), spec.fanout));
        let mut row = sim::run_cell(spec, progress)?;
        row.config = sim::engine_description(spec);
        rows.push(row);
    }
    for spec in &baseline_specs {
        progress.set_message(format!("N={} {} k={}", spec.nodes, spec.protocol.name(), spec.k));
        let mut row = compare::run_cell(spec, progress)?;
        row.config = compare::config_description(spec);
        rows.push(row);
    }
    Ok(rows)
}

fn sim_command(args: &SimArgs) -> Result<(), HarnessError> {
    if args.membership == cli::MembershipArg::Gossip {
        return membership::command(args);
    }
    let load_start = system::load_average();
    let progress = bar(0);
    let rows = run_sim(args, &progress);
    progress.finish_and_clear();
    finish(Results::new(command_line(), load_start, rows?), &args.output)
}

/// The compared cells `args` asks for: per group size, the scenarios
/// (clean, each loss, each crash fraction, or their cross product, and one
/// slow member), every protocol.
pub fn compare_specs(args: &CompareArgs) -> Vec<compare::CompareSpec> {
    let mut scenarios: Vec<(f64, f64, bool)> = Vec::new();
    let mut add = |s: (f64, f64, bool)| {
        if !scenarios.contains(&s) {
            scenarios.push(s);
        }
    };
    if args.full_grid {
        for &loss in &args.loss {
            for &crash in &args.crash {
                add((loss, crash, false));
            }
        }
    } else {
        add((0.0, 0.0, false));
        for &loss in &args.loss {
            add((loss, 0.0, false));
        }
        for &crash in &args.crash {
            add((0.0, crash, false));
        }
    }
    if !args.no_slow {
        add((0.0, 0.0, true));
    }
    let mut specs = Vec::new();
    for &nodes in &args.nodes {
        for &(loss, crash, slow) in &scenarios {
            for &protocol in &args.protocol {
                specs.push(compare::CompareSpec {
                    protocol,
                    nodes,
                    fanout: args.fanout,
                    mode: args.mode.mode(),
                    k: args.k,
                    loss,
                    crash,
                    slow,
                    seeds: if nodes > 1_000 { args.large_seeds } else { args.seeds },
                    seed: args.seed,
                    messages: args.messages,
                    payload: 64,
                    max_time: Duration::from_secs(30),
                });
            }
        }
    }
    specs
}

/// Runs the compared cells of `args` and returns their rows (no output).
pub fn run_compare(args: &CompareArgs, progress: &ProgressBar) -> Result<Vec<Row>, HarnessError> {
    let specs = compare_specs(args);
    progress.set_length(specs.iter().map(|s| u64::from(s.seeds)).sum());
    let mut rows = Vec::with_capacity(specs.len());
    for spec in &specs {
        progress.set_message(format!("N={} {} {}", spec.nodes, spec.scenario(), spec.protocol.name()));
        let mut row = compare::run_cell(spec, progress)?;
        row.config = compare::config_description(spec);
        rows.push(row);
    }
    Ok(rows)
}

fn compare_command(args: &CompareArgs) -> Result<(), HarnessError> {
    let load_start = system::load_average();
    let progress = bar(0);
    let rows = run_compare(args, &progress);
    progress.finish_and_clear();
    finish(Results::new(command_line(), load_start, rows?), &args.output)
}

fn report_command(args: &ReportArgs) -> Result<(), HarnessError> {
    let results = Results::read_json(&args.file)?;
    println!("{} (re-read)", args.file.display());
    sections::print(&results);
    if let Some(csv) = &args.csv {
        results.write_csv(csv)?;
    }
    let plots = plot::render_all(&results.rows, &args.plot)?;
    println!("{} plot files in {}", plots.files.len(), args.plot.display());
    for note in &plots.notes {
        println!("{note}");
    }
    if let Some(dir) = &args.html {
        let page = html::write(&results, &plots, dir)?;
        println!("wrote {}", page.display());
    }
    Ok(())
}

/// Prints the tables of `results` and writes what `output` asks for.
fn finish(results: Results, output: &OutputArgs) -> Result<(), HarnessError> {
    sections::print(&results);
    if let Some(path) = &output.json {
        results.write_json(path)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &output.csv {
        results.write_csv(path)?;
        eprintln!("wrote {}", path.display());
    }
    let mut plots = plot::Rendered::default();
    if let Some(dir) = &output.plot {
        plots = plot::render_all(&results.rows, dir)?;
        eprintln!("wrote {} plot files in {}", plots.files.len(), dir.display());
        for note in &plots.notes {
            eprintln!("{note}");
        }
    }
    if let Some(dir) = &output.html {
        if output.plot.is_none() {
            plots = plot::render_all(&results.rows, dir)?;
            for note in &plots.notes {
                eprintln!("{note}");
            }
        }
        let page = html::write(&results, &plots, dir)?;
        eprintln!("wrote {}", page.display());
    }
    Ok(())
}
