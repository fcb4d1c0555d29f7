//! One `gossip-node` process in one namespace; killed when dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::http;
use super::net::Net;

/// The gossip port every agent binds (each in its own namespace).
pub const GOSSIP_PORT: u16 = 7946;
/// The HTTP API port.
pub const HTTP_PORT: u16 = 7947;
/// The group every agent joins.
pub const GROUP: &str = "suite";

/// How an agent secures its traffic: the files it is given.
#[derive(Clone, Debug)]
pub enum Security {
    /// UDP with this cluster key file.
    Udp(PathBuf),
    /// QUIC with `ca.pem`, `node.pem`, `node.key` in this directory.
    Quic(PathBuf),
}

impl Security {
    fn args(&self) -> Vec<String> {
        match self {
            Security::Udp(key) => {
                vec!["--transport".into(), "udp".into(), "--key-file".into(), key.display().to_string()]
            }
            Security::Quic(dir) => {
                let file = |f: &str| dir.join(f).display().to_string();
                [
                    "--transport",
                    "quic",
                    "--tls-ca",
                    &file("ca.pem"),
                    "--tls-cert",
                    &file("node.pem"),
                    "--tls-key",
                    &file("node.key"),
                ]
                .map(String::from)
                .to_vec()
            }
        }
    }
}

/// A running agent.
pub struct Agent {
    /// Its host number.
    pub host: usize,
    /// Its HTTP API.
    pub http: SocketAddr,
    child: Child,
}

impl Agent {
    /// Starts `binary` in host `n`'s namespace, seeded by host 1 (unless it
    /// is host 1), logging to `logs/hN.log`.
    pub fn start(binary: &Path, net: &Net, n: usize, security: &Security, logs: &Path) -> Self {
        let addr = net.addr(n);
        let log = std::fs::File::create(logs.join(format!("h{n}.log"))).expect("log file");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &net.ns(n)]).arg(binary);
        cmd.args(["--name", &format!("h{n}"), "--tag", "suite=hosts", "--group", GROUP, "--period-ms", "100"]);
        cmd.args(["--bind", &format!("{addr}:{GOSSIP_PORT}"), "--http", &format!("{addr}:{HTTP_PORT}")]);
        if n != 1 {
            cmd.args(["--seed", &format!("{}:{GOSSIP_PORT}", net.addr(1))]);
        }
        cmd.args(security.args()).env("RUST_LOG", "info").stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        let child = cmd.spawn().expect("spawn gossip-node");
        Agent { host: n, http: SocketAddr::new(addr.into(), HTTP_PORT), child }
    }

    /// Kills it with SIGKILL and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops it with SIGTERM; returns its exit code (`None` if it took more
    /// than 10 s and had to be killed).
    pub fn terminate(mut self) -> Option<i32> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// `/health` says ready.
    pub fn ready(&self) -> bool {
        http::get_json(self.http, "/health").is_some_and(|v| v["status"] == "ready")
    }

    /// How many other members it lists.
    pub fn others(&self) -> usize {
        http::get_json(self.http, "/members")
            .and_then(|v| {
                v.as_array().map(|a| a.iter().filter(|m| m["self"] == false && m["status"] == "alive").count())
            })
            .unwrap_or(0)
    }

    /// Its `/stats`.
    pub fn stats(&self) -> serde_json::Value {
        http::get_json(self.http, "/stats").unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 100 ms until it holds or `within` passes; returns
/// the time it took, or `None`.
pub fn wait_until(within: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}
