//! Writes a cluster CA and node certificates for the QUIC transport.
//!
//! ```text
//! cargo run -p transport-quic --example certs -- --out certs --nodes 3
//! cargo run -p transport-quic --example certs -- --out certs --add 2     # two more, from certs/ca.key
//! ```
//!
//! Writes `ca.pem` (give it to every node), `ca.key` (the CA's secret key:
//! keep it offline), and for each node `node-N.pem` and `node-N.key` (its
//! certificate and secret key). Keys are written with mode 0600 on Unix.
//!
//! Options: `--out DIR` (required), `--nodes N` (default 3; a new CA),
//! `--add N` (N more nodes signed by the CA already in DIR),
//! `--ca-name NAME` (default `gossip cluster CA`), `--server-name NAME`
//! (default `gossip.cluster`; the name nodes dial, which must match
//! `QuicConfig::server_name`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use transport_quic::{ClusterCa, DEFAULT_SERVER_NAME};

struct Args {
    out: PathBuf,
    nodes: usize,
    add: Option<usize>,
    ca_name: String,
    server_name: String,
}

fn parse() -> anyhow::Result<Args> {
    let mut out = None;
    let mut nodes = 3;
    let mut add = None;
    let mut ca_name = "gossip cluster CA".to_owned();
    let mut server_name = DEFAULT_SERVER_NAME.to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => out = Some(PathBuf::from(value()?)),
            "--nodes" => nodes = value()?.parse().context("--nodes")?,
            "--add" => add = Some(value()?.parse().context("--add")?),
            "--ca-name" => ca_name = value()?,
            "--server-name" => server_name = value()?,
            "-h" | "--help" => {
                println!("usage: certs --out DIR [--nodes N | --add N] [--ca-name NAME] [--server-name NAME]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other} (try --help)"),
        }
    }
    let out = out.context("--out DIR is required")?;
    Ok(Args { out, nodes, add, ca_name, server_name })
}

fn write(path: &Path, contents: &str, secret: bool) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = parse()?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let ca_pem = args.out.join("ca.pem");
    let ca_key = args.out.join("ca.key");
    let (ca, first, count) = match args.add {
        Some(count) => {
            let ca = ClusterCa::from_pem(
                &args.ca_name,
                &std::fs::read_to_string(&ca_pem).with_context(|| format!("reading {}", ca_pem.display()))?,
                &std::fs::read_to_string(&ca_key).with_context(|| format!("reading {}", ca_key.display()))?,
            )?;
            let mut first = 1;
            while args.out.join(format!("node-{first}.pem")).exists() {
                first += 1;
            }
            (ca, first, count)
        }
        None => {
            if ca_pem.exists() {
                bail!("{} exists: use --add N to issue more certificates from it, or another --out", ca_pem.display());
            }
            let ca = ClusterCa::generate(&args.ca_name)?;
            write(&ca_pem, ca.cert_pem(), false)?;
            write(&ca_key, &ca.key_pem(), true)?;
            (ca, 1, args.nodes)
        }
    };
    for n in first..first + count {
        let node = ca.issue_for(&format!("node-{n}"), &args.server_name)?;
        write(&args.out.join(format!("node-{n}.pem")), node.cert_pem(), false)?;
        write(&args.out.join(format!("node-{n}.key")), node.key_pem(), true)?;
    }
    Ok(())
}
