//! Fault tests: gossip-runtime nodes (push-pull) on a MemNetwork under
//! loss, crashes and a healing partition. In every case every live member
//! delivers every message multicast by a live member, exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gossip_core::{Config, GroupId, MessageId, Mode};
use gossip_runtime::{Builder, Handle, StreamExt};
use transport_mem::{LinkModel, MemNetwork, NetConfig, NetHandle};

const N: u32 = 20;
const PERIOD: Duration = Duration::from_millis(50);
const DEADLINE: Duration = Duration::from_secs(60);
const GROUP: GroupId = GroupId(7);

/// Deliveries per node: message id → how many times it was delivered.
type Log = Arc<Mutex<Vec<HashMap<MessageId, u32>>>>;

struct Cluster {
    net: NetHandle,
    handles: Vec<Handle<u32>>,
    log: Log,
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

/// Waits for `condition`, checking every 10 ms, for at most `DEADLINE`.
async fn wait_for(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !condition().await {
        assert!(start.elapsed() < DEADLINE, "timed out after {DEADLINE:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn cluster(seed: u64, link: LinkModel) -> Cluster {
    let net = MemNetwork::new(NetConfig { seed, link, ..NetConfig::default() }).unwrap();
    let log: Log = Arc::new(Mutex::new(vec![HashMap::new(); N as usize]));
    let mut handles = Vec::new();
    for i in 0..N {
        let endpoint = net.bind(i).unwrap();
        let handle = Builder::new(endpoint).config(engine()).seed(seed * 1_000 + u64::from(i)).spawn().unwrap();
        let mut deliveries = handle.subscribe(GROUP).await.unwrap();
        let log = log.clone();
        tokio::spawn(async move {
            while let Some(item) = deliveries.next().await {
                let delivery = item.expect("the subscriber keeps up");
                *log.lock().unwrap()[i as usize].entry(delivery.id).or_default() += 1;
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

    /// Waits until every node of `live` delivered every message of
    /// `expected`, then a few more periods for late duplicates, and checks
    /// each was delivered exactly once. Returns how long the wait took.
    async fn all_delivered_once(&self, live: &[u32], expected: &[MessageId]) -> Duration {
        let start = Instant::now();
        let log = self.log.clone();
        wait_for("every live member to deliver every message", async || {
            let log = log.lock().unwrap();
            live.iter().all(|&i| expected.iter().all(|id| log[i as usize].contains_key(id)))
        })
        .await;
        let took = start.elapsed();
        tokio::time::sleep(PERIOD * 10).await;
        let log = self.log.lock().unwrap();
        for &i in live {
            for id in expected {
                assert_eq!(log[i as usize].get(id), Some(&1), "node {i} delivered {id} other than exactly once");
            }
            // Nothing else (a message from a crashed origin included) twice either.
            assert!(log[i as usize].values().all(|&c| c == 1), "node {i} delivered something twice");
        }
        took
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
         ({} datagrams sent, {} lost)",
        expected.len(),
        stats.packets,
        stats.dropped_loss
    );
    assert!(stats.dropped_loss > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
        "20% crashed: {} live members delivered all {} messages from live origins exactly once, {:?} after the crash \
         (settled {took:?} after the last multicast)",
        live.len(),
        expected.len(),
        start.elapsed().saturating_sub(PERIOD * 10)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
        let across: HashSet<&MessageId> = left.iter().flat_map(|&i| log[i as usize].keys()).collect();
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
         ({:?} including the duplicate check)",
        expected.len(),
        healed.elapsed()
    );
}
