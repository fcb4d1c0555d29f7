//! The raw datagram rate of a socket setup: what the kernel moves between
//! two sockets made like a [`UdpTransport`] when nothing else runs, the
//! yardstick for the gossip rate over the same setup.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use gossip_runtime::Transport;
use tokio::time::Instant;

use crate::config::{UdpConfig, UdpError};
use crate::transport::UdpTransport;

/// Datagrams per send call of the blaster.
const BLAST: usize = 64;
/// Time given to the two sockets before counting starts.
const WARM_UP: Duration = Duration::from_millis(200);

/// What [`raw_datagram_rate`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RawRate {
    /// Datagrams received per second.
    pub datagrams_per_sec: f64,
    /// Datagrams the sender's kernel accepted per second.
    pub sent_per_sec: f64,
    /// Receive system calls per second.
    pub recv_syscalls_per_sec: f64,
    /// Datagrams per send system call (GSO trains).
    pub datagrams_per_send_syscall: f64,
}

/// Measures, for `duration` after a short warm-up, how many datagrams of
/// `datagram` bytes per second one sender moves to one receiver, both
/// bound to `config.bind`'s IP on port 0 and otherwise made from `config`
/// (buffers, batching, key). The sender sends batches of 64 equal
/// datagrams as fast as the socket takes them. Needs a tokio runtime with
/// I/O and time enabled (multi-threaded, so both ends run at once); it is
/// a benchmark: it runs on the wall clock.
pub async fn raw_datagram_rate(config: &UdpConfig, datagram: usize, duration: Duration) -> Result<RawRate, UdpError> {
    let mut ends = config.clone();
    ends.bind.set_port(0);
    ends.reuse_address = false;
    let receiver = Arc::new(UdpTransport::bind(ends.clone())?);
    let sender = UdpTransport::bind(ends)?;
    let len = datagram.min(sender.max_packet_size());
    let batch: Vec<_> = (0..BLAST).map(|_| (receiver.local_addr(), Bytes::from(vec![7u8; len]))).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let counting = {
        let (receiver, stop) = (receiver.clone(), stop.clone());
        tokio::spawn(async move {
            let mut out = Vec::with_capacity(64);
            while !stop.load(Ordering::Relaxed) {
                out.clear();
                let _ = tokio::time::timeout(Duration::from_millis(50), receiver.recv_batch(&mut out, 64)).await;
            }
        })
    };
    let warm_until = Instant::now() + WARM_UP;
    let mut start = None;
    let end = warm_until + duration;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if start.is_none() && now >= warm_until {
            start = Some((now, receiver.udp_stats(), sender.udp_stats()));
        }
        let _ = sender.send_batch(&batch).await;
        tokio::task::yield_now().await;
    }
    let (r1, s1) = (receiver.udp_stats(), sender.udp_stats());
    let elapsed_at = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let _ = counting.await;
    let Some((t0, r0, s0)) = start else {
        return Ok(RawRate {
            datagrams_per_sec: 0.0,
            sent_per_sec: 0.0,
            recv_syscalls_per_sec: 0.0,
            datagrams_per_send_syscall: 0.0,
        });
    };
    let secs = (elapsed_at - t0).as_secs_f64().max(f64::MIN_POSITIVE);
    let per_sec = |a: u64, b: u64| b.saturating_sub(a) as f64 / secs;
    let sent = s1.datagrams_out.saturating_sub(s0.datagrams_out) as f64;
    let send_calls = s1.send_syscalls.saturating_sub(s0.send_syscalls).max(1) as f64;
    Ok(RawRate {
        datagrams_per_sec: per_sec(r0.datagrams_in, r1.datagrams_in),
        sent_per_sec: per_sec(s0.datagrams_out, s1.datagrams_out),
        recv_syscalls_per_sec: per_sec(r0.recv_syscalls, r1.recv_syscalls),
        datagrams_per_send_syscall: sent / send_calls,
    })
}
