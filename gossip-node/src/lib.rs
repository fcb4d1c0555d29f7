//! `gossip-node`: the agent a person runs on each host of a gossip cluster.
//!
//! One process per host: a [`gossip_runtime`] node on UDP (sealed with a
//! shared cluster key) or QUIC (TLS with a cluster CA), configured by a
//! TOML file whose every key a flag or an environment variable overrides
//! ([`config`]), with a local HTTP API to publish and to stream deliveries
//! ([`api`]), Prometheus metrics, and `tracing` logs as text or JSON.
//! SIGTERM or SIGINT stops it gracefully: it lingers so recent messages
//! spread, leaves, flushes, and exits 0. A bad setting prints one line
//! naming the key and exits 2.
//!
//! The binary is [`main`]; the library exists so that tests can run the
//! very same program.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod agent;
pub mod api;
pub mod certs;
pub mod cli;
pub mod config;
pub mod exporter;
pub mod keys;
pub mod logging;
pub mod meta;
pub mod network;
pub mod seeds;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::Settings;

/// Exit code for a bad setting.
pub const EXIT_CONFIG: u8 = 2;

fn config_failure(err: impl std::fmt::Display) -> ExitCode {
    eprintln!("gossip-node: {err}");
    ExitCode::from(EXIT_CONFIG)
}

/// The `gossip-node` program.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Certs(args)) => match certs::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("gossip-node certs: {err}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Keygen(args)) => match keys::append_new(&args.out, args.id) {
            Ok(()) => {
                println!("added key {} to {}", args.id, args.out.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("gossip-node keygen: {}: {err}", args.out.display());
                ExitCode::FAILURE
            }
        },
        None => run_agent(cli.agent),
    }
}

fn run_agent(args: cli::AgentArgs) -> ExitCode {
    let settings = match Settings::load(args) {
        Ok(s) => s,
        Err(err) => return config_failure(err),
    };
    if let Err(err) = logging::init(&settings.log, settings.log_format) {
        return config_failure(err);
    }
    let prometheus = match exporter::install() {
        Ok(p) => p,
        Err(err) => {
            eprintln!("gossip-node: metrics: {err}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(err) => {
            eprintln!("gossip-node: tokio runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(agent::run(settings, prometheus)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(agent::AgentError::Config(err)) => config_failure(err),
        Err(err) => {
            tracing::error!(%err, "stopped");
            eprintln!("gossip-node: {err}");
            ExitCode::FAILURE
        }
    }
}
