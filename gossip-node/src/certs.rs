//! `gossip-node certs`: a cluster CA and node certificates for QUIC.
//!
//! Writes `ca.pem` (give it to every node), `ca.key` (the CA's secret key:
//! keep it offline), and for each node `node-N.pem` and `node-N.key`.
//! Secret keys get mode 0600 on Unix. `--add N` issues N more from the CA
//! already in the directory.

use std::path::{Path, PathBuf};

use thiserror::Error;
use transport_quic::{CertError, ClusterCa};

use crate::cli::CertsArgs;

/// Why certificates could not be written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CertsError {
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Generating or parsing a certificate.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// A CA already exists where a new one was asked for.
    #[error("{0} exists: use --add N to issue more certificates from it, or another --out")]
    CaExists(PathBuf),
}

/// The default directory: outside any work tree, in the system's temporary directory.
pub fn default_dir() -> PathBuf {
    std::env::temp_dir().join("gossip-certs")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CertsError + '_ {
    move |source| CertsError::Io { path: path.to_owned(), source }
}

fn write(path: &Path, contents: &str, secret: bool) -> Result<(), CertsError> {
    std::fs::write(path, contents).map_err(io(path))?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(path))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    println!("wrote {}", path.display());
    Ok(())
}

/// Runs the sub-command.
pub fn run(args: CertsArgs) -> Result<(), CertsError> {
    let out = args.out.unwrap_or_else(default_dir);
    std::fs::create_dir_all(&out).map_err(io(&out))?;
    let ca_pem = out.join("ca.pem");
    let ca_key = out.join("ca.key");
    let (ca, first, count) = match args.add {
        Some(count) => {
            let cert = std::fs::read_to_string(&ca_pem).map_err(io(&ca_pem))?;
            let key = std::fs::read_to_string(&ca_key).map_err(io(&ca_key))?;
            let ca = ClusterCa::from_pem(&args.ca_name, &cert, &key)?;
            let first = (1..).find(|n| !out.join(format!("node-{n}.pem")).exists()).unwrap_or(1);
            (ca, first, count)
        }
        None => {
            if ca_pem.exists() {
                return Err(CertsError::CaExists(ca_pem));
            }
            let ca = ClusterCa::generate(&args.ca_name)?;
            write(&ca_pem, ca.cert_pem(), false)?;
            write(&ca_key, &ca.key_pem(), true)?;
            (ca, 1, args.nodes)
        }
    };
    for n in first..first + count {
        let node = ca.issue_for(&format!("node-{n}"), &args.server_name)?;
        write(&out.join(format!("node-{n}.pem")), node.cert_pem(), false)?;
        write(&out.join(format!("node-{n}.key")), node.key_pem(), true)?;
    }
    println!("certificates are in {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_ca_then_adds_nodes_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let args = |add| CertsArgs {
            out: Some(dir.path().to_owned()),
            nodes: 2,
            add,
            ca_name: "t".into(),
            server_name: transport_quic::DEFAULT_SERVER_NAME.into(),
        };
        run(args(None)).unwrap();
        assert!(matches!(run(args(None)), Err(CertsError::CaExists(_))));
        run(args(Some(1))).unwrap();
        let d = dir.path();
        assert!(
            transport_quic::NodeIdentity::from_pem_files(
                &d.join("ca.pem"),
                &d.join("node-3.pem"),
                &d.join("node-3.key")
            )
            .is_ok()
        );
    }
}
