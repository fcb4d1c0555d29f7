//! Lines typed on stdin are multicast to a group over QUIC with mutual
//! TLS; lines from others are printed. Works across processes and hosts:
//!
//! ```text
//! cargo run -p transport-quic --example certs -- --out certs --nodes 2
//! cargo run -p transport-quic --example quic_chat -- --listen localhost:7000 --certs certs --node 1
//! cargo run -p transport-quic --example quic_chat -- --listen localhost:7001 --certs certs --node 2 --seed localhost:7000
//! ```
//!
//! `--help` lists the options. The flags common to every chat and the loop
//! live in `gossip_example_support::chat`; this file adds the certificates.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use gossip_example_support::chat::{self, ChatArgs};
use gossip_example_support::exit;
use gossip_runtime::Builder;
use transport_quic::{NodeIdentity, QuicConfig, QuicTransport};

/// Gossip chat over QUIC with mutual TLS: stdin lines go to the group, the
/// others' lines are printed. Give `--certs DIR --node N`, or the three
/// files with `--ca`, `--cert` and `--key`.
#[derive(Debug, Parser)]
#[command(name = "quic_chat")]
struct Args {
    #[command(flatten)]
    chat: ChatArgs,
    /// Directory of PEM files: `ca.pem`, `node-N.pem`, `node-N.key`.
    #[arg(long, value_name = "DIR", requires = "node")]
    certs: Option<PathBuf>,
    /// Which node's certificate to use from `--certs`.
    #[arg(long, value_name = "N", requires = "certs")]
    node: Option<u32>,
    /// The cluster CA's certificate (PEM) [default: DIR/ca.pem].
    #[arg(long, value_name = "FILE", required_unless_present = "certs")]
    ca: Option<PathBuf>,
    /// This node's certificate (PEM) [default: DIR/node-N.pem].
    #[arg(long, value_name = "FILE", required_unless_present = "certs")]
    cert: Option<PathBuf>,
    /// This node's private key (PEM) [default: DIR/node-N.key].
    #[arg(long, value_name = "FILE", required_unless_present = "certs")]
    key: Option<PathBuf>,
}

/// One certificate or key file: where it is and what it should hold.
struct PemFile {
    path: PathBuf,
    holds: &'static str,
}

impl Args {
    /// The CA certificate, node certificate and key files, in that order.
    fn pem_files(&self) -> [PemFile; 3] {
        let in_dir = |name: String| self.certs.as_deref().map(|dir| dir.join(name)).unwrap_or_default();
        let node = self.node.unwrap_or_default();
        let pick = |given: &Option<PathBuf>, name: String| given.clone().unwrap_or_else(|| in_dir(name));
        [
            PemFile { path: pick(&self.ca, "ca.pem".into()), holds: "the cluster CA's certificate" },
            PemFile { path: pick(&self.cert, format!("node-{node}.pem")), holds: "this node's certificate" },
            PemFile { path: pick(&self.key, format!("node-{node}.key")), holds: "this node's private key" },
        ]
    }
}

/// Refuses, on one line and with exit code 2, a certificate file that is
/// not there, naming it and what it should hold.
fn check_exists(file: &PemFile) {
    if !Path::new(&file.path).is_file() {
        exit::usage_error::<Args>(format!(
            "{} not found: expected {} there, as PEM (write the files with \
             `cargo run -p transport-quic --example certs -- --out DIR --nodes N`)",
            file.path.display(),
            file.holds
        ));
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let files = args.pem_files();
    files.iter().for_each(check_exists);
    let [ca, cert, key] = &files;
    let identity = NodeIdentity::from_pem_files(&ca.path, &cert.path, &key.path).with_context(|| {
        format!("loading {}, {} and {}", ca.path.display(), cert.path.display(), key.path.display())
    })?;
    let listen = args.chat.listen;
    let transport =
        QuicTransport::bind(QuicConfig::new(listen, identity)).with_context(|| format!("binding {listen}"))?;
    let handle = Builder::new(transport).spawn()?;
    chat::run(handle, &args.chat, "QUIC, mutual TLS").await?;
    Ok(())
}

fn main() -> ExitCode {
    exit::run_example("quic_chat", run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certs_dir_names_the_three_files() {
        <Args as clap::CommandFactory>::command().debug_assert();
        let args =
            Args::try_parse_from(["quic_chat", "--listen", "localhost:7000", "--certs", "c", "--node", "2"]).unwrap();
        let paths: Vec<PathBuf> = args.pem_files().into_iter().map(|f| f.path).collect();
        assert_eq!(paths, [PathBuf::from("c/ca.pem"), "c/node-2.pem".into(), "c/node-2.key".into()]);
    }

    #[test]
    fn files_override_the_directory() {
        let args = Args::try_parse_from([
            "quic_chat",
            "--listen",
            "127.0.0.1:7000",
            "--certs",
            "c",
            "--node",
            "1",
            "--ca",
            "other/ca.pem",
        ])
        .unwrap();
        assert_eq!(args.pem_files()[0].path, PathBuf::from("other/ca.pem"));
    }

    #[test]
    fn certificates_are_required() {
        assert!(Args::try_parse_from(["quic_chat", "--listen", "127.0.0.1:7000"]).is_err());
        assert!(Args::try_parse_from(["quic_chat", "--listen", "127.0.0.1:7000", "--certs", "c"]).is_err());
        assert!(
            Args::try_parse_from(["quic_chat", "--listen", "127.0.0.1:7000", "--ca", "a", "--cert", "b", "--key", "c"])
                .is_ok()
        );
    }
}
