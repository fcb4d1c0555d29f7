//! Network namespaces `PREFIX-hN` on a bridge, each with one veth and the
//! address `10.213.SUBNET.N/24`; the bridge has `.254` in the test's own
//! namespace, so the test reaches every host's HTTP API. [`Net`] removes
//! everything when dropped, on failure too.
//!
//! The names and subnets are fixed, so two runs on one machine (from two
//! checkouts, say) would delete each other's hosts: a [`Net`] holds a
//! machine-wide lock, UDP port [`LOCK_PORT`] on loopback, from before it
//! creates anything until it has removed everything; the kernel frees it
//! when the process ends, however it ends.

use std::net::{Ipv4Addr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

/// The loopback UDP port a run holds while its namespaces exist.
pub const LOCK_PORT: u16 = 47_946;
/// How long a run waits for another run's namespaces to go.
const LOCK_WAIT: Duration = Duration::from_secs(600);

/// Runs a command; panics naming it if it fails.
pub fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Runs a command, ignoring failure (for cleanup).
fn try_sh(args: &[&str]) -> bool {
    Command::new(args[0]).args(&args[1..]).output().is_ok_and(|o| o.status.success())
}

/// Why the suite cannot run here, if it cannot: `None` when namespaces,
/// veth pairs and `nft` all work.
pub fn unsupported() -> Option<String> {
    static PROBES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = format!("gossip-probe-{}-{n}", std::process::id());
    if !try_sh(&["ip", "netns", "add", &probe]) {
        return Some("cannot create a network namespace (needs root and the `ip` tool from iproute2)".into());
    }
    let nft = try_sh(&["ip", "netns", "exec", &probe, "nft", "list", "ruleset"]);
    try_sh(&["ip", "netns", "del", &probe]);
    (!nft).then(|| "`nft` (nftables) is missing or not usable in a namespace".into())
}

/// Takes the machine-wide lock, waiting (at most [`LOCK_WAIT`]) while
/// another run holds it.
fn machine_lock() -> UdpSocket {
    let start = Instant::now();
    let mut said = false;
    loop {
        match UdpSocket::bind((Ipv4Addr::LOCALHOST, LOCK_PORT)) {
            Ok(lock) => return lock,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                if !said {
                    println!("hosts suite: another run holds 127.0.0.1:{LOCK_PORT} (udp); waiting for it to end");
                    said = true;
                }
                assert!(start.elapsed() < LOCK_WAIT, "another hosts suite run held the machine for {LOCK_WAIT:?}");
                // Another process: nothing to wait on but the port itself.
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("cannot bind the suite's lock port 127.0.0.1:{LOCK_PORT}: {e}"),
        }
    }
}

/// The bridge and its namespaces.
pub struct Net {
    prefix: String,
    subnet: u8,
    hosts: usize,
    /// Released after `drop` removed everything (fields drop after it).
    _lock: UdpSocket,
}

impl Net {
    /// Creates `hosts` namespaces (numbered from 1) on a fresh bridge, once
    /// no other run on this machine holds [`LOCK_PORT`].
    pub fn new(prefix: &str, subnet: u8, hosts: usize) -> Self {
        let net = Net { prefix: prefix.to_owned(), subnet, hosts, _lock: machine_lock() };
        net.cleanup();
        let bridge = net.bridge();
        sh(&["ip", "link", "add", &bridge, "type", "bridge"]);
        sh(&["ip", "addr", "add", &format!("10.213.{subnet}.254/24"), "dev", &bridge]);
        sh(&["ip", "link", "set", &bridge, "up"]);
        for n in 1..=hosts {
            let ns = net.ns(n);
            let outer = format!("{prefix}v{n}");
            sh(&["ip", "netns", "add", &ns]);
            sh(&["ip", "link", "add", &outer, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
            sh(&["ip", "link", "set", &outer, "master", &bridge, "up"]);
            sh(&["ip", "-n", &ns, "addr", "add", &format!("{}/24", net.addr(n)), "dev", "eth0"]);
            sh(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
            sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        }
        net
    }

    fn bridge(&self) -> String {
        format!("{}br", self.prefix)
    }

    /// Host `n`'s namespace name.
    pub fn ns(&self, n: usize) -> String {
        format!("{}-h{n}", self.prefix)
    }

    /// Host `n`'s address.
    pub fn addr(&self, n: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.subnet, n as u8)
    }

    fn nft(&self, n: usize, script: &str) {
        sh(&["ip", "netns", "exec", &self.ns(n), "nft", script]);
    }

    /// Drops `percent` % of the UDP datagrams arriving at every host,
    /// at random (`numgen random`), until [`Net::heal`].
    pub fn loss(&self, percent: u32) {
        for n in 1..=self.hosts {
            self.nft(n, &format!(
                "add table inet gossip_faults; add chain inet gossip_faults input {{ type filter hook input priority 0; }}; \
                 add rule inet gossip_faults input ip saddr 10.213.{}.0/24 ip saddr != 10.213.{}.254 meta l4proto udp numgen random mod 100 < {percent} counter drop",
                self.subnet, self.subnet
            ));
        }
    }

    /// Cuts hosts `side` off from every other host (both directions; the
    /// test's own address stays reachable), until [`Net::heal`].
    pub fn partition(&self, side: &[usize]) {
        let set = |hosts: &mut dyn Iterator<Item = usize>| {
            hosts.map(|n| self.addr(n).to_string()).collect::<Vec<_>>().join(", ")
        };
        let inside = set(&mut side.iter().copied());
        let outside = set(&mut (1..=self.hosts).filter(|n| !side.contains(n)));
        for n in 1..=self.hosts {
            let others = if side.contains(&n) { &outside } else { &inside };
            self.nft(n, &format!(
                "add table inet gossip_faults; add chain inet gossip_faults input {{ type filter hook input priority 0; }}; \
                 add rule inet gossip_faults input ip saddr {{ {others} }} drop"
            ));
        }
    }

    /// Datagrams the loss rules dropped so far, over every host.
    pub fn lost(&self) -> u64 {
        (1..=self.hosts)
            .filter_map(|n| {
                let out = Command::new("ip")
                    .args(["netns", "exec", &self.ns(n), "nft", "list", "table", "inet", "gossip_faults"])
                    .output()
                    .ok()?;
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.split("counter packets ").nth(1)?.split_whitespace().next()?.parse::<u64>().ok()
            })
            .sum()
    }

    /// Removes every loss and partition rule.
    pub fn heal(&self) {
        for n in 1..=self.hosts {
            try_sh(&["ip", "netns", "exec", &self.ns(n), "nft", "delete table inet gossip_faults"]);
        }
    }

    fn cleanup(&self) {
        for n in 1..=self.hosts {
            try_sh(&["ip", "link", "del", &format!("{}v{n}", self.prefix)]);
            try_sh(&["ip", "netns", "del", &self.ns(n)]);
        }
        try_sh(&["ip", "link", "del", &self.bridge()]);
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.cleanup();
    }
}
