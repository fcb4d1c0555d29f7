//! Identifiers: nodes, groups and messages.

use std::fmt;

use rand::RngCore;

/// A node's identity: 64 random bits drawn at every start.
///
/// A restarted node draws a new id, so its per-origin sequence numbers never
/// collide with those of its previous life.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NodeId(pub u64);

impl NodeId {
    /// Draws a fresh id from `rng`.
    pub fn random(rng: &mut impl RngCore) -> Self {
        NodeId(rng.next_u64())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({:016x})", self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A multicast group: a message goes to one group and only its members
/// deliver it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct GroupId(pub u32);

impl GroupId {
    /// The group named `name`: the 32-bit FNV-1a hash of its UTF-8 bytes.
    ///
    /// Distinct names may collide (birthday bound: about 1 in 10^4 for a
    /// thousand names); pick numeric ids where that matters.
    pub fn named(name: &str) -> Self {
        let mut hash: u32 = 0x811c_9dc5;
        for byte in name.bytes() {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        GroupId(hash)
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A message's identity: its origin, its group, and its sequence number in
/// the origin's stream for that group (starting at 1).
///
/// Ids never depend on content: the same payload sent twice is two messages.
/// Ordering is by group, then origin, then sequence, which keeps one
/// stream's messages adjacent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MessageId {
    /// The group the message was sent to.
    pub group: GroupId,
    /// The node that multicast it.
    pub origin: NodeId,
    /// Its position in the origin's stream for `group`, from 1.
    pub seq: u64,
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}#{}", self.origin, self.group, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_hash_stably() {
        assert_eq!(GroupId::named(""), GroupId(0x811c_9dc5));
        assert_eq!(GroupId::named("a"), GroupId(0xe40c_292c));
        assert_ne!(GroupId::named("chat"), GroupId::named("chats"));
    }
}
