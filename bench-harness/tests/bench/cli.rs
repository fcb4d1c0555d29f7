//! Argument validation: every invalid value gets a one-line error and exit
//! code 2 from the built binary, never a panic.

use super::bench_output as bench;

fn assert_rejected(args: &[&str], mention: &str) {
    let out = bench(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: exit code; stderr: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: printed to stdout: {}", String::from_utf8_lossy(&out.stdout));
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: not one line: {stderr:?}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(lines[0].contains(mention), "{args:?}: {:?} does not mention {mention:?}", lines[0]);
}

#[test]
fn invalid_values_exit_2_with_one_line() {
    assert_rejected(&["run", "--fanout", "0"], "fan-out must be at least 1");
    assert_rejected(&["run", "--fanout", "1,2,0"], "fan-out must be at least 1");
    assert_rejected(&["run", "--fanout", "65"], "fan-out must be at most 64");
    assert_rejected(&["run", "--fanout", "two"], "fan-out must be a whole number");
    assert_rejected(&["run", "--loss", "1"], "loss must be in [0, 1)");
    assert_rejected(&["run", "--loss", "-0.1"], "loss must be in [0, 1)");
    assert_rejected(&["run", "--loss", "0,1.5"], "loss must be in [0, 1)");
    assert_rejected(&["run", "--loss", "inf"], "loss must be a number");
    assert_rejected(&["run", "--crash", "1"], "crash must be in [0, 1)");
    assert_rejected(&["run", "--transport", "carrier-pigeon"], "carrier-pigeon");
    assert_rejected(&["run", "--nodes", "1"], "nodes must be at least 2");
    assert_rejected(&["run", "--nodes", "0"], "nodes must be at least 2");
    assert_rejected(&["run", "--mode", "gossip"], "gossip");
    assert_rejected(&["run", "--payload", "100000"], "payload must be at most");
    assert_rejected(&["run", "--rate", "0"], "rate must be positive");
    assert_rejected(&["run", "--period-ms", "0"], "period");
    assert_rejected(&["sim", "--nodes", "100,1"], "nodes must be at least 2");
    assert_rejected(&["sim", "--fanout", "0"], "fan-out must be at least 1");
    assert_rejected(&["sim", "--loss", "1"], "loss must be in [0, 1)");
    assert_rejected(&["sim", "--crash", "2"], "crash must be in [0, 1)");
    assert_rejected(&["sim", "--seeds", "0"], "seeds");
    assert_rejected(&["frobnicate"], "frobnicate");
    assert_rejected(&["run", "--no-such-flag"], "--no-such-flag");
    assert_rejected(&["report"], "FILE.json");
}

#[test]
fn inconsistent_values_exit_2_with_one_line() {
    // Each value is valid alone; together they are not.
    assert_rejected(&["run", "--messages", "10", "--burst", "20"], "burst (20) must not exceed messages (10)");
    assert_rejected(&["run", "--nodes", "3", "--senders", "5"], "senders (5) must not exceed nodes (3)");
    assert_rejected(&["run", "--transport", "quic", "--payload", "1100"], "payload must be at most");
}

#[test]
fn a_run_larger_than_the_machine_is_refused_unless_forced() {
    // A million nodes, each knowing every other: far beyond any machine's memory.
    assert_rejected(&["run", "--nodes", "1000000"], "--force");
    assert_rejected(&["run", "--transport", "quic", "--nodes", "100000"], "GiB is available");
}

#[test]
fn help_and_version_exit_0() {
    let out = bench(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for word in ["run", "sim", "report"] {
        assert!(help.contains(word), "help lists {word}");
    }
    let out = bench(&["run", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--fanout"));
    assert_eq!(bench(&["--version"]).status.code(), Some(0));
}

#[test]
fn a_missing_results_file_is_an_error_not_a_panic() {
    let out = bench(&["report", "/nonexistent/results.json", "--plot", "/tmp/never"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("/nonexistent/results.json"));
}

/// `sim --membership gossip` prints one JSON row per scenario, group size
/// and seed, with the membership figures.
#[test]
fn gossiped_membership_studies_print_json_rows() {
    let out = bench(&[
        "sim",
        "--membership",
        "gossip",
        "--scenario",
        "join,crash",
        "--nodes",
        "30",
        "--seeds",
        "1",
        "--crash",
        "0.1",
        "--periods",
        "400",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON row"))
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["scenario"], "join");
    assert_eq!(rows[0]["complete_at_end"], 30);
    assert_eq!(rows[0]["false_deaths"], 0);
    assert_eq!(rows[1]["scenario"], "crash");
    assert_eq!(rows[1]["crashed"], 3);
    assert_eq!(rows[1]["detected"], 3);
    assert_eq!(rows[1]["removed_from_all_views"], 3);
    assert!(rows[1]["membership_bytes_per_node_period"].as_f64().is_some_and(|b| b > 0.0));
}
