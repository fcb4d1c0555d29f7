//! Log output for the examples.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs a `tracing` subscriber writing to stderr, filtered by
/// `RUST_LOG` (for example `RUST_LOG=transport_quic=debug`), showing
/// warnings and errors when it is unset, so that what the libraries warn
/// about (a refused TLS handshake, a short socket buffer) is seen.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    // A second call (or a subscriber set elsewhere) keeps the first one.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
