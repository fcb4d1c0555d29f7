//! Throughput benchmark: two runtime nodes on loopback UDP, 64-byte
//! payloads, batched, side by side with the raw datagram rate of the same
//! socket setup for datagrams of the same size as the gossip packets.
//!
//! `cargo run --release -p transport-udp --example throughput -- [--secs 3] [--key] [--period-ms 1]`
//!
//! The measurement and its counters live in
//! `gossip_example_support::throughput`; this file adds the UDP ends and
//! the raw blaster.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use gossip_example_support::throughput::{self, ThroughputArgs, Workload};
use gossip_example_support::{exit, load};
use gossip_runtime::Transport;
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

const PAYLOAD: usize = 64;
/// Messages the sender may be ahead of the receiver.
const WINDOW: u64 = 1 << 15;

/// Messages per second through two gossip nodes on loopback UDP, against
/// what the kernel moves for a raw sender of the same datagrams.
#[derive(Debug, Parser)]
#[command(name = "throughput")]
struct Args {
    #[command(flatten)]
    run: ThroughputArgs,
    /// Seal every datagram (XChaCha20-Poly1305); without it the nodes run
    /// insecure.
    #[arg(long)]
    key: bool,
    /// The gossip round, in milliseconds (1 to 1000).
    #[arg(long, value_name = "MS", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    period_ms: u64,
}

fn udp(sealed: bool) -> anyhow::Result<Arc<UdpTransport>> {
    let bind = "127.0.0.1:0".parse()?;
    let config = if sealed {
        UdpConfig::new(bind, KeyRing::new(ClusterKey::from_bytes(1, [0x42; 32])))
    } else {
        UdpConfig::insecure(bind)
    };
    Ok(Arc::new(UdpTransport::bind(config)?))
}

/// The raw rate of the same socket setup: batches of equal datagrams of
/// `size` bytes (GSO trains where the kernel has them) from one transport
/// socket to another; returns datagrams received per second.
async fn raw(secs: f64, size: usize) -> anyhow::Result<f64> {
    let config = UdpConfig::insecure("127.0.0.1:0".parse()?);
    Ok(transport_udp::raw_datagram_rate(&config, size, Duration::from_secs_f64(secs)).await?.datagrams_per_sec)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let secs = args.run.secs;
    load::print("start");
    let (a, b) = (udp(args.key)?, udp(args.key)?);
    let max_packet = a.max_packet_size().min(gossip_core::MAX_PACKET_SIZE);
    let config = throughput::engine_config(Duration::from_millis(args.period_ms), max_packet)?;
    let g = throughput::measure(a, b, config, Workload { payload: PAYLOAD, window: WINDOW, secs }).await?;
    let r = raw(secs, g.avg_packet).await?;
    let target = r * g.per_packet;
    println!("payload {PAYLOAD} B, {secs} s per run, sealed: {}, gossip period {} ms", args.key, args.period_ms);
    println!("gossip: {:>12.0} messages/s delivered", g.messages_per_sec);
    println!(
        "        {:>12.0} packets/s received, {} B average, {:.1} messages/packet, {} duplicates",
        g.packets_per_sec, g.avg_packet, g.per_packet, g.duplicates
    );
    println!("raw:    {:>12.0} datagrams/s of {} B (sendmmsg/recvmmsg, batches of 64)", r, g.avg_packet);
    println!(
        "ratio:  {:.0}% of raw datagrams/s x messages/packet ({:.0} messages/s); \
         goal >= 70% on an otherwise idle machine",
        100.0 * g.messages_per_sec / target.max(1.0),
        target
    );
    println!("gossip counters, whole run:");
    for line in g.counters.lines() {
        println!("  {line}");
    }
    load::print("end");
    Ok(())
}

fn main() -> ExitCode {
    exit::run_example("throughput", run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        <Args as clap::CommandFactory>::command().debug_assert();
        let args = Args::try_parse_from(["throughput", "--secs", "0.5", "--key", "--period-ms", "5"]).unwrap();
        assert_eq!((args.run.secs, args.key, args.period_ms), (0.5, true, 5));
        for bad in [&["--secs", "-1"][..], &["--secs", "0"], &["--period-ms", "0"], &["--bogus"]] {
            let argv = std::iter::once("throughput").chain(bad.iter().copied());
            assert!(Args::try_parse_from(argv).is_err(), "{bad:?} accepted");
        }
    }
}
