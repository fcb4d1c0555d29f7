//! [`Sequencer`]: the ids of one node's own messages.

use std::collections::BTreeMap;

use crate::error::MulticastError;
use crate::ids::{GroupId, MessageId, NodeId};

/// Numbers one origin's messages per group (1, 2, …) after checking that
/// the node may still send and that the payload fits: the first step of
/// every protocol's `multicast`.
#[derive(Clone, Debug, Default)]
pub struct Sequencer {
    last: BTreeMap<GroupId, u64>,
}

impl Sequencer {
    /// The id of `origin`'s next message to `group`, or why there is none:
    /// the node `left`, or the payload is over `max_payload` bytes.
    pub fn next(
        &mut self,
        origin: NodeId,
        group: GroupId,
        payload_len: usize,
        max_payload: usize,
        left: bool,
    ) -> Result<MessageId, MulticastError> {
        if left {
            return Err(MulticastError::Left);
        }
        if payload_len > max_payload {
            return Err(MulticastError::PayloadTooLarge { size: payload_len, max: max_payload });
        }
        let seq = self.last.entry(group).or_insert(0);
        *seq = seq.saturating_add(1);
        Ok(MessageId { group, origin, seq: *seq })
    }

    /// The last number given in `group`, if any.
    pub fn last(&self, group: GroupId) -> Option<u64> {
        self.last.get(&group).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_per_group_from_one_and_refuses_before_numbering() {
        let mut s = Sequencer::default();
        let (a, b) = (GroupId(1), GroupId(2));
        assert_eq!(s.next(NodeId(9), a, 10, 100, false).map(|id| id.seq), Ok(1));
        assert_eq!(s.next(NodeId(9), a, 10, 100, false).map(|id| id.seq), Ok(2));
        assert_eq!(s.next(NodeId(9), b, 10, 100, false).map(|id| id.seq), Ok(1));
        assert_eq!(s.next(NodeId(9), a, 101, 100, false), Err(MulticastError::PayloadTooLarge { size: 101, max: 100 }));
        assert_eq!(s.next(NodeId(9), a, 1, 100, true), Err(MulticastError::Left));
        assert_eq!((s.last(a), s.last(GroupId(3))), (Some(2), None));
    }
}
