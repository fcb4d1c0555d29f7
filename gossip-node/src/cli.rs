//! The command line: every config key as a flag and an environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A gossip multicast agent: run one per host. Every key can come from the
/// config file (`--config`), an environment variable, or a flag; a flag or
/// variable overrides the file.
#[derive(Debug, Parser)]
#[command(name = "gossip-node", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A sub-command; without one, runs the agent.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The agent's settings.
    #[command(flatten)]
    pub agent: AgentArgs,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Writes a cluster CA and node certificates for `transport = "quic"`.
    Certs(CertsArgs),
    /// Adds a fresh random cluster key line to a key file for
    /// `transport = "udp"` (creating the file with mode 0600).
    Keygen(KeygenArgs),
}

/// The agent's settings (see `docs/deployment.md` for a full config file).
#[derive(Debug, Default, Args)]
pub struct AgentArgs {
    /// A TOML file with any of the keys below (flag names with `_` for `-`).
    #[arg(long, env = "GOSSIP_NODE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// This node's name: shown to other members and in logs. Default: the
    /// host name.
    #[arg(long, env = "GOSSIP_NODE_NAME")]
    pub name: Option<String>,
    /// A `key=value` tag shown to other members; repeat the flag, or give
    /// `k=v,k2=v2` in the variable. The file takes a `[tags]` table.
    #[arg(long = "tag", env = "GOSSIP_NODE_TAGS", value_delimiter = ',', value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// The gossip socket address. Default `0.0.0.0:7946`.
    #[arg(long, env = "GOSSIP_NODE_BIND", value_name = "ADDR")]
    pub bind: Option<String>,
    /// `host:port` of members to join through (host names are resolved, and
    /// retried until one answers); repeat, or comma-separate.
    #[arg(long = "seed", env = "GOSSIP_NODE_SEEDS", value_delimiter = ',', value_name = "HOST:PORT")]
    pub seeds: Vec<String>,
    /// `udp` (datagrams sealed with a shared cluster key) or `quic` (TLS
    /// with certificates from a cluster CA). Default `udp`.
    #[arg(long, env = "GOSSIP_NODE_TRANSPORT")]
    pub transport: Option<String>,
    /// UDP: the cluster key file, one `ID:HEX` key per line (ID 0-255, 64
    /// hex digits). The first line seals what this node sends; every line
    /// is accepted on receipt, so a key is rotated by adding it.
    #[arg(long, env = "GOSSIP_NODE_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// UDP: allow running without a key file. Then anyone who can reach
    /// the gossip port can inject, forge, replay and read every message and
    /// membership update. `--insecure` alone means `true`.
    #[arg(long, env = "GOSSIP_NODE_INSECURE", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub insecure: Option<bool>,
    /// UDP: the cluster id (a number): first in every datagram and mixed
    /// into the keys, so clusters on one network with the same key stay
    /// apart. Every member needs the same. Default 0.
    #[arg(long, env = "GOSSIP_NODE_CLUSTER_ID", value_name = "ID")]
    pub cluster_id: Option<u64>,
    /// QUIC: the cluster CA certificate (PEM).
    #[arg(long, env = "GOSSIP_NODE_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// QUIC: this node's certificate (PEM), signed by the cluster CA.
    #[arg(long, env = "GOSSIP_NODE_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// QUIC: this node's private key (PEM).
    #[arg(long, env = "GOSSIP_NODE_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Groups to join (names); repeat, or comma-separate.
    #[arg(long = "group", env = "GOSSIP_NODE_GROUPS", value_delimiter = ',', value_name = "NAME")]
    pub groups: Vec<String>,
    /// The HTTP API's address. Default `127.0.0.1:7947` (loopback only).
    #[arg(long, env = "GOSSIP_NODE_HTTP", value_name = "ADDR")]
    pub http: Option<String>,
    /// Gossip round period in milliseconds. Default: the LAN profile's.
    #[arg(long, env = "GOSSIP_NODE_PERIOD_MS", value_name = "MS")]
    pub period_ms: Option<u64>,
    /// How long graceful stop keeps gossiping before leaving, in
    /// milliseconds. Default: three periods.
    #[arg(long, env = "GOSSIP_NODE_LINGER_MS", value_name = "MS")]
    pub linger_ms: Option<u64>,
    /// Log filter, `RUST_LOG` syntax (`RUST_LOG` itself is honoured too).
    /// Default `info`.
    #[arg(long, env = "GOSSIP_NODE_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// `text` or `json`. Default `text`.
    #[arg(long, env = "GOSSIP_NODE_LOG_FORMAT")]
    pub log_format: Option<String>,
}

/// `gossip-node certs`.
#[derive(Debug, Args)]
pub struct CertsArgs {
    /// Where to write. Default: `gossip-certs` in the system's temporary
    /// directory (outside any work tree); the command prints where.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How many node certificates to issue from a new CA.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Issue this many more node certificates from the CA already in `--out`.
    #[arg(long, value_name = "N", conflicts_with = "nodes")]
    pub add: Option<usize>,
    /// The CA's name.
    #[arg(long, default_value = "gossip cluster CA")]
    pub ca_name: String,
    /// The TLS name nodes present and dial (must match on every node).
    #[arg(long, default_value = transport_quic::DEFAULT_SERVER_NAME)]
    pub server_name: String,
}

/// `gossip-node keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The key file. A new key goes last, so it is accepted but does not
    /// seal yet: see key rotation in `docs/deployment.md`.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The key id (0-255): give a new key a new id when rotating.
    #[arg(long, default_value_t = 1)]
    pub id: u8,
}
