//! Mutual TLS inside a cluster: the rustls (ring) and quinn configuration,
//! and how a refused handshake is recognised and reported.

use std::net::SocketAddr;
use std::sync::Arc;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{ConnectionError, IdleTimeout, MtuDiscoveryConfig, TransportConfig, VarInt};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;

use crate::certs::CertError;
use crate::config::{ALPN, QuicConfig, QuicError};

fn tls(err: impl std::fmt::Display) -> QuicError {
    QuicError::Cert(CertError::Tls(err.to_string()))
}

fn transport_config(config: &QuicConfig) -> Result<TransportConfig, QuicError> {
    let mut t = TransportConfig::default();
    t.max_concurrent_bidi_streams(VarInt::from_u32(0));
    t.max_concurrent_uni_streams(VarInt::from_u32(config.streams_per_connection));
    let idle = IdleTimeout::try_from(config.idle_timeout)
        .map_err(|_| QuicError::Config { field: "idle_timeout", reason: "too long for QUIC" })?;
    t.max_idle_timeout(Some(idle));
    // Room for bursts of gossip datagrams in both directions.
    t.datagram_receive_buffer_size(Some(4 << 20));
    t.datagram_send_buffer_size(4 << 20);
    // One stream carries one packet: let a whole packet be in flight.
    let window = config.max_packet_size.clamp(1 << 20, 64 << 20) as u32;
    t.stream_receive_window(VarInt::from_u32(window));
    t.receive_window(VarInt::from_u32(window.saturating_mul(4)));
    t.send_window(u64::from(window) * 4);
    t.initial_mtu(config.initial_mtu);
    let mut mtu = MtuDiscoveryConfig::default();
    mtu.upper_bound(config.mtu_upper_bound);
    t.mtu_discovery_config(Some(mtu));
    Ok(t)
}

/// The endpoint's server config (requires a client certificate signed by
/// the cluster CA) and the client config used to dial (verifies the
/// server against the cluster CA and presents our certificate).
pub(crate) fn quinn_configs(config: &QuicConfig) -> Result<(quinn::ServerConfig, quinn::ClientConfig), QuicError> {
    let identity = &config.identity;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(identity.ca_der()).map_err(tls)?;
    let roots = Arc::new(roots);

    let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone()).build().map_err(tls)?;
    let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain(), identity.key_der()?)
        .map_err(tls)?;
    server.alpn_protocols = vec![ALPN.to_vec()];
    server.max_early_data_size = 0;

    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls)?
        .with_root_certificates(roots)
        .with_client_auth_cert(identity.chain(), identity.key_der()?)
        .map_err(tls)?;
    client.alpn_protocols = vec![ALPN.to_vec()];

    let transport = Arc::new(transport_config(config)?);
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(server).map_err(tls)?));
    server.transport_config(transport.clone());
    server.max_incoming(config.max_connections.saturating_mul(2).max(16));
    let mut client = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(client).map_err(tls)?));
    client.transport_config(transport);
    Ok((server, client))
}

/// Whether a connection error is a TLS (certificate) failure: a QUIC
/// CRYPTO_ERROR, codes 0x100..=0x1ff, raised here or by the peer.
pub(crate) fn is_refusal(err: &ConnectionError) -> bool {
    let code = match err {
        ConnectionError::TransportError(e) => u64::from(e.code),
        ConnectionError::ConnectionClosed(c) => u64::from(c.error_code),
        _ => return false,
    };
    (0x100..0x200).contains(&code)
}

/// When a TLS refusal was seen.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stage {
    /// While dialling the peer.
    Dialing,
    /// While accepting the peer's connection.
    Accepting,
    /// On a connection whose handshake had completed on our side (TLS 1.3:
    /// a server checks the client's certificate after the client is done).
    Established,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Dialing => "dialing",
            Stage::Accepting => "accepting",
            Stage::Established => "after the handshake",
        })
    }
}

/// Logs a TLS refusal at `warn` with the peer's address and who refused
/// whom: an error raised here means we refused the peer's certificate, a
/// close from the peer means it refused ours.
pub(crate) fn warn_refusal(peer: SocketAddr, stage: Stage, err: &ConnectionError) {
    let who = match err {
        ConnectionError::ConnectionClosed(_) => "the peer refused our certificate",
        _ => "we refused the peer's certificate",
    };
    tracing::warn!(%peer, %stage, %err, "TLS handshake refused: {who}");
}
