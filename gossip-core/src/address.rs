//! Transport addresses as the engine sees them: opaque values it can put on
//! the wire when it tells other members where a node lives.

use std::fmt::Debug;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::DecodeError;

/// The longest encoded address the wire format carries.
pub const MAX_ADDRESS_LEN: usize = 255;

/// A transport address.
///
/// The engine stores addresses, compares them, and encodes them into
/// membership updates so that other nodes can reach a member they have never
/// heard from directly. `encode` must write at most [`MAX_ADDRESS_LEN`] bytes,
/// and `decode` must accept exactly what `encode` wrote and reject anything
/// else with [`DecodeError::BadAddress`], never panic.
pub trait Address: Clone + Eq + Hash + Debug + Send + Sync + 'static {
    /// Appends the encoding to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// The number of bytes [`Address::encode`] writes.
    fn encoded_len(&self) -> usize;
    /// Decodes an address from exactly `bytes`.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// IPv4 as 4 address bytes and a big-endian port (6 bytes); IPv6 as 16 and 2
/// (18 bytes). Flow info and scope id are not carried.
impl Address for SocketAddr {
    fn encode(&self, out: &mut Vec<u8>) {
        match self.ip() {
            IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
            IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
        }
        out.extend_from_slice(&self.port().to_be_bytes());
    }

    fn encoded_len(&self) -> usize {
        if self.is_ipv4() { 6 } else { 18 }
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes.len() {
            6 => {
                let ip = Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]);
                Ok(SocketAddr::new(ip.into(), u16::from_be_bytes([bytes[4], bytes[5]])))
            }
            18 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(&bytes[..16]);
                let port = u16::from_be_bytes([bytes[16], bytes[17]]);
                Ok(SocketAddr::new(Ipv6Addr::from(octets).into(), port))
            }
            _ => Err(DecodeError::BadAddress),
        }
    }
}

/// Little-endian, 4 bytes: a node index, as simulators use.
impl Address for u32 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }

    fn encoded_len(&self) -> usize {
        4
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let raw: [u8; 4] = bytes.try_into().map_err(|_| DecodeError::BadAddress)?;
        Ok(u32::from_le_bytes(raw))
    }
}

/// Little-endian, 8 bytes.
impl Address for u64 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }

    fn encoded_len(&self) -> usize {
        8
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let raw: [u8; 8] = bytes.try_into().map_err(|_| DecodeError::BadAddress)?;
        Ok(u64::from_le_bytes(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<A: Address>(addr: A) {
        let mut buf = Vec::new();
        addr.encode(&mut buf);
        assert_eq!(buf.len(), addr.encoded_len());
        assert_eq!(A::decode(&buf).unwrap(), addr);
    }

    #[test]
    fn addresses_round_trip() {
        round_trip::<SocketAddr>("127.0.0.1:7000".parse().unwrap());
        round_trip::<SocketAddr>("[::1]:9".parse().unwrap());
        round_trip(7u32);
        round_trip(u64::MAX);
        assert_eq!(SocketAddr::decode(&[1, 2, 3]), Err(DecodeError::BadAddress));
        assert_eq!(u32::decode(&[1]), Err(DecodeError::BadAddress));
    }
}
