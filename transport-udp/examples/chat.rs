//! Lines typed on stdin are multicast to a group; lines from others are
//! printed. Works across processes and hosts:
//!
//! ```text
//! cargo run -p transport-udp --example chat -- --listen localhost:7000 --group demo
//! cargo run -p transport-udp --example chat -- --listen localhost:7001 --seed localhost:7000 --group demo
//! ```
//!
//! `--help` lists the options. The flags common to every chat and the loop
//! live in `gossip_example_support::chat`; this file adds the UDP key.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use gossip_example_support::chat::{self, ChatArgs};
use gossip_example_support::exit;
use gossip_runtime::Builder;
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

/// The cluster id every chat uses unless told otherwise.
const CHAT_CLUSTER: u64 = 0x6368_6174;

/// Gossip chat over UDP: stdin lines go to the group, the others' lines
/// are printed.
#[derive(Debug, Parser)]
#[command(name = "chat")]
struct Args {
    #[command(flatten)]
    chat: ChatArgs,
    /// Passphrase that seals every datagram (XChaCha20-Poly1305, key from
    /// Argon2id); every member needs the same. Also read from
    /// `GOSSIP_KEY`. One of `--key` and `--insecure` is required.
    #[arg(long, value_name = "PASSPHRASE")]
    key: Option<String>,
    /// Chat without a key: anyone on the network can read, inject, forge
    /// and replay messages.
    #[arg(long, conflicts_with = "key")]
    insecure: bool,
    /// The cluster id (mixed into the key, first in every datagram):
    /// chats with another id do not hear each other.
    #[arg(long, value_name = "ID", default_value_t = CHAT_CLUSTER)]
    cluster_id: u64,
}

async fn run(mut args: Args) -> anyhow::Result<()> {
    args.key = args.key.or_else(|| std::env::var("GOSSIP_KEY").ok());
    let listen = args.chat.listen;
    let config = match args.key.as_deref() {
        Some(passphrase) => {
            let key = ClusterKey::from_passphrase(1, passphrase, args.cluster_id)?;
            UdpConfig::new(listen, KeyRing::new(key))
        }
        None if args.insecure => UdpConfig::insecure(listen),
        None => anyhow::bail!("give --key PASSPHRASE (or GOSSIP_KEY), or --insecure to chat unauthenticated"),
    };
    let transport = UdpTransport::bind(UdpConfig { cluster_id: args.cluster_id, ..config })
        .with_context(|| format!("binding {listen}"))?;
    let handle = Builder::new(transport).spawn()?;
    let what = if args.key.is_some() { "UDP, sealed" } else { "UDP, not sealed" };
    chat::run(handle, &args.chat, what).await?;
    Ok(())
}

fn main() -> ExitCode {
    exit::run_example("chat", run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        <Args as clap::CommandFactory>::command().debug_assert();
        let args =
            Args::try_parse_from(["chat", "--listen", "localhost:7000", "--seed", "127.0.0.1:7001", "--key", "k"])
                .unwrap();
        assert!(args.chat.listen.ip().is_loopback());
        assert_eq!(args.chat.seeds, vec!["127.0.0.1:7001".parse().unwrap()]);
        assert_eq!(args.key.as_deref(), Some("k"));
        assert!(Args::try_parse_from(["chat", "--listen", "localhost:1", "--key", "k", "--insecure"]).is_err());
        assert!(Args::try_parse_from(["chat"]).is_err(), "--listen is required");
        assert!(Args::try_parse_from(["chat", "--listen", "localhost"]).is_err(), "a port is required");
    }
}
