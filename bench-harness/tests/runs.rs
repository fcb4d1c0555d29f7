//! Small runs end to end through the binary: every documented JSON key is
//! present with sane values, and `report` re-renders the plots.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const COMMON_KEYS: &[&str] = &[
    "transport",
    "protocol",
    "mode",
    "nodes",
    "fanout",
    "period_ms",
    "payload_bytes",
    "loss",
    "crash",
    "messages",
    "expected_deliveries",
    "deliveries",
    "delivery_ratio",
    "duplicates",
    "latency_us",
    "deliveries_per_s",
    "packets_sent",
    "bytes_sent",
    "packets_per_delivery",
    "cpu_s",
    "peak_rss_bytes",
];
const SIM_KEYS: &[&str] = &["rounds_mean", "rounds_p99", "theory_rounds"];
const PERCENTILES: &[&str] = &["p50", "p90", "p99", "p999", "max"];

fn bench(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gossip-bench")).args(args).output().expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn rows(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("results file written");
    let results: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(results["tool"], "gossip-bench");
    assert!(results["machine"].as_str().is_some_and(|m| !m.is_empty()));
    results["rows"].as_array().expect("rows").clone()
}

fn num(row: &Value, key: &str) -> f64 {
    row[key].as_f64().unwrap_or_else(|| panic!("{key} is not a number: {}", row[key]))
}

/// Checks the keys every row has and the invariants of a fault-free run.
fn check_row(row: &Value) {
    for key in COMMON_KEYS {
        assert!(row.get(key).is_some(), "missing key {key} in {row}");
    }
    let lat = &row["latency_us"];
    let p: Vec<u64> = PERCENTILES.iter().map(|k| lat[k].as_u64().unwrap_or_else(|| panic!("latency {k}"))).collect();
    assert!(p.windows(2).all(|w| w[0] <= w[1]), "percentiles out of order: {p:?}");
    assert!(p[0] > 0, "zero median latency");
    assert_eq!(num(row, "delivery_ratio"), 1.0, "fault-free run lost deliveries: {row}");
    assert_eq!(row["deliveries"], row["expected_deliveries"]);
    assert!(num(row, "expected_deliveries") > 0.0);
    assert!(num(row, "packets_sent") > 0.0);
    assert!(num(row, "bytes_sent") > num(row, "packets_sent"));
    assert!(num(row, "packets_per_delivery") > 0.0);
    assert!(num(row, "deliveries_per_s") > 0.0);
    assert!(num(row, "cpu_s") >= 0.0);
    assert!(num(row, "peak_rss_bytes") > 0.0);
    assert_eq!(num(row, "loss"), 0.0);
    assert_eq!(row["protocol"], "gossip");
    assert_eq!(row["duplicate_deliveries"], 0, "a message was delivered twice");
}

#[test]
fn small_mem_run_json_has_every_key_and_report_replots_it() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("mem.json");
    let csv = dir.path().join("mem.csv");
    let out = bench(&[
        "run",
        "--transport",
        "mem",
        "--nodes",
        "10",
        "--fanout",
        "3",
        "--messages",
        "20",
        "--json",
        json.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(out.contains("| fan-out |"), "table printed: {out}");
    let rows = rows(&json);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    check_row(row);
    assert_eq!(row["transport"], "mem");
    assert_eq!(row["mode"], "push-pull");
    assert_eq!(row["nodes"], 10);
    assert_eq!(row["fanout"], 3);
    assert_eq!(row["messages"], 20);
    assert_eq!(row["payload_bytes"], 64);
    assert_eq!(row["expected_deliveries"], 20 * 9);
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv.lines().count(), 2);

    // `report` re-renders the plots from the saved file.
    let plots = dir.path().join("plots");
    let out = bench(&["report", json.to_str().unwrap(), "--plot", plots.to_str().unwrap()]);
    assert!(out.contains("| fan-out |"));
    for name in ["latency-cdf", "fanout", "delivery-vs-loss", "delivery-vs-crash"] {
        for ext in ["svg", "png"] {
            let file = plots.join(format!("{name}.{ext}"));
            let len = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            assert!(len > 1_000, "{} missing or tiny ({len} bytes)", file.display());
        }
    }
    let png = std::fs::read(plots.join("latency-cdf.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn small_udp_and_quic_runs_deliver_everything() {
    let dir = tempfile::tempdir().unwrap();
    for transport in ["udp", "quic"] {
        let json = dir.path().join(format!("{transport}.json"));
        bench(&[
            "run",
            "--transport",
            transport,
            "--nodes",
            "8",
            "--fanout",
            "2",
            "--messages",
            "20",
            "--json",
            json.to_str().unwrap(),
        ]);
        let rows = rows(&json);
        assert_eq!(rows.len(), 1);
        check_row(&rows[0]);
        assert_eq!(rows[0]["transport"], transport);
    }
}

#[test]
fn small_sim_json_has_rounds_and_theory() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("sim.json");
    let plots = dir.path().join("plots");
    let out = bench(&[
        "sim",
        "--nodes",
        "50,200",
        "--fanout",
        "2",
        "--mode",
        "push,push-pull",
        "--seeds",
        "4",
        "--json",
        json.to_str().unwrap(),
        "--plot",
        plots.to_str().unwrap(),
    ]);
    assert!(out.contains("theory"), "{out}");
    let rows = rows(&json);
    assert_eq!(rows.len(), 4);
    for row in &rows {
        for key in COMMON_KEYS.iter().chain(SIM_KEYS) {
            assert!(row.get(key).is_some(), "missing key {key}");
        }
        assert_eq!(row["transport"], "sim");
        assert_eq!(num(row, "delivery_ratio"), 1.0);
        let (mean, p99, theory) = (num(row, "rounds_mean"), num(row, "rounds_p99"), num(row, "theory_rounds"));
        assert!(mean >= 1.0 && mean <= p99, "mean {mean}, p99 {p99}");
        assert!((mean - theory).abs() < 3.0, "rounds {mean} far from theory {theory}");
        let u = row["uninformed_by_round"].as_array().unwrap();
        assert_eq!(u.last().unwrap().as_f64(), Some(0.0), "every run reached everyone");
    }
    for name in ["sim-rounds", "sim-uninformed"] {
        assert!(std::fs::metadata(plots.join(format!("{name}.png"))).unwrap().len() > 1_000);
    }
}
