//! Small runs end to end through the binary: every documented JSON key is
//! present with sane values, and `report` re-renders the plots.

use std::path::Path;

use serde_json::Value;

use super::bench;

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
    "config",
];
const SIM_KEYS: &[&str] = &["rounds_mean", "rounds_p99", "theory_rounds"];
const PERCENTILES: &[&str] = &["p50", "p90", "p99", "p999", "max"];

fn rows(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("results file written");
    let results: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(results["tool"], "gossip-bench");
    assert!(results["machine"].as_str().is_some_and(|m| !m.is_empty()));
    for key in ["load_start", "load_end"] {
        for minutes in ["one", "five", "fifteen"] {
            let load = results[key][minutes].as_f64().unwrap_or_else(|| panic!("{key}.{minutes} in {results}"));
            assert!(load >= 0.0 && load.is_finite(), "{key}.{minutes} = {load}");
        }
    }
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
    // Forming, multicasting and delivering cost the process CPU time, and the
    // per-delivery figure is that time over the deliveries.
    let cpu_s = num(row, "cpu_s");
    assert!(cpu_s > 0.0, "no CPU time measured: {row}");
    let per_delivery = num(row, "cpu_us_per_delivery");
    let expected = cpu_s * 1e6 / num(row, "deliveries");
    assert!((per_delivery - expected).abs() <= 1e-6 * expected, "{per_delivery} != {expected}");
    // Runtime nodes with their buffers: more than a bare process's 2 MiB.
    assert!(num(row, "peak_rss_bytes") > f64::from(4u32 << 20), "peak RSS {}", row["peak_rss_bytes"]);
    let config = row["config"].as_str().expect("config string");
    assert!(config.contains(&format!("fanout: {}", row["fanout"])), "config {config} does not match the row");
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
        "2,3",
        "--messages",
        "20",
        "--json",
        json.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(out.contains("| fan-out |"), "table printed: {out}");
    assert!(out.contains("load average (1, 5, 15 min): at start "), "load in the header: {out}");
    // The shared configuration once, then what differs per row.
    assert!(out.contains("every row: Config { mode: Tree,"), "config in the output: {out}");
    assert!(out.contains("mem gossip N=10 b=3: fanout: 3\n"), "config in the output: {out}");
    let rows = rows(&json);
    assert_eq!(rows.len(), 2);
    for (row, fanout) in rows.iter().zip([2, 3]) {
        check_row(row);
        assert_eq!(row["transport"], "mem");
        assert_eq!(row["mode"], "tree");
        assert_eq!(row["nodes"], 10);
        assert_eq!(row["fanout"], fanout);
        assert_eq!(row["messages"], 20);
        assert_eq!(row["payload_bytes"], 64);
        assert_eq!(row["expected_deliveries"], 20 * 9);
    }
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv.lines().count(), 3);
    assert!(csv.lines().next().unwrap().contains("load_start_1m"));

    // `report` re-renders the plots from the saved file; with one loss and
    // one crash value there is no curve against either, and it says so.
    let plots = dir.path().join("plots");
    let out = bench(&["report", json.to_str().unwrap(), "--plot", plots.to_str().unwrap()]);
    assert!(out.contains("| fan-out |"));
    assert!(out.contains("delivery-vs-loss: not drawn, one loss value"), "{out}");
    assert!(out.contains("delivery-vs-crash: not drawn, one crash value"), "{out}");
    assert!(!plots.join("delivery-vs-loss.png").exists());
    for name in ["latency-cdf", "fanout"] {
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
        // UDP rows carry the raw datagram rate of the same socket setup; others do not.
        let raw = rows[0].get("raw_datagrams_per_s").and_then(Value::as_f64);
        if transport == "udp" {
            assert!(raw.is_some_and(|r| r > 0.0), "raw rate {raw:?}");
        } else {
            assert_eq!(raw, None);
        }
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
