//! A user-written transport: Unix datagram sockets, addressed by node
//! number (node `n` listens on `<dir>/node-<n>.sock`). Three runtime nodes
//! (or `--nodes N`) on it exchange messages in one group.
//!
//! Run: `cargo run -p gossip-runtime --example custom_transport -- [--nodes 3]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use clap::Parser;
use gossip_core::GroupId;
use gossip_runtime::{Builder, StreamExt, Transport, TransportError};
use tokio::net::UnixDatagram;

/// Runtime nodes on a user-written transport (Unix datagram sockets) each
/// multicast three messages; every node must deliver every message once.
#[derive(Debug, Parser)]
#[command(name = "custom_transport")]
struct Args {
    /// Nodes to run (2 to 20).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=20))]
    nodes: u32,
}

/// Messages each node multicasts.
const PER_NODE: usize = 3;

/// Datagram sockets on one host; the address is a node number (`u32`
/// already implements `gossip_core::Address`).
struct UnixTransport {
    socket: UnixDatagram,
    dir: PathBuf,
    me: u32,
}

impl UnixTransport {
    fn bind(dir: &Path, me: u32) -> std::io::Result<Self> {
        let path = dir.join(format!("node-{me}.sock"));
        let _ = std::fs::remove_file(&path);
        Ok(UnixTransport { socket: UnixDatagram::bind(path)?, dir: dir.to_owned(), me })
    }

    fn number_of(path: Option<&Path>) -> Option<u32> {
        let name = path?.file_name()?.to_str()?;
        name.strip_prefix("node-")?.strip_suffix(".sock")?.parse().ok()
    }
}

#[async_trait]
impl Transport for UnixTransport {
    type Address = u32;

    async fn send(&self, to: &u32, bytes: Bytes) -> Result<(), TransportError> {
        if bytes.len() > self.max_packet_size() {
            return Err(TransportError::Oversized { len: bytes.len(), max: self.max_packet_size() });
        }
        let path = self.dir.join(format!("node-{to}.sock"));
        match self.socket.send_to(&bytes, path).await {
            Ok(_) => Ok(()),
            // No socket there (node gone) or refused: like ICMP unreachable.
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => {
                Err(TransportError::Unreachable)
            }
            Err(e) => Err(TransportError::Io(e)),
        }
    }

    async fn recv(&self) -> Result<(u32, Bytes), TransportError> {
        let mut buf = vec![0u8; self.max_packet_size()];
        loop {
            // `recv_from` is cancel-safe, as the runtime's select! needs.
            let (len, from) = self.socket.recv_from(&mut buf).await?;
            // Datagrams from unnamed sockets (not one of ours) are ignored.
            if let Some(n) = Self::number_of(from.as_pathname()) {
                return Ok((n, Bytes::copy_from_slice(&buf[..len])));
            }
        }
    }

    fn local_addr(&self) -> u32 {
        self.me
    }

    fn max_packet_size(&self) -> usize {
        1200
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("gossip-unix-{}", std::process::id()));
    let result = match std::fs::create_dir_all(&dir).context("creating the socket directory") {
        Ok(()) => run(&dir, args.nodes as usize).await,
        Err(err) => Err(err),
    };
    std::fs::remove_dir_all(&dir).ok();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("custom_transport: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(dir: &Path, nodes: usize) -> anyhow::Result<()> {
    let group = GroupId::named("demo");
    let mut handles = Vec::new();
    let mut streams = Vec::new();
    for n in 0..nodes as u32 {
        let transport = UnixTransport::bind(dir, n).context("binding a Unix socket")?;
        let handle = Builder::new(transport).seed(u64::from(n)).spawn()?;
        streams.push(handle.subscribe(group).await?);
        if n > 0 {
            handle.join(vec![0]).await?; // node 0 is everyone's seed
        }
        handles.push(handle);
    }

    // Wait until every node knows all the others.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for handle in &handles {
        while handle.members().await?.len() < nodes - 1 {
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "the cluster did not form");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    for (n, handle) in handles.iter().enumerate() {
        for i in 0..PER_NODE {
            handle.multicast(group, format!("message {i} from node {n}")).await?;
        }
    }

    // Every node delivers every message (its own included) exactly once.
    let total = nodes * PER_NODE;
    for (n, stream) in streams.iter_mut().enumerate() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..total {
            let delivery = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .context("timed out waiting for a delivery")?
                .context("stream ended")??;
            anyhow::ensure!(seen.insert(delivery.id), "node {n} delivered {:?} twice", delivery.id);
            println!("node {n} got {:?} (hops {})", String::from_utf8_lossy(&delivery.payload), delivery.hops);
        }
    }

    for handle in &handles {
        handle.shutdown().await;
    }
    println!("done: {nodes} nodes, {total} messages each, over a user-written Unix datagram transport");
    Ok(())
}
