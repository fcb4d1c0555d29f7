//! Fault tests: gossip-runtime nodes (push-pull) on a MemNetwork under
//! loss, duplication and reordering, crashes, a restart and a healing
//! partition. In every case every live member delivers every message
//! multicast by a live member, exactly once.
//!
//! Everything runs in virtual time on one thread (`start_paused`): the
//! network, the runtime and the checks use tokio's clock only, so a run is
//! reproducible and its waits cost no wall-clock time. No check waits a
//! fixed time: each waits for a condition, under a virtual deadline that
//! fails the test.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gossip_core::{Config, GroupId, MessageId, Mode};
use gossip_runtime::{Builder, Handle, StreamExt};
use tokio::time::Instant;
use transport_mem::{Latency, LinkModel, MemNetwork, NetConfig, NetHandle};

const N: u32 = 20;
const PERIOD: Duration = Duration::from_millis(50);
/// Virtual time any one wait may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(120);
const GROUP: GroupId = GroupId(7);

/// What the subscribers saw.
#[derive(Default)]
struct Log {
    /// Per node: message id → how many times it was delivered.
    deliveries: Vec<HashMap<MessageId, u32>>,
    /// When the last delivery anywhere happened.
    last: Option<Instant>,
    /// Lag signals (a subscriber fell behind and missed deliveries).
    lagged: u64,
}

type SharedLog = Arc<Mutex<Log>>;

struct Cluster {
    net: NetHandle,
    handles: Vec<Handle<u32>>,
    log: SharedLog,
}

fn engine() -> Config {
    Config::lan()
        .to_builder()
        .mode(Mode::PushPull)
        .fanout(3)
        .period(PERIOD)
        .probe_interval(PERIOD * 10)
        .probe_timeout(PERIOD * 5)
        .join_retry(PERIOD * 2)
        .build()
        .unwrap()
}

/// Waits for `condition`, checking every 10 ms of virtual time, for at most
/// `DEADLINE`.
async fn wait_for(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !condition().await {
        assert!(start.elapsed() < DEADLINE, "timed out after {DEADLINE:?} (virtual) waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn cluster(seed: u64, link: LinkModel) -> Cluster {
    let net = MemNetwork::new(NetConfig { seed, link, ..NetConfig::default() }).unwrap();
    let log = SharedLog::new(Mutex::new(Log { deliveries: vec![HashMap::new(); N as usize], ..Log::default() }));
    let mut handles = Vec::new();
    for i in 0..N {
        let endpoint = net.bind(i).unwrap();
        let handle = Builder::new(endpoint).config(engine()).seed(seed * 1_000 + u64::from(i)).spawn().unwrap();
        let mut deliveries = handle.subscribe(GROUP).await.unwrap();
        let log = log.clone();
        tokio::spawn(async move {
            while let Some(item) = deliveries.next().await {
                let mut log = log.lock().unwrap();
                match item {
                    Ok(delivery) => {
                        *log.deliveries[i as usize].entry(delivery.id).or_default() += 1;
                        log.last = Some(Instant::now());
                    }
                    Err(_) => log.lagged += 1,
                }
            }
        });
        handles.push(handle);
    }
    for handle in &handles[1..] {
        handle.join(vec![0]).await.unwrap();
    }
    let all = handles.clone();
    wait_for("full membership", async || {
        for handle in &all {
            if handle.live_members().await.unwrap().len() < (N - 1) as usize {
                return false;
            }
        }
        true
    })
    .await;
    Cluster { net: net.handle(), handles, log }
}

impl Cluster {
    async fn multicast(&self, from: u32, tag: &str) -> MessageId {
        self.handles[from as usize].multicast(GROUP, format!("{tag} from {from}").into_bytes()).await.unwrap()
    }

    /// Every node of `live` delivered every message of `expected` exactly
    /// once, and nothing twice; no subscriber fell behind.
    fn check_exactly_once(&self, live: &[u32], expected: &[MessageId]) {
        let log = self.log.lock().unwrap();
        assert_eq!(log.lagged, 0, "a subscriber fell behind: deliveries were not observed");
        for &i in live {
            let seen = &log.deliveries[i as usize];
            for id in expected {
                assert_eq!(seen.get(id), Some(&1), "node {i} delivered {id} other than exactly once");
            }
            // Nothing else (a message from a crashed origin included) twice either.
            assert!(seen.values().all(|&c| c == 1), "node {i} delivered something twice");
        }
    }

    /// Waits until every node of `live` delivered every message of
    /// `expected`, then until no copy of any message can still arrive, and
    /// checks each was delivered exactly once. Returns how long (virtual
    /// time) the first wait took.
    ///
    /// "No copy can still arrive" is a condition, not a pause: a node
    /// buffers a message for `retention` after it first received it and
    /// never sends it after that, so once `retention` (and two periods for
    /// the buffer's sweep) has passed since the last delivery anywhere, and
    /// the network holds nothing in flight and no inbox holds anything, no
    /// late duplicate exists any more. A re-delivery would move the last
    /// delivery, and so the condition, forward.
    async fn all_delivered_once(&self, live: &[u32], expected: &[MessageId]) -> Duration {
        let start = Instant::now();
        let log = self.log.clone();
        wait_for("every live member to deliver every message", async || {
            let log = log.lock().unwrap();
            live.iter().all(|&i| expected.iter().all(|id| log.deliveries[i as usize].contains_key(id)))
        })
        .await;
        let took = start.elapsed();
        let horizon = engine().retention() + PERIOD * 2;
        let net = self.net.clone();
        wait_for("every copy to be forgotten and the network drained", async || {
            let last = log.lock().unwrap().last;
            last.is_some_and(|at| at.elapsed() >= horizon) && net.is_drained()
        })
        .await;
        self.check_exactly_once(live, expected);
        // The engines agree with what their subscribers saw, and they did
        // receive (and suppress) redundant copies: the check covered real
        // duplicate traffic.
        let mut suppressed = 0;
        for &i in live {
            let stats = self.handles[i as usize].stats().await.unwrap().engine;
            let seen: u32 = self.log.lock().unwrap().deliveries[i as usize].values().sum();
            assert_eq!(stats.deliveries, u64::from(seen), "node {i}: engine and subscriber disagree");
            suppressed += stats.duplicates;
        }
        assert!(suppressed > 0, "no redundant copy arrived anywhere: the duplicate check saw nothing");
        // The network accounts for every copy: each was delivered, is in
        // flight, or was dropped for a counted reason.
        let s = self.net.stats();
        let dropped = s.dropped_loss + s.dropped_partition + s.dropped_down + s.dropped_queue_full;
        assert_eq!(s.packets + s.duplicated, s.delivered + s.in_flight + dropped, "the network lost track: {s:?}");
        took
    }
}

#[tokio::test(start_paused = true)]
async fn ten_percent_loss() {
    let start = Instant::now();
    let c = cluster(1, LinkModel::new().with_loss(0.1).unwrap()).await;
    let formed = start.elapsed();
    let mut expected = Vec::new();
    for round in 0..5 {
        for origin in [0, 5, 11, 19] {
            expected.push(c.multicast(origin, &format!("m{round}")).await);
        }
    }
    let live: Vec<u32> = (0..N).collect();
    let took = c.all_delivered_once(&live, &expected).await;
    let stats = c.net.stats();
    println!(
        "10% loss: {N} members formed in {formed:?}; all {} messages delivered exactly once at every member in {took:?} \
         (virtual time; {} datagrams sent, {} lost)",
        expected.len(),
        stats.packets,
        stats.dropped_loss
    );
    assert!(stats.dropped_loss > 0);
}

#[tokio::test(start_paused = true)]
async fn duplicating_and_reordering_links() {
    let link = LinkModel::new()
        .with_latency(Latency::Uniform { min: Duration::from_millis(1), max: Duration::from_millis(10) })
        .unwrap()
        .with_duplicate(0.2)
        .unwrap()
        .with_reorder(0.3, Duration::from_millis(40))
        .unwrap();
    let c = cluster(4, link).await;
    let mut expected = Vec::new();
    for round in 0..5 {
        for origin in [2, 9, 17] {
            expected.push(c.multicast(origin, &format!("d{round}")).await);
        }
    }
    let live: Vec<u32> = (0..N).collect();
    let took = c.all_delivered_once(&live, &expected).await;
    let stats = c.net.stats();
    println!(
        "duplicating, reordering links: all {} messages delivered exactly once at every member in {took:?} \
         (virtual time; {} datagrams sent, {} duplicated, {} held back)",
        expected.len(),
        stats.packets,
        stats.duplicated,
        stats.reordered
    );
    assert!(stats.duplicated > 0 && stats.reordered > 0, "{stats:?}");
    assert_eq!(
        stats.delivered + stats.in_flight,
        stats.packets + stats.duplicated,
        "a link without loss loses nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn twenty_percent_crashed_mid_run() {
    let c = cluster(2, LinkModel::new()).await;
    let crashed: Vec<u32> = vec![3, 8, 13, 18];
    let live: Vec<u32> = (0..N).filter(|i| !crashed.contains(i)).collect();
    let mut expected = Vec::new();
    // A first wave, still spreading when the crash hits; a crashed node's
    // message is multicast too but need not arrive.
    for origin in [0, 6, 12] {
        expected.push(c.multicast(origin, "before").await);
    }
    c.multicast(18, "doomed").await;
    let start = Instant::now();
    for &node in &crashed {
        c.net.crash(node);
    }
    for round in 0..3 {
        for origin in [1, 7, 14, 19] {
            expected.push(c.multicast(origin, &format!("after{round}")).await);
        }
    }
    let took = c.all_delivered_once(&live, &expected).await;
    println!(
        "20% crashed: {} live members delivered all {} messages from live origins exactly once, {took:?} after the \
         crash (virtual time; drained {:?} after it)",
        live.len(),
        expected.len(),
        start.elapsed()
    );
    assert!(c.net.stats().dropped_down > 0, "nothing was sent to or by a crashed node");
}

#[tokio::test(start_paused = true)]
async fn a_restarted_node_catches_up() {
    let c = cluster(5, LinkModel::new()).await;
    let node = 4;
    c.net.crash(node);
    let mut expected = Vec::new();
    for round in 0..3 {
        expected.push(c.multicast(0, &format!("while down {round}")).await);
    }
    // It misses them while down: everyone else has them first.
    let others: Vec<u32> = (0..N).filter(|&i| i != node).collect();
    let log = c.log.clone();
    wait_for("the others to deliver", async || {
        let log = log.lock().unwrap();
        others.iter().all(|&i| expected.iter().all(|id| log.deliveries[i as usize].contains_key(id)))
    })
    .await;
    assert!(log.lock().unwrap().deliveries[node as usize].is_empty(), "a crashed node delivered something");
    // Back up with its state, it pulls them; messages after the restart reach it too.
    assert!(c.net.restart(node));
    expected.push(c.multicast(node, "back").await);
    expected.push(c.multicast(11, "after").await);
    let live: Vec<u32> = (0..N).collect();
    let took = c.all_delivered_once(&live, &expected).await;
    println!("restart: node {node} caught up on {} messages in {took:?} (virtual time)", expected.len());
}

#[tokio::test(start_paused = true)]
async fn partition_that_heals() {
    let c = cluster(3, LinkModel::new()).await;
    let left: Vec<u32> = (0..N / 2).collect();
    let right: Vec<u32> = (N / 2..N).collect();
    c.net.partition(&[left.clone(), right.clone()]);
    let mut expected = Vec::new();
    for round in 0..3 {
        expected.push(c.multicast(2, &format!("left{round}")).await);
        expected.push(c.multicast(15, &format!("right{round}")).await);
    }
    // Both sides notice the split (members time out) before the network heals.
    let probe = [c.handles[0].clone(), c.handles[(N - 1) as usize].clone()];
    wait_for("each side to consider the other down", async || {
        for handle in &probe {
            if handle.live_members().await.unwrap().len() >= (N - 1) as usize {
                return false;
            }
        }
        true
    })
    .await;
    {
        let log = c.log.lock().unwrap();
        let across: HashSet<&MessageId> = left.iter().flat_map(|&i| log.deliveries[i as usize].keys()).collect();
        assert!(
            expected.iter().filter(|id| across.contains(id)).count() == expected.len() / 2,
            "nothing crossed the partition"
        );
    }
    let healed = Instant::now();
    c.net.heal();
    expected.push(c.multicast(9, "healed").await);
    let live: Vec<u32> = (0..N).collect();
    let took = c.all_delivered_once(&live, &expected).await;
    println!(
        "partition healed: all {N} members delivered all {} messages exactly once {took:?} after the heal \
         (virtual time; {:?} including the drain)",
        expected.len(),
        healed.elapsed()
    );
}
