//! Result rows, the results file (JSON) and its CSV rendering.
//!
//! The JSON schema is documented in the crate's README; every field of
//! [`Row`] is a key of each row object.

use std::path::Path;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::error::HarnessError;
use crate::system::LoadAverage;

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
    /// Peak resident memory of the process up to the end of the row
    /// (`getrusage`'s `ru_maxrss`; the kernel keeps one peak per process).
    pub peak_rss_bytes: u64,
    /// The configuration every node of the row ran with (the `Debug` form of
    /// gossip-core's `Config`, or of the baselines' `BaselineConfig`).
    #[serde(default)]
    pub config: String,
    /// Live runs: nodes that multicast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub senders: Option<u32>,
    /// Live runs: deliveries per second at each receiving live node (every
    /// live node but the origin when there is one sender).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries_per_node_s: Option<f64>,
    /// Live runs: the scenario (sweep, single, burst, throughput).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Live runs paced by a window: messages not yet delivered everywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u64>,
    /// Live runs: steady multicast rate, messages per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Live runs: messages sent at once after the steady phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u64>,
    /// Live runs: seconds until every node saw all N−1 others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convergence_s: Option<f64>,
    /// Live UDP runs: datagrams per second that one socket pair of the same
    /// setup (`UdpConfig`, batches, payload size) moved just before the row,
    /// with no gossip on top: the ceiling the row's delivery rate sits under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_datagrams_per_s: Option<f64>,
    /// Live runs: process CPU microseconds per delivery (`cpu_s / deliveries`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_us_per_delivery: Option<f64>,
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
    /// Sim: the closed-form estimate of docs/theory.md with b_eff = b(1−p)(1−f).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theory_rounds: Option<f64>,
    /// Sim: the simulated reference mean of docs/theory.md, where the table has the cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_rounds: Option<f64>,
    /// Sim: the reference p99 of docs/theory.md, where the table has it.
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
    /// The machine's load average when the command started (none where
    /// `/proc/loadavg` cannot be read). A busy machine slows live runs.
    #[serde(default)]
    pub load_start: Option<LoadAverage>,
    /// The machine's load average when the last row finished.
    #[serde(default)]
    pub load_end: Option<LoadAverage>,
    /// The rows.
    pub rows: Vec<Row>,
}

impl Results {
    /// A results file for `rows` produced on this machine by `command`,
    /// which started at load average `load_start`; the end load is read now.
    pub fn new(command: String, load_start: Option<LoadAverage>, rows: Vec<Row>) -> Self {
        Results {
            tool: "gossip-bench".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            command,
            machine: crate::system::machine(),
            load_start,
            load_end: crate::system::load_average(),
            rows,
        }
    }

    /// "load average (1, 5, 15 min): at start …, at end …", for table headers.
    pub fn load_line(&self) -> String {
        let show = |l: Option<LoadAverage>| l.map(|l| l.to_string()).unwrap_or_else(|| "unknown".to_string());
        format!(
            "load average (1, 5, 15 min): at start {}, at end {} ({} logical CPUs)",
            show(self.load_start),
            show(self.load_end),
            crate::system::cpus()
        )
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
        let text = self.to_csv().map_err(|e| HarnessError::io(path, std::io::Error::other(e)))?;
        std::fs::write(path, text).map_err(|e| HarnessError::io(path, e))
    }

    /// The rows as CSV text, one line per row after the header, with the
    /// results file's load averages repeated on every line.
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in &self.rows {
            writer.serialize(CsvRow::new(row, self.load_start, self.load_end))?;
        }
        let bytes = writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn create_parent(path: &Path) -> Result<(), HarnessError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| HarnessError::io(dir, e)),
        _ => Ok(()),
    }
}

/// One CSV line: the scalar fields of a [`Row`] (latency percentiles as
/// `latency_p50_us`…, no CDF or per-round vectors) and the load averages.
#[derive(Serialize)]
struct CsvRow<'a> {
    transport: &'a str,
    protocol: &'a str,
    mode: &'a str,
    nodes: u32,
    fanout: u32,
    period_ms: f64,
    payload_bytes: usize,
    loss: f64,
    crash: f64,
    seed: u64,
    messages: u64,
    expected_deliveries: u64,
    deliveries: u64,
    delivery_ratio: f64,
    duplicates: u64,
    duplicate_deliveries: u64,
    latency_p50_us: u64,
    latency_p90_us: u64,
    latency_p99_us: u64,
    latency_p999_us: u64,
    latency_max_us: u64,
    latency_mean_us: f64,
    duration_s: f64,
    deliveries_per_s: f64,
    packets_sent: u64,
    bytes_sent: u64,
    packets_per_delivery: f64,
    bytes_per_delivery: f64,
    cpu_s: f64,
    peak_rss_bytes: u64,
    rounds_mean: Option<f64>,
    rounds_p99: Option<f64>,
    theory_rounds: Option<f64>,
    reference_rounds: Option<f64>,
    messages_per_node: Option<f64>,
    slow_member: Option<bool>,
    last_delivery_ms: Option<f64>,
    packets_per_member: Option<f64>,
    sender_packets: Option<f64>,
    raw_datagrams_per_s: Option<f64>,
    cpu_us_per_delivery: Option<f64>,
    load_start_1m: Option<f64>,
    load_end_1m: Option<f64>,
    config: &'a str,
}

impl<'a> CsvRow<'a> {
    fn new(r: &'a Row, load_start: Option<LoadAverage>, load_end: Option<LoadAverage>) -> Self {
        let l = &r.latency_us;
        CsvRow {
            transport: &r.transport,
            protocol: &r.protocol,
            mode: &r.mode,
            nodes: r.nodes,
            fanout: r.fanout,
            period_ms: r.period_ms,
            payload_bytes: r.payload_bytes,
            loss: r.loss,
            crash: r.crash,
            seed: r.seed,
            messages: r.messages,
            expected_deliveries: r.expected_deliveries,
            deliveries: r.deliveries,
            delivery_ratio: r.delivery_ratio,
            duplicates: r.duplicates,
            duplicate_deliveries: r.duplicate_deliveries,
            latency_p50_us: l.p50,
            latency_p90_us: l.p90,
            latency_p99_us: l.p99,
            latency_p999_us: l.p999,
            latency_max_us: l.max,
            latency_mean_us: l.mean,
            duration_s: r.duration_s,
            deliveries_per_s: r.deliveries_per_s,
            packets_sent: r.packets_sent,
            bytes_sent: r.bytes_sent,
            packets_per_delivery: r.packets_per_delivery,
            bytes_per_delivery: r.bytes_per_delivery,
            cpu_s: r.cpu_s,
            peak_rss_bytes: r.peak_rss_bytes,
            rounds_mean: r.rounds_mean,
            rounds_p99: r.rounds_p99,
            theory_rounds: r.theory_rounds,
            reference_rounds: r.reference_rounds,
            messages_per_node: r.messages_per_node,
            slow_member: r.slow_member,
            last_delivery_ms: r.last_delivery_ms,
            packets_per_member: r.packets_per_member,
            sender_packets: r.sender_packets,
            raw_datagrams_per_s: r.raw_datagrams_per_s,
            cpu_us_per_delivery: r.cpu_us_per_delivery,
            load_start_1m: load_start.map(|l| l.one),
            load_end_1m: load_end.map(|l| l.one),
            config: &r.config,
        }
    }
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
    fn csv_has_a_header_one_line_per_row_and_quotes_the_config() {
        let row = Row {
            transport: "mem".into(),
            rounds_mean: Some(3.5),
            config: "Config { mode: PushPull, fanout: 3 }".into(),
            ..Row::default()
        };
        let load = Some(LoadAverage { one: 1.5, five: 1.0, fifteen: 0.5 });
        let results = Results { load_start: load, rows: vec![row.clone(), row], ..Results::default() };
        let text = results.to_csv().unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        let column = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name}"));
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 2);
        for r in &records {
            assert_eq!(r.len(), header.len());
            assert_eq!(&r[column("transport")], "mem");
            assert_eq!(&r[column("rounds_mean")], "3.5");
            assert_eq!(&r[column("rounds_p99")], "", "an absent value is an empty cell");
            assert_eq!(&r[column("load_start_1m")], "1.5");
            assert_eq!(&r[column("config")], "Config { mode: PushPull, fanout: 3 }", "commas survive quoting");
        }
    }

    #[test]
    fn json_round_trips() {
        let results = Results::new(
            "test".into(),
            crate::system::load_average(),
            vec![Row { transport: "sim".into(), config: "Config {}".into(), ..Row::default() }],
        );
        let text = serde_json::to_string(&results).unwrap();
        let back: Results = serde_json::from_str(&text).unwrap();
        assert_eq!(back, results);
    }
}
