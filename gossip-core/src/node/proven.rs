//! [`Proven`]: members recently heard from at their known address, whose
//! pull answers need not be kept near the size of their requests.

use crate::ids::NodeId;

/// Slots of the record: a direct-mapped cache, so it costs the same
/// however many members there are.
const SLOTS: usize = 256;

/// Which members were heard from first-hand lately, with the round. A
/// member mapped to a slot another took since is simply unproven again.
/// The slots (4 KiB) are allocated at the first member heard from, so a
/// node that never pulls (a simulated million of them, say) costs nothing.
#[derive(Clone, Debug, Default)]
pub(super) struct Proven {
    slots: Option<Box<[(NodeId, u64); SLOTS]>>,
}

fn slot(id: NodeId) -> usize {
    (id.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize % SLOTS
}

impl Proven {
    /// `id` was heard from at its known address in `round` (rounds start at 1).
    pub(super) fn heard(&mut self, id: NodeId, round: u64) {
        self.slots.get_or_insert_with(|| Box::new([(NodeId(0), 0); SLOTS]))[slot(id)] = (id, round);
    }

    /// Whether `id` was heard from within the `within` rounds before `round`.
    pub(super) fn is_proven(&self, id: NodeId, round: u64, within: u64) -> bool {
        let Some(slots) = &self.slots else { return false };
        let (held, at) = slots[slot(id)];
        held == id && at > 0 && round.saturating_sub(at) <= within
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_lasts_for_the_window_only() {
        let mut proven = Proven::default();
        assert!(!proven.is_proven(NodeId(7), 1, 10));
        proven.heard(NodeId(7), 3);
        assert!(proven.is_proven(NodeId(7), 13, 10));
        assert!(!proven.is_proven(NodeId(7), 14, 10));
        assert!(!proven.is_proven(NodeId(8), 3, 10));
    }
}
