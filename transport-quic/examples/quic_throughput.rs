//! Throughput benchmark: delivered messages per second through two runtime
//! nodes on loopback, over QUIC (mutual TLS, datagrams) and over UDP
//! (unsealed, batched) in the same run, with 64-byte and 1,200-byte
//! payloads. Both use the same engine configuration, with 1,400-byte
//! packets, which fit one QUIC datagram once the endpoint's initial MTU
//! is 1,452.
//!
//! `cargo run --release -p transport-quic --example quic_throughput -- [--secs 3] [--sealed-udp]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gossip_core::{Batching, Config, GroupId, Lifetime, Mode, Targets};
use gossip_runtime::{Builder, StreamExt, Transport};
use tokio::sync::Notify;
use transport_quic::{ClusterCa, QuicConfig, QuicTransport};
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

const PACKET: usize = 1400;

struct Result {
    messages_per_sec: f64,
    packets_per_sec: f64,
    per_packet: f64,
}

fn config() -> anyhow::Result<Config> {
    Ok(Config::lan()
        .to_builder()
        .mode(Mode::PushPull)
        .fanout(1)
        .targets(Targets::WithoutReplacement)
        .eager_push(false)
        .lifetime(Lifetime::Rounds(1))
        .batching(Batching::Packed)
        .period(Duration::from_millis(1))
        .max_packet_size(PACKET)
        .retention(Duration::from_millis(200))
        .max_transmits(1 << 16)
        .max_events(1 << 20)
        .max_buffer_messages(1 << 16)
        .max_buffer_bytes(64 << 20)
        .build()?)
}

async fn gossip<T: Transport>(a: T, b: T, payload_len: usize, secs: f64) -> anyhow::Result<Result> {
    let config = config()?;
    let group = GroupId::named("bench");
    let a = Builder::new(a).config(config.clone()).seed(1).send_capacity(1 << 15).spawn()?;
    let b = Builder::new(b).config(config).seed(2).subscriber_capacity(1 << 16).spawn()?;
    let mut sub = b.subscribe(group).await?;
    a.join(vec![b.local_addr().clone()]).await?;

    let delivered = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Notify::new());
    let counter = {
        let (delivered, progress) = (delivered.clone(), progress.clone());
        tokio::spawn(async move {
            while let Some(item) = sub.next().await {
                let n = match item {
                    Ok(_) => 1,
                    Err(lagged) => lagged.0,
                };
                if delivered.fetch_add(n, Ordering::Relaxed) % 512 == 0 {
                    progress.notify_one();
                }
            }
        })
    };
    // Wait until b is known as a member of the group.
    while delivered.load(Ordering::Relaxed) == 0 {
        a.multicast(group, Bytes::from(vec![0u8; payload_len])).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (a, delivered, progress, stop) = (a.clone(), delivered.clone(), progress.clone(), stop.clone());
        tokio::spawn(async move {
            let window = (4u64 << 20) / payload_len as u64;
            let mut sent = 0u64;
            let payload = Bytes::from(vec![7u8; payload_len]);
            while !stop.load(Ordering::Relaxed) {
                if sent.saturating_sub(delivered.load(Ordering::Relaxed)) > window {
                    let _ = tokio::time::timeout(Duration::from_millis(2), progress.notified()).await;
                    continue;
                }
                let batch = vec![payload.clone(); 256];
                let results = a.multicast_many(group, batch).await.expect("runtime alive");
                sent += results.iter().filter(|r| r.is_ok()).count() as u64;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await; // warm up
    let s0 = b.stats().await?;
    let d0 = delivered.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let s1 = b.stats().await?;
    let d1 = delivered.load(Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = sender.await;
    a.shutdown().await;
    b.shutdown().await;
    counter.abort();
    let messages = (d1 - d0) as f64;
    let packets = (s1.engine.packets_in - s0.engine.packets_in).max(1);
    Ok(Result {
        messages_per_sec: messages / elapsed,
        packets_per_sec: packets as f64 / elapsed,
        per_packet: messages / packets as f64,
    })
}

fn quic_pair(ca: &ClusterCa) -> anyhow::Result<(QuicTransport, QuicTransport)> {
    let make = |name: &str| -> anyhow::Result<QuicTransport> {
        let mut config = QuicConfig::new("127.0.0.1:0".parse()?, ca.issue(name)?);
        config.initial_mtu = 1452;
        Ok(QuicTransport::bind(config)?)
    };
    Ok((make("a")?, make("b")?))
}

fn udp_pair(sealed: bool) -> anyhow::Result<(UdpTransport, UdpTransport)> {
    let make = || -> anyhow::Result<UdpTransport> {
        let keys = sealed.then(|| KeyRing::new(ClusterKey::from_passphrase(1, "bench")));
        Ok(UdpTransport::bind(UdpConfig { keys, ..UdpConfig::new("127.0.0.1:0".parse()?) })?)
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut secs = 3.0;
    let mut sealed = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--secs" => secs = args.next().unwrap_or_default().parse()?,
            "--sealed-udp" => sealed = true,
            other => anyhow::bail!("unknown argument {other}: use [--secs N] [--sealed-udp]"),
        }
    }
    let ca = ClusterCa::generate("bench CA")?;
    let dgram = quic_datagram_size(&ca).await?;
    println!(
        "engine packets {PACKET} B; QUIC datagram size {dgram:?} B; UDP sealed: {sealed}; {secs} s per run after 0.5 s warm-up"
    );
    if dgram.is_none_or(|d| d < PACKET) {
        println!("warning: full engine packets exceed the QUIC datagram size and will travel on streams");
    }
    println!(
        "{:>8} {:>6} {:>14} {:>14} {:>10} {:>10}",
        "payload", "", "messages/s", "packets/s", "msg/pkt", "QUIC/UDP"
    );
    let mut quic_notes = Vec::new();
    for payload in [64usize, 1200] {
        let (a, b) = udp_pair(sealed)?;
        let udp = gossip(a, b, payload, secs).await?;
        let (a, b) = quic_pair(&ca)?;
        let (a, b) = (Arc::new(a), Arc::new(b));
        let quic = gossip(a.clone(), b.clone(), payload, secs).await?;
        let (sa, sb) = (a.quic_stats(), b.quic_stats());
        quic_notes.push(format!(
            "{payload} B over QUIC: sender {} datagrams, {} streams; receiver {} datagrams, {} streams; dropped {}",
            sa.datagrams_out,
            sa.streams_out,
            sb.datagrams_in,
            sb.streams_in,
            sa.dropped() + sb.dropped()
        ));
        for (name, r) in [("UDP", &udp), ("QUIC", &quic)] {
            let ratio = if name == "QUIC" {
                format!("{:.0}%", 100.0 * quic.messages_per_sec / udp.messages_per_sec)
            } else {
                String::new()
            };
            println!(
                "{:>7}B {:>6} {:>14.0} {:>14.0} {:>10.1} {:>10}",
                payload, name, r.messages_per_sec, r.packets_per_sec, r.per_packet, ratio
            );
        }
    }
    for note in quic_notes {
        println!("{note}");
    }
    Ok(())
}
