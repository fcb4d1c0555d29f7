//! Throughput benchmark: two runtime nodes on loopback UDP, 64-byte
//! payloads, batched, side by side with a raw `sendmmsg`/`recvmmsg`
//! blaster sending datagrams of the same size as the gossip packets.
//!
//! `cargo run --release -p transport-udp --example throughput -- [--secs 3] [--key] [--period-ms 1]`

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gossip_core::{Batching, Config, GroupId, Lifetime, Mode, Targets};
use gossip_runtime::{Builder, StreamExt};
use tokio::sync::Notify;
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

const PAYLOAD: usize = 64;

struct GossipResult {
    messages_per_sec: f64,
    packets_per_sec: f64,
    avg_packet: usize,
    per_packet: f64,
    duplicates: u64,
}

fn udp(keys: bool) -> anyhow::Result<UdpTransport> {
    let keys = keys.then(|| KeyRing::new(ClusterKey::from_passphrase(1, "bench")));
    Ok(UdpTransport::bind(UdpConfig { keys, ..UdpConfig::new("127.0.0.1:0".parse()?) })?)
}

async fn gossip(secs: f64, sealed: bool, period_ms: u64) -> anyhow::Result<GossipResult> {
    let a = udp(sealed)?;
    let b = udp(sealed)?;
    let config = Config::lan()
        .to_builder()
        .mode(Mode::PushPull)
        .fanout(1)
        .targets(Targets::WithoutReplacement)
        .eager_push(false)
        .lifetime(Lifetime::Rounds(1))
        .batching(Batching::Packed)
        .period(Duration::from_millis(period_ms))
        .max_packet_size(a.max_packet_size_for_engine())
        .retention(Duration::from_millis(200))
        .max_transmits(1 << 16)
        .max_events(1 << 20)
        .max_buffer_messages(1 << 16)
        .max_buffer_bytes(64 << 20)
        .build()?;
    let group = GroupId::named("bench");
    let a = Builder::new(a).config(config.clone()).seed(1).send_capacity(1 << 15).spawn()?;
    let b = Builder::new(b).config(config).seed(2).subscriber_capacity(1 << 16).spawn()?;
    let mut sub = b.subscribe(group).await?;
    a.join(vec![*b.local_addr()]).await?;

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
        a.multicast(group, Bytes::from(vec![0u8; PAYLOAD])).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (a, delivered, progress, stop) = (a.clone(), delivered.clone(), progress.clone(), stop.clone());
        tokio::spawn(async move {
            let window = 1u64 << 15;
            let mut sent = 0u64;
            let payload = Bytes::from(vec![7u8; PAYLOAD]);
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
    Ok(GossipResult {
        messages_per_sec: messages / elapsed,
        packets_per_sec: packets as f64 / elapsed,
        avg_packet: ((s1.engine.bytes_in - s0.engine.bytes_in) / packets) as usize,
        per_packet: messages / packets as f64,
        duplicates: s1.engine.duplicates - s0.engine.duplicates,
    })
}

/// Raw blaster: `sendmmsg` batches of 64 datagrams of `size` bytes from
/// one socket, `recvmmsg` on another; returns datagrams received per second.
async fn raw(secs: f64, size: usize) -> anyhow::Result<f64> {
    use std::os::fd::AsRawFd;
    use tokio::io::Interest;
    let make = || -> anyhow::Result<tokio::net::UdpSocket> {
        let t = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let s = socket2::Socket::from(t);
        s.set_recv_buffer_size(8 << 20)?;
        s.set_send_buffer_size(8 << 20)?;
        s.set_nonblocking(true)?;
        Ok(tokio::net::UdpSocket::from_std(s.into())?)
    };
    let (tx, rx) = (make()?, make()?);
    let to: SocketAddr = rx.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let receiver = {
        let (stop, received) = (stop.clone(), received.clone());
        tokio::spawn(async move {
            let mut bufs = vec![vec![0u8; size + 1]; 64];
            let mut out = Vec::with_capacity(64);
            while !stop.load(Ordering::Relaxed) {
                out.clear();
                let fd = rx.as_raw_fd();
                let got = tokio::time::timeout(
                    Duration::from_millis(50),
                    rx.async_io(Interest::READABLE, || transport_udp::raw::recv_batch(fd, &mut bufs, &mut out)),
                )
                .await;
                if let Ok(Ok(n)) = got {
                    received.fetch_add(n as u64, Ordering::Relaxed);
                }
            }
        })
    };
    let sender = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let payload = vec![7u8; size];
            let msgs: Vec<(SocketAddr, &[u8])> = (0..64).map(|_| (to, &payload[..])).collect();
            let fd = tx.as_raw_fd();
            while !stop.load(Ordering::Relaxed) {
                let _ = tx.async_io(Interest::WRITABLE, || transport_udp::raw::send_batch(fd, &msgs)).await;
                tokio::task::yield_now().await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r0 = received.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let r1 = received.load(Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = sender.await;
    let _ = receiver.await;
    Ok((r1 - r0) as f64 / elapsed)
}

trait EngineSize {
    fn max_packet_size_for_engine(&self) -> usize;
}

impl EngineSize for UdpTransport {
    fn max_packet_size_for_engine(&self) -> usize {
        use gossip_runtime::Transport;
        self.max_packet_size().min(gossip_core::MAX_PACKET_SIZE)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut secs = 3.0;
    let mut sealed = false;
    let mut period_ms = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--secs" => secs = args.next().unwrap_or_default().parse()?,
            "--key" => sealed = true,
            "--period-ms" => period_ms = args.next().unwrap_or_default().parse()?,
            other => anyhow::bail!("unknown argument {other}: use [--secs N] [--key]"),
        }
    }
    let g = gossip(secs, sealed, period_ms).await?;
    let r = raw(secs, g.avg_packet).await?;
    let target = r * g.per_packet;
    println!("payload {PAYLOAD} B, {secs} s per run, sealed: {sealed}, gossip period {period_ms} ms");
    println!("gossip: {:>12.0} messages/s delivered", g.messages_per_sec);
    println!(
        "        {:>12.0} packets/s received, {} B average, {:.1} messages/packet, {} duplicates",
        g.packets_per_sec, g.avg_packet, g.per_packet, g.duplicates
    );
    println!("raw:    {:>12.0} datagrams/s of {} B (sendmmsg/recvmmsg, batches of 64)", r, g.avg_packet);
    println!(
        "ratio:  {:.0}% of raw datagrams/s x messages/packet ({:.0} messages/s); goal >= 70%",
        100.0 * g.messages_per_sec / target,
        target
    );
    Ok(())
}
