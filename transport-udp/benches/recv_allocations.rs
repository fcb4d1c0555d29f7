//! Heap allocations per datagram on the UDP path at steady state, counted
//! with a counting global allocator.
//!
//! One sender transport sends batches of 16 equal datagrams (the size of a
//! full gossip packet) to one receiver on loopback; the receiver takes them
//! with `recv_batch`. Only the receive calls are inside the counted region
//! (and, separately, only the send calls). Two receivers are measured: one
//! that drops each datagram at once, and one that keeps the last 1,000
//! (as the engine keeps payload slices in its message store), which keeps
//! arena blocks alive longer. Plain and sealed.
//!
//! `cargo bench -p transport-udp --bench recv_allocations`

use std::alloc::System;
use std::collections::VecDeque;
use std::net::SocketAddr;

use bytes::Bytes;
use gossip_runtime::Transport;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Datagrams per send batch.
const PER_BATCH: usize = 16;
/// Datagrams received before counting starts.
const WARM_UP: usize = 20_000;
/// Datagrams counted.
const MEASURED: usize = 200_000;

struct Counts {
    recv_per_datagram: f64,
    send_per_datagram: f64,
    arena_blocks: u64,
    gro: usize,
    gso: usize,
}

async fn run(sealed: bool, keep: usize) -> Counts {
    let addr = "127.0.0.1:0".parse().expect("address");
    let config = || {
        if sealed {
            UdpConfig::new(addr, KeyRing::new(ClusterKey::from_bytes(1, [0x42; 32])))
        } else {
            UdpConfig::insecure(addr)
        }
    };
    let bind = || UdpTransport::bind(config()).expect("bind on loopback");
    let (a, b) = (bind(), bind());
    let len = a.max_packet_size();
    let batch: Vec<(SocketAddr, Bytes)> =
        (0..PER_BATCH).map(|i| (b.local_addr(), Bytes::from(vec![i as u8; len]))).collect();
    let mut out = Vec::with_capacity(64);
    let mut kept: VecDeque<Bytes> = VecDeque::with_capacity(keep + 64);
    let (mut recv_allocs, mut send_allocs, mut received, mut counted) = (0usize, 0usize, 0usize, 0usize);
    let mut blocks_at_start = 0;
    while counted < MEASURED {
        let measuring = received >= WARM_UP;
        if measuring && counted == 0 {
            blocks_at_start = b.udp_stats().arena_allocations;
        }
        let send = Region::new(GLOBAL);
        for result in a.send_batch(&batch).await {
            result.expect("send on loopback");
        }
        let sent = send.change().allocations;
        let mut got = 0;
        while got < PER_BATCH {
            out.clear();
            let recv = Region::new(GLOBAL);
            b.recv_batch(&mut out, 64).await.expect("receive on loopback");
            let allocs = recv.change().allocations;
            got += out.len();
            if measuring {
                recv_allocs += allocs;
            }
            // Kept payloads live in a preallocated queue (not counted: its
            // pushes happen outside the region).
            for (_, bytes) in out.drain(..) {
                if keep > 0 {
                    if kept.len() == keep {
                        kept.pop_front();
                    }
                    kept.push_back(bytes);
                }
            }
        }
        received += got;
        if measuring {
            counted += got;
            send_allocs += sent;
        }
    }
    Counts {
        recv_per_datagram: recv_allocs as f64 / counted as f64,
        send_per_datagram: send_allocs as f64 / counted as f64,
        arena_blocks: b.udp_stats().arena_allocations - blocks_at_start,
        gro: b.gro_segments(),
        gso: a.max_gso_segments(),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    println!("{MEASURED} datagrams counted after {WARM_UP}, batches of {PER_BATCH} full-size datagrams, loopback");
    println!(
        "{:<8} {:>10} {:>16} {:>16} {:>13} {:>5} {:>5}",
        "mode", "kept", "recv allocs/dg", "send allocs/dg", "arena blocks", "GRO", "GSO"
    );
    for sealed in [false, true] {
        for keep in [0, 1_000] {
            let c = runtime.block_on(run(sealed, keep));
            println!(
                "{:<8} {:>10} {:>16.4} {:>16.4} {:>13} {:>5} {:>5}",
                if sealed { "sealed" } else { "plain" },
                keep,
                c.recv_per_datagram,
                c.send_per_datagram,
                c.arena_blocks,
                c.gro,
                c.gso
            );
        }
    }
}
