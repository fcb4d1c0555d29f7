//! `gossip-bench` end to end, in one test binary (one link of the whole
//! dependency tree instead of one per file): argument validation (`cli`),
//! live and simulated runs and their results files (`runs`), the baselines
//! and `compare` (`compare`), and the HTML report in a headless browser
//! (`html`).

mod cli;
mod compare;
mod html;
mod runs;

use std::process::{Command, Output};

/// Runs the built `gossip-bench` with `args`.
pub fn bench_output(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gossip-bench")).args(args).output().expect("the binary runs")
}

/// Runs the built `gossip-bench` with `args`, which must succeed, and
/// returns its stdout.
pub fn bench(args: &[&str]) -> String {
    let out = bench_output(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    String::from_utf8(out.stdout).expect("utf-8 output")
}
