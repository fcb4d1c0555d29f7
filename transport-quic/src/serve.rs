//! Accepting connections, and reading datagrams and streams from every
//! open connection (dialled or accepted) into the receive queue.

use std::sync::Arc;

use bytes::Bytes;
use quinn::{Connection, ConnectionError, VarInt};
use tokio::time::timeout;

use crate::shared::Shared;
use crate::stats::bump;
use crate::tls;

/// Accepts incoming connections until the endpoint closes; each handshake
/// and connection runs on its own task.
pub(crate) async fn accept_loop(shared: Arc<Shared>) {
    while let Some(incoming) = shared.endpoint.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let peer = shared.source(incoming.remote_address());
            let connecting = match incoming.accept() {
                Ok(connecting) => connecting,
                Err(err) => {
                    tracing::debug!(%peer, %err, "incoming connection failed");
                    bump(&shared.counters.handshake_failures, 1);
                    return;
                }
            };
            match timeout(shared.limits.dial_timeout, connecting).await {
                Ok(Ok(conn)) => {
                    shared.install(conn.clone());
                    serve(shared, conn).await;
                }
                Ok(Err(err)) => {
                    if !shared.note_refusal(peer, tls::Stage::Accepting, &err) {
                        tracing::debug!(%peer, %err, "incoming handshake failed");
                        bump(&shared.counters.handshake_failures, 1);
                    }
                }
                Err(_) => bump(&shared.counters.handshake_failures, 1),
            }
        });
    }
}

/// Reads datagrams and unidirectional streams from one connection until
/// it closes.
pub(crate) async fn serve(shared: Arc<Shared>, conn: Connection) {
    let from = shared.source(conn.remote_address());
    let err = loop {
        tokio::select! {
            got = conn.read_datagram() => match got {
                Ok(bytes) => shared.deliver(from, bytes, false),
                Err(err) => break err,
            },
            // Take a receive slot first: while all are busy, streams wait
            // in QUIC flow control (the peer's sends back off) instead
            // of being buffered here.
            got = async {
                let permit = shared.stream_recvs.clone().acquire_owned().await;
                (permit, conn.accept_uni().await)
            } => match got {
                (Ok(permit), Ok(mut stream)) => {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        let max = shared.limits.max_packet_size;
                        match timeout(shared.limits.stream_timeout, stream.read_to_end(max)).await {
                            Ok(Ok(bytes)) => shared.deliver(from, Bytes::from(bytes), true),
                            _ => {
                                let _ = stream.stop(VarInt::from_u32(2));
                                bump(&shared.counters.stream_recv_failures, 1);
                            }
                        }
                    });
                }
                (Err(_), _) => break ConnectionError::LocallyClosed,
                (_, Err(err)) => break err,
            },
        }
    };
    tracing::trace!(%from, %err, "connection ended");
    shared.connection_closed(&conn, &err);
}
