//! What every simulated run measures, whatever the protocol, and the part
//! of its cell's row that the runs of the cell sum to (`sim` and `compare`
//! add their own columns).

use crate::record::{self, Row, ratio};
use crate::system;

/// What one simulated run measured at the members alive at its end.
#[derive(Default)]
pub(crate) struct Measured {
    /// Latency of every delivery, in virtual microseconds.
    pub latencies_us: Vec<u64>,
    /// Deliveries observed (other than at the origin).
    pub deliveries: u64,
    /// Deliveries expected.
    pub expected: u64,
    /// Packets every node sent.
    pub packets: u64,
    /// Bytes every node sent.
    pub bytes: u64,
    /// Redundant receptions (the protocols' `duplicates` counters).
    pub duplicates: u64,
    /// Exactly-once violations.
    pub duplicate_deliveries: u64,
    /// Virtual seconds the run lasted.
    pub virtual_s: f64,
}

/// The row of a simulated cell with the columns its runs measured filled
/// in (and `cpu_s`, the CPU seconds they took); the settings and the
/// command's own columns are left to the caller.
pub(crate) fn measured_row<'a>(runs: impl Iterator<Item = &'a Measured> + Clone, cpu_s: f64) -> Row {
    let mut hist = record::new_histogram();
    for &us in runs.clone().flat_map(|m| &m.latencies_us) {
        hist.saturating_record(us.max(1));
    }
    let sum = |f: fn(&Measured) -> u64| runs.clone().map(f).fold(0, u64::saturating_add);
    let (deliveries, expected, packets, bytes) =
        (sum(|m| m.deliveries), sum(|m| m.expected), sum(|m| m.packets), sum(|m| m.bytes));
    let virtual_s: f64 = runs.clone().map(|m| m.virtual_s).sum();
    Row {
        transport: "sim".to_string(),
        expected_deliveries: expected,
        deliveries,
        delivery_ratio: ratio(deliveries as f64, expected as f64),
        duplicates: sum(|m| m.duplicates),
        duplicate_deliveries: sum(|m| m.duplicate_deliveries),
        latency_us: record::summarize(&hist),
        latency_cdf: record::cdf(&hist),
        duration_s: virtual_s,
        deliveries_per_s: ratio(deliveries as f64, virtual_s),
        packets_sent: packets,
        bytes_sent: bytes,
        packets_per_delivery: ratio(packets as f64, deliveries as f64),
        bytes_per_delivery: ratio(bytes as f64, deliveries as f64),
        cpu_s,
        peak_rss_bytes: system::peak_rss_bytes(),
        ..Row::default()
    }
}
