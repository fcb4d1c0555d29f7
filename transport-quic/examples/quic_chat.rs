//! Lines typed on stdin are multicast to a group over QUIC with mutual
//! TLS; lines from others are printed. Works across processes and hosts:
//!
//! ```text
//! cargo run -p gossip-node -- certs --out certs --nodes 2
//! cargo run -p transport-quic --example quic_chat -- --listen 127.0.0.1:7000 --certs certs --node 1
//! cargo run -p transport-quic --example quic_chat -- --listen 127.0.0.1:7001 --certs certs --node 2 --seed 127.0.0.1:7000
//! ```
//!
//! Options: `--listen ADDR` (required), `--certs DIR` and `--node N`
//! (reads `DIR/ca.pem`, `DIR/node-N.pem`, `DIR/node-N.key`; or give the
//! files with `--ca`, `--cert`, `--key`), `--seed ADDR` (repeatable),
//! `--group NAME` (default `demo`), `--name NAME` (shown to others).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use gossip_core::GroupId;
use gossip_runtime::{Builder, StreamExt};
use tokio::io::{AsyncBufReadExt, BufReader};
use transport_quic::{NodeIdentity, QuicConfig, QuicTransport};

struct Args {
    listen: SocketAddr,
    seeds: Vec<SocketAddr>,
    group: String,
    name: String,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn parse() -> anyhow::Result<Args> {
    let mut listen = None;
    let mut seeds = Vec::new();
    let mut group = "demo".to_owned();
    let mut name = None;
    let (mut certs, mut node): (Option<PathBuf>, Option<u32>) = (None, None);
    let (mut ca, mut cert, mut key) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => listen = Some(value()?.parse().context("--listen")?),
            "--seed" => seeds.push(value()?.parse().context("--seed")?),
            "--group" => group = value()?,
            "--name" => name = Some(value()?),
            "--certs" => certs = Some(PathBuf::from(value()?)),
            "--node" => node = Some(value()?.parse().context("--node")?),
            "--ca" => ca = Some(PathBuf::from(value()?)),
            "--cert" => cert = Some(PathBuf::from(value()?)),
            "--key" => key = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                println!(
                    "usage: chat --listen ADDR (--certs DIR --node N | --ca FILE --cert FILE --key FILE) [--seed ADDR]... [--group NAME] [--name NAME]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other} (try --help)"),
        }
    }
    let listen: SocketAddr = listen.context("--listen ADDR is required")?;
    if let (Some(dir), Some(n)) = (&certs, node) {
        ca.get_or_insert_with(|| dir.join("ca.pem"));
        cert.get_or_insert_with(|| dir.join(format!("node-{n}.pem")));
        key.get_or_insert_with(|| dir.join(format!("node-{n}.key")));
    }
    let (Some(ca), Some(cert), Some(key)) = (ca, cert, key) else {
        bail!("give --certs DIR --node N, or --ca, --cert and --key");
    };
    let name = name.unwrap_or_else(|| listen.to_string());
    Ok(Args { listen, seeds, group, name, ca, cert, key })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse()?;
    let identity = NodeIdentity::from_pem_files(&args.ca, &args.cert, &args.key)?;
    let transport = QuicTransport::bind(QuicConfig::new(args.listen, identity))
        .with_context(|| format!("binding {}", args.listen))?;
    let handle = Builder::new(transport).spawn()?;
    let group = GroupId::named(&args.group);
    let mut deliveries = handle.subscribe(group).await?;
    if !args.seeds.is_empty() {
        handle.join(args.seeds.clone()).await?;
    }
    eprintln!(
        "listening on {} (QUIC, mutual TLS) in group {:?}; type lines, Ctrl-D to leave",
        handle.local_addr(),
        args.group
    );

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
    let stats = handle.stats().await?;
    eprintln!("transport: {:?}", stats.transport);
    handle.shutdown().await;
    printer.abort();
    Ok(())
}
