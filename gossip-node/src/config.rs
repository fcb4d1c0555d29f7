//! The agent's settings: the TOML file, overridden key by key by flags and
//! environment variables, checked into [`Settings`]. Every error names the
//! key it is about.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::cli::AgentArgs;

/// A setting that could not be used: names the key.
#[derive(Debug, Error)]
#[error("config key `{key}`: {reason}")]
pub struct ConfigError {
    /// The key (as in the file; the flag is the same with `-` for `_`).
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(key: &'static str, reason: impl Into<String>) -> Self {
        ConfigError { key, reason: reason.into() }
    }
}

/// The config file's keys: see `AgentArgs` for what each means.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    name: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    bind: Option<String>,
    seeds: Option<Vec<String>>,
    transport: Option<String>,
    key_file: Option<PathBuf>,
    insecure: Option<bool>,
    cluster_id: Option<u64>,
    tls_ca: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    groups: Option<Vec<String>>,
    http: Option<String>,
    period_ms: Option<u64>,
    linger_ms: Option<u64>,
    log: Option<String>,
    log_format: Option<String>,
}

/// How the agent talks to its peers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportSettings {
    /// UDP, sealed with the keys in `key_file` (none only if `insecure`).
    Udp {
        /// The key file.
        key_file: Option<PathBuf>,
        /// The cluster id.
        cluster_id: u64,
    },
    /// QUIC with certificates from a cluster CA.
    Quic {
        /// The CA certificate.
        ca: PathBuf,
        /// This node's certificate.
        cert: PathBuf,
        /// This node's private key.
        key: PathBuf,
    },
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Checked settings, ready to run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The node's name.
    pub name: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// The gossip socket.
    pub bind: SocketAddr,
    /// Seeds, unresolved (`host:port`).
    pub seeds: Vec<String>,
    /// The transport.
    pub transport: TransportSettings,
    /// Groups to join.
    pub groups: Vec<String>,
    /// The HTTP API's address.
    pub http: SocketAddr,
    /// Gossip period, if not the profile's.
    pub period: Option<Duration>,
    /// Linger on graceful stop, if not the default.
    pub linger: Option<Duration>,
    /// Log filter.
    pub log: String,
    /// Log format.
    pub log_format: LogFormat,
}

/// The default gossip socket.
pub const DEFAULT_BIND: &str = "0.0.0.0:7946";
/// The default HTTP API address: loopback only.
pub const DEFAULT_HTTP: &str = "127.0.0.1:7947";

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new("config", format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|span| text[..span.start].lines().count().max(1));
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        ConfigError::new("config", format!("{}{at}: {}", path.display(), e.message().trim()))
    })
}

fn addr(key: &'static str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| ConfigError::new(key, format!("`{value}` is not an IP:port socket address")))
}

fn millis(key: &'static str, value: Option<u64>) -> Result<Option<Duration>, ConfigError> {
    match value {
        Some(0) => Err(ConfigError::new(key, "must be at least 1")),
        other => Ok(other.map(Duration::from_millis)),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "gossip-node".to_owned())
}

/// `key=value` pairs from flags.
fn tags(pairs: &[String]) -> Result<BTreeMap<String, String>, ConfigError> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(ConfigError::new("tags", format!("`{pair}` is not KEY=VALUE"))),
        })
        .collect()
}

fn nonempty<T>(flag: Vec<T>, file: Option<Vec<T>>) -> Vec<T> {
    if flag.is_empty() { file.unwrap_or_default() } else { flag }
}

impl Settings {
    /// Reads the file named by `--config` (if any) and applies the flags and
    /// environment variables over it.
    pub fn load(args: AgentArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let name = args.name.or(file.name).unwrap_or_else(host_name);
        if name.is_empty() || name.len() > crate::meta::MAX_FIELD {
            return Err(ConfigError::new("name", format!("must be 1 to {} bytes", crate::meta::MAX_FIELD)));
        }
        let tags = if args.tags.is_empty() { file.tags.unwrap_or_default() } else { tags(&args.tags)? };
        crate::meta::NodeMeta { name: name.clone(), tags: tags.clone() }
            .encode()
            .map_err(|e| ConfigError::new("tags", e.to_string()))?;
        let bind = addr("bind", args.bind.or(file.bind).as_deref().unwrap_or(DEFAULT_BIND))?;
        let http = addr("http", args.http.or(file.http).as_deref().unwrap_or(DEFAULT_HTTP))?;
        let seeds = nonempty(args.seeds, file.seeds);
        for seed in &seeds {
            if seed.rsplit_once(':').is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err()) {
                return Err(ConfigError::new("seeds", format!("`{seed}` is not HOST:PORT")));
            }
        }
        let groups = nonempty(args.groups, file.groups);
        if groups.iter().any(String::is_empty) {
            return Err(ConfigError::new("groups", "a group name is empty"));
        }
        let key_file = args.key_file.or(file.key_file);
        let insecure = args.insecure.or(file.insecure).unwrap_or(false);
        let (ca, cert, key) =
            (args.tls_ca.or(file.tls_ca), args.tls_cert.or(file.tls_cert), args.tls_key.or(file.tls_key));
        let transport = match args.transport.or(file.transport).as_deref().unwrap_or("udp") {
            "udp" => {
                if key_file.is_none() && !insecure {
                    return Err(ConfigError::new(
                        "key_file",
                        "required with transport `udp` (or set `insecure = true` to run unauthenticated)",
                    ));
                }
                TransportSettings::Udp { key_file, cluster_id: args.cluster_id.or(file.cluster_id).unwrap_or(0) }
            }
            "quic" => {
                let need = |key: &'static str, v: Option<PathBuf>| {
                    v.ok_or_else(|| ConfigError::new(key, "required with transport `quic`"))
                };
                TransportSettings::Quic {
                    ca: need("tls_ca", ca)?,
                    cert: need("tls_cert", cert)?,
                    key: need("tls_key", key)?,
                }
            }
            other => return Err(ConfigError::new("transport", format!("`{other}` is neither `udp` nor `quic`"))),
        };
        let log_format = match args.log_format.or(file.log_format).as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(ConfigError::new("log_format", format!("`{other}` is neither `text` nor `json`"))),
        };
        Ok(Settings {
            name,
            tags,
            bind,
            seeds,
            transport,
            groups,
            http,
            period: millis("period_ms", args.period_ms.or(file.period_ms))?,
            linger: millis("linger_ms", args.linger_ms.or(file.linger_ms))?,
            log: args.log.or(file.log).unwrap_or_else(|| "info".to_owned()),
            log_format,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_file(text: &str) -> (tempfile::NamedTempFile, AgentArgs) {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        let args = AgentArgs { config: Some(file.path().to_owned()), ..AgentArgs::default() };
        (file, args)
    }

    #[test]
    fn flags_override_the_file() {
        let (_file, mut args) = with_file("name = \"a\"\nbind = \"127.0.0.1:1\"\ninsecure = true\ngroups = [\"x\"]\n");
        args.bind = Some("127.0.0.1:2".into());
        let s = Settings::load(args).unwrap();
        assert_eq!(s.name, "a");
        assert_eq!(s.bind, "127.0.0.1:2".parse().unwrap());
        assert_eq!(s.groups, ["x"]);
        assert_eq!(s.http, DEFAULT_HTTP.parse().unwrap());
        assert_eq!(s.transport, TransportSettings::Udp { key_file: None, cluster_id: 0 });
        let (_file, args) = with_file("key_file = \"k\"\ncluster_id = 7\n");
        assert_eq!(
            Settings::load(args).unwrap().transport,
            TransportSettings::Udp { key_file: Some("k".into()), cluster_id: 7 }
        );
    }

    #[test]
    fn a_bare_insecure_flag_means_true_and_the_cluster_id_is_read() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(["gossip-node", "--insecure", "--cluster-id", "9"]).unwrap();
        assert_eq!(cli.agent.insecure, Some(true));
        let s = Settings::load(cli.agent).unwrap();
        assert_eq!(s.transport, TransportSettings::Udp { key_file: None, cluster_id: 9 });
    }

    #[test]
    fn errors_name_the_key() {
        let (_file, args) = with_file("bnd = \"x\"\n");
        let e = Settings::load(args).unwrap_err();
        assert_eq!(e.key, "config");
        assert!(e.to_string().contains("bnd") && e.to_string().contains("line 1"), "{e}");
        let (_file, args) = with_file("insecure = true\nseeds = [\"nohost\"]\n");
        assert_eq!(Settings::load(args).unwrap_err().key, "seeds");
        let (_file, args) = with_file("transport = \"quic\"\ntls_ca = \"ca.pem\"\n");
        assert_eq!(Settings::load(args).unwrap_err().key, "tls_cert");
        let (_file, args) = with_file("");
        assert_eq!(Settings::load(args).unwrap_err().key, "key_file");
        let (_file, mut args) = with_file("insecure = true\n");
        args.tags = vec!["novalue".into()];
        assert_eq!(Settings::load(args).unwrap_err().key, "tags");
    }
}
