//! The only `unsafe` code in the crate: `sendmmsg(2)` and `recvmmsg(2)` on
//! Linux, plus forcing socket buffer sizes. Everything here works on
//! caller-owned buffers that outlive the system call, and every raw struct
//! is zero-initialised before the kernel reads it.
#![allow(unsafe_code)]

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

fn to_storage(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(v4.ip().octets()) },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and suitably aligned
            // for sockaddr_in; we write exactly one sockaddr_in at its start.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr { s6_addr: v6.ip().octets() },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

fn from_storage(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET if len as usize >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the kernel wrote a sockaddr_in (family checked, length
            // checked) at the start of the storage, which is aligned for it.
            let sin = unsafe { &*(storage as *const _ as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 if len as usize >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &*(storage as *const _ as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let port = u16::from_be(sin6.sin6_port);
            Some(SocketAddr::V6(SocketAddrV6::new(ip, port, sin6.sin6_flowinfo, sin6.sin6_scope_id)))
        }
        _ => None,
    }
}

/// Sends `msgs` with one `sendmmsg` call; returns how many the kernel took
/// (at least one), or the error of the first.
pub fn send_batch(fd: RawFd, msgs: &[(SocketAddr, &[u8])]) -> io::Result<usize> {
    if msgs.is_empty() {
        return Ok(0);
    }
    let mut addrs: Vec<(libc::sockaddr_storage, libc::socklen_t)> = msgs.iter().map(|(a, _)| to_storage(a)).collect();
    let mut iovs: Vec<libc::iovec> =
        msgs.iter().map(|(_, b)| libc::iovec { iov_base: b.as_ptr() as *mut libc::c_void, iov_len: b.len() }).collect();
    let mut hdrs: Vec<libc::mmsghdr> = Vec::with_capacity(msgs.len());
    for (addr, iov) in addrs.iter_mut().zip(iovs.iter_mut()) {
        // SAFETY: mmsghdr is plain old data; all-zero is valid.
        let mut hdr: libc::mmsghdr = unsafe { zeroed() };
        hdr.msg_hdr.msg_name = &mut addr.0 as *mut _ as *mut libc::c_void;
        hdr.msg_hdr.msg_namelen = addr.1;
        hdr.msg_hdr.msg_iov = iov as *mut libc::iovec;
        hdr.msg_hdr.msg_iovlen = 1;
        hdrs.push(hdr);
    }
    // SAFETY: every pointer in `hdrs` points into `addrs`, `iovs` or the
    // caller's slices, all alive and unmoved until this call returns; the
    // kernel only reads the data and writes `msg_len`.
    let sent = unsafe { libc::sendmmsg(fd, hdrs.as_mut_ptr(), hdrs.len() as libc::c_uint, libc::MSG_DONTWAIT) };
    if sent < 0 { Err(io::Error::last_os_error()) } else { Ok(sent as usize) }
}

/// One received datagram: its length, sender, and whether it was cut short.
pub struct Received {
    /// Bytes received.
    pub len: usize,
    /// The sender.
    pub from: Option<SocketAddr>,
    /// Whether the datagram was longer than its buffer.
    pub truncated: bool,
}

/// Receives up to `bufs.len()` datagrams with one `recvmmsg` call.
pub fn recv_batch(fd: RawFd, bufs: &mut [Vec<u8>], out: &mut Vec<Received>) -> io::Result<usize> {
    let n = bufs.len();
    // SAFETY: zeroed sockaddr_storage is valid.
    let mut addrs: Vec<libc::sockaddr_storage> = (0..n).map(|_| unsafe { zeroed() }).collect();
    let mut iovs: Vec<libc::iovec> = bufs
        .iter_mut()
        .map(|b| libc::iovec { iov_base: b.as_mut_ptr() as *mut libc::c_void, iov_len: b.len() })
        .collect();
    let mut hdrs: Vec<libc::mmsghdr> = Vec::with_capacity(n);
    for (addr, iov) in addrs.iter_mut().zip(iovs.iter_mut()) {
        // SAFETY: zeroed mmsghdr is valid.
        let mut hdr: libc::mmsghdr = unsafe { zeroed() };
        hdr.msg_hdr.msg_name = addr as *mut _ as *mut libc::c_void;
        hdr.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        hdr.msg_hdr.msg_iov = iov as *mut libc::iovec;
        hdr.msg_hdr.msg_iovlen = 1;
        hdrs.push(hdr);
    }
    // SAFETY: the kernel writes at most `iov_len` bytes into each caller
    // buffer and at most `msg_namelen` into each storage, all alive and
    // unmoved until the call returns.
    let got =
        unsafe { libc::recvmmsg(fd, hdrs.as_mut_ptr(), n as libc::c_uint, libc::MSG_DONTWAIT, std::ptr::null_mut()) };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    let got = got as usize;
    for (hdr, addr) in hdrs.iter().zip(&addrs).take(got) {
        out.push(Received {
            len: hdr.msg_len as usize,
            from: from_storage(addr, hdr.msg_hdr.msg_namelen),
            truncated: hdr.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
        });
    }
    Ok(got)
}

/// Sets a socket buffer with `SO_SNDBUFFORCE`/`SO_RCVBUFFORCE`, which
/// exceeds the system maximum when the process has `CAP_NET_ADMIN`.
pub fn force_buffer(fd: RawFd, send: bool, size: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    let opt = if send { libc::SO_SNDBUFFORCE } else { libc::SO_RCVBUFFORCE };
    // SAFETY: `value` is a live c_int and its size is passed exactly.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            &value as *const libc::c_int as *const libc::c_void,
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}
