//! `gossip-bench`: measures gossip multicast (throughput, tail latency,
//! reliability, overhead) across fan-out values, group sizes, loss and
//! crashes, on the in-memory network and UDP, and in the virtual-time
//! simulator against theory.
//!
//! The binary is a thin shell over [`execute`]; the modules hold the parts:
//! [`cli`] (flags and their validation), [`run`] (live runs), [`sim`]
//! (simulated runs), [`theory`] (THEORY.md's formulas and reference table),
//! [`record`] (rows, JSON and CSV), [`plot`], [`table`] and [`system`] (CPU
//! time, peak memory, machine).
#![forbid(unsafe_code)]

pub mod cli;
pub mod error;
pub mod plot;
pub mod record;
pub mod run;
pub mod sim;
pub mod system;
pub mod table;
pub mod theory;

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub use cli::{Cli, Command, ReportArgs, RunArgs, SimArgs};
pub use error::HarnessError;
pub use record::{Results, Row};

/// Runs a parsed command line.
pub fn execute(cli: Cli) -> Result<(), HarnessError> {
    match cli.command {
        None => run_command(&RunArgs::default()),
        Some(Command::Run(args)) => run_command(&args),
        Some(Command::Sim(args)) => sim_command(&args),
        Some(Command::Report(args)) => report_command(&args),
    }
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// The live scenarios `args` asks for, in run order (loss, crash, fan-out).
pub fn live_specs(args: &RunArgs) -> Result<Vec<run::LiveSpec>, HarnessError> {
    let burst = args.burst.unwrap_or(args.messages / 4);
    let mut specs = Vec::new();
    for &loss in &args.loss {
        for &crash in &args.crash {
            for &fanout in &args.fanout {
                let spec = run::LiveSpec {
                    transport: args.transport,
                    nodes: args.nodes,
                    fanout,
                    mode: args.mode.mode(),
                    period: Duration::from_millis(args.period_ms),
                    payload: args.payload,
                    messages: args.messages,
                    burst,
                    rate: args.rate,
                    loss,
                    crash,
                    seed: args.seed,
                    senders: args.senders,
                    quiet: Duration::from_millis(args.quiet_ms),
                    formation_timeout: Duration::from_secs(30),
                };
                spec.validate()?;
                specs.push(spec);
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
    let expected: u64 = specs.iter().map(|s| s.messages * u64::from(s.nodes - s.crashed_count() - 1)).sum();
    progress.set_length(expected);
    runtime.block_on(async {
        let mut rows = Vec::with_capacity(specs.len());
        for spec in &specs {
            let before = progress.position();
            let row = run::run_live(spec, progress).await?;
            progress.set_position(before + spec.messages * u64::from(spec.nodes - spec.crashed_count() - 1));
            rows.push(row);
        }
        Ok(rows)
    })
}

fn run_command(args: &RunArgs) -> Result<(), HarnessError> {
    live_specs(args)?; // validate before printing anything
    let progress = bar(0);
    let rows = run_live(args, &progress);
    progress.finish_and_clear();
    let rows = rows?;
    let refs: Vec<&Row> = rows.iter().collect();
    println!("{}", table::live_caption(&refs));
    println!("machine: {}", system::machine());
    println!();
    print!("{}", table::live(&refs));
    finish(Results::new(command_line(), rows), args.json.as_deref(), args.csv.as_deref(), args.plot.as_deref())
}

/// The simulated cells `args` asks for.
pub fn sim_specs(args: &SimArgs) -> Vec<sim::SimSpec> {
    let mut specs = Vec::new();
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

/// Runs the simulated cells of `args` and returns their rows (no output).
pub fn run_sim(args: &SimArgs, progress: &ProgressBar) -> Result<Vec<Row>, HarnessError> {
    let specs = sim_specs(args);
    progress.set_length(specs.iter().map(|s| u64::from(s.seeds)).sum());
    let mut rows = Vec::with_capacity(specs.len());
    for spec in &specs {
        progress.set_message(format!("N={} {} b={}", spec.nodes, cli::mode_name(spec.mode), spec.fanout));
        rows.push(sim::run_cell(spec, progress)?);
    }
    Ok(rows)
}

fn sim_command(args: &SimArgs) -> Result<(), HarnessError> {
    let progress = bar(0);
    let rows = run_sim(args, &progress);
    progress.finish_and_clear();
    let rows = rows?;
    let refs: Vec<&Row> = rows.iter().collect();
    println!(
        "simulator: synchronous rounds (textbook model: targets with replacement, no eager push, newly informed nodes send from the next round), {} seeds per row",
        args.seeds
    );
    println!(
        "theory: DESIGN.md's closed forms with b_eff = b(1-p)(1-f); THEORY.md's simulated reference where it has the cell"
    );
    println!();
    print!("{}", table::sim(&refs));
    println!();
    println!(
        "fraction of live nodes not yet reached after each round (mean over seeds; round 0 = the multicast's round):"
    );
    print!("{}", table::uninformed(&refs));
    finish(Results::new(command_line(), rows), args.json.as_deref(), args.csv.as_deref(), args.plot.as_deref())
}

fn report_command(args: &ReportArgs) -> Result<(), HarnessError> {
    let results = Results::read_json(&args.file)?;
    println!("{} (from `{}`)", args.file.display(), results.command);
    println!("machine: {}", results.machine);
    let live: Vec<&Row> = results.rows.iter().filter(|r| !r.is_sim()).collect();
    let sim: Vec<&Row> = results.rows.iter().filter(|r| r.is_sim()).collect();
    if !live.is_empty() {
        println!("{}", table::live_caption(&live));
        print!("{}", table::live(&live));
    }
    if !sim.is_empty() {
        print!("{}", table::sim(&sim));
    }
    if let Some(csv) = &args.csv {
        results.write_csv(csv)?;
    }
    let files = plot::render_all(&results.rows, &args.plot)?;
    println!("{} plot files in {}", files.len(), args.plot.display());
    Ok(())
}

fn finish(
    results: Results,
    json: Option<&std::path::Path>,
    csv: Option<&std::path::Path>,
    plots: Option<&std::path::Path>,
) -> Result<(), HarnessError> {
    if let Some(path) = json {
        results.write_json(path)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = csv {
        results.write_csv(path)?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(dir) = plots {
        let files = plot::render_all(&results.rows, dir)?;
        eprintln!("wrote {} plot files in {}", files.len(), dir.display());
    }
    Ok(())
}
