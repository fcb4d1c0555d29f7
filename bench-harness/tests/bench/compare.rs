//! `gossip-bench compare` and `--protocol`: the baselines in the simulator
//! and on the in-memory network, through the library and the binary.

use std::process::Command;

use bench_harness::{Cli, Command as Sub, ProtocolKind, Row};
use clap::Parser;
use indicatif::ProgressBar;
use serde_json::Value;

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("gossip-bench").chain(args.iter().copied())).expect("valid flags")
}

fn row<'a>(rows: &'a [Row], protocol: &str, loss: f64, crash: f64, slow: bool) -> &'a Row {
    rows.iter()
        .find(|r| {
            r.protocol == protocol && r.loss == loss && r.crash == crash && r.slow_member.unwrap_or(false) == slow
        })
        .unwrap_or_else(|| panic!("no row {protocol} {loss} {crash} {slow}"))
}

#[test]
fn compare_runs_every_protocol_on_every_scenario() {
    let Some(Sub::Compare(args)) =
        parse(&["compare", "--nodes", "80", "--seeds", "2", "--messages", "3", "--loss", "0,0.3", "--crash", "0,0.5"])
            .command
    else {
        panic!("not compare")
    };
    let rows = bench_harness::run_compare(&args, &ProgressBar::hidden()).unwrap();
    // clean, loss 30%, crash 50%, slow member; five protocols each.
    assert_eq!(rows.len(), 4 * 5);
    for p in ProtocolKind::ALL {
        let clean = row(&rows, p.name(), 0.0, 0.0, false);
        assert_eq!(clean.delivery_ratio, 1.0, "{} delivers everything without faults", p.name());
        assert_eq!(clean.duplicate_deliveries, 0);
        assert_eq!(clean.delivered_fraction_hist.as_ref().unwrap()[10], 6, "6 messages reached everyone");
        assert_eq!(row(&rows, p.name(), 0.0, 0.0, true).delivery_ratio, 1.0, "a slow member is only slow");
    }
    // The origin of a unicast loop sends N - 1 packets per message.
    assert_eq!(row(&rows, "unicast", 0.0, 0.0, false).sender_packets, Some(79.0));
    // Crashes cut the tree; the repairing protocols and gossip get through.
    assert!(row(&rows, "tree", 0.0, 0.5, false).delivery_ratio < 0.6);
    assert!(row(&rows, "tree", 0.3, 0.0, false).delivery_ratio < 0.8);
    for p in ["gossip", "srm", "rmtp"] {
        assert!(row(&rows, p, 0.3, 0.0, false).delivery_ratio > 0.99, "{p} repairs 30% loss");
        assert!(row(&rows, p, 0.0, 0.5, false).delivery_ratio > 0.99, "{p} survives half the group crashing");
    }
}

#[test]
fn sim_runs_baselines_in_the_event_model() {
    let Some(Sub::Sim(args)) =
        parse(&["sim", "--protocol", "tree,rmtp", "--nodes", "50", "--fanout", "2,4", "--seeds", "2"]).command
    else {
        panic!("not sim")
    };
    assert!(bench_harness::sim_specs(&args).is_empty(), "no gossip cells");
    let rows = bench_harness::run_sim(&args, &ProgressBar::hidden()).unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.delivery_ratio == 1.0));
    assert_eq!(rows.iter().map(|r| r.fanout).collect::<Vec<_>>(), vec![2, 4, 2, 4]);
}

#[test]
fn live_baselines_deliver_on_the_memory_network() {
    let Some(Sub::Run(args)) = parse(&[
        "run",
        "--protocol",
        "unicast,tree,srm,rmtp",
        "--nodes",
        "12",
        "--fanout",
        "3",
        "--messages",
        "40",
        "--rate",
        "2000",
        "--quiet-ms",
        "300",
    ])
    .command
    else {
        panic!("not run")
    };
    let rows = bench_harness::run_live(&args, &ProgressBar::hidden()).unwrap();
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(r.delivery_ratio, 1.0, "{}", r.protocol);
        assert_eq!(r.duplicate_deliveries, 0);
    }
}

#[test]
fn compare_through_the_binary_writes_json_csv_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("compare.json");
    let csv = dir.path().join("compare.csv");
    let plots = dir.path().join("plots");
    let out = Command::new(env!("CARGO_BIN_EXE_gossip-bench"))
        .args(["compare", "--nodes", "40", "--seeds", "1", "--messages", "2", "--loss", "0.1", "--crash", "0.2"])
        .arg("--json")
        .arg(&json)
        .arg("--csv")
        .arg(&csv)
        .arg("--plot")
        .arg(&plots)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("| protocol |") && stdout.contains("rmtp") && stdout.contains("100%"));
    let results: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = results["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4 * 5);
    for r in rows {
        for key in ["last_delivery_ms", "packets_per_member", "sender_packets", "delivered_fraction_hist"] {
            assert!(r.get(key).is_some(), "{key} in {r}");
        }
    }
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 21);
    for name in ["compare-n40.png", "compare-n40.svg", "compare-fractions-n40.png"] {
        assert!(plots.join(name).exists(), "{name}");
    }
    // report re-renders them from the JSON.
    let again = dir.path().join("again");
    let out = Command::new(env!("CARGO_BIN_EXE_gossip-bench"))
        .arg("report")
        .arg(&json)
        .arg("--plot")
        .arg(&again)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(again.join("compare-n40.png").exists());
}

#[test]
fn unknown_protocols_are_rejected() {
    for args in [&["run", "--protocol", "carrier-pigeon"][..], &["compare", "--protocol", "gossip,flood"]] {
        let err = Cli::try_parse_from(std::iter::once("gossip-bench").chain(args.iter().copied())).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
