//! Clusters of runtime nodes over real sockets on loopback: UDP and QUIC,
//! with loss, wrong keys, foreign certificates, garbage and shutdown.

mod quic;
mod quic_tls;
mod udp;
