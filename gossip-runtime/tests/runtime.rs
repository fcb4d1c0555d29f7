//! The runtime and the fault decorator over a tiny in-process transport.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use gossip_core::{Config, GroupId};
use gossip_runtime::{
    BuildError, Builder, Faults, FaultyTransport, Latency, LinkModel, Missed, RuntimeError, SharedLink, StreamExt,
    Transport, TransportError,
};
use tokio::sync::{Mutex as AsyncMutex, mpsc};

type Registry = Arc<Mutex<HashMap<u32, mpsc::Sender<(u32, Bytes)>>>>;

/// Bounded in-process datagrams addressed by number; drops when a queue is full.
struct Chan {
    me: u32,
    max: usize,
    registry: Registry,
    rx: AsyncMutex<mpsc::Receiver<(u32, Bytes)>>,
}

impl Chan {
    fn new(registry: &Registry, me: u32, max: usize) -> Self {
        let (tx, rx) = mpsc::channel(4096);
        registry.lock().unwrap().insert(me, tx);
        Chan { me, max, registry: registry.clone(), rx: AsyncMutex::new(rx) }
    }
}

#[async_trait]
impl Transport for Chan {
    type Address = u32;

    async fn send(&self, to: &u32, bytes: Bytes) -> Result<(), TransportError> {
        if bytes.len() > self.max {
            return Err(TransportError::Oversized { len: bytes.len(), max: self.max });
        }
        let peer = self.registry.lock().unwrap().get(to).cloned();
        match peer {
            None => Err(TransportError::BadAddress(format!("no node {to}"))),
            Some(tx) => {
                let _ = tx.try_send((self.me, bytes));
                Ok(())
            }
        }
    }

    async fn recv(&self) -> Result<(u32, Bytes), TransportError> {
        // mpsc::Receiver::recv is cancel-safe; so is taking the lock.
        self.rx.lock().await.recv().await.ok_or(TransportError::Closed)
    }

    fn local_addr(&self) -> u32 {
        self.me
    }

    fn max_packet_size(&self) -> usize {
        self.max
    }
}

fn fast() -> Config {
    Config::lan().to_builder().period(Duration::from_millis(10)).join_retry(Duration::from_millis(20)).build().unwrap()
}

#[tokio::test]
async fn conformance_suite_passes_on_an_in_process_transport() {
    let registry = Registry::default();
    let mut next = 0;
    gossip_runtime::conformance::run_all(
        || {
            next += 2;
            let pair = (Chan::new(&registry, next, 1200), Chan::new(&registry, next + 1, 1200));
            async move { pair }
        },
        vec![9999],
    )
    .await;
}

#[tokio::test]
async fn conformance_suite_passes_through_a_fault_free_decorator() {
    let registry = Registry::default();
    let mut next = 0;
    gossip_runtime::conformance::run_all(
        || {
            next += 2;
            let a = FaultyTransport::new(Chan::new(&registry, next, 1200), Faults::default());
            let b = FaultyTransport::new(Chan::new(&registry, next + 1, 1200), Faults::default());
            async move { (a, b) }
        },
        vec![9999],
    )
    .await;
}

async fn count_lost(seed: u64) -> (u64, usize) {
    let registry = Registry::default();
    let a = FaultyTransport::new(Chan::new(&registry, 1, 1200), Faults::loss(0.3, seed).unwrap());
    let b = Chan::new(&registry, 2, 1200);
    for i in 0..2000u32 {
        a.send(&2, Bytes::copy_from_slice(&i.to_le_bytes())).await.unwrap();
    }
    let mut got = 0;
    while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(50), b.recv()).await {
        got += 1;
    }
    (a.fault_stats().lost, got)
}

#[tokio::test(start_paused = true)]
async fn loss_is_seeded_and_counted() {
    let (lost, got) = count_lost(5).await;
    assert_eq!(lost as usize + got, 2000);
    assert!((500..700).contains(&lost), "lost {lost} of 2000 at p = 0.3");
    assert_eq!(count_lost(5).await, (lost, got), "same seed, same losses");
    assert_ne!(count_lost(6).await.0, lost, "another seed, other losses");
}

#[tokio::test(start_paused = true)]
async fn delay_duplication_and_reordering() {
    let registry = Registry::default();
    let link = LinkModel::new()
        .with_latency(Latency::Fixed(Duration::from_millis(50)))
        .unwrap()
        .with_duplicate(0.5)
        .unwrap()
        .with_reorder(0.5, Duration::from_millis(20))
        .unwrap();
    let faults = Faults::new(link, 3);
    let a = FaultyTransport::new(Chan::new(&registry, 1, 1200), faults);
    let b = Chan::new(&registry, 2, 1200);
    let start = tokio::time::Instant::now();
    for i in 0..200u32 {
        a.send(&2, Bytes::copy_from_slice(&i.to_le_bytes())).await.unwrap();
    }
    let mut order = Vec::new();
    while let Ok(Ok((_, bytes))) = tokio::time::timeout(Duration::from_secs(1), b.recv()).await {
        assert!(start.elapsed() >= Duration::from_millis(50), "arrived before the fixed delay");
        order.push(u32::from_le_bytes(bytes[..4].try_into().unwrap()));
    }
    let stats = a.fault_stats();
    assert_eq!(order.len() as u64, 200 + stats.duplicated);
    assert!(stats.duplicated > 50 && stats.reordered > 50, "{stats:?}");
    assert!(order.windows(2).any(|w| w[0] > w[1]), "nothing was reordered");
    let mut distinct = order.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 200, "every datagram arrives at least once");
}

/// Receives on `rx` until nothing more can arrive (virtual time: the
/// timeout fires only once every timer before it has run).
async fn drain(rx: &impl Transport<Address = u32>) -> Vec<u32> {
    let mut got = Vec::new();
    while let Ok(Ok((_, bytes))) = tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
        got.push(u32::from_le_bytes(bytes[..4].try_into().unwrap()));
    }
    got
}

#[tokio::test(start_paused = true)]
async fn a_crashed_node_sends_and_receives_nothing_until_restarted() {
    let registry = Registry::default();
    let link = SharedLink::new(LinkModel::new().with_latency(Latency::Fixed(Duration::from_millis(30))).unwrap());
    let a = FaultyTransport::new(Chan::new(&registry, 1, 1200), Faults::member(&link, 1, 1));
    let b = FaultyTransport::new(Chan::new(&registry, 2, 1200), Faults::member(&link, 2, 2));
    let send = async |t: &FaultyTransport<Chan>, to: u32, i: u32| {
        t.send(&to, Bytes::copy_from_slice(&i.to_le_bytes())).await.unwrap()
    };
    // In flight when its sender crashes: dropped when it comes due.
    send(&a, 2, 0).await;
    assert!(link.crash(1));
    send(&a, 2, 1).await;
    assert_eq!(drain(&b).await, Vec::<u32>::new());
    // What a crashed node is sent reaches its transport but not its caller.
    send(&b, 1, 2).await;
    let got = tokio::time::timeout(Duration::from_secs(1), a.recv()).await;
    assert!(got.is_err(), "a crashed node received {got:?}");
    assert_eq!(a.fault_stats().down, 3, "{:?}", a.fault_stats());
    assert_eq!(a.stats().dropped, 3);
    // Restarted: both directions work again.
    assert!(link.restart(1));
    send(&a, 2, 3).await;
    send(&b, 1, 4).await;
    assert_eq!(drain(&b).await, vec![3]);
    assert_eq!(drain(&a).await, vec![4]);
    assert_eq!(b.fault_stats().down, 0);
}

#[tokio::test(start_paused = true)]
async fn with_peer_indices_partitions_and_crashed_receivers_apply() {
    let registry = Registry::default();
    let link = SharedLink::new(LinkModel::new());
    // Addresses 10, 11, 12 are nodes 0, 1, 2 of the model.
    let index = |addr: &u32| addr.checked_sub(10).filter(|i| *i < 3);
    let a = FaultyTransport::new(Chan::new(&registry, 10, 1200), Faults::member(&link, 0, 1)).with_peers(index);
    let b = Chan::new(&registry, 11, 1200);
    let c = Chan::new(&registry, 12, 1200);
    let send = async |to: u32, i: u32| a.send(&to, Bytes::copy_from_slice(&i.to_le_bytes())).await.unwrap();
    link.partition(&[vec![0, 1], vec![2]]);
    send(11, 0).await;
    send(12, 1).await;
    link.heal();
    link.crash(1);
    send(11, 2).await;
    send(12, 3).await;
    assert_eq!(drain(&b).await, vec![0]);
    assert_eq!(drain(&c).await, vec![3]);
    let stats = a.fault_stats();
    assert_eq!((stats.partitioned, stats.down), (1, 1), "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn the_delay_queue_is_capped_and_counts_what_it_refuses() {
    let registry = Registry::default();
    let link = LinkModel::new().with_latency(Latency::Fixed(Duration::from_millis(50))).unwrap();
    let faults = Faults { max_delayed: 10, ..Faults::new(link, 9) };
    let a = FaultyTransport::new(Chan::new(&registry, 1, 1200), faults);
    let b = Chan::new(&registry, 2, 1200);
    for i in 0..30u32 {
        a.send(&2, Bytes::copy_from_slice(&i.to_le_bytes())).await.unwrap();
    }
    assert_eq!(drain(&b).await, (0..10).collect::<Vec<u32>>(), "the first ten wait, in order");
    let stats = a.fault_stats();
    assert_eq!((stats.delayed, stats.delay_queue_full), (10, 20), "{stats:?}");
    assert_eq!(a.stats().dropped, 20);
    // Once they went out there is room again.
    a.send(&2, Bytes::copy_from_slice(&99u32.to_le_bytes())).await.unwrap();
    assert_eq!(drain(&b).await, vec![99]);
}

#[tokio::test]
async fn packet_size_is_checked_at_build_time() {
    let registry = Registry::default();
    let small = Chan::new(&registry, 1, 600);
    let err = Builder::new(small).config(Config::lan()).spawn().err().expect("1200 > 600 must be refused");
    assert!(matches!(err, BuildError::PacketTooLarge { engine: 1200, transport: 600 }), "{err}");
    // Without an explicit config the packet size is lowered to fit.
    let small = Chan::new(&registry, 2, 600);
    assert!(Builder::new(small).spawn().is_ok());
}

#[tokio::test]
async fn a_slow_subscriber_is_told_it_lagged_and_never_blocks_the_node() {
    let registry = Registry::default();
    let group = GroupId(1);
    let a = Builder::new(Chan::new(&registry, 1, 1200)).config(fast()).seed(1).spawn().unwrap();
    let b = Builder::new(Chan::new(&registry, 2, 1200)).config(fast()).seed(2).subscriber_capacity(16).spawn().unwrap();
    let mut slow = b.subscribe(group).await.unwrap();
    let mut fast_sub = b.subscribe(group).await.unwrap();
    a.join(vec![2]).await.unwrap();
    // Wait until a knows b.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while a.members().await.unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no membership");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while n < 100 {
            if let Some(Ok(_)) = fast_sub.next().await {
                n += 1;
            }
        }
    });
    for i in 0..100u32 {
        a.multicast(group, i.to_le_bytes().to_vec()).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(10), reader).await.expect("the fast subscriber got everything").unwrap();
    // The slow one held at most 16: it hears how many it missed, then the rest.
    let first = slow.next().await.unwrap();
    let Err(Missed::Lagged(missed)) = first else { panic!("expected a lag signal, got {first:?}") };
    assert_eq!(missed, 100 - 16);
    let mut rest = 0;
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(100), slow.next()).await {
        item.unwrap();
        rest += 1;
    }
    assert_eq!(rest, 16);
    let stats = b.stats().await.unwrap();
    assert_eq!(stats.lagged, 84);
    assert_eq!(stats.lag_events, 1);
    assert_eq!(stats.engine.deliveries, 100);
}

#[tokio::test]
async fn shutdown_ends_streams_and_refuses_calls() {
    let registry = Registry::default();
    let group = GroupId(1);
    let a = Builder::new(Chan::new(&registry, 1, 1200)).config(fast()).seed(1).spawn().unwrap();
    let mut sub = a.subscribe(group).await.unwrap();
    let id = a.multicast(group, &b"mine"[..]).await.unwrap();
    let own = sub.next().await.unwrap().unwrap();
    assert_eq!(own.id, id, "a member delivers its own multicast");
    let other = a.clone();
    a.shutdown().await;
    other.shutdown().await; // idempotent, from another handle
    assert!(sub.next().await.is_none(), "the stream ends");
    assert_eq!(a.multicast(group, &b"late"[..]).await, Err(RuntimeError::Closed));
    assert!(matches!(a.stats().await, Err(RuntimeError::Closed)));
}

/// A burst of awaited multicasts completes while a flood of packets keeps
/// the transport busy: each loop turn serves queued commands first, so
/// packets cannot starve them.
#[tokio::test(start_paused = true)]
async fn commands_complete_during_a_flood_of_packets() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let registry = Registry::default();
    let node = Chan::new(&registry, 1, 1200);
    let inbox = registry.lock().unwrap().get(&1).cloned().expect("node 1 registered");
    let handle = Builder::new(node).config(fast()).seed(5).spawn().unwrap();
    let group = GroupId::named("flood");
    let _deliveries = handle.subscribe(group).await.unwrap();
    const FLOOD: usize = 300_000;
    let sent = Arc::new(AtomicUsize::new(0));
    let flooder = {
        let sent = sent.clone();
        tokio::spawn(async move {
            for _ in 0..FLOOD {
                // Well-formed enough to be read, garbage all the same.
                if inbox.send((99, Bytes::from_static(&[2, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0x3f]))).await.is_err() {
                    break;
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    tokio::task::yield_now().await;
    for i in 0..1_000u32 {
        handle.multicast(group, Bytes::from(i.to_le_bytes().to_vec())).await.unwrap();
    }
    let at = sent.load(Ordering::Relaxed);
    assert!(at < FLOOD, "the multicasts completed only after the flood ({at} of {FLOOD} packets)");
    // The queued publish path reports back-pressure instead of waiting.
    let mut full = false;
    for _ in 0..100_000 {
        if handle.try_multicast(group, &b"x"[..]) == Err(gossip_runtime::TryMulticastError::Full) {
            full = true;
            break;
        }
    }
    assert!(full, "a command queue that never fills is not bounded");
    flooder.abort();
    handle.shutdown().await;
}

/// `wait_for_members(n)` returns once the view holds `n` other live members.
#[tokio::test(start_paused = true)]
async fn wait_for_members_returns_when_the_view_is_complete() {
    let registry = Registry::default();
    let handles: Vec<_> = (0..4u32)
        .map(|i| Builder::new(Chan::new(&registry, 100 + i, 1200)).config(fast()).seed(u64::from(i)).spawn().unwrap())
        .collect();
    for handle in &handles[1..] {
        handle.join(vec![100]).await.unwrap();
    }
    for handle in &handles {
        tokio::time::timeout(Duration::from_secs(30), handle.wait_for_members(3))
            .await
            .expect("every view becomes complete")
            .unwrap();
        assert_eq!(handle.members().await.unwrap().len(), 3);
    }
    for handle in handles {
        handle.shutdown().await;
    }
}
