//! A user-written transport: Unix datagram sockets, addressed by node
//! number (node `n` listens on `<dir>/node-<n>.sock`). Three runtime nodes
//! on it exchange messages in one group.
//!
//! Run: `cargo run -p gossip-runtime --example custom_transport`

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use gossip_core::GroupId;
use gossip_runtime::{Builder, StreamExt, Transport, TransportError};
use tokio::net::UnixDatagram;

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
async fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("gossip-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("creating the socket directory")?;
    let group = GroupId::named("demo");

    let mut handles = Vec::new();
    let mut streams = Vec::new();
    for n in 0..3u32 {
        let transport = UnixTransport::bind(&dir, n).context("binding a Unix socket")?;
        let handle = Builder::new(transport).seed(u64::from(n)).spawn()?;
        streams.push(handle.subscribe(group).await?);
        if n > 0 {
            handle.join(vec![0]).await?; // node 0 is everyone's seed
        }
        handles.push(handle);
    }

    // Wait until every node knows the other two.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for handle in &handles {
        while handle.members().await?.len() < 2 {
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "the cluster did not form");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    for (n, handle) in handles.iter().enumerate() {
        for i in 0..3 {
            handle.multicast(group, format!("message {i} from node {n}")).await?;
        }
    }

    // Every node delivers all nine messages (its own included) exactly once.
    for (n, stream) in streams.iter_mut().enumerate() {
        for _ in 0..9 {
            let delivery = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .context("timed out waiting for a delivery")?
                .context("stream ended")??;
            println!("node {n} got {:?} (hops {})", String::from_utf8_lossy(&delivery.payload), delivery.hops);
        }
    }

    for handle in &handles {
        handle.shutdown().await;
    }
    std::fs::remove_dir_all(&dir).ok();
    println!("done: 3 nodes, 9 messages each, over a user-written Unix datagram transport");
    Ok(())
}
