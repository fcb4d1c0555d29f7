//! Gossip delivery rate over UDP on loopback, beside the raw datagram rate
//! of the same socket setup, and CPU time per delivery.
//!
//! * `two`: two nodes, one sending 64-byte payloads as fast as a window of
//!   32,768 undelivered messages allows, packed batching (about 16
//!   messages per packet), 1 ms period; then, in the same run,
//!   [`transport_udp::raw_datagram_rate`] with datagrams of the gossip
//!   packets' average size. Prints the gossip rate as a share of raw
//!   datagrams/s × messages/packet.
//! * `ten`: ten nodes, each sending 64-byte payloads with a window of 1,000
//!   of its own messages not yet delivered everywhere, packed batching,
//!   once with the LAN preset and once without eager push, a 5 ms period
//!   and a two-round lifetime; prints deliveries per node per second,
//!   process CPU µs per delivery, and the counters that say where the
//!   work went (duplicates above all).
//!
//! `cargo bench -p transport-udp --bench loopback_rate -- [two] [ten] [--secs N] [--key]`

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gossip_core::{Batching, Config, GroupId, Lifetime, NodeId};
use gossip_runtime::{Builder, Handle, StreamExt, Transport};
use nix::sys::resource::{UsageWho, getrusage};
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

const PAYLOAD: usize = 64;

fn udp_config(sealed: bool) -> UdpConfig {
    let bind = "127.0.0.1:0".parse().expect("address");
    if sealed {
        UdpConfig::new(bind, KeyRing::new(ClusterKey::from_bytes(1, [0x42; 32])))
    } else {
        UdpConfig::insecure(bind)
    }
}

fn cpu_seconds() -> f64 {
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    secs(usage.user_time()) + secs(usage.system_time())
}

/// What one cluster run measured over its counted interval.
struct ClusterRate {
    /// Deliveries per second at each receiving node.
    per_node_per_sec: f64,
    /// Process CPU microseconds per delivery.
    cpu_us_per_delivery: f64,
    /// Deliveries per received packet.
    per_packet: f64,
    /// Average received packet, bytes.
    avg_packet: usize,
    /// Where messages or datagrams were lost or repeated, over all nodes.
    losses: String,
}

/// `n` nodes, the first `senders` of them multicasting with `window`
/// of their own messages not yet delivered at every receiver.
async fn cluster(n: usize, senders: usize, window: u64, config: Config, sealed: bool, secs: f64) -> ClusterRate {
    let group = GroupId::named("bench");
    let mut nodes: Vec<Handle<std::net::SocketAddr>> = Vec::new();
    for i in 0..n {
        let transport = UdpTransport::bind(udp_config(sealed)).expect("bind");
        let config = config
            .to_builder()
            .max_packet_size(transport.max_packet_size().min(gossip_core::MAX_PACKET_SIZE))
            .build()
            .expect("config");
        let handle = Builder::new(transport)
            .config(config)
            .seed(i as u64 + 1)
            .send_capacity(1 << 15)
            .subscriber_capacity(1 << 16)
            .spawn()
            .expect("spawn");
        nodes.push(handle);
    }
    let index: Arc<HashMap<NodeId, usize>> = Arc::new(nodes.iter().enumerate().map(|(i, h)| (h.id(), i)).collect());
    let delivered_of: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let total = Arc::new(AtomicU64::new(0));
    // heard[receiver * n + origin]: the receiver got something from origin.
    let heard: Arc<Vec<AtomicBool>> = Arc::new((0..n * n).map(|_| AtomicBool::new(false)).collect());
    let mut counters = Vec::new();
    for (me, node) in nodes.iter().enumerate() {
        let mut sub = node.subscribe(group).await.expect("subscribe");
        let (index, delivered_of, total, heard) = (index.clone(), delivered_of.clone(), total.clone(), heard.clone());
        counters.push(tokio::spawn(async move {
            // A lagging subscription skips messages: keep counting what
            // follows (ending here froze the sender's window: the runs that
            // reported 0/s).
            while let Some(item) = sub.next().await {
                let Ok(delivery) = item else { continue };
                // A sender's own messages are delivered to it locally: not
                // a delivery over the network, and not room in its window.
                if index.get(&delivery.id.origin) == Some(&me) {
                    continue;
                }
                if let Some(&i) = index.get(&delivery.id.origin) {
                    delivered_of[i].fetch_add(1, Ordering::Relaxed);
                    heard[me * n + i].store(true, Ordering::Relaxed);
                }
                total.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let seed = vec![*nodes[0].local_addr()];
    for node in &nodes[1..] {
        node.join(seed.clone()).await.expect("join");
    }
    let formed = Instant::now();
    loop {
        let mut all = true;
        for node in &nodes {
            all &= node.members().await.expect("members").len() + 1 >= n;
        }
        if all {
            break;
        }
        assert!(formed.elapsed() < Duration::from_secs(30), "the cluster did not form");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let receivers = if senders < n { n - senders } else { n - 1 } as u64;
    // Until every receiver has heard every sender, multicasts may go to
    // nobody (group membership still spreading) and would hold the window
    // for ever: probe first.
    let listeners: Vec<usize> = if senders < n { (senders..n).collect() } else { (0..n).collect() };
    let all_heard =
        || listeners.iter().all(|&r| (0..senders).all(|o| o == r || heard[r * n + o].load(Ordering::Relaxed)));
    while !all_heard() {
        assert!(formed.elapsed() < Duration::from_secs(60), "not every receiver heard every sender");
        for node in nodes.iter().take(senders) {
            node.multicast(group, Bytes::from_static(b"probe")).await.expect("multicast");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut sending = Vec::new();
    for (i, node) in nodes.iter().take(senders).enumerate() {
        let (node, delivered_of, stop) = (node.clone(), delivered_of.clone(), stop.clone());
        sending.push(tokio::spawn(async move {
            let payload = Bytes::from(vec![7u8; PAYLOAD]);
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let done = delivered_of[i].load(Ordering::Relaxed) / receivers;
                let room = window.saturating_sub(sent.saturating_sub(done)).min(256);
                if room == 0 {
                    tokio::time::sleep(Duration::from_micros(500)).await;
                    continue;
                }
                let results = node.multicast_many(group, vec![payload.clone(); room as usize]).await;
                sent += results.map(|r| r.iter().filter(|r| r.is_ok()).count() as u64).unwrap_or(0);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // warm up
    let packets = |stats: &[gossip_runtime::RuntimeStats]| {
        stats.iter().fold((0, 0), |(p, b), s| (p + s.engine.packets_in, b + s.engine.bytes_in))
    };
    let mut before = Vec::new();
    for node in &nodes {
        before.push(node.stats().await.expect("stats"));
    }
    let (d0, c0, t0) = (total.load(Ordering::Relaxed), cpu_seconds(), Instant::now());
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let (d1, c1, elapsed) = (total.load(Ordering::Relaxed), cpu_seconds(), t0.elapsed().as_secs_f64());
    let mut after = Vec::new();
    for node in &nodes {
        after.push(node.stats().await.expect("stats"));
    }
    stop.store(true, Ordering::Relaxed);
    for task in sending {
        let _ = task.await;
    }
    for node in &nodes {
        node.shutdown().await;
    }
    for task in counters {
        task.abort();
    }
    let ((p0, b0), (p1, b1)) = (packets(&before), packets(&after));
    let deliveries = d1.saturating_sub(d0).max(1) as f64;
    let packets_in = p1.saturating_sub(p0).max(1);
    ClusterRate {
        per_node_per_sec: deliveries / receivers as f64 / elapsed,
        cpu_us_per_delivery: (c1 - c0) * 1e6 / deliveries,
        per_packet: deliveries / packets_in as f64,
        avg_packet: (b1.saturating_sub(b0) / packets_in) as usize,
        losses: losses(&before, &after),
    }
}

/// The counters that tell where a run lost time or data, summed over nodes.
fn losses(before: &[gossip_runtime::RuntimeStats], after: &[gossip_runtime::RuntimeStats]) -> String {
    let sum = |f: &dyn Fn(&gossip_runtime::RuntimeStats) -> u64| -> u64 {
        after.iter().zip(before).map(|(a, b)| f(a).saturating_sub(f(b))).sum()
    };
    format!(
        "duplicates {}, engine dropped {}, send queue full {}, transport dropped {}, subscriber lagged {}",
        sum(&|s| s.engine.duplicates),
        sum(&|s| s.engine.dropped),
        sum(&|s| s.send_queue_full),
        sum(&|s| s.transport.dropped),
        sum(&|s| s.lagged),
    )
}

async fn two(secs: f64, sealed: bool) {
    let config = gossip_example_support::throughput::engine_config(Duration::from_millis(1), 1200).expect("config");
    let g = cluster(2, 1, 1 << 15, config, sealed, secs).await;
    let raw = transport_udp::raw_datagram_rate(&udp_config(sealed), g.avg_packet, Duration::from_secs_f64(secs))
        .await
        .expect("raw rate");
    let target = raw.datagrams_per_sec * g.per_packet;
    println!("two nodes, {PAYLOAD} B payloads, sealed: {sealed}, {secs} s");
    println!(
        "  gossip: {:>10.0} messages/s delivered, {:.1} messages/packet, {} B/packet, {:.2} CPU µs/delivery",
        g.per_node_per_sec, g.per_packet, g.avg_packet, g.cpu_us_per_delivery
    );
    println!(
        "  raw:    {:>10.0} datagrams/s of {} B received ({:.0}/s sent, {:.1} per send call, {:.0} receive calls/s)",
        raw.datagrams_per_sec,
        g.avg_packet,
        raw.sent_per_sec,
        raw.datagrams_per_send_syscall,
        raw.recv_syscalls_per_sec
    );
    println!(
        "  ratio:  {:.1}% of raw datagrams/s x messages/packet ({target:.0})",
        100.0 * g.per_node_per_sec / target
    );
    println!("  {}", g.losses);
}

async fn ten(secs: f64, sealed: bool) {
    let lan = Config::lan().to_builder().batching(Batching::Packed).build().expect("config");
    let tuned = Config::lan()
        .to_builder()
        .batching(Batching::Packed)
        .eager_push(false)
        .lifetime(Lifetime::Rounds(2))
        .period(Duration::from_millis(5))
        .build()
        .expect("config");
    for (name, config) in
        [("LAN preset (eager push, 100 ms, automatic lifetime)", lan), ("no eager push, 5 ms, 2 rounds", tuned)]
    {
        let c = cluster(10, 10, 1_000, config, sealed, secs).await;
        println!("ten nodes, window 1,000 per sender, {PAYLOAD} B payloads, sealed: {sealed}, {secs} s, {name}");
        println!(
            "  {:>10.0} deliveries/s per node, {:.2} CPU µs/delivery, {:.1} messages/packet, {} B/packet",
            c.per_node_per_sec, c.cpu_us_per_delivery, c.per_packet, c.avg_packet
        );
        println!("  {}", c.losses);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs = args
        .iter()
        .position(|a| a == "--secs")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(5.0);
    let sealed = args.iter().any(|a| a == "--key");
    let pick = |name: &str| args.iter().any(|a| a == name) || !args.iter().any(|a| a == "two" || a == "ten");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    if pick("two") {
        runtime.block_on(two(secs, sealed));
    }
    if pick("ten") {
        runtime.block_on(ten(secs, sealed));
    }
}
