//! The raw datagram rate of the harness's UDP setup: one `UdpTransport`
//! sends batches of packet-sized datagrams to another on loopback, with no
//! gossip on top, and the receiver counts what arrives. A live UDP row
//! reports it beside the gossip delivery rate measured on the same setup.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gossip_runtime::Transport;
use tokio::time::Instant;
use transport_udp::{UdpConfig, UdpTransport};

use crate::error::HarnessError;

/// How long the raw measurement sends.
pub const WINDOW: Duration = Duration::from_millis(500);

/// Datagrams per `send_batch` call (as many as the runtime batches at most).
const BATCH: usize = 64;

/// Datagrams per second of `size` bytes that one `UdpTransport` on
/// 127.0.0.1 (default `UdpConfig`: batching, no key) received from another
/// sending as fast as it can for `window`.
pub async fn datagram_rate(size: usize, window: Duration) -> Result<f64, HarnessError> {
    let loopback: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
    let sender = UdpTransport::bind(UdpConfig::new(loopback)).map_err(HarnessError::run)?;
    let receiver = Arc::new(UdpTransport::bind(UdpConfig::new(loopback)).map_err(HarnessError::run)?);
    let to = receiver.local_addr();
    let counting = {
        let receiver = receiver.clone();
        tokio::spawn(async move {
            let mut got = Vec::with_capacity(BATCH);
            let mut count = 0u64;
            let mut first: Option<Instant> = None;
            let mut last = Instant::now();
            // The sender stops after `window`; the last datagram arrives soon after.
            while let Ok(Ok(())) =
                tokio::time::timeout(Duration::from_millis(100), receiver.recv_batch(&mut got, BATCH)).await
            {
                let now = Instant::now();
                first.get_or_insert(now);
                last = now;
                count += got.len() as u64;
                got.clear();
            }
            (count, first.map(|f| last.saturating_duration_since(f)).unwrap_or_default())
        })
    };
    let batch: Vec<(std::net::SocketAddr, Bytes)> = vec![(to, Bytes::from(vec![0x5a; size])); BATCH];
    let deadline = Instant::now() + window;
    while Instant::now() < deadline {
        // Errors (a full socket buffer) count as drops: only arrivals matter.
        let _ = sender.send_batch(&batch).await;
        tokio::task::yield_now().await;
    }
    let (count, span) = counting.await.map_err(HarnessError::run)?;
    Ok(if span.is_zero() { 0.0 } else { count as f64 / span.as_secs_f64() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loopback_moves_datagrams() {
        let rate = datagram_rate(1200, Duration::from_millis(100)).await.unwrap();
        // Zero means nothing arrived (or the span was never measured).
        assert!(rate > 0.0 && rate.is_finite(), "raw rate {rate}");
    }
}
