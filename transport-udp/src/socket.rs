//! Making the socket: family, address reuse, buffer sizes, binding.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

use crate::config::{BufferSizes, UdpConfig};
use crate::send_plan::MAX_TRAIN_SEGMENT;

/// A bound, non-blocking socket and what the kernel granted.
pub(crate) struct Bound {
    pub(crate) socket: std::net::UdpSocket,
    pub(crate) dual_stack: bool,
    pub(crate) buffers: BufferSizes,
}

/// Creates and binds the socket `config` describes. `SO_REUSEADDR` is set
/// only when asked for and the port is fixed.
pub(crate) fn bind(config: &UdpConfig) -> io::Result<Bound> {
    let domain = if config.bind.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    let dual_stack = config.bind.is_ipv6() && config.bind.ip().is_unspecified();
    if config.bind.is_ipv6() {
        socket.set_only_v6(!dual_stack)?;
    }
    socket.set_reuse_address(reuse_address(config.reuse_address, config.bind))?;
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    if config.reuse_port {
        socket.set_reuse_port(true)?;
    }
    let buffers = BufferSizes {
        send_requested: config.send_buffer,
        send_actual: set_buffer(&socket, Direction::Send, config.send_buffer),
        recv_requested: config.recv_buffer,
        recv_actual: set_buffer(&socket, Direction::Recv, config.recv_buffer),
    };
    if buffers.short() {
        tracing::warn!(?buffers, "the kernel granted smaller socket buffers than requested; expect drops under load");
    }
    socket.set_nonblocking(true)?;
    socket.bind(&config.bind.into())?;
    Ok(Bound { socket: socket.into(), dual_stack, buffers })
}

/// Lets IPv4 datagrams longer than [`MAX_TRAIN_SEGMENT`] be fragmented
/// again (the kernel's default, `IP_PMTUDISC_WANT`), which `quinn-udp`
/// turns off when it sets the socket up. IPv6 datagrams keep
/// `IPV6_DONTFRAG`: over IPv6 keep `max_datagram` within the path MTU.
pub(crate) fn allow_fragments(socket: &std::net::UdpSocket, config: &UdpConfig) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    if config.max_datagram > MAX_TRAIN_SEGMENT && config.bind.is_ipv4() {
        use rustix::net::sockopt::{Ipv4PathMtuDiscovery, set_ip_mtu_discover};
        set_ip_mtu_discover(socket, Ipv4PathMtuDiscovery::WANT)?;
    }
    let _ = (socket, config);
    Ok(())
}

/// Whether to set `SO_REUSEADDR`: only on request, and never for port 0.
fn reuse_address(requested: bool, bind: SocketAddr) -> bool {
    requested && bind.port() != 0
}

#[derive(Clone, Copy)]
enum Direction {
    Send,
    Recv,
}

/// Sets a socket buffer; when the system maximum caps it, tries the
/// `*BUFFORCE` option (needs `CAP_NET_ADMIN`). Returns the size read back.
fn set_buffer(socket: &Socket, direction: Direction, requested: usize) -> usize {
    let read = |s: &Socket| match direction {
        Direction::Send => s.send_buffer_size(),
        Direction::Recv => s.recv_buffer_size(),
    };
    let _ = match direction {
        Direction::Send => socket.set_send_buffer_size(requested),
        Direction::Recv => socket.set_recv_buffer_size(requested),
    };
    let actual = read(socket).unwrap_or(0);
    #[cfg(target_os = "linux")]
    if actual < requested {
        let forced = match direction {
            Direction::Send => rustix::net::sockopt::set_socket_send_buffer_size_force(socket, requested),
            Direction::Recv => rustix::net::sockopt::set_socket_recv_buffer_size_force(socket, requested),
        };
        if forced.is_ok() {
            return read(socket).unwrap_or(actual);
        }
    }
    actual
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_reuse_only_on_request_and_never_for_port_zero() {
        let fixed: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert!(reuse_address(true, fixed));
        assert!(!reuse_address(false, fixed));
        assert!(!reuse_address(true, any));
    }
}
