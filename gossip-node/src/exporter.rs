//! `/metrics`: the Prometheus recorder behind the `metrics` facade that the
//! runtime and the agent record through.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Buckets for the timing histograms, in seconds (10 µs to 5 s).
const BUCKETS: [f64; 12] = [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// Installs the global recorder; its handle renders the text format.
pub fn install() -> Result<PrometheusHandle, String> {
    let recorder = PrometheusBuilder::new().set_buckets(&BUCKETS).map_err(|e| e.to_string())?.build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
    Ok(handle)
}
