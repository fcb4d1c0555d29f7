//! rustls (ring) and quinn configuration for mutual TLS inside a cluster.

use std::sync::Arc;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{IdleTimeout, MtuDiscoveryConfig, TransportConfig, VarInt};
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
