//! Measuring a formed cluster: subscribe everyone, wait for the
//! membership, a steady stream then a burst, crashes mid-run, and every
//! delivery's latency from the multicast call into one row.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gossip_core::{Address, CommonStats, MessageId};
use gossip_runtime::{Handle, StreamExt};
use indicatif::ProgressBar;
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::SmallRng};

use super::cluster::Cluster;
use super::{GROUP, LiveSpec};
use crate::cli::mode_name;
use crate::error::HarnessError;
use crate::protocols::ProtocolKind;
use crate::record::{self, Row, ratio};
use crate::system;

#[derive(Clone, Copy, Default)]
pub(super) struct Counters {
    packets: u64,
    bytes: u64,
    duplicates: u64,
}

impl Counters {
    fn of(stats: &CommonStats) -> Self {
        Counters { packets: stats.packets_out, bytes: stats.bytes_out, duplicates: stats.duplicates }
    }

    fn minus(self, base: Counters) -> Counters {
        Counters {
            packets: self.packets.saturating_sub(base.packets),
            bytes: self.bytes.saturating_sub(base.bytes),
            duplicates: self.duplicates.saturating_sub(base.duplicates),
        }
    }
}

pub(super) async fn counters<A: Address>(handle: &Handle<A>) -> Counters {
    handle.stats().await.map(|s| Counters::of(&s.engine)).unwrap_or_default()
}

/// Messages handed to the runtime at once by a window-paced sender.
const WINDOW_BATCH: u64 = 64;

pub(super) type Collected = (Vec<(MessageId, Instant)>, u64);

pub(super) async fn measure<A: Address>(
    cluster: Cluster<A>,
    spec: &LiveSpec,
    progress: &ProgressBar,
) -> Result<Row, HarnessError> {
    let start_pos = progress.position();
    let n = spec.nodes as usize;
    let senders = spec.senders as usize;
    let handles = &cluster.handles;

    // Which non-senders crash, drawn from the seed.
    let mut rng = SmallRng::seed_from_u64(spec.seed ^ 0xc4a5);
    let mut candidates: Vec<usize> = (senders..n).collect();
    candidates.shuffle(&mut rng);
    let doomed: HashSet<usize> = candidates.into_iter().take(spec.crashed_count() as usize).collect();
    let alive = n - doomed.len();

    // Subscribe everyone, then collect deliveries in the background.
    let delivered = Arc::new(AtomicU64::new(0));
    let mut collectors = Vec::with_capacity(n);
    for (i, handle) in handles.iter().enumerate() {
        let mut sub = handle.subscribe(GROUP).await.map_err(HarnessError::run)?;
        let own = handle.id();
        let counter = (!doomed.contains(&i)).then(|| delivered.clone());
        collectors.push(tokio::spawn(async move {
            let mut got = Vec::new();
            let mut lagged = 0;
            while let Some(item) = sub.next().await {
                match item {
                    Ok(delivery) if delivery.id.origin != own => {
                        got.push((delivery.id, Instant::now()));
                        if let Some(c) = &counter {
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(_) => {}
                    Err(gossip_runtime::Missed::Lagged(missed)) => lagged += missed,
                    Err(_) => {}
                }
            }
            (got, lagged)
        }));
    }

    // Join through node 0 and wait until every node sees all the others
    // (baselines are given the member list: nothing to wait for).
    let formed_at = Instant::now();
    let seed_addr = handles[0].local_addr().clone();
    if !cluster.preformed {
        for handle in &handles[1..] {
            handle.join(vec![seed_addr.clone()]).await.map_err(HarnessError::run)?;
        }
        progress.set_message(format!("b={}: forming {n} nodes", spec.fanout));
    }
    loop {
        if cluster.preformed {
            break;
        }
        let mut formed = 0;
        for handle in handles {
            if handle.members().await.map(|m| m.len() + 1 >= n).unwrap_or(false) {
                formed += 1;
            }
        }
        progress.set_position(start_pos + formed as u64);
        progress.set_message(format!("b={}: forming, {formed}/{n} nodes see everyone", spec.fanout));
        if formed == n {
            break;
        }
        if formed_at.elapsed() > spec.formation_timeout {
            progress.suspend(|| {
                eprintln!(
                    "warning: only {formed} of {n} nodes saw the whole membership after {:?}; measuring anyway",
                    spec.formation_timeout
                )
            });
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let convergence = formed_at.elapsed();

    // Baselines.
    let mut base = Vec::with_capacity(n);
    for handle in handles {
        base.push(counters(handle).await);
    }
    let mut frozen: HashMap<usize, Counters> = HashMap::new();
    let cpu_start = system::cpu_seconds();

    // Steady phase, then the burst.
    let payload = Bytes::from(vec![0xa5u8; spec.payload]);
    let steady = spec.messages - spec.burst;
    let crash_at = steady / 2;
    let mut sent: HashMap<MessageId, Instant> = HashMap::with_capacity(spec.messages as usize);
    let start = Instant::now();
    let crash_now = |frozen: &mut HashMap<usize, Counters>, snapshot: Vec<(usize, Counters)>| {
        for (i, c) in snapshot {
            (cluster.crash)(i);
            frozen.insert(i, c);
        }
    };
    progress.set_message(format!("b={}: steady {steady} msgs", spec.fanout));
    let receivers = alive as u64 - 1;
    let mut k = 0;
    while k < steady {
        if k >= crash_at && frozen.is_empty() && !doomed.is_empty() {
            let mut snapshot = Vec::new();
            for &i in &doomed {
                snapshot.push((i, counters(&handles[i]).await));
            }
            crash_now(&mut frozen, snapshot);
        }
        let handle = &handles[(k as usize) % senders];
        let batch = match spec.window {
            // Rate: one message when it is due.
            None => {
                let due = start + Duration::from_secs_f64(k as f64 / spec.rate);
                tokio::time::sleep_until(due.into()).await;
                1
            }
            // Window: as many as the messages not yet delivered everywhere
            // (counted in deliveries) leave room for, up to a batch.
            Some(window) => {
                let done = delivered.load(Ordering::Relaxed) / receivers.max(1);
                let room = window.saturating_sub(k.saturating_sub(done));
                if room == 0 {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                    continue;
                }
                room.min(WINDOW_BATCH).min(steady - k)
            }
        };
        let t0 = Instant::now();
        if batch == 1 {
            let id = handle.multicast(GROUP, payload.clone()).await.map_err(HarnessError::run)?;
            sent.insert(id, t0);
        } else {
            let ids = handle.multicast_many(GROUP, vec![payload.clone(); batch as usize]).await;
            for id in ids.map_err(HarnessError::run)? {
                sent.insert(id.map_err(HarnessError::run)?, t0);
            }
        }
        k += batch;
    }
    if steady == 0 && !doomed.is_empty() {
        let mut snapshot = Vec::new();
        for &i in &doomed {
            snapshot.push((i, counters(&handles[i]).await));
        }
        crash_now(&mut frozen, snapshot);
    }
    if spec.burst > 0 {
        progress.set_message(format!("b={}: burst {} msgs", spec.fanout, spec.burst));
        let mut tasks = Vec::new();
        for (s, handle) in handles.iter().enumerate().take(senders) {
            let count = spec.burst / senders as u64 + u64::from((s as u64) < spec.burst % senders as u64);
            if count == 0 {
                continue;
            }
            let handle = handle.clone();
            let payloads = vec![payload.clone(); count as usize];
            tasks.push(tokio::spawn(async move {
                let t0 = Instant::now();
                handle.multicast_many(GROUP, payloads).await.map(|ids| (ids, t0))
            }));
        }
        for task in tasks {
            let (ids, t0) = task.await.map_err(HarnessError::run)?.map_err(HarnessError::run)?;
            for id in ids {
                sent.insert(id.map_err(HarnessError::run)?, t0);
            }
        }
    }

    // Wait for every expected delivery, or until nothing new arrives for `quiet`.
    let expected = spec.messages * (alive as u64 - 1);
    progress.set_message(format!("b={}: waiting", spec.fanout));
    let base_pos = start_pos + n as u64;
    let mut last = delivered.load(Ordering::Relaxed);
    let mut last_change = Instant::now();
    let hard_deadline = Instant::now() + spec.quiet * 20;
    loop {
        let now = delivered.load(Ordering::Relaxed);
        progress.set_position(base_pos + now.min(expected));
        progress.set_message(format!("b={}: {}/{expected} deliveries", spec.fanout, now.min(expected)));
        if now >= expected {
            break;
        }
        if now != last {
            last = now;
            last_change = Instant::now();
        } else if last_change.elapsed() >= spec.quiet || Instant::now() >= hard_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let end = Instant::now();
    let cpu_s = system::cpu_seconds() - cpu_start;

    // Counters at the end (crashed nodes: at their crash).
    let mut total = Counters::default();
    for (i, handle) in handles.iter().enumerate() {
        let now = match frozen.get(&i) {
            Some(c) => *c,
            None => counters(handle).await,
        };
        let d = now.minus(base[i]);
        total.packets += d.packets;
        total.bytes += d.bytes;
        total.duplicates += d.duplicates;
    }
    let peak_rss = system::peak_rss_bytes();

    // Stop everything, then read what the collectors saw.
    progress.set_message(format!("b={}: shutting down", spec.fanout));
    let mut stops = Vec::with_capacity(n);
    for handle in handles {
        let handle = handle.clone();
        stops.push(tokio::spawn(async move { handle.shutdown().await }));
    }
    for stop in stops {
        let _ = stop.await;
    }
    let mut hist = record::new_histogram();
    let mut deliveries = 0u64;
    let mut duplicate_deliveries = 0u64;
    let mut lagged_total = 0u64;
    let mut last_delivery = start;
    for (i, collector) in collectors.into_iter().enumerate() {
        let (got, lagged): Collected = collector.await.map_err(HarnessError::run)?;
        lagged_total += lagged;
        if doomed.contains(&i) {
            continue;
        }
        let mut seen = HashSet::with_capacity(got.len());
        for (id, at) in got {
            if at > end {
                continue;
            }
            if !seen.insert(id) {
                duplicate_deliveries += 1;
                continue;
            }
            let Some(t0) = sent.get(&id) else { continue };
            deliveries += 1;
            let us = u64::try_from(at.saturating_duration_since(*t0).as_micros()).unwrap_or(u64::MAX);
            hist.saturating_record(us.max(1));
            last_delivery = last_delivery.max(at);
        }
    }
    let duration = last_delivery.saturating_duration_since(start).as_secs_f64();
    Ok(Row {
        transport: spec.transport.name().to_string(),
        protocol: spec.protocol.name().to_string(),
        mode: if spec.protocol == ProtocolKind::Gossip { mode_name(spec.mode).to_string() } else { "-".to_string() },
        nodes: spec.nodes,
        fanout: spec.fanout,
        period_ms: spec.period.as_secs_f64() * 1e3,
        payload_bytes: spec.payload,
        loss: spec.loss,
        crash: spec.crash,
        seed: spec.seed,
        messages: spec.messages,
        expected_deliveries: expected,
        deliveries,
        delivery_ratio: ratio(deliveries as f64, expected as f64),
        duplicates: total.duplicates,
        duplicate_deliveries,
        latency_us: record::summarize(&hist),
        latency_cdf: record::cdf(&hist),
        duration_s: duration,
        deliveries_per_s: ratio(deliveries as f64, duration),
        packets_sent: total.packets,
        bytes_sent: total.bytes,
        packets_per_delivery: ratio(total.packets as f64, deliveries as f64),
        bytes_per_delivery: ratio(total.bytes as f64, deliveries as f64),
        cpu_s,
        cpu_us_per_delivery: (deliveries > 0).then(|| cpu_s * 1e6 / deliveries as f64),
        peak_rss_bytes: peak_rss,
        deliveries_per_node_s: Some(ratio(
            ratio(deliveries as f64, duration),
            if senders == 1 { receivers as f64 } else { alive as f64 },
        )),
        scenario: Some(spec.scenario.name().to_string()),
        window: spec.window,
        senders: Some(spec.senders),
        rate: Some(spec.rate),
        burst: Some(spec.burst),
        convergence_s: Some(convergence.as_secs_f64()),
        lagged: Some(lagged_total),
        ..Row::default()
    })
}
