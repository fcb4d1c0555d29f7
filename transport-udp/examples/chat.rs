//! Lines typed on stdin are multicast to a group; lines from others are
//! printed. Works across processes and hosts:
//!
//! ```text
//! cargo run -p transport-udp --example chat -- --listen 127.0.0.1:7000 --group demo
//! cargo run -p transport-udp --example chat -- --listen 127.0.0.1:7001 --seed 127.0.0.1:7000 --group demo
//! ```
//!
//! Options: `--listen ADDR` (required), `--seed ADDR` (repeatable),
//! `--group NAME` (default `demo`), `--key PASSPHRASE` (seal datagrams;
//! also read from `GOSSIP_KEY`), `--name NAME` (shown to others).

use std::net::SocketAddr;

use anyhow::{Context, bail};
use gossip_core::GroupId;
use gossip_runtime::{Builder, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use transport_udp::{ClusterKey, KeyRing, UdpConfig, UdpTransport};

struct Args {
    listen: SocketAddr,
    seeds: Vec<SocketAddr>,
    group: String,
    key: Option<String>,
    name: String,
}

fn parse() -> anyhow::Result<Args> {
    let mut listen = None;
    let mut seeds = Vec::new();
    let mut group = "demo".to_owned();
    let mut key = std::env::var("GOSSIP_KEY").ok();
    let mut name = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = Some(value()?.parse().context("--listen")?),
            "--seed" => seeds.push(value()?.parse().context("--seed")?),
            "--group" => group = value()?,
            "--key" => key = Some(value()?),
            "--name" => name = Some(value()?),
            "-h" | "--help" => {
                println!("usage: chat --listen ADDR [--seed ADDR]... [--group NAME] [--key PASSPHRASE] [--name NAME]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other} (try --help)"),
        }
    }
    let listen: SocketAddr = listen.context("--listen ADDR is required")?;
    let name = name.unwrap_or_else(|| listen.to_string());
    Ok(Args { listen, seeds, group, key, name })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse()?;
    let keys = args.key.as_deref().map(|k| KeyRing::new(ClusterKey::from_passphrase(1, k)));
    if keys.is_none() {
        eprintln!("warning: no --key given: chat datagrams are neither authenticated nor encrypted");
    }
    let transport = UdpTransport::bind(UdpConfig { keys, ..UdpConfig::new(args.listen) })
        .with_context(|| format!("binding {}", args.listen))?;
    let handle = Builder::new(transport).spawn()?;
    let group = GroupId::named(&args.group);
    let mut deliveries = handle.subscribe(group).await?;
    if !args.seeds.is_empty() {
        handle.join(args.seeds.clone()).await?;
    }
    eprintln!("listening on {} in group {:?}; type lines, Ctrl-D to leave", handle.local_addr(), args.group);

    let me = handle.id();
    let printer = tokio::spawn(async move {
        while let Some(item) = deliveries.next().await {
            match item {
                Ok(d) if d.id.origin == me => {} // our own line, already on screen
                Ok(d) => println!("{}", String::from_utf8_lossy(&d.payload)),
                Err(lagged) => eprintln!("({lagged})"),
            }
        }
    });

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(line) if line.trim().is_empty() => {}
                Some(line) => {
                    let text = format!("<{}> {}", args.name, line);
                    if let Err(err) = handle.multicast(group, text).await {
                        eprintln!("not sent: {err}");
                    }
                }
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    eprintln!("leaving…");
    handle.shutdown().await;
    printer.abort();
    Ok(())
}
