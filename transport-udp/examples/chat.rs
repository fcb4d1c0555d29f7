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

/// Gossip chat over UDP: stdin lines go to the group, the others' lines
/// are printed.
#[derive(Debug, Parser)]
#[command(name = "chat")]
struct Args {
    #[command(flatten)]
    chat: ChatArgs,
    /// Passphrase that seals every datagram (ChaCha20-Poly1305); every
    /// member needs the same. Without it, datagrams are neither
    /// authenticated nor encrypted. Also read from `GOSSIP_KEY`.
    #[arg(long, value_name = "PASSPHRASE")]
    key: Option<String>,
}

async fn run(mut args: Args) -> anyhow::Result<()> {
    args.key = args.key.or_else(|| std::env::var("GOSSIP_KEY").ok());
    let keys = args.key.as_deref().map(|k| KeyRing::new(ClusterKey::from_passphrase(1, k)));
    if keys.is_none() {
        eprintln!("warning: no --key given: chat datagrams are neither authenticated nor encrypted");
    }
    let listen = args.chat.listen;
    let transport = UdpTransport::bind(UdpConfig { keys, ..UdpConfig::new(listen) })
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
        assert!(Args::try_parse_from(["chat"]).is_err(), "--listen is required");
        assert!(Args::try_parse_from(["chat", "--listen", "localhost"]).is_err(), "a port is required");
    }
}
