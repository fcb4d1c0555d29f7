//! The multi-host suite: 12 `gossip-node` agents, one per network
//! namespace on a bridge, checked through their HTTP API: every live member
//! delivers every message exactly once on a clean network, with 20% loss,
//! with 3 of 12 killed mid-run, after a restart at the same address, and
//! across a 20 s partition and its healing (re-merge time reported); a
//! 13th node with the wrong key (UDP) or a foreign CA (QUIC) stays isolated
//! and is counted. Once over UDP, once over QUIC, one after the other.
//!
//! Needs root, `ip` (iproute2) and `nft` (nftables): without them each test
//! prints one `SKIP` line saying why. Every wait is bounded; namespaces and
//! processes are removed on failure too (drop guards).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gossip_tests::hosts::agent::{Agent, GROUP, Security, wait_until};
use gossip_tests::hosts::http::{Deliveries, publish};
use gossip_tests::hosts::net::{self, Net};

const BINARY: &str = env!("CARGO_BIN_EXE_hosts-gossip-node");
/// Cluster size; host 13 is the intruder.
const HOSTS: usize = 12;
const INTRUDER: usize = 13;
/// The hosts that publish.
const SENDERS: [usize; 3] = [1, 4, 7];

/// The two suites share the machine's 2 cores: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Fields drop in order: the agents before the network they run in.
struct Cluster {
    agents: Vec<Option<Agent>>,
    streams: Vec<Option<Deliveries>>,
    logs: PathBuf,
    security: Box<dyn Fn(usize) -> Security>,
    sent: usize,
    net: Net,
}

impl Cluster {
    /// Starts host `n`; returns how long it took to become ready.
    fn start(&mut self, n: usize) -> Duration {
        let agent = Agent::start(Path::new(BINARY), &self.net, n, &(self.security)(n), &self.logs);
        let ready = wait_until(Duration::from_secs(60), || agent.ready());
        let ready = ready.unwrap_or_else(|| panic!("host {n} never became ready (log in {})", self.logs.display()));
        self.streams[n] = Some(Deliveries::open(agent.http, GROUP).expect("delivery stream"));
        self.agents[n] = Some(agent);
        ready
    }

    fn live(&self) -> Vec<usize> {
        (1..=HOSTS).filter(|&n| self.agents[n].is_some()).collect()
    }

    fn agent(&self, n: usize) -> &Agent {
        self.agents[n].as_ref().expect("live host")
    }

    /// Publishes `count` messages from `senders`, round robin.
    fn publish(&mut self, senders: &[usize], count: usize) -> Vec<String> {
        let mut ids = Vec::new();
        for i in 0..count {
            let from = senders[i % senders.len()];
            self.sent += 1;
            let text = format!("message {} from h{from}", self.sent);
            ids.push(publish(self.agent(from).http, GROUP, &text).unwrap_or_else(|| panic!("publish at h{from}")));
        }
        ids
    }

    /// Waits until every host in `hosts` delivered every id; returns the
    /// time that took and the delivery latencies in microseconds.
    fn delivered(&self, hosts: &[usize], ids: &[String], within: Duration, what: &str) -> (Duration, Vec<u64>) {
        let missing = |n: usize| {
            let seen = self.streams[n].as_ref().expect("stream").seen.lock().unwrap_or_else(|p| p.into_inner());
            ids.iter().filter(|id| !seen.counts.contains_key(*id)).count()
        };
        let took = wait_until(within, || hosts.iter().all(|&n| missing(n) == 0));
        let report: Vec<String> = hosts.iter().map(|&n| format!("h{n} missed {}", missing(n))).collect();
        let took =
            took.unwrap_or_else(|| panic!("{what}: not every host delivered all {} messages: {report:?}", ids.len()));
        let mut latencies = Vec::new();
        for &n in hosts {
            let seen = self.streams[n].as_ref().expect("stream").seen.lock().unwrap_or_else(|p| p.into_inner());
            latencies.extend(ids.iter().filter_map(|id| seen.latency_us.get(id)));
        }
        (took, latencies)
    }

    /// No host ever delivered a message twice, nor lagged.
    fn exactly_once(&self) {
        for (n, stream) in self.streams.iter().enumerate() {
            let Some(stream) = stream else { continue };
            let seen = stream.seen.lock().unwrap_or_else(|p| p.into_inner());
            assert_eq!(seen.lagged, 0, "h{n} lagged");
            let twice: Vec<_> = seen.counts.iter().filter(|(_, c)| **c != 1).collect();
            assert!(twice.is_empty(), "h{n} delivered more than once: {twice:?}");
        }
    }

    /// Every live host lists every other live host.
    fn merged(&self) -> bool {
        let live = self.live();
        live.iter().all(|&n| self.agent(n).others() >= live.len() - 1)
    }
}

fn percentiles(mut v: Vec<u64>) -> String {
    if v.is_empty() {
        return "no samples".into();
    }
    v.sort_unstable();
    let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    format!("latency ms p50 {:.1} p90 {:.1} p99 {:.1} max {:.1} (n={})", p(0.5), p(0.9), p(0.99), p(1.0), v.len())
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Key files or certificate directories for hosts 1-12, and wrong ones for the intruder.
fn security(transport: &str, dir: &Path) -> Box<dyn Fn(usize) -> Security> {
    match transport {
        "udp" => {
            let (good, bad) = (dir.join("cluster.key"), dir.join("intruder.key"));
            gossip_node::keys::append_new(&good, 1).expect("key");
            gossip_node::keys::append_new(&bad, 1).expect("key");
            Box::new(move |n| Security::Udp(if n == INTRUDER { bad.clone() } else { good.clone() }))
        }
        _ => {
            let cluster = transport_quic::ClusterCa::generate("hosts suite CA").expect("CA");
            let foreign = transport_quic::ClusterCa::generate("foreign CA").expect("CA");
            for n in 1..=INTRUDER {
                let ca = if n == INTRUDER { &foreign } else { &cluster };
                let host = dir.join(format!("h{n}"));
                std::fs::create_dir_all(&host).expect("dir");
                let id = ca.issue_for(&format!("h{n}"), transport_quic::DEFAULT_SERVER_NAME).expect("cert");
                write(&host.join("ca.pem"), ca.cert_pem());
                write(&host.join("node.pem"), id.cert_pem());
                write(&host.join("node.key"), id.key_pem());
            }
            let dir = dir.to_owned();
            Box::new(move |n| Security::Quic(dir.join(format!("h{n}"))))
        }
    }
}

fn suite(transport: &str, subnet: u8) {
    if let Some(why) = net::unsupported() {
        println!("SKIP hosts suite over {transport}: {why}");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = std::env::temp_dir().join(format!("gossip-hosts-{transport}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut c = Cluster {
        agents: (0..=INTRUDER).map(|_| None).collect(),
        streams: (0..=INTRUDER).map(|_| None).collect(),
        logs: dir.clone(),
        security: security(transport, &dir),
        sent: 0,
        net: Net::new(&format!("gs{}", &transport[..1]), subnet, INTRUDER),
    };
    let t = Instant::now();
    for n in 1..=HOSTS {
        let _ = c.start(n);
    }
    let formed = wait_until(Duration::from_secs(30), || c.merged()).expect("the 12 hosts never formed one cluster");
    let mut lines =
        vec![format!("formed: 12 hosts ready and merged {:.1} s after the first start", (t.elapsed()).as_secs_f64())];
    let _ = formed;
    let all: Vec<usize> = c.live();

    // Clean network.
    let ids = c.publish(&SENDERS, 60);
    let (took, lat) = c.delivered(&all, &ids, Duration::from_secs(20), "clean");
    lines.push(format!("clean: 60 messages x 12 hosts delivered in {:.2} s; {}", took.as_secs_f64(), percentiles(lat)));

    // 20% of datagrams lost at every host.
    c.net.loss(20);
    let ids = c.publish(&SENDERS, 60);
    let (took, lat) = c.delivered(&all, &ids, Duration::from_secs(30), "20% loss");
    let lost = c.net.lost();
    c.net.heal();
    assert!(lost > 0, "the loss rules dropped nothing");
    lines.push(format!(
        "20% loss ({lost} datagrams dropped): 60 messages x 12 hosts delivered in {:.2} s; {}",
        took.as_secs_f64(),
        percentiles(lat)
    ));

    // 3 of 12 killed mid-run.
    let mut ids = c.publish(&SENDERS, 30);
    for n in [10, 11, 12] {
        c.agents[n].take().expect("live").kill();
        c.streams[n] = None;
    }
    ids.extend(c.publish(&SENDERS, 30));
    let live = c.live();
    let (took, lat) = c.delivered(&live, &ids, Duration::from_secs(30), "3 of 12 killed");
    lines.push(format!(
        "3 killed: 60 messages x 9 survivors delivered in {:.2} s; {}",
        took.as_secs_f64(),
        percentiles(lat)
    ));

    // A restart at the same address. QUIC: the survivors' stale
    // connections to h12's old process are replaced when it dials in.
    let replaced_by = |c: &Cluster, hosts: &[usize]| -> u64 {
        hosts.iter().filter_map(|&n| c.agent(n).stats()["transport_detail"]["connections_replaced"].as_u64()).sum()
    };
    let survivors = c.live();
    let replaced_before = replaced_by(&c, &survivors);
    let ready = c.start(12);
    let back = wait_until(Duration::from_secs(30), || c.agent(1).others() >= 9 && c.agent(12).others() >= 9)
        .expect("the restarted host never rejoined");
    let live = c.live();
    let ids = c.publish(&SENDERS, 20);
    let (took, _) = c.delivered(&live, &ids, Duration::from_secs(20), "after a restart");
    let replaced = match transport {
        "quic" => format!(
            "; survivors replaced {} cached connections",
            replaced_by(&c, &survivors).saturating_sub(replaced_before)
        ),
        _ => String::new(),
    };
    lines.push(format!(
        "restart: h12 ready {:.1} s after its restart, in view {:.1} s later; 20 messages x 10 hosts in {:.2} s{replaced}",
        ready.as_secs_f64(),
        back.as_secs_f64(),
        took.as_secs_f64()
    ));

    // A 20 s partition: hosts 1-5 against 6-9 and 12.
    let side_a: Vec<usize> = live.iter().copied().filter(|&n| n <= 5).collect();
    let side_b: Vec<usize> = live.iter().copied().filter(|&n| n > 5).collect();
    c.net.partition(&side_a);
    let split = Instant::now();
    let ids_a = c.publish(&[1, 3], 10);
    let ids_b = c.publish(&[7, 9], 10);
    c.delivered(&side_a, &ids_a, Duration::from_secs(15), "partition, side A");
    c.delivered(&side_b, &ids_b, Duration::from_secs(15), "partition, side B");
    let split_seen = wait_until(Duration::from_secs(18), || c.agent(1).others() < side_a.len())
        .expect("host 1 still lists the other side of the partition");
    std::thread::sleep(Duration::from_secs(20).saturating_sub(split.elapsed()));
    c.net.heal();
    let healed = Instant::now();
    let remerge = wait_until(Duration::from_secs(40), || c.merged()).expect("no re-merge within 40 s of healing");
    let ids = c.publish(&SENDERS, 20);
    let (took, _) = c.delivered(&live, &ids, Duration::from_secs(20), "after healing");
    let crossed = {
        let mut crossed = 0;
        let mut total = 0;
        for (hosts, ids) in [(&side_b, &ids_a), (&side_a, &ids_b)] {
            for &n in hosts {
                let seen = c.streams[n].as_ref().expect("stream").seen.lock().unwrap_or_else(|p| p.into_inner());
                total += ids.len();
                crossed += ids.iter().filter(|id| seen.counts.contains_key(*id)).count();
            }
        }
        format!("{crossed} of {total}")
    };
    lines.push(format!(
        "partition 20 s: the other side dropped from view after {:.1} s; re-merged {:.1} s after healing; 20 new messages x 10 hosts in {:.2} s ({:.1} s after healing); \
         partition-time messages that reached the other side: {crossed}",
        split_seen.as_secs_f64(),
        remerge.as_secs_f64(),
        took.as_secs_f64(),
        healed.elapsed().as_secs_f64()
    ));

    // An intruder with the wrong key or a foreign CA.
    let failures = |c: &Cluster| -> u64 {
        c.live()
            .iter()
            .map(|&n| {
                let s = c.agent(n).stats();
                s["transport"]["auth_failures"].as_u64().unwrap_or(0)
                    + s["transport_detail"]["handshake_failures"].as_u64().unwrap_or(0)
            })
            .sum()
    };
    let before = failures(&c);
    let intruder = Agent::start(Path::new(BINARY), &c.net, INTRUDER, &(c.security)(INTRUDER), &c.logs);
    let counted = wait_until(Duration::from_secs(15), || failures(&c) > before);
    assert!(counted.is_some(), "the intruder's traffic was never counted as an authentication failure");
    assert!(!intruder.ready(), "the intruder became ready");
    assert_eq!(intruder.others(), 0, "the intruder sees members");
    let addr = c.net.addr(INTRUDER).to_string();
    for n in c.live() {
        let members = gossip_tests::hosts::http::get_json(c.agent(n).http, "/members").unwrap_or_default();
        assert!(!members.to_string().contains(&addr), "h{n} lists the intruder");
    }
    lines.push(format!("intruder: isolated, {} authentication failures counted", failures(&c) - before));
    drop(intruder);

    // The Prometheus text carries the counters, gauges and histograms.
    let (status, metrics) =
        gossip_tests::hosts::http::request(c.agent(1).http, "GET", "/metrics", b"").expect("GET /metrics");
    assert_eq!(status, 200);
    for name in [
        "gossip_deliveries_total ",
        "gossip_duplicates_total ",
        "gossip_drops_total{reason=\"auth_failure\"} ",
        "gossip_packets_total{direction=\"in\"} ",
        "gossip_bytes_total{direction=\"out\"} ",
        "gossip_members{status=\"alive\"} ",
        "gossip_member_events_total{kind=\"down\"} ",
        "gossip_timer_seconds_bucket",
        "gossip_probe_rtt_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "/metrics lacks {name}");
    }
    let sample: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            [
                "gossip_deliveries_total ",
                "gossip_members{",
                "auth_failure",
                "gossip_timer_seconds_count",
                "gossip_probe_rtt_seconds_sum",
                "gossip_probe_rtt_seconds_count",
                "kind=\"down\"",
            ]
            .iter()
            .any(|k| l.contains(k))
        })
        .collect();
    lines.push(format!("h1 /metrics: {}", sample.join(" | ")));

    c.exactly_once();
    // Graceful stop: every agent exits 0.
    for n in c.live() {
        let code = c.agents[n].take().expect("live").terminate();
        assert_eq!(code, Some(0), "h{n} did not stop cleanly on SIGTERM");
    }
    println!("hosts suite over {transport} ({:.0} s):", t.elapsed().as_secs_f64());
    for line in lines {
        println!("  {line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn twelve_hosts_over_udp() {
    suite("udp", 1);
}

#[test]
fn twelve_hosts_over_quic() {
    suite("quic", 2);
}
