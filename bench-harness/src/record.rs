//! Result rows, the results file (JSON) and its CSV rendering.
//!
//! The JSON schema is documented in the crate's README; every field of
//! [`Row`] is a key of each row object.

use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::error::HarnessError;

/// Latency percentiles in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyUs {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

/// Quantiles at which [`Row::latency_cdf`] samples the distribution.
const CDF_QUANTILES: &[f64] = &[
    0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9,
    0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999, 1.0,
];

/// A latency histogram in microseconds (1 µs to 1 h, 3 significant digits).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

/// The percentiles of `hist` (all zero when it is empty).
pub fn summarize(hist: &Histogram<u64>) -> LatencyUs {
    if hist.is_empty() {
        return LatencyUs::default();
    }
    LatencyUs {
        p50: hist.value_at_quantile(0.5),
        p90: hist.value_at_quantile(0.9),
        p99: hist.value_at_quantile(0.99),
        p999: hist.value_at_quantile(0.999),
        max: hist.max(),
        mean: hist.mean(),
    }
}

/// `(latency µs, fraction delivered within it)` points of the CDF of `hist`.
pub fn cdf(hist: &Histogram<u64>) -> Vec<[f64; 2]> {
    if hist.is_empty() {
        return Vec::new();
    }
    CDF_QUANTILES.iter().map(|&q| [hist.value_at_quantile(q) as f64, q]).collect()
}

/// One measured scenario: a live run of one fan-out on one transport, or one
/// simulated cell (N, fan-out, mode, loss, crash) over several seeds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// `mem`, `udp`, `quic`, or `sim` (virtual time).
    pub transport: String,
    /// The protocol measured: `gossip`.
    pub protocol: String,
    /// `push`, `pull` or `push-pull`.
    pub mode: String,
    /// Group size N.
    pub nodes: u32,
    /// Fan-out b.
    pub fanout: u32,
    /// Gossip period t, in milliseconds (virtual for `sim`).
    pub period_ms: f64,
    /// Payload size in bytes.
    pub payload_bytes: usize,
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Fraction of the nodes crashed (live runs: mid-run; sim: at the start).
    pub crash: f64,
    /// The seed the row was run with.
    pub seed: u64,
    /// Messages multicast (sim: one per seed).
    pub messages: u64,
    /// Deliveries expected: each message at every member alive at the end,
    /// other than its origin.
    pub expected_deliveries: u64,
    /// Deliveries observed at members alive at the end, other than the origin.
    pub deliveries: u64,
    /// `deliveries / expected_deliveries`.
    pub delivery_ratio: f64,
    /// Redundant receptions: message copies a node received after it had
    /// delivered the message (the engines' `duplicates` counter), the price
    /// of gossip's redundancy.
    pub duplicates: u64,
    /// Messages delivered twice to one member: exactly-once violations,
    /// 0 for a correct protocol.
    pub duplicate_deliveries: u64,
    /// Latency from the multicast call to delivery at each member (sim: in
    /// virtual time).
    pub latency_us: LatencyUs,
    /// Points `[latency µs, fraction]` of the latency CDF.
    pub latency_cdf: Vec<[f64; 2]>,
    /// Seconds from the first multicast to the last delivery counted.
    pub duration_s: f64,
    /// `deliveries / duration_s`.
    pub deliveries_per_s: f64,
    /// Packets all nodes sent during the measurement.
    pub packets_sent: u64,
    /// Bytes all nodes sent during the measurement.
    pub bytes_sent: u64,
    /// `packets_sent / deliveries`.
    pub packets_per_delivery: f64,
    /// `bytes_sent / deliveries`.
    pub bytes_per_delivery: f64,
    /// CPU seconds (user + system) the process used during the row.
    pub cpu_s: f64,
    /// Peak resident memory of the process during the row (VmHWM).
    pub peak_rss_bytes: u64,
    /// Live runs: nodes that multicast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub senders: Option<u32>,
    /// Live runs: steady multicast rate, messages per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Live runs: messages sent at once after the steady phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u64>,
    /// Live runs: seconds until every node saw all N−1 others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convergence_s: Option<f64>,
    /// Live runs: deliveries subscribers missed because they lagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lagged: Option<u64>,
    /// Sim: seeds (runs) in the cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<u32>,
    /// Sim: runs in which every live node was reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<u32>,
    /// Sim: mean rounds to reach every live node (over completed runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds_mean: Option<f64>,
    /// Sim: 99th percentile of the rounds to reach every live node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds_p99: Option<f64>,
    /// Sim: the closed-form estimate of DESIGN.md with b_eff = b(1−p)(1−f).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theory_rounds: Option<f64>,
    /// Sim: THEORY.md's simulated reference mean, where the table has the cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_rounds: Option<f64>,
    /// Sim: THEORY.md's reference p99, where the table has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_p99: Option<f64>,
    /// Sim: payload copies sent per node until the run stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_per_node: Option<f64>,
    /// Sim: mean fraction of live nodes not yet reached after each round
    /// (index 0: the round the message was sent in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uninformed_by_round: Option<Vec<f64>>,
    /// Compare: whether one member received every packet 200 ms late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_member: Option<bool>,
    /// Compare: mean over messages of the time from sending to the last
    /// member's delivery, in milliseconds (messages nobody got left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_delivery_ms: Option<f64>,
    /// Compare: packets of every kind sent per member per message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets_per_member: Option<f64>,
    /// Compare: packets the origin itself sent per message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_packets: Option<f64>,
    /// Compare: messages by the fraction of live members that delivered
    /// them: ten bins of 10% below 100%, then exactly 100%.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_fraction_hist: Option<Vec<u64>>,
}

impl Row {
    /// Whether this row comes from the simulator.
    pub fn is_sim(&self) -> bool {
        self.transport == "sim"
    }
}

/// A results file: what ran, where, and the rows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Always `gossip-bench`.
    pub tool: String,
    /// The harness's version.
    pub version: String,
    /// The command line that produced it.
    pub command: String,
    /// The machine it ran on.
    pub machine: String,
    /// The rows.
    pub rows: Vec<Row>,
}

impl Results {
    /// A results file for `rows` produced on this machine by `command`.
    pub fn new(command: String, rows: Vec<Row>) -> Self {
        Results {
            tool: "gossip-bench".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            command,
            machine: crate::system::machine(),
            rows,
        }
    }

    /// Writes it as pretty JSON.
    pub fn write_json(&self, path: &Path) -> Result<(), HarnessError> {
        create_parent(path)?;
        let text = serde_json::to_string_pretty(self)
            .map_err(|source| HarnessError::Json { path: path.display().to_string(), source })?;
        std::fs::write(path, text + "\n").map_err(|e| HarnessError::io(path, e))
    }

    /// Reads a results file written by [`Results::write_json`].
    pub fn read_json(path: &Path) -> Result<Self, HarnessError> {
        let text = std::fs::read_to_string(path).map_err(|e| HarnessError::io(path, e))?;
        serde_json::from_str(&text).map_err(|source| HarnessError::Json { path: path.display().to_string(), source })
    }

    /// Writes the rows as CSV (one line per row; latency percentiles as
    /// `latency_p50_us`…; the CDF and per-round vectors are left out).
    pub fn write_csv(&self, path: &Path) -> Result<(), HarnessError> {
        create_parent(path)?;
        std::fs::write(path, to_csv(&self.rows)).map_err(|e| HarnessError::io(path, e))
    }
}

fn create_parent(path: &Path) -> Result<(), HarnessError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| HarnessError::io(dir, e)),
        _ => Ok(()),
    }
}

/// The CSV header of [`to_csv`].
pub const CSV_HEADER: &str = "transport,protocol,mode,nodes,fanout,period_ms,payload_bytes,loss,crash,seed,messages,\
expected_deliveries,deliveries,delivery_ratio,duplicates,duplicate_deliveries,latency_p50_us,latency_p90_us,\
latency_p99_us,latency_p999_us,latency_max_us,latency_mean_us,duration_s,deliveries_per_s,packets_sent,bytes_sent,\
packets_per_delivery,bytes_per_delivery,cpu_s,peak_rss_bytes,rounds_mean,rounds_p99,theory_rounds,reference_rounds,\
messages_per_node,slow_member,last_delivery_ms,packets_per_member,sender_packets";

/// The rows as CSV text with [`CSV_HEADER`].
pub fn to_csv(rows: &[Row]) -> String {
    fn opt(v: Option<f64>) -> String {
        v.map(|v| format!("{v}")).unwrap_or_default()
    }
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for r in rows {
        let l = &r.latency_us;
        // No field holds a comma or a quote: transports and modes are fixed words.
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.transport,
            r.protocol,
            r.mode,
            r.nodes,
            r.fanout,
            r.period_ms,
            r.payload_bytes,
            r.loss,
            r.crash,
            r.seed,
            r.messages,
            r.expected_deliveries,
            r.deliveries,
            r.delivery_ratio,
            r.duplicates,
            r.duplicate_deliveries,
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max,
            l.mean,
            r.duration_s,
            r.deliveries_per_s,
            r.packets_sent,
            r.bytes_sent,
            r.packets_per_delivery,
            r.bytes_per_delivery,
            r.cpu_s,
            r.peak_rss_bytes,
            opt(r.rounds_mean),
            opt(r.rounds_p99),
            opt(r.theory_rounds),
            opt(r.reference_rounds),
            opt(r.messages_per_node),
            r.slow_member.map(|s| s.to_string()).unwrap_or_default(),
            opt(r.last_delivery_ms),
            opt(r.packets_per_member),
            opt(r.sender_packets),
        );
    }
    out
}

/// `num / den`, or 0 when `den` is 0.
pub(crate) fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 { num / den } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_cdf_are_ordered() {
        let mut h = new_histogram();
        for v in 1..=10_000u64 {
            h.record(v).unwrap();
        }
        let s = summarize(&h);
        assert!(s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
        assert!((s.p50 as f64 - 5_000.0).abs() < 10.0);
        let c = cdf(&h);
        assert!(c.windows(2).all(|w| w[0][0] <= w[1][0] && w[0][1] < w[1][1]));
        assert_eq!(summarize(&new_histogram()), LatencyUs::default());
    }

    #[test]
    fn csv_has_one_line_per_row_and_matching_columns() {
        let rows = vec![Row { transport: "mem".into(), rounds_mean: Some(3.5), ..Row::default() }; 2];
        let csv = to_csv(&rows);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        let columns = CSV_HEADER.split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == columns));
    }

    #[test]
    fn json_round_trips() {
        let results = Results::new("test".into(), vec![Row { transport: "sim".into(), ..Row::default() }]);
        let text = serde_json::to_string(&results).unwrap();
        let back: Results = serde_json::from_str(&text).unwrap();
        assert_eq!(back, results);
    }
}
