//! What the transport wraps around each of the engine's packets: the
//! cluster id alone when insecure, a sealed header and tag when keyed.

use std::ops::Range;

use crate::seal::{CounterExhausted, OVERHEAD as SEALED_OVERHEAD, Sealer};

/// Bytes of the cluster id that starts every datagram.
pub const CLUSTER_ID_LEN: usize = 8;

/// Why a received datagram was dropped before the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Another cluster's id (or too short to hold one).
    ForeignCluster,
    /// Did not open under any key of its key id (wrong key, tampered,
    /// garbage).
    Unauthentic,
    /// Authentic, but its counter was seen before.
    Replayed,
    /// Authentic, but its counter fell out of the replay window.
    TooOld,
    /// Authentic, but stamped further from this node's clock than the
    /// allowed skew.
    ClockSkew,
}

/// How datagrams are framed on this transport.
pub(crate) enum Framing {
    /// `cluster id ‖ packet`: anyone may forge, replay or read.
    Insecure {
        /// This cluster's id.
        cluster_id: u64,
    },
    /// `header ‖ ciphertext ‖ tag`, see [`Sealer`].
    Sealed(Box<Sealer>),
}

impl Framing {
    /// Bytes added to each packet.
    pub(crate) fn overhead(&self) -> usize {
        match self {
            Framing::Insecure { .. } => CLUSTER_ID_LEN,
            Framing::Sealed(_) => SEALED_OVERHEAD,
        }
    }

    /// The sealer, when keyed.
    pub(crate) fn sealer(&self) -> Option<&Sealer> {
        match self {
            Framing::Insecure { .. } => None,
            Framing::Sealed(sealer) => Some(sealer),
        }
    }

    /// Appends the framed `plain` to `out`.
    pub(crate) fn frame_into(&self, plain: &[u8], out: &mut Vec<u8>) -> Result<(), CounterExhausted> {
        match self {
            Framing::Insecure { cluster_id } => {
                out.extend_from_slice(&cluster_id.to_le_bytes());
                out.extend_from_slice(plain);
                Ok(())
            }
            Framing::Sealed(sealer) => sealer.seal_into(plain, out),
        }
    }

    /// Checks (and, sealed, opens in place) a received datagram; returns
    /// the packet's range within it.
    pub(crate) fn unframe(&self, datagram: &mut [u8]) -> Result<Range<usize>, Rejection> {
        match self {
            Framing::Insecure { cluster_id } => match datagram.split_first_chunk::<CLUSTER_ID_LEN>() {
                Some((id, _)) if u64::from_le_bytes(*id) == *cluster_id => Ok(CLUSTER_ID_LEN..datagram.len()),
                _ => Err(Rejection::ForeignCluster),
            },
            Framing::Sealed(sealer) => sealer.open(datagram),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_frames_carry_the_cluster_id_and_foreign_ones_are_refused() {
        let ours = Framing::Insecure { cluster_id: 7 };
        let mut out = Vec::new();
        ours.frame_into(b"packet", &mut out).unwrap();
        assert_eq!(out.len(), 6 + ours.overhead());
        assert_eq!(ours.unframe(&mut out.clone()), Ok(CLUSTER_ID_LEN..out.len()));
        assert_eq!(Framing::Insecure { cluster_id: 8 }.unframe(&mut out), Err(Rejection::ForeignCluster));
        assert_eq!(ours.unframe(&mut [7, 0, 0]), Err(Rejection::ForeignCluster));
    }
}
