//! Cluster certificates: a cluster CA that signs one certificate per node,
//! generated with `rcgen`, stored as PEM.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;

/// The name every node certificate carries in its subject alternative
/// names, and the name a node asks for when it dials a peer. Addresses need
/// not appear in certificates: a peer is accepted because the cluster CA
/// signed its certificate, wherever it runs.
pub const DEFAULT_SERVER_NAME: &str = "gossip.cluster";

/// Why a certificate or key could not be made, read or used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CertError {
    /// `rcgen` could not generate or sign a certificate.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM file or string could not be parsed.
    #[error("cannot parse PEM {what}: {reason}")]
    Pem {
        /// What was being read (a path or a description).
        what: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A PEM input held no certificate or no private key.
    #[error("no {kind} found in {what}")]
    Missing {
        /// `"certificate"` or `"private key"`.
        kind: &'static str,
        /// What was being read.
        what: String,
    },
    /// rustls refused the certificates or key (unsupported key type, a
    /// key that does not match the certificate, an unusable CA…).
    #[error("TLS configuration rejected: {0}")]
    Tls(String),
}

fn pem_error(what: impl Into<String>, err: rustls::pki_types::pem::Error) -> CertError {
    CertError::Pem { what: what.into(), reason: err.to_string() }
}

/// A cluster certificate authority: a self-signed CA certificate and its
/// key. Keep the key offline; nodes need only its certificate
/// ([`ClusterCa::cert_pem`]).
pub struct ClusterCa {
    name: String,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    key: KeyPair,
}

impl std::fmt::Debug for ClusterCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterCa").field("name", &self.name).finish_non_exhaustive()
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

impl ClusterCa {
    /// Generates a new CA (ECDSA P-256) whose subject common name is `name`.
    pub fn generate(name: &str) -> Result<Self, CertError> {
        let key = KeyPair::generate()?;
        let cert = ca_params(name).self_signed(&key)?;
        Ok(ClusterCa { name: name.to_owned(), cert_der: cert.der().clone(), cert_pem: cert.pem(), key })
    }

    /// Loads a CA written by [`ClusterCa::cert_pem`] and
    /// [`ClusterCa::key_pem`], to issue more node certificates later.
    /// `name` must be the name it was generated with (the issuer name of
    /// new certificates is rebuilt from it).
    pub fn from_pem(name: &str, cert_pem: &str, key_pem: &str) -> Result<Self, CertError> {
        let cert_der =
            CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| pem_error("CA certificate", e))?;
        let key = KeyPair::from_pem(key_pem)?;
        Ok(ClusterCa { name: name.to_owned(), cert_der, cert_pem: cert_pem.to_owned(), key })
    }

    /// The CA's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CA certificate, PEM-encoded (`ca.pem`): every node trusts it.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER-encoded.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    /// The CA private key, PKCS#8 PEM. Secret.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// Issues a node certificate for [`DEFAULT_SERVER_NAME`] (and
    /// `node_name`, which also becomes its common name).
    pub fn issue(&self, node_name: &str) -> Result<NodeIdentity, CertError> {
        self.issue_for(node_name, DEFAULT_SERVER_NAME)
    }

    /// Issues a node certificate valid for `server_name` (what peers dial)
    /// and `node_name`, usable both to serve and to dial.
    pub fn issue_for(&self, node_name: &str, server_name: &str) -> Result<NodeIdentity, CertError> {
        let mut names = vec![server_name.to_owned()];
        if node_name != server_name {
            names.push(node_name.to_owned());
        }
        let mut params = CertificateParams::new(names)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, node_name);
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let issuer = Issuer::new(ca_params(&self.name), &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(NodeIdentity {
            ca: self.cert_der.clone(),
            ca_pem: self.cert_pem.clone(),
            cert: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// What one node needs for mutual TLS: the cluster CA certificate it
/// trusts, its own certificate signed by that CA, and its private key.
#[derive(Clone)]
pub struct NodeIdentity {
    ca: CertificateDer<'static>,
    ca_pem: String,
    cert: CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
}

impl std::fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeIdentity").field("cert_len", &self.cert.len()).finish_non_exhaustive()
    }
}

impl NodeIdentity {
    /// A self-signed certificate for `server_name` that trusts only
    /// itself: what a node outside any cluster would present. Useful in
    /// tests; a cluster refuses it.
    pub fn self_signed(server_name: &str) -> Result<Self, CertError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec![server_name.to_owned()])?;
        params.is_ca = IsCa::NoCa;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.self_signed(&key)?;
        Ok(NodeIdentity {
            ca: cert.der().clone(),
            ca_pem: cert.pem(),
            cert: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Builds an identity from PEM text: the CA certificate, the node
    /// certificate (the first certificate in `cert_pem`), and its private key.
    pub fn from_pem(ca_pem: &str, cert_pem: &str, key_pem: &str) -> Result<Self, CertError> {
        let ca = CertificateDer::pem_slice_iter(ca_pem.as_bytes())
            .next()
            .ok_or_else(|| CertError::Missing { kind: "certificate", what: "CA PEM".into() })?
            .map_err(|e| pem_error("CA certificate", e))?;
        let cert = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .next()
            .ok_or_else(|| CertError::Missing { kind: "certificate", what: "node PEM".into() })?
            .map_err(|e| pem_error("node certificate", e))?;
        // Check that the key parses now rather than at bind time.
        PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                CertError::Missing { kind: "private key", what: "key PEM".into() }
            }
            e => pem_error("private key", e),
        })?;
        Ok(NodeIdentity {
            ca,
            ca_pem: ca_pem.to_owned(),
            cert,
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
        })
    }

    /// Reads an identity from PEM files (as written by the `certs`
    /// example: `ca.pem`, `node-N.pem`, `node-N.key`).
    pub fn from_pem_files(ca: &Path, cert: &Path, key: &Path) -> Result<Self, CertError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| CertError::Pem { what: p.display().to_string(), reason: e.to_string() })
        };
        Self::from_pem(&read(ca)?, &read(cert)?, &read(key)?)
    }

    /// The trusted CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// This node's certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// This node's private key, PKCS#8 PEM. Secret.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    pub(crate) fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.clone()
    }

    pub(crate) fn chain(&self) -> Vec<CertificateDer<'static>> {
        vec![self.cert.clone()]
    }

    pub(crate) fn key_der(&self) -> Result<PrivateKeyDer<'static>, CertError> {
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|e| pem_error("private key", e))
    }
}
