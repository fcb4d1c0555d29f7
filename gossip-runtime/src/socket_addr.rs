//! Socket-address rules shared by the socket transports (UDP, QUIC): which
//! destinations a local socket can reach, and one canonical form for peer
//! addresses so that the same peer always compares equal.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use crate::transport::TransportError;

/// How a socket bound to `local` can send to `to`: `to` itself, or (for a
/// dual-stack IPv6 socket and an IPv4 peer) `to` as a v4-mapped IPv6 address
/// when `map_v4` is set. A port of 0, an unspecified address or a family the
/// socket cannot reach is a [`TransportError::BadAddress`].
pub fn destination(
    local: SocketAddr,
    dual_stack: bool,
    map_v4: bool,
    to: SocketAddr,
) -> Result<SocketAddr, TransportError> {
    if to.port() == 0 || to.ip().is_unspecified() {
        return Err(TransportError::BadAddress(format!("{to} is not a destination")));
    }
    match (local, to) {
        (SocketAddr::V4(_), SocketAddr::V4(_)) | (SocketAddr::V6(_), SocketAddr::V6(_)) => Ok(to),
        (SocketAddr::V6(_), SocketAddr::V4(v4)) if dual_stack => {
            Ok(if map_v4 { SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port()) } else { to })
        }
        _ => Err(TransportError::BadAddress(format!("{to} is not reachable from a socket bound to {local}"))),
    }
}

/// The canonical form of a peer's address: a v4-mapped IPv6 address seen by
/// a dual-stack socket becomes the IPv4 address, and an IPv6 address loses
/// its flow label, so that one peer always has one address.
pub fn canonical(dual_stack: bool, from: SocketAddr) -> SocketAddr {
    match from {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) if dual_stack => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            _ => SocketAddr::V6(SocketAddrV6::new(*v6.ip(), v6.port(), 0, v6.scope_id())),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn destinations_by_family() {
        let v4 = a("127.0.0.1:1000");
        let v6 = a("[::]:1000");
        assert_eq!(destination(v4, false, true, a("10.0.0.1:5")).unwrap(), a("10.0.0.1:5"));
        assert!(destination(v4, false, true, a("[::1]:5")).is_err());
        assert!(destination(v6, false, true, a("10.0.0.1:5")).is_err());
        assert_eq!(destination(v6, true, true, a("10.0.0.1:5")).unwrap(), a("[::ffff:10.0.0.1]:5"));
        assert_eq!(destination(v6, true, false, a("10.0.0.1:5")).unwrap(), a("10.0.0.1:5"));
        assert!(destination(v4, false, true, a("10.0.0.1:0")).is_err());
        assert!(destination(v4, false, true, a("0.0.0.0:5")).is_err());
    }

    #[test]
    fn canonical_unmaps_and_drops_flow_labels() {
        assert_eq!(canonical(true, a("[::ffff:10.0.0.1]:5")), a("10.0.0.1:5"));
        assert_eq!(canonical(false, a("[::ffff:10.0.0.1]:5")), a("[::ffff:10.0.0.1]:5"));
        let labelled = SocketAddr::V6(SocketAddrV6::new("::1".parse().unwrap(), 5, 7, 0));
        assert_eq!(canonical(true, labelled), a("[::1]:5"));
    }
}
