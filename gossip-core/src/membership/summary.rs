//! A view's summary: an order-independent hash of every live member's id,
//! incarnation and status (the node itself included), kept up to date at
//! each change in O(1), so two members can tell in one comparison whether
//! an anti-entropy exchange would teach either of them anything.
//!
//! The summary is the wrapping sum of [`summand`] over the live entries.
//! Every node computes it the same way (no per-node seed: it is compared
//! across nodes), so it is part of the wire format (`docs/wire.md`).
//! Dead and departed entries are left out: how long each node remembers
//! them differs, and what matters is that both hold the same live members
//! at the same incarnations.

use super::member::MemberStatus;
use crate::ids::NodeId;

/// What one entry adds to its view's summary: 0 unless it is live.
pub(crate) fn summand(id: NodeId, incarnation: u64, status: MemberStatus, partial: bool) -> u64 {
    let tag = match status {
        MemberStatus::Alive => 1,
        MemberStatus::Suspect => 2,
        MemberStatus::Dead | MemberStatus::Left => return 0,
    } | (u64::from(partial) << 2);
    mix(id.0 ^ mix(incarnation ^ tag.rotate_right(8)))
}

/// The finaliser of SplitMix64 (Steele, Lea, Flood 2014): a bijection of
/// `u64` that spreads each input bit over the whole output.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summands_tell_incarnation_status_and_partial_apart() {
        let id = NodeId(7);
        let alive = summand(id, 3, MemberStatus::Alive, false);
        assert_ne!(alive, summand(id, 4, MemberStatus::Alive, false));
        assert_ne!(alive, summand(id, 3, MemberStatus::Suspect, false));
        assert_ne!(alive, summand(id, 3, MemberStatus::Alive, true));
        assert_ne!(alive, summand(NodeId(8), 3, MemberStatus::Alive, false));
        assert_eq!(summand(id, 3, MemberStatus::Dead, false), 0);
        assert_eq!(summand(id, 3, MemberStatus::Left, true), 0);
    }

    #[test]
    fn summands_are_fixed_across_builds() {
        // Nodes compare summaries, so the function is part of the wire
        // format: this value must never change.
        assert_eq!(summand(NodeId(1), 0, MemberStatus::Alive, false), 0x10ea_73bf_f4ff_b328);
    }
}
