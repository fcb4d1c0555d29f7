//! Throughput benchmark: delivered messages per second through two runtime
//! nodes on loopback, over QUIC (mutual TLS, datagrams) and over UDP
//! (unsealed, batched) in the same run, with 64-byte and 1,200-byte
//! payloads. Both use the same engine configuration, with 1,400-byte
//! packets, which fit one QUIC datagram once the endpoint's initial MTU
//! is 1,452.
//!
//! `cargo run --release -p transport-quic --example quic_throughput -- [--secs 3] [--sealed-udp]`
//!
//! The measurement and its counters live in
//! `gossip_example_support::throughput`; this file adds the QUIC and UDP
//! ends and QUIC's own counters.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use gossip_example_support::throughput::{self, Measurement, ThroughputArgs, Workload};
use gossip_example_support::{exit, load};
use gossip_runtime::Transport;
use transport_quic::{ClusterCa, ConnectionCounts, QuicConfig, QuicStats, QuicTransport};
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

const PACKET: usize = 1400;
/// The gossip round.
const PERIOD: Duration = Duration::from_millis(1);
/// Payload bytes the sender may be ahead of the receiver.
const WINDOW_BYTES: u64 = 4 << 20;

/// Messages per second through two gossip nodes on loopback, QUIC against
/// UDP, with the counters of every run.
#[derive(Debug, Parser)]
#[command(name = "quic_throughput")]
struct Args {
    #[command(flatten)]
    run: ThroughputArgs,
    /// Seal the UDP datagrams (ChaCha20-Poly1305), as QUIC encrypts its own.
    #[arg(long)]
    sealed_udp: bool,
}

fn quic_pair(ca: &ClusterCa) -> anyhow::Result<(Arc<QuicTransport>, Arc<QuicTransport>)> {
    let make = |name: &str| -> anyhow::Result<Arc<QuicTransport>> {
        let mut config = QuicConfig::new("127.0.0.1:0".parse()?, ca.issue(name)?);
        config.initial_mtu = 1452;
        Ok(Arc::new(QuicTransport::bind(config)?))
    };
    Ok((make("a")?, make("b")?))
}

fn udp_pair(sealed: bool) -> anyhow::Result<(Arc<UdpTransport>, Arc<UdpTransport>)> {
    let make = || -> anyhow::Result<Arc<UdpTransport>> {
        let bind = "127.0.0.1:0".parse()?;
        let config = if sealed {
            UdpConfig::new(bind, KeyRing::new(ClusterKey::from_bytes(1, [0x42; 32])))
        } else {
            UdpConfig::insecure(bind)
        };
        Ok(Arc::new(UdpTransport::bind(config)?))
    };
    Ok((make()?, make()?))
}

/// The QUIC datagram size on a fresh loopback connection with these settings.
async fn quic_datagram_size(ca: &ClusterCa) -> anyhow::Result<Option<usize>> {
    let (a, b) = quic_pair(ca)?;
    a.send(&b.local_addr(), Bytes::from_static(b"probe")).await?;
    tokio::time::timeout(Duration::from_secs(5), b.recv()).await??;
    Ok(a.datagram_size(&b.local_addr()))
}

/// Splits "lost in between" by QUIC's own counts on the connection.
fn where_lost(sa: &QuicStats, sb: &QuicStats, ca: &ConnectionCounts, cb: &ConnectionCounts) -> Vec<String> {
    let diff = |x: u64, y: u64| i128::from(x) - i128::from(y);
    let read = sb.datagrams_in.saturating_add(sb.recv_queue_full);
    vec![format!(
        "  lost in between, by QUIC's counts on the connection: {} discarded by the sender's QUIC before \
             sending (send buffer full while congestion control held it back); {} lost on the way ({} QUIC \
             packets declared lost); {} discarded by the receiver's QUIC (not read in time)",
        diff(sa.datagrams_out, ca.datagram_frames_sent),
        diff(ca.datagram_frames_sent, cb.datagram_frames_received),
        ca.lost_packets,
        diff(cb.datagram_frames_received, read),
    )]
}

fn print_row(payload: usize, name: &str, r: &Measurement, ratio: &str) {
    println!(
        "{:>7}B {:>6} {:>14.0} {:>14.0} {:>10.1} {:>10}",
        payload, name, r.messages_per_sec, r.packets_per_sec, r.per_packet, ratio
    );
}

async fn run(args: Args) -> anyhow::Result<()> {
    let secs = args.run.secs;
    load::print("start");
    let ca = ClusterCa::generate("bench CA")?;
    let dgram = quic_datagram_size(&ca).await?;
    println!(
        "engine packets {PACKET} B; QUIC datagram size {dgram:?} B; UDP sealed: {}; {secs} s per run after {} s warm-up",
        args.sealed_udp,
        throughput::WARM_UP.as_secs_f64()
    );
    if dgram.is_none_or(|d| d < PACKET) {
        println!("warning: full engine packets exceed the QUIC datagram size and will travel on streams");
    }
    println!(
        "{:>8} {:>6} {:>14} {:>14} {:>10} {:>10}",
        "payload", "", "messages/s", "packets/s", "msg/pkt", "QUIC/UDP"
    );
    let config = throughput::engine_config(PERIOD, PACKET)?;
    let mut notes = Vec::new();
    for payload in [64usize, 1200] {
        let workload = Workload { payload, window: WINDOW_BYTES / payload as u64, secs };
        let (a, b) = udp_pair(args.sealed_udp)?;
        let udp = throughput::measure(a, b, config.clone(), workload).await?;
        let (a, b) = quic_pair(&ca)?;
        let quic = throughput::measure(a.clone(), b.clone(), config.clone(), workload).await?;
        print_row(payload, "UDP", &udp, "");
        let ratio = format!("{:.0}%", 100.0 * quic.messages_per_sec / udp.messages_per_sec.max(1.0));
        print_row(payload, "QUIC", &quic, &ratio);

        let (sa, sb) = (a.quic_stats(), b.quic_stats());
        let mut lines = vec![format!("{payload} B over QUIC, whole run:")];
        lines.extend(quic.counters.lines().into_iter().map(|l| format!("  {l}")));
        lines.push(format!(
            "  of which: sender {} datagrams + {} streams; receiver {} datagrams + {} streams in, \
             {} dropped at its full receive queue, {} streams failed",
            sa.datagrams_out,
            sa.streams_out,
            sb.datagrams_in,
            sb.streams_in,
            sb.recv_queue_full,
            sb.stream_recv_failures
        ));
        if let (Some(ca), Some(cb)) = (a.connection_counts(&b.local_addr()), b.connection_counts(&a.local_addr())) {
            lines.extend(where_lost(&sa, &sb, &ca, &cb));
        }
        lines.push(format!("{payload} B over UDP, whole run:"));
        lines.extend(udp.counters.lines().into_iter().map(|l| format!("  {l}")));
        notes.push(lines);
    }
    for line in notes.into_iter().flatten() {
        println!("{line}");
    }
    load::print("end");
    Ok(())
}

fn main() -> ExitCode {
    exit::run_example("quic_throughput", run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        <Args as clap::CommandFactory>::command().debug_assert();
        let args = Args::try_parse_from(["quic_throughput", "--secs", "1", "--sealed-udp"]).unwrap();
        assert_eq!((args.run.secs, args.sealed_udp), (1.0, true));
        assert!(Args::try_parse_from(["quic_throughput", "--secs", "-1"]).is_err());
        assert!(Args::try_parse_from(["quic_throughput", "--nodes", "3"]).is_err());
    }
}
