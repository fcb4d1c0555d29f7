//! The throughput examples' common part: one sender node multicasting
//! fixed-size payloads as fast as a delivery window allows to one
//! receiver node, messages per second delivered, and the counters of the
//! path between them, which add up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gossip_core::{Batching, CommonStats, Config, ConfigError, GroupId, Lifetime, Mode, Targets};
use gossip_runtime::{Builder, Missed, StreamExt, Transport, TransportStats};
use tokio::sync::Notify;

use crate::SupportError;

/// Time given to the two nodes before counting starts.
pub const WARM_UP: Duration = Duration::from_millis(500);
/// How long the sender may take to reach the receiver at all.
const CONTACT: Duration = Duration::from_secs(10);
/// How long the receiver is given to take in what is still on the way
/// after the sender stopped.
const DRAIN: Duration = Duration::from_secs(2);
/// Messages per `multicast_many` call of the sender.
const BATCH: usize = 256;

/// Longest measurement `--secs` accepts.
pub const MAX_SECS: f64 = 3600.0;

/// The flags every throughput example takes (flatten them into its own).
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct ThroughputArgs {
    /// Seconds measured per run, after a 0.5 s warm-up (more than 0, at most 3600).
    #[arg(long, value_name = "SECONDS", default_value_t = 3.0, value_parser = parse_secs, allow_negative_numbers = true)]
    pub secs: f64,
}

/// Parses a measurement length in seconds: finite, above zero, at most
/// [`MAX_SECS`].
pub fn parse_secs(arg: &str) -> Result<f64, String> {
    let secs: f64 = arg.parse().map_err(|_| format!("`{arg}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= MAX_SECS) {
        return Err(format!("{arg} s is out of range: give more than 0 and at most {MAX_SECS}"));
    }
    Ok(secs)
}

/// The engine configuration both examples measure: push-pull with fan-out
/// 1 to the one other node, no eager push, every message sent for one
/// round, packed batching, a `period` round, `max_packet` packets, and
/// queues large enough not to be the limit.
pub fn engine_config(period: Duration, max_packet: usize) -> Result<Config, ConfigError> {
    Config::lan()
        .to_builder()
        .mode(Mode::PushPull)
        .fanout(1)
        .targets(Targets::WithoutReplacement)
        .eager_push(false)
        .lifetime(Lifetime::Rounds(1))
        .batching(Batching::Packed)
        .period(period)
        .max_packet_size(max_packet)
        .retention(Duration::from_millis(200))
        .max_transmits(1 << 16)
        .max_events(1 << 20)
        .max_buffer_messages(1 << 16)
        .max_buffer_bytes(64 << 20)
        .build()
}

/// What one run sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    /// Payload bytes per message.
    pub payload: usize,
    /// Messages the sender may have multicast beyond those delivered.
    pub window: u64,
    /// Seconds measured, after [`WARM_UP`].
    pub secs: f64,
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Messages delivered at the receiver per second, in the measured window.
    pub messages_per_sec: f64,
    /// Packets the receiver's engine took in per second, in the window.
    pub packets_per_sec: f64,
    /// Average bytes per packet taken in, in the window.
    pub avg_packet: usize,
    /// Messages delivered per packet taken in, in the window.
    pub per_packet: f64,
    /// Messages the receiver got more than once, in the window.
    pub duplicates: u64,
    /// The whole run's counters.
    pub counters: PathCounters,
}

/// Counters of the whole run (warm-up included) on the path from the
/// sender to the receiver, read after the sender shut down and the
/// receiver took in what was still on the way, so that nothing is in
/// flight: `sent = received + dropped + auth_failures + lost`.
#[derive(Debug, Clone, PartialEq)]
pub struct PathCounters {
    /// The sender's transport.
    pub sender: TransportStats,
    /// The receiver's transport.
    pub receiver: TransportStats,
    /// The receiver's engine.
    pub engine: CommonStats,
    /// Messages the receiver's subscriber saw (lag counted as seen).
    pub delivered: u64,
}

impl PathCounters {
    /// Datagrams the sender's transport sent that the receiver's
    /// transport never saw: lost in the kernel's socket buffers, or
    /// discarded by QUIC when its datagram buffers overflowed. Negative
    /// only if the receiver also counted packets the sender did not (it
    /// does not, in these examples).
    pub fn lost(&self) -> i128 {
        i128::from(self.sender.datagrams_out)
            - i128::from(self.receiver.datagrams_in)
            - i128::from(self.receiver.dropped)
            - i128::from(self.receiver.auth_failures)
    }

    /// The counters, one explained line each.
    pub fn lines(&self) -> Vec<String> {
        let (s, r, e) = (&self.sender, &self.receiver, &self.engine);
        let per_packet = self.delivered as f64 / e.packets_in.max(1) as f64;
        vec![
            format!("sender sent           {:>12}  datagrams its transport handed to the network", s.datagrams_out),
            format!("receiver received     {:>12}  datagrams its transport passed to its engine", r.datagrams_in),
            format!(
                "receiver dropped      {:>12}  datagrams its transport received but dropped (full queue, bad stream)",
                r.dropped
            ),
            format!("receiver refused      {:>12}  datagrams that failed authentication", r.auth_failures),
            format!(
                "lost in between       {:>12}  = sent - received - dropped - refused: socket buffers, QUIC datagram buffers",
                self.lost()
            ),
            format!(
                "receiver engine       {:>12}  packets taken in, {} messages delivered: {per_packet:.1} messages per packet \
                 (membership and pull packets carry none)",
                e.packets_in, self.delivered
            ),
        ]
    }
}

/// Runs `workload` from a node on `a` to a node on `b`, both with
/// `config`: waits until `b` delivers a first message, sends for
/// [`WARM_UP`] plus `workload.secs`, then stops the sender and reads the
/// counters. Runs on the wall clock (it is a benchmark).
pub async fn measure<T: Transport>(
    a: Arc<T>,
    b: Arc<T>,
    config: Config,
    workload: Workload,
) -> Result<Measurement, SupportError> {
    let group = GroupId::named("bench");
    let sender = Builder::new(a.clone()).config(config.clone()).seed(1).send_capacity(1 << 15).spawn()?;
    let receiver = Builder::new(b.clone()).config(config).seed(2).subscriber_capacity(1 << 16).spawn()?;
    let mut sub = receiver.subscribe(group).await?;
    sender.join(vec![receiver.local_addr().clone()]).await?;

    let delivered = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Notify::new());
    let counter = {
        let (delivered, progress) = (delivered.clone(), progress.clone());
        tokio::spawn(async move {
            while let Some(item) = sub.next().await {
                let n = match item {
                    Ok(_) => 1,
                    // Lagged deliveries were delivered by the engine all the same.
                    Err(Missed::Lagged(n)) => n,
                    Err(_) => 0,
                };
                if delivered.fetch_add(n, Ordering::Relaxed) % 512 == 0 {
                    progress.notify_one();
                }
            }
        })
    };
    // Wait until the receiver is known as a member of the group.
    let contact_by = Instant::now() + CONTACT;
    while delivered.load(Ordering::Relaxed) == 0 {
        if Instant::now() > contact_by {
            sender.shutdown().await;
            receiver.shutdown().await;
            counter.abort();
            return Err(SupportError::NoContact(CONTACT));
        }
        sender.multicast(group, Bytes::from(vec![0u8; workload.payload])).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let blaster = {
        let (sender, delivered, progress, stop) = (sender.clone(), delivered.clone(), progress.clone(), stop.clone());
        tokio::spawn(async move {
            let mut sent = 0u64;
            let payload = Bytes::from(vec![7u8; workload.payload]);
            while !stop.load(Ordering::Relaxed) {
                if sent.saturating_sub(delivered.load(Ordering::Relaxed)) > workload.window {
                    let _ = tokio::time::timeout(Duration::from_millis(2), progress.notified()).await;
                    continue;
                }
                let Ok(results) = sender.multicast_many(group, vec![payload.clone(); BATCH]).await else { break };
                sent += results.iter().filter(|r| r.is_ok()).count() as u64;
            }
        })
    };
    tokio::time::sleep(WARM_UP).await;
    let s0 = receiver.stats().await?;
    let d0 = delivered.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(workload.secs)).await;
    let s1 = receiver.stats().await?;
    let d1 = delivered.load(Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = blaster.await;

    // Stop the sender, then let the receiver take in what is on the way.
    sender.shutdown().await;
    let mut last = b.stats();
    let drain_by = Instant::now() + DRAIN;
    while Instant::now() < drain_by {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = b.stats();
        if now == last {
            break;
        }
        last = now;
    }
    let engine = receiver.stats().await?.engine;
    let counters =
        PathCounters { sender: a.stats(), receiver: b.stats(), engine, delivered: delivered.load(Ordering::Relaxed) };
    receiver.shutdown().await;
    counter.abort();

    let messages = (d1 - d0) as f64;
    let packets = s1.engine.packets_in.saturating_sub(s0.engine.packets_in).max(1);
    Ok(Measurement {
        messages_per_sec: messages / elapsed,
        packets_per_sec: packets as f64 / elapsed,
        avg_packet: (s1.engine.bytes_in.saturating_sub(s0.engine.bytes_in) / packets) as usize,
        per_packet: messages / packets as f64,
        duplicates: s1.engine.duplicates.saturating_sub(s0.engine.duplicates),
        counters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secs_must_be_positive_and_bounded() {
        assert_eq!(parse_secs("2.5"), Ok(2.5));
        for bad in ["-1", "0", "NaN", "inf", "3601", "three"] {
            let err = parse_secs(bad).unwrap_err();
            assert!(!err.contains('\n'), "{bad}: {err}");
        }
    }

    #[test]
    fn the_example_config_is_valid() {
        engine_config(Duration::from_millis(1), 1400).unwrap();
    }
}
