//! Logs: a `tracing` subscriber with `RUST_LOG`-style filters, text or JSON.

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat};

/// Installs the global subscriber: `RUST_LOG` if set, else `filter`. The
/// libraries' warnings (no cluster key, small socket buffers) show at the
/// default level `info`.
pub fn init(filter: &str, format: LogFormat) -> Result<(), ConfigError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => {
            EnvFilter::try_new(&env).map_err(|e| ConfigError::new("log", format!("RUST_LOG: {e}")))?
        }
        _ => EnvFilter::try_new(filter).map_err(|e| ConfigError::new("log", e.to_string()))?,
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
    installed.map_err(|e| ConfigError::new("log", e.to_string()))
}
